"""edgemeter deploy: build the device code for a board, install it with mpremote, check it runs.

    edgemeter deploy --board pico_ec25 --port /dev/ttyACM0

1. `invoke build --board B`'s work: the device packages compiled to .mpy with the
   board's architecture flags, and the board's main.py (host_tools/build/board_build.py);
   the .mpy files are loaded into RAM, so they go only to a board whose heap
   (board.json "heap") holds them (board_build.MPY_HEAP_BYTES); another board
   needs the image (`invoke image`, flashed as its board.json "image" "flash_with"
   says), and then `--frozen` copies only main.py and the board's data files;
2. mpremote copies that tree onto the board's filesystem over the raw REPL
   (`resume`: whatever runs is interrupted with Ctrl-C, nothing is soft-reset first).
   A board running edgemeter is first reset into a maintenance boot (signed SMP
   reset, boot_mode 1): its firmware and watchdog do not start, so the watchdog
   (which the REPL does not feed, and nothing can stop) cannot reset it mid-copy;
3. the board is reset, so main.py starts the new firmware;
4. the firmware version is read back over SMP (OS info "v") until it answers, and
   must be the one just built;
5. a board without a key is given one (firmware/smp/auth_guard.py), kept in the
   technician's key file first (host_tools/device/keys.py).

The emulated board's REPL (`edgemeter emulate repl --state DIR`) takes the same
copy; it cannot reset into the firmware on the same port, so there deploy stops
after the copy (--no-reset) and `edgemeter emulate run --state DIR` boots what was
deployed.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time

from host_tools.cli.common import CommandError, Link, add_link, link_of
from host_tools.cli.device_commands import provision_link
from host_tools.device.keys import KeyFile
from host_tools.device.session import DeviceError

COPY_TIMEOUT_S = 300
PROBE_TIMEOUT_S = 15  # a MicroPython REPL answers in well under a second


def _mpremote(port, *command, timeout=COPY_TIMEOUT_S):
    """Run `mpremote connect PORT resume COMMAND…`; CommandError with its last words if it fails."""
    argv = [sys.executable, "-m", "mpremote", "connect", port, "resume", *command]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CommandError("mpremote got no answer from %s in %d s: is MicroPython running there, "
                           "and no other program holding the port?" % (port, timeout)) from None
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "exit %d" % done.returncode).splitlines()[-1]
        raise CommandError("mpremote failed on %s: %s (is it a MicroPython board? edgemeter ports lists them)" % (port, last))
    return done.stdout


def copy_tree(folder, port, only=None):
    """Copy every file under `folder` (or those of `only`, paths relative to it) to the
    same path on the board, in one mpremote session: folders made first (those
    already there kept), then each file. Paths are relative to the board's working
    folder ("/" on a board). The file count."""
    folders, files = [], []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        rel = os.path.relpath(root, folder).replace(os.sep, "/")
        chosen = [name for name in sorted(names) if only is None or (rel + "/" if rel != "." else "") + name in only]
        if rel != "." and (only is None or any(path.startswith(rel + "/") for path in only)):
            folders.append(rel)
        files += [(os.path.join(root, name), (rel + "/" if rel != "." else "") + name) for name in chosen]
    make = "import os\nfor d in %r:\n try:\n  os.mkdir(d)\n except OSError:\n  pass" % (folders,)
    command = ["exec", make]
    for source, target in files:
        command += ["+", "fs", "cp", source, ":" + target]
    _mpremote(port, *command)
    return len(files)


async def running_version(link, wait_s):
    """The firmware version the board on `link` reports over SMP, waiting up to
    `wait_s` for it to boot."""
    from smpclient.requests.os_management import OSApplicationInfoRead

    deadline = time.monotonic() + wait_s
    while True:
        try:
            async with link.device() as device:
                return (await device.request(OSApplicationInfoRead(format="v"))).output
        except DeviceError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1.0)


MAINTENANCE_BOOT_S = 3  # a board's reset, and its boot to the REPL


def _maintenance_boot(link):
    """Reset a board that runs edgemeter into its maintenance boot; a board that does
    not answer SMP (plain MicroPython, or no key yet) is left as it is."""
    from host_tools.cli.device_commands import reset_device

    try:
        asyncio.run(reset_device(Link(link.port, link.baud, min(link.timeout_s, 1.0)), maintenance=True))
    except DeviceError:
        return
    print("%s: reset into a maintenance boot (firmware and watchdog stopped) for the copy" % link.port)
    time.sleep(MAINTENANCE_BOOT_S)


def do_deploy(args):
    from firmware.version import VERSION
    from host_tools.build import board_build

    try:
        folder = board_build.build_board(args.board)
    except board_build.UnknownBoard as error:
        raise CommandError(str(error)) from None
    only = _what_fits(args.board, board_build.definition(args.board), args.frozen, folder)
    link = link_of(args)
    port = link.port
    smp_link = Link(args.check_port, link.baud, link.timeout_s) if args.check_port else link
    _maintenance_boot(smp_link)
    if _mpremote(port, "exec", "print('raw REPL ok')", timeout=PROBE_TIMEOUT_S).strip() != "raw REPL ok":
        raise CommandError("%s did not run code in a MicroPython raw REPL: is it a MicroPython board?" % port)
    count = copy_tree(folder, port, only)
    print("copied %d files from %s to %s" % (count, os.path.relpath(folder), port))
    if args.no_reset:
        return
    _mpremote(port, "reset", timeout=30)
    if args.no_check:
        return
    expected = "edgemeter-" + VERSION
    try:
        running = asyncio.run(running_version(smp_link, args.wait))
    except DeviceError as error:
        raise CommandError("the board did not answer over SMP within %g s after the reset (%s): "
                           "look at its console with mpremote connect %s repl" % (args.wait, error, port)) from None
    if running != expected:
        raise CommandError("the board runs %s, not the %s just deployed: deploy again" % (running, expected))
    print("running %s" % running)
    device = asyncio.run(provision_link(smp_link))
    print("%s: its key is in %s" % (device, KeyFile().path))


def _what_fits(board, spec, frozen, folder):
    """The files to copy (None: all of the build): the .mpy files only where the board's
    heap takes them; a board that runs the image (--frozen) gets main.py and its data.
    CommandError saying how to flash the image where the .mpy files do not fit."""
    from host_tools.build.board_build import MPY_HEAP_BYTES, frozen_files
    from host_tools.build.micropython_vm import heap_bytes

    if frozen:
        print("%s runs the image with the firmware frozen in: copying main.py and the board's data only" % board)
        return frozen_files(folder)
    heap = heap_bytes(spec["heap"])
    if heap < MPY_HEAP_BYTES:
        raise CommandError(
            "%s has a %d KB heap; the firmware as .mpy files needs about %d KB: it needs the image, with the firmware "
            "frozen in. Build it with invoke image --board %s, flash it (%s), then edgemeter deploy --board %s "
            "--port PORT --frozen" % (board, heap // 1024, MPY_HEAP_BYTES // 1024, board,
                                       spec.get("image", {}).get("flash_with", "see docs/adding-a-board.md"), board))
    print("%s: .mpy files (its heap %d KB; they need about %d KB)" % (board, heap // 1024, MPY_HEAP_BYTES // 1024))
    return None


def _deploy_parser(sub):
    p = sub.add_parser(
        "deploy",
        help="build the firmware for a board, install it with mpremote, check that it runs",
        epilog="examples: edgemeter deploy --board pico_ec25 --port /dev/ttyACM0\n"
        "          edgemeter deploy --board esp32s3_sim7600 --port /dev/ttyUSB0 --wait 60\n"
        "          edgemeter deploy --board emulated --port /dev/pts/7 --no-reset   # edgemeter emulate repl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--board", required=True, help="board folder name under board/ (invoke build --board lists them)")
    add_link(p)
    p.add_argument("--frozen", action="store_true",
                   help="the board runs the image with the firmware frozen in (invoke image): copy main.py and "
                        "the board's data files only")
    p.add_argument("--no-reset", action="store_true", help="copy only; do not reset the board or check it")
    p.add_argument("--no-check", action="store_true", help="reset, but do not wait for the firmware's version over SMP")
    p.add_argument("--check-port", help="read the version on this port instead (a board whose SMP link is another UART)")
    p.add_argument("--wait", type=float, default=30.0, metavar="S",
                   help="seconds to wait for the firmware to answer after the reset (default 30)")
    p.set_defaults(handler=do_deploy)


def register(subparsers):
    """Add deploy to `subparsers`."""
    _deploy_parser(subparsers)
