"""Bench rows for the watchdog (issue 19): from a hang to SMP answering again, the
usage lost across the watchdog's reset, and what the watchdog costs.

The emulated board (its image, in its heap) meters 2 Mbit/s at 60x. The firmware
is stopped (SIGSTOP: a hang no code of its own can see) HANGS times; each time
the emulator's watchdog, in real time, resets it and the next boot answers SMP.
The usage lost is what the carrier carried over the whole run that the device's
meter did not count, read once the traffic has stopped and the meter settled:
the modem keeps its power and its counter across a reset of the MCU alone, so
it should be no more than what the last checkpoint did not hold yet, at most the
meter's 64 KB budget a reset. The cost: the feeds a second (statistics group
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
HANGS = 2  # a third within a minute of its boot would be the third early crash in a row: safe mode, rightly
# At 60x: traffic from 2 s to 40 s of real time, then none, so the meter settles before the count.
SCENARIO = {"subscriber": "+8613800138000", "start": "2026-12-01T00:00:00Z", "plan": {"quota_mb": 100000},
            "traffic": [{"from": "+0s", "mbps": 0}, {"from": "+2m", "mbps": 2}, {"from": "+40m", "mbps": 0}]}
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


def _cli(*argv):
    """`edgemeter ARGV --json`'s answer; RuntimeError with its message if it fails."""
    import subprocess
    import sys

    for _attempt in range(5):  # the port may be busy for a moment (another request, a boot)
        done = subprocess.run([sys.executable, "-m", "host_tools.cli", *argv, "--json"], capture_output=True,
                              text=True, cwd=ROOT, timeout=60)
        if done.returncode == 0:
            return json.loads(done.stdout)
        time.sleep(0.5)
    raise RuntimeError("edgemeter %s: %s" % (" ".join(argv), done.stderr.strip()))


def _status(board):
    return _cli("status", "--port", board.port)["used"]


def _carried(board):
    with open(os.path.join(board.state_dir, "network.json"), encoding="utf-8") as f:
        return json.load(f)["carried_bytes"]


def _stats(board):
    return _cli("info", "--port", board.port)["statistics"]["watchdog"]


def _heap_bytes():
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(_HEAP_SCRIPT)
    try:
        done = micropython_vm.run([f.name], heap="128k")
    finally:
        os.remove(f.name)
    return int(done.stdout.strip().splitlines()[-1])


def rows():
    recoveries = []
    with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, "build")) as folder:
        scenario = os.path.join(folder, "scenario.json")
        with open(scenario, "w") as f:
            json.dump(SCENARIO, f)
        board = EmulatorProcess(os.path.join(folder, "board"), "--scenario", scenario, "--speed", "60")
        try:
            board.wait_ready(timeout=60)
            time.sleep(5)  # traffic flows, checkpoints among it
            for _ in range(HANGS):
                old = board.pid()
                os.kill(old, signal.SIGSTOP)
                hung = time.monotonic()
                while board.pid() == old:
                    time.sleep(0.02)
                board.wait_ready(timeout=60)
                recoveries.append(time.monotonic() - hung)
                time.sleep(3)
            first, began = _stats(board)["feeds"], time.monotonic()
            while _carried(board) == 0 or time.time() < os.path.getmtime(scenario) + 48:
                time.sleep(1)  # until the traffic has stopped (40 s) and the meter read the last of it
            fed = _stats(board)["feeds"] - first
            feeds_per_s = fed / (time.monotonic() - began)
            lost = _carried(board) - _status(board)
        finally:
            board.stop()
    return [
        Row("watchdog: a hang (SIGSTOP) to SMP answering again, worst of %d" % HANGS, max(recoveries), "s",
            goal=8.388 + 2, at_most=True, note="timeout 8.4 s (rp2's most) + a boot"),
        Row("usage lost over %d watchdog resets (carrier - device)" % HANGS, lost / 1024, "KB",
            goal=HANGS * BUDGET_BYTES / 1024, at_most=True, note="2 Mbit/s at 60x; the modem kept its count"),
        Row("watchdog feeds a second", feeds_per_s, "1/s", note="one a FEED_MS (1 s), real time"),
        Row("heap of the supervisor and its 4 tasks (unix port)", _heap_bytes(), "bytes"),
    ]


if __name__ == "__main__":
    from bench.table import render

    print(render(rows()))
