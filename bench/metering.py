"""Bench rows for metering: how far past 0 MB data flows at 50 Mbit/s before the cut.

The emulated board meters a 64 MB plan while the simulated carrier pushes a
steady 50 Mbit/s; with `at_zero: cut` the device must stop the data session.
The carrier's own count past the quota is the overshoot (goal ≤ 1 MB).
"""

import json
import os
import tempfile
import time

from bench.table import Row
from host_tools.emulator.process import EmulatorProcess

MB = 1048576
QUOTA_MB = 64


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
    overshoot = network["used_bytes"] - QUOTA_MB * MB
    return [
        Row(
            "overshoot past 0 MB at 50 Mbit/s (carrier's count)",
            overshoot / MB,
            "MB",
            goal=1.0,
            at_most=True,
            note="%d MB plan, cut at zero; session %s" % (QUOTA_MB, network["data_session"]),
        )
    ]
