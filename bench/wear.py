"""Bench rows for flash wear at 2, 20 and 100 GB a month, from tests/device/bench_wear.py.

Each runs the real storage code (the checkpoint journal, the record ring,
LittleFS for the state files) on the emulated board's NOR file flash, split by
its layout, through simulated days of that traffic's writes, and reads the
per-block erase counters: erases a day, and the most-erased block's life on a
100,000-cycle flash. The 2 GB month on the whole emulated board (bench/month.py)
checks the same against the firmware's real write pattern.
"""

import json
import os
import tempfile

from bench.table import Row
from host_tools.build import micropython_vm

DEVICE_TESTS = os.path.join(micropython_vm.REPO, "tests", "device")
ENDURANCE = 100000
LIFE_GOAL_YEARS = 20  # at 100 GB a month (issue 16)
DAYS_GOAL = 90  # of records the ring holds at 100 GB a month
RUNS = ((2, 4), (20, 2), (100, 1))  # (GB a month, simulated days)
HEAP = "384k"  # the emulated board's


def _day(gb_month, days):
    with tempfile.TemporaryDirectory() as folder:
        done = micropython_vm.run([os.path.join(DEVICE_TESTS, "bench_wear.py"), os.path.join(folder, "flash.img"),
                                   str(gb_month), str(days)], heap=HEAP, extra_paths=[DEVICE_TESTS], timeout=1800)
    if done.returncode != 0:
        raise RuntimeError("bench_wear.py failed:\n" + done.stdout + done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def rows():
    out = []
    for gb_month, days in RUNS:
        stats = _day(gb_month, days)
        per_day = stats["erases_per_day"]
        worst = max(per_day)
        block = per_day.index(worst)
        life = ENDURANCE / worst / 365 if worst else float("inf")
        out.append(Row("flash erases per simulated day at %d GB/month" % gb_month, sum(per_day), "erases",
                       note="%d checkpoints a day; %d simulated day(s)" % (stats["checkpoints_per_day"], days)))
        out.append(Row("projected life of the most-erased block at %d GB/month" % gb_month, life, "years",
                       goal=LIFE_GOAL_YEARS if gb_month == 100 else None,
                       note="block %d, %.1f erases/day; %d-cycle flash" % (block, worst, ENDURANCE)))
        if gb_month == 100:
            out.append(Row("days of records the ring holds at 100 GB/month", stats["ring_bytes"] / stats["record_bytes_per_day"],
                           "days", goal=DAYS_GOAL,
                           note="%.0f record bytes a day (hourly usage and %s), ring %d KB"
                                % (stats["record_bytes_per_day"], "events", stats["ring_bytes"] // 1024)))
            out.append(Row("checkpoints/s the VM puts in the journal", stats["puts_per_s"], "1/s",
                           note="at 100 GB/month one is due every %.1f s: the VM keeps up to %.0fx real time"
                                % (86400 / stats["checkpoints_per_day"], stats["puts_per_s"] * 86400 / stats["checkpoints_per_day"])))
    return out
