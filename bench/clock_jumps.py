"""Bench rows for a clock set back while the line is busy: what the meter misses.

The emulated board meters a 40 MB plan cut at zero while the simulated carrier
pushes 1 MB a second; after 5 MB the technician sets the device clock back (9
hours: across the cycle day, as the plan starts at 06:00 on the 1st; and a whole
year). The carrier's own count is the truth: what it carried beyond what the
device metered is what the jump made the meter miss (goal: nothing beyond the
carrier's rounding, 1 KB a billed record); the reminders must still come once
each, and data be cut within 1 MB of zero.
"""

import datetime
import json
import os
import subprocess
import tempfile
import time

from bench.table import Row
from host_tools.emulator.process import EDGEMETER, EmulatorProcess

MB = 1048576
QUOTA_MB = 40
JUMPS = (("9 h", datetime.timedelta(hours=9)), ("a year", datetime.timedelta(days=365)))


def _edgemeter_json(*argv):
    done = subprocess.run([EDGEMETER, *argv, "--json"], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def _network(state):
    with open(os.path.join(state, "network.json")) as f:
        return json.load(f)


def _run(folder, back):
    scenario = {
        "subscriber": "+8613800138000",
        "start": "2026-12-01T06:00:00+08:00",
        "plan": {"quota_mb": QUOTA_MB, "cycle_day": 1, "timezone": "+08:00", "at_zero": "cut"},
        "traffic": [{"from": "+20s", "mbps": 8.388608}],
    }
    path = os.path.join(folder, "scenario.json")
    with open(path, "w") as f:
        json.dump(scenario, f)
    state = os.path.join(folder, "board")
    board = EmulatorProcess(state, "--scenario", path, "--speed", "10")
    try:
        board.wait_ready()
        deadline = time.monotonic() + 60
        while _network(state)["used_bytes"] < 5 * MB and time.monotonic() < deadline:
            time.sleep(0.2)
        now = datetime.datetime.fromisoformat(_edgemeter_json("clock", "get", "--port", board.port)["datetime"])
        subprocess.run([EDGEMETER, "clock", "set", "--port", board.port, "--to", (now - back).isoformat()],
                       capture_output=True, timeout=60, check=True)
        deadline = time.monotonic() + 90
        while _network(state)["data_session"] != "down" and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
        device = _edgemeter_json("status", "--port", board.port)
        network = _network(state)
    finally:
        board.stop()
    with open(os.path.join(state, "sms.jsonl"), encoding="utf-8") as f:
        reminders = sum(1 for line in f if json.loads(line)["to"] == scenario["subscriber"])
    return network["used_bytes"] - device["used"], reminders, (network["used_bytes"] - QUOTA_MB * MB) / MB


def rows():
    out = []
    for name, back in JUMPS:
        with tempfile.TemporaryDirectory() as folder:
            missed, reminders, overshoot = _run(folder, back)
        out += [
            Row("bytes the meter missed across a clock set back %s (carrier − device)" % name, missed, "bytes",
                goal=2048, at_most=True, note="40 MB plan at 1 MB/s, set back after 5 MB; the carrier rounds each record up to 1 KB"),
            Row("reminders after a clock set back %s" % name, reminders, "SMS", goal=3,
                note="10/5/0 MB, each once; cut at zero %.2f MB past the quota" % overshoot),
        ]
    return out
