"""Bench rows for metering at 50 Mbit/s: the overshoot past 0 MB, and how late the
reminders come.

The emulated board meters a 64 MB plan while the simulated carrier pushes a
steady 50 Mbit/s; with `at_zero: cut` the device must stop the data session.
The carrier's own count past the quota is the overshoot (goal ≤ 1 MB). The
carrier's count crosses 10 MB, 5 MB and 0 MB left at known moments (the session
starts in cdr.jsonl, the rate is constant); each reminder's delay is the time
from that moment to its delivery in sms.jsonl, in simulated seconds.
"""

import json
import os
import tempfile
import time
from datetime import datetime

from bench.table import Row
from host_tools.emulator.process import EmulatorProcess

MB = 1048576
QUOTA_MB = 64
BYTES_PER_MS = 50e6 / 8 / 1000


def _ms(iso):
    return datetime.fromisoformat(iso).timestamp() * 1000


def rows():
    scenario = {
        "subscriber": "+8613800138000",
        "plan": {"quota_mb": QUOTA_MB, "at_zero": "cut"},
        "traffic": [{"from": "+0s", "mbps": 50}],
    }
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "scenario.json")
        with open(path, "w") as f:
            json.dump(scenario, f)
        state = os.path.join(folder, "board")
        board = EmulatorProcess(state, "--scenario", path, "--speed", "2")
        try:
            board.wait_ready()
            deadline = time.monotonic() + 60
            network = {}
            while time.monotonic() < deadline:
                time.sleep(0.5)
                with open(os.path.join(state, "network.json")) as f:
                    network = json.load(f)
                if network.get("data_session") == "down" and network.get("used_bytes", 0) >= QUOTA_MB * MB:
                    break
            time.sleep(1.0)
            with open(os.path.join(state, "network.json")) as f:
                network = json.load(f)
        finally:
            board.stop()
        with open(os.path.join(state, "cdr.jsonl")) as f:
            session_start = _ms(json.loads(f.readline())["start"])
        with open(os.path.join(state, "sms.jsonl")) as f:
            delivered = [_ms(json.loads(line)["time"]) for line in f]
    overshoot = network["used_bytes"] - QUOTA_MB * MB
    crossings = [session_start + (QUOTA_MB - left) * MB / BYTES_PER_MS for left in (10, 5, 0)]
    delays = [(at - crossed) / 1000 for at, crossed in zip(delivered, crossings)]
    return [
        Row(
            "reminder delay after the crossing, 50 Mbit/s (worst of 3)",
            max(delays),
            "s",
            note="10/5/0 MB: %s s (simulated); %d SMS" % ("/".join("%.2f" % d for d in delays), len(delivered)),
        ),
        Row(
            "overshoot past 0 MB at 50 Mbit/s (carrier's count)",
            overshoot / MB,
            "MB",
            goal=1.0,
            at_most=True,
            note="%d MB plan, cut at zero; session %s" % (QUOTA_MB, network["data_session"]),
        )
    ]
