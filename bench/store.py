"""Bench rows for the record log (firmware/storage/ring_log.py) on the MicroPython VM.

Speed and flash wear come from tests/device/bench_store.py: unpaced appends to
the record ring on the emulated board's NOR file flash (its layout, 4096-byte
blocks), in the board's heap, with an ack every 500 records; the counters are
FileFlash's. The power-cut rows run the full sweeps of tests/device/powercut.py
(a cut at every flash write of its workload), on the ring and on the old
layout's LittleFS log, and of tests/device/migration_cuts.py (the move off the
old layout); should one ever take more than SWEEP_LIMIT_S, a fixed
sample runs instead and the row says so.
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


def _sweep(script, args, timeout):
    start = time.perf_counter()
    done = micropython_vm.run(
        [os.path.join(DEVICE_TESTS, script), *args], heap=SWEEP_HEAP, extra_paths=[DEVICE_TESTS], timeout=timeout
    )
    elapsed = time.perf_counter() - start
    output = done.stdout + done.stderr
    points = re.search(r"^cut points: (\d+) of (\d+) writes", output, re.M)
    summary = re.search(r"^(\d+) passed, (\d+) failed$", output, re.M)
    if not points or not summary:
        raise RuntimeError("%s failed:\n%s" % (script, output))
    return int(points.group(1)), int(points.group(2)), int(summary.group(2)), elapsed


def _sweep_row(name, extra, script="powercut.py"):
    try:
        cuts, writes, failed, elapsed = _sweep(script, extra + ["--every"], SWEEP_LIMIT_S)
        how = "every write"
    except subprocess.TimeoutExpired:
        cuts, writes, failed, elapsed = _sweep(script, extra + ["--sample", str(FALLBACK_SAMPLE), "--seed", "1"], None)
        how = "SAMPLE of %d (the full sweep took over %d s)" % (FALLBACK_SAMPLE, SWEEP_LIMIT_S)
    return Row(name, cuts, "cuts", note="%s of %d; %d failed; %.0f s" % (how, writes, failed, elapsed))


def rows():
    stats = _appends()
    records = stats["records"]
    frame = stats["frame_bytes"]
    bound = stats["bytes_written"] / stats["block_size"] * 1000 / records  # erases the bytes programmed need
    return [
        Row("record log appends/s (the ring on NOR file flash)", stats["appends_per_s"], "1/s",
            note="unpaced, each durable when append returns; %d records" % records),
        Row("flash bytes programmed per record / its frame", stats["bytes_written"] / records / frame, "ratio",
            goal=1.5, at_most=True,
            note="%.1f bytes a record, frame %.1f; sector headers and the ack file's LittleFS writes in"
                 % (stats["bytes_written"] / records, frame)),
        Row("flash erases per 1,000 records / the physical bound", stats["erases"] * 1000 / records / bound, "ratio",
            goal=2, at_most=True,
            note="%.1f erases per 1,000 records; bound %.1f (bytes programmed / 4096)" % (stats["erases"] * 1000 / records, bound)),
        Row("programs over bytes not erased (NOR faults)", stats["program_faults"], "bytes", goal=0, at_most=True),
        _sweep_row("power-cut points checked, the ring (raw NOR sectors)", ["--ring"]),
        _sweep_row("power-cut points checked, the old layout's LittleFS log", []),
        _sweep_row("power-cut points checked, the move off the old layout", [], "migration_cuts.py"),
    ]
