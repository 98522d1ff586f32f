"""Bench rows for the watchdog (issue 19): from a hang to SMP answering again, the
usage lost across the watchdog's reset, and what the watchdog costs.

The emulated board (its image, in its heap) meters 2 Mbit/s at 60x. The firmware
is stopped (SIGSTOP: a hang no code of its own can see) HANGS times; each time
the emulator's watchdog, in real time, resets it and the next boot answers SMP.
The usage lost is what the carrier counted over the hang and the boot that the
device's meter did not: the modem keeps its power and its counter across a reset
of the MCU alone, so it should be what the last checkpoint did not hold yet, at
most the meter's 64 KB budget. The cost: the feeds a second (statistics group
"watchdog" over the run's real time) and the heap the supervisor and its four
tasks' Progress objects take, on the MicroPython VM.
"""

import json
import os
import signal
import tempfile
import time

from bench.table import Row
from host_tools.build import micropython_vm
from host_tools.emulator.process import EmulatorProcess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HANGS = 3
SCENARIO = {"subscriber": "+8613800138000", "start": "2026-12-01T00:00:00Z", "plan": {"quota_mb": 100000},
            "traffic": [{"from": "+0s", "mbps": 2}]}
BUDGET_BYTES = 65536  # firmware/metering/meter.py BUDGET_BYTES: what a reset may lose
_HEAP_SCRIPT = """
import gc
from firmware.supervisor import Supervisor
class W:
    def feed(self):
        pass
class C:
    def monotonic_ms(self):
        return 0
gc.collect()
before = gc.mem_free()
s = Supervisor(W(), C(), None)
tasks = [s.watch(name, 1000) for name in ("smp", "modem", "metering", "sms")]
gc.collect()
print(before - gc.mem_free())
"""


def _status(board):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "host_tools.cli", "status", "--port", board.port, "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    return json.loads(done.stdout)["used"]


def _carried(board):
    with open(os.path.join(board.state_dir, "network.json"), encoding="utf-8") as f:
        return json.load(f)["carried_bytes"]


def _stats(board):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "host_tools.cli", "info", "--port", board.port, "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    return json.loads(done.stdout)["statistics"]["watchdog"]


def _heap_bytes():
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(_HEAP_SCRIPT)
    try:
        done = micropython_vm.run([f.name], heap="128k")
    finally:
        os.remove(f.name)
    return int(done.stdout.strip().splitlines()[-1])


def rows():
    recoveries, lost = [], []
    with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, "build")) as folder:
        scenario = os.path.join(folder, "scenario.json")
        with open(scenario, "w") as f:
            json.dump(SCENARIO, f)
        board = EmulatorProcess(os.path.join(folder, "board"), "--scenario", scenario, "--speed", "60")
        started = time.monotonic()
        try:
            board.wait_ready(timeout=60)
            time.sleep(5)  # a few minutes of simulated traffic, checkpoints among them
            for _ in range(HANGS):
                used, carried = _status(board), _carried(board)
                old = board.pid()
                os.kill(old, signal.SIGSTOP)
                hung = time.monotonic()
                while board.pid() == old:
                    time.sleep(0.02)
                board.wait_ready(timeout=60)
                recoveries.append(time.monotonic() - hung)
                time.sleep(3)  # metering again, past its first polls
                lost.append((_carried(board) - carried) - (_status(board) - used))
            stats = _stats(board)
            seconds = time.monotonic() - started
        finally:
            board.stop()
    return [
        Row("watchdog: a hang (SIGSTOP) to SMP answering again, worst of %d" % HANGS, max(recoveries), "s",
            goal=8.388 + 2, at_most=True, note="timeout 8.4 s (rp2's most) + a boot"),
        Row("usage lost across a watchdog reset, worst of %d" % HANGS, max(lost) / 1024, "KB", goal=BUDGET_BYTES / 1024,
            at_most=True, note="2 Mbit/s at 60x; the modem kept its count"),
        Row("watchdog feeds a second", stats["feeds"] / seconds, "1/s", note="%d feeds, %d stuck" % (
            stats["feeds"], stats["stuck"])),
        Row("heap of the supervisor and its 4 tasks (unix port)", _heap_bytes(), "bytes"),
    ]


if __name__ == "__main__":
    from bench.table import render

    print(render(rows()))
