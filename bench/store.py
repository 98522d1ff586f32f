"""Bench rows for the record log (firmware/storage/record_log.py) on the MicroPython VM.

Speed and flash wear come from tests/device/bench_store.py: unpaced appends on
LittleFS over the emulated board's file flash (its geometry, 4096-byte blocks),
in the board's heap; the wear counters are FileFlash's. The power-cut row runs
the full sweep of tests/device/powercut.py (a cut at every flash write of its
workload); should that ever take more than SWEEP_LIMIT_S, a fixed sample runs
instead and the row says so.
"""

import json
import os
import re
import subprocess
import tempfile
import time

from bench.table import Row
from host_tools.build import micropython_vm

DEVICE_TESTS = os.path.join(micropython_vm.REPO, "tests", "device")
RECORDS = 2000
with open(os.path.join(micropython_vm.REPO, "board", "emulated", "board.json")) as _f:
    BOARD_HEAP = json.load(_f)["heap"]
SWEEP_HEAP = "32m"  # simulated flash and recorded writes: host memory
SWEEP_LIMIT_S = 180
FALLBACK_SAMPLE = 3000


def _appends():
    with tempfile.TemporaryDirectory() as folder:
        done = micropython_vm.run(
            [os.path.join(DEVICE_TESTS, "bench_store.py"), os.path.join(folder, "flash.img"), str(RECORDS)],
            heap=BOARD_HEAP,
            extra_paths=[DEVICE_TESTS],
        )
    if done.returncode != 0:
        raise RuntimeError("bench_store.py failed:\n" + done.stdout + done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _sweep(args, timeout):
    start = time.perf_counter()
    done = micropython_vm.run(
        [os.path.join(DEVICE_TESTS, "powercut.py"), *args], heap=SWEEP_HEAP, extra_paths=[DEVICE_TESTS], timeout=timeout
    )
    elapsed = time.perf_counter() - start
    output = done.stdout + done.stderr
    points = re.search(r"^cut points: (\d+) of (\d+) writes", output, re.M)
    summary = re.search(r"^(\d+) passed, (\d+) failed$", output, re.M)
    if not points or not summary:
        raise RuntimeError("powercut.py failed:\n" + output)
    return int(points.group(1)), int(points.group(2)), int(summary.group(2)), elapsed


def rows():
    stats = _appends()
    try:
        cuts, writes, failed, elapsed = _sweep(["--every"], SWEEP_LIMIT_S)
        how = "every write"
    except subprocess.TimeoutExpired:
        cuts, writes, failed, elapsed = _sweep(["--sample", str(FALLBACK_SAMPLE), "--seed", "1"], None)
        how = "SAMPLE of %d (the full sweep took over %d s)" % (FALLBACK_SAMPLE, SWEEP_LIMIT_S)
    records = stats["records"]
    frame = stats["log_bytes"] / records
    return [
        Row("record log appends/s (LittleFS on file flash)", stats["appends_per_s"], "1/s",
            note="unpaced, each durable (lfs_file_sync); %d records" % records),
        Row("flash bytes written per record", stats["bytes_written"] / records, "bytes",
            note="record frame %.0f bytes; littlefs rewrites the last block's tail at each sync" % frame),
        Row("flash erases per 1,000 records", stats["erases"] * 1000 / records, "erases",
            note="%d-byte blocks" % stats["block_size"]),
        Row("power-cut points checked", cuts, "cuts",
            note="%s of %d; %d failed; %.0f s" % (how, writes, failed, elapsed)),
    ]
