"""edgemeter emulate: run the firmware on the emulated board, or print its carrier's bill."""

import argparse
import json
import os
import signal
import sys
import time

from host_tools.cli.common import CommandError, add_actions, write_file

# --- emulate -----------------------------------------------------------------


def _parse_start(text):
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError("--start %r is not an ISO date-time like 2026-12-01T08:00:00+08:00" % text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def _emulated_bill(args):
    import re

    from host_tools.emulator.bill_writer import BillWriter
    from host_tools.emulator.scenario import ScenarioError

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.month):
        raise CommandError("emulate bill wants --month YYYY-MM, got %r" % args.month)
    try:
        writer = BillWriter(args.state)
    except ScenarioError as error:
        raise CommandError("%s: no emulated board ran there? (%s)" % (args.state, error)) from None
    if args.agreement:
        write_file(args.agreement, "--agreement", json.dumps(writer.agreement(), ensure_ascii=False, indent=1))
    sys.stdout.write(writer.carrier_export(args.month) if args.format == "carrier" else writer.english_csv(args.month))


def _emulated_repl(args):
    """The emulated board as a fresh MicroPython board on the bench: a REPL on a serial
    port (raw REPL included, what mpremote and `edgemeter deploy` use), whose
    filesystem is STATE/fs. Once main.py is there, `emulate` boots it."""
    import subprocess

    from host_tools.build import micropython_vm
    from host_tools.emulator import state_folder
    from host_tools.emulator.ptylink import PtyLink

    filesystem = os.path.join(os.path.abspath(args.state), "fs")
    os.makedirs(filesystem, exist_ok=True)
    link = PtyLink()
    with open(link.device_path, "r+b", buffering=0) as board_end:
        vm = subprocess.Popen([micropython_vm.executable()], stdin=board_end, stdout=board_end, stderr=board_end,
                              cwd=filesystem)
    signal.signal(signal.SIGTERM, lambda signum, frame: vm.terminate())
    entry = state_folder.register(args.state, link.host_path, mode="repl")
    print("serial: %s" % link.host_path, flush=True)
    print("filesystem: %s" % filesystem, flush=True)
    try:
        vm.wait()
    except KeyboardInterrupt:
        vm.terminate()
        vm.wait()
    finally:
        state_folder.unregister(entry)
        link.close()


def do_emulate(args):
    if args.action == "bill":
        return _emulated_bill(args)
    from host_tools.emulator.state_folder import StateInUse, StateLock

    # One emulator at a time on a state folder: a second one would share its flash.
    lock = StateLock(args.state)
    try:
        lock.acquire()
    except StateInUse as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError("%s: cannot use it as the state folder: %s" % (args.state, exc.strerror or exc)) from None
    try:
        if args.action == "repl":
            return _emulated_repl(args)
        return _emulated_board(args)
    finally:
        lock.release()


def _emulated_board(args):
    from host_tools.emulator import state_folder
    from host_tools.emulator.board_runner import BoardRunner

    if args.speed <= 0:
        raise CommandError("--speed must be positive")
    start_ms = _parse_start(args.start) if args.start else None
    from host_tools.emulator.scenario import ScenarioError

    image = _image(args)
    if args.heap is not None:
        _check_heap(args.heap)
    try:
        runner = BoardRunner(
            args.state,
            speed=args.speed,
            start_ms=start_ms,
            power_on_delay_s=args.power_on_delay,
            paced=args.paced,
            scenario=args.scenario,
            image=image,
            heap=args.heap,
            load_mpy=args.load_mpy,
        )
    except ScenarioError as exc:
        raise CommandError(str(exc)) from None

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    entry = state_folder.register(runner.state_dir, runner.link.host_path)
    try:
        runner.start()
        print("serial: %s" % runner.link.host_path, flush=True)
        print("state: %s" % runner.state_dir, flush=True)
        if runner.deployed:
            print("firmware: deployed in %s (edgemeter deploy)%s, heap %s"
                  % (runner.deployed, ", on the image %s" % runner.image if runner.runs_image() else "", runner.heap),
                  flush=True)
        elif runner.image:
            print("firmware: %s %s, heap %s" % (".mpy files of build/mpy on" if runner.load_mpy else "frozen in",
                                                runner.image, runner.heap), flush=True)
        else:
            print("firmware: .mpy files of build/mpy, heap %s (invoke image --board emulated: the frozen image)"
                  % runner.heap, flush=True)
        print("speed: %gx; SIGKILL of the pid in firmware.pid is a power cut; Ctrl-C stops" % args.speed, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
        state_folder.unregister(entry)
        print("emulator stopped after %d boot(s)" % runner.boots, flush=True)


def _image(args):
    """The image to boot: --image, else the emulated board's image when it was built from the
    code as it is now (invoke image --board emulated), unless --no-image."""
    from host_tools.build import image_build

    if args.no_image:
        return None
    if args.image:
        if not os.path.isfile(args.image) or not os.access(args.image, os.X_OK):
            raise CommandError("--image %s: not an executable file (invoke image --board emulated builds one in %s)"
                               % (args.image, os.path.relpath(image_build.image_dir("emulated"))))
        return args.image
    return image_build.current("emulated")


def _check_heap(text):
    from host_tools.build.micropython_vm import heap_bytes

    try:
        size = heap_bytes(text)
    except ValueError:
        size = 0
    if not 16 * 1024 <= size <= 64 * 1024 * 1024:
        raise CommandError("--heap %s: must be a size from 16k to 64m, e.g. 112k or 2m" % text)


def _emulate_parser(sub):
    p = sub.add_parser(
        "emulate",
        help="run the firmware on the emulated board (MicroPython unix port); print its carrier's bill",
        epilog="examples: edgemeter emulate run --state /tmp/board1 --speed 60 --scenario month.json\n"
        "          edgemeter emulate bill --state /tmp/board1 --month 2026-11 --agreement contract.json > bill.csv\n"
        "          edgemeter emulate repl --state /tmp/board1   # then: edgemeter deploy --board emulated --port …",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = add_actions(p)
    run = actions.add_parser("run", help="run the board: its serial link, flash, modem and carrier")
    bill = actions.add_parser("bill", help="print the simulated carrier's itemised bill of a month")
    repl = actions.add_parser("repl", help="a bare MicroPython REPL whose filesystem is STATE/fs "
                              "(what edgemeter deploy writes to)")
    for action in (run, bill, repl):
        action.add_argument("--state", required=True, help="directory for the board's flash image and files")
    run.add_argument("--speed", type=float, default=1.0, help="simulated time runs N times faster (default 1)")
    run.add_argument("--start", help="simulated start time, ISO 8601 (default: now)")
    run.add_argument("--scenario", help="JSON scenario: plan, traffic, faults (docs/scenario.md); default: 100 MB, 2 Mbit/s")
    run.add_argument("--paced", action="store_true", help="pace the host link like the board's real UART (115200 8N1)")
    run.add_argument("--image", metavar="PATH",
                     help="boot this frozen image (invoke image --board emulated); default: that image when it is "
                          "built from the code as it is now, else the .mpy files of build/mpy")
    run.add_argument("--no-image", action="store_true", help="boot the .mpy files of build/mpy even if an image is built")
    run.add_argument("--load-mpy", action="store_true",
                     help="with an image: load the .mpy files of build/mpy into RAM instead of running the frozen "
                          "modules, as stock MicroPython with a .mpy deploy does (to compare heaps)")
    run.add_argument("--heap", metavar="SIZE",
                     help="the firmware's heap, e.g. 112k (default: board.json's, the image's target board's or the "
                          ".mpy files' own)")
    run.add_argument("--power-on-delay", type=float, default=1.0,
                     help="seconds before power returns after a cut (default 1)")
    bill.add_argument("--month", required=True, help="the month, YYYY-MM")
    bill.add_argument("--format", choices=("carrier", "csv"), default="carrier",
                      help="the carrier's export with Chinese headers (default) or our English CSV")
    bill.add_argument("--agreement", help="also write the agreed tariffs as JSON for edgemeter reconcile")
    p.set_defaults(handler=do_emulate)


def register(subparsers):
    """Add emulate to `subparsers`."""
    _emulate_parser(subparsers)
