"""Bench rows for a simulated month on the emulated board: the device's usage
against the carrier's, and flash wear.

December 2026 (cycle day 1, +08:00) at 2 GB a month of steady traffic, time
5,000 times faster (about 9 minutes), with 3 modem resets (scenario faults)
and 20 power cuts (SIGKILL of the firmware) spread over 30 days. Traffic stops
after day 30 so both counts settle; half a day later, still in December, the
device's `used` (edgemeter status) is set against the carrier's `used_bytes`.

Goal for the usage error: at most 1e-5 of the month's usage plus 64 KB for each
power cut and modem reset. At this speed the VM's own real-time latency (a poll
of a few ms is ten-odd simulated seconds) adds to what a cut loses, and a
loaded machine adds more: run the bench on an otherwise idle machine.

Each cut waits (at most 50 ms) for a moment when the firmware process sleeps.
At 5,000x a checkpoint that takes the VM 5 ms of real time spans 25 simulated
seconds, so cuts at uniformly random real times would land inside a checkpoint
thousands of times more often than on a board, where it takes milliseconds of
every minute. Cuts at every write inside a checkpoint are the power-cut sweep's
job (tests/test_powercut.py), and the emulator tests cut at random moments. Flash wear comes from the emulated flash's per-block
erase counters (flash.img.wear), which add up across the power cuts.
"""

import json
import os
import signal
import subprocess
import tempfile
import time

from bench.table import Row
from board.emulated.file_flash import read_wear
from host_tools.emulator.process import EDGEMETER, EmulatorProcess

MB = 1048576
DAYS = 31  # in December: 2 GB a month is 2 GB over 31 days
TRAFFIC_DAYS = 30
READ_AT_DAY = 30.5
SPEED = 5000
MONTH_BYTES = 2048 * MB
CUTS = 20
FAULT_DAYS = (5.3, 12.6, 19.2)
ENDURANCE = 100000  # erase cycles a NOR flash block is rated for (typical datasheet figure)
PER_CUT_BUDGET = 64 * 1024


def _scenario():
    mbps = MONTH_BYTES * 8 / 1e6 / (DAYS * 86400)
    return {
        "start": "2026-12-01T00:00:00+08:00",
        "subscriber": "+8613800138000",
        "plan": {"quota_mb": 4096, "cycle_day": 1, "timezone": "+08:00", "at_zero": "warn"},
        "traffic": [{"from": "+0s", "mbps": round(mbps, 9)}, {"from": "+%dd" % TRAFFIC_DAYS, "mbps": 0}],
        "faults": [{"at": "+%gd" % day, "modem_reset": True} for day in FAULT_DAYS],
    }


def _cut_when_idle(pid, patience_s=0.05):
    """SIGKILL `pid` once /proc says it is sleeping (or after `patience_s` anyway)."""
    deadline = time.monotonic() + patience_s
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "S":
                    break
        except (OSError, IndexError):
            break
    os.kill(pid, signal.SIGKILL)


def _status(port):
    done = subprocess.run([EDGEMETER, "status", "--port", port, "--json"], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError("edgemeter status failed: " + done.stderr)
    return json.loads(done.stdout)


def rows():
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "scenario.json")
        with open(path, "w") as f:
            json.dump(_scenario(), f)
        state = os.path.join(folder, "board")
        begun = time.monotonic()
        board = EmulatorProcess(state, "--scenario", path, "--speed", str(SPEED), "--power-on-delay", "0.05")
        real_day = 86400 / SPEED
        try:
            board.wait_ready()
            for i in range(CUTS):
                due = begun + real_day * TRAFFIC_DAYS * (i + 0.5) / CUTS
                time.sleep(max(0.0, due - time.monotonic()))
                _cut_when_idle(board.pid())
            time.sleep(max(0.0, begun + real_day * READ_AT_DAY - time.monotonic()))
            board.wait_ready()
            device = _status(board.port)
            with open(os.path.join(state, "network.json")) as f:
                carrier = json.load(f)
            with open(os.path.join(state, "modem.log")) as f:
                resets = f.read().count("fault: modem_reset")
            with open(os.path.join(state, "console.log")) as f:
                cuts = f.read().count("booted (power-loss)")
        finally:
            board.stop()
        wear = read_wear(os.path.join(state, "flash.img.wear"))
    used = carrier["used_bytes"]
    error = abs(used - device["used"])
    goal = used * 1e-5 + (cuts + resets) * PER_CUT_BUDGET
    per_day = sum(wear) / READ_AT_DAY
    worst_per_day = max(wear) / READ_AT_DAY
    return [
        Row(
            "usage error, device vs carrier, a month at 2 GB",
            error / 1024,
            "KB",
            goal=goal / 1024,
            at_most=True,
            note="%.0f MB carried; %d power cuts, %d modem resets; goal 1e-5 + 64 KB a cut" % (used / MB, cuts, resets),
        ),
        Row(
            "usage error per power cut or modem reset",
            error / max(cuts + resets, 1) / 1024,
            "KB",
            goal=PER_CUT_BUDGET / 1024,
            at_most=True,
        ),
        Row("flash erases per simulated day at 2 GB/month", per_day, "erases", note="%d blocks of 4 KB" % len(wear)),
        Row(
            "projected flash life at 2 GB/month",
            ENDURANCE / max(worst_per_day, 1e-9) / 365,
            "years",
            goal=10,
            note="most-erased block %.1f erases/day, %d-cycle flash" % (worst_per_day, ENDURANCE),
        ),
    ]
