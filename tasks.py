"""Project tasks (invoke): `invoke test`, `invoke demo`, `invoke bench`, `invoke build`.

Run them through `python3 dev.py TASK`, which sets up .venv on first use.
"""

import os
import sys

from invoke import Collection, Exit, task

ROOT = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)


@task
def build(c):
    """Compile firmware/, protocol/ and board/ to .mpy with mpy-cross (build/mpy)."""
    from host_tools import micropython_vm, mpy_build

    try:
        out = mpy_build.compile_tree()
    except (mpy_build.BuildError, micropython_vm.ToolMissing) as exc:
        raise Exit(str(exc))
    count = sum(len([n for n in files if n.endswith(".mpy")]) for _d, _s, files in os.walk(out))
    print("compiled %d modules into %s" % (count, os.path.relpath(out, ROOT)))


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


@task
def demo(c):
    """Boot the emulated board, then query it from the host as a technician would."""
    from host_tools.emulator.process import EmulatorProcess

    state = os.path.join(ROOT, "build", "demo-board")
    board = EmulatorProcess(state)
    try:
        print("emulated board up, host link on %s (state in %s)" % (board.port, os.path.relpath(state, ROOT)))
        board.wait_ready()
        edgemeter = os.path.join(BIN, "edgemeter")
        for command in (["info"], ["echo", "剩余10MB: edgemeter is listening"]):
            print("\n$ edgemeter %s --port %s" % (" ".join(command), board.port))
            c.run(" ".join([edgemeter] + ["'%s'" % a for a in command] + ["--port", board.port]), pty=False)
        print("\n$ power cut (SIGKILL of the firmware) ...")
        board.power_cut()
        ledger = os.path.join(state, "ledger.sqlite")
        for command in (["info"], ["pull", "--ledger", ledger], ["log", "--ledger", ledger]):
            print("\n$ edgemeter %s" % " ".join(command))
            port = [] if command[0] == "log" else ["--port", board.port]
            c.run(" ".join([edgemeter] + command + port), pty=False)
        print("\nfirmware console:\n" + board.console())
    finally:
        board.stop()


@task
def bench(c):
    """Measure speed, memory and flash wear; print one table (goal, measured, ratio)."""
    from bench import ledger, metering, month, pull, smp_link, store
    from bench.table import render

    rows = []
    for module in (smp_link, store, pull, ledger, metering, month):
        rows += module.rows()
    print(render(rows))


namespace = Collection(build, test, demo, bench)
