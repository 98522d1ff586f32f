"""How much of its heap each device suite needs on the MicroPython VM, run after run.

Each tests/device/test_*.py runs in its budget (64 KB, or the file's `HEAP = "NNNk"`;
see tests/test_device_suites.py, whose MARGIN is the rule checked here). The unix
port keeps no high-water mark of its GC heap: `micropython.mem_peak()` counts the
bytes allocated less those freed by hand, never those the collector frees, so it
only grows. Nor does a suite fail at a sharp line: near its limit, whether an
allocation finds a free run long enough depends on when the collector last ran,
and a suite can pass in some heap and fail in a larger one. What is measured is
the suite's floor: the smallest heap from which it passes in every size scanned
up to its budget, scanned down from the budget in COARSE steps to the first
failure, then in FINE steps in the COARSE step above it. Its margin is budget -
floor: heap it never needed. A run that prints a MemoryError (the firmware
survives one) counts as failed, as does one taking TIMEOUT_FACTOR times the run
in the budget (a loop that survives MemoryErrors may never end).

`measure(runs)` scans each suite once, then runs it again `runs - 1` times at the
sizes that decide its floor and margin: the budget, budget - margin, the floor
and the failing size just below it. A suite is deterministic if every run gives
the same verdicts there. `rows()` is the bench table's part (`invoke bench`);
the slow test tests/test_device_suites.py::test_heap_floors checks the same.
`python -m bench.device_heap [RUNS [test_x.py ...]]` prints it suite by suite.
"""

import glob
import os
import subprocess
import time

from bench.table import Row
from host_tools.build import micropython_vm

COARSE = 2048
FINE = 256  # the pool grows by 128 bytes (an allocation-table byte) per 129.5 heap bytes
RUNS = 3
MIN_TIMEOUT_S = 20
TIMEOUT_FACTOR = 5


def suites():
    """[(file name, path, budget in bytes)] of every device suite."""
    paths = sorted(glob.glob(os.path.join(micropython_vm.DEVICE_TESTS, "test_*.py")))
    return [(os.path.basename(p), p, micropython_vm.heap_bytes(micropython_vm.suite_heap(p))) for p in paths]


def passes(path, heap, timeout=300):
    """Whether the suite at `path` passes in a heap of `heap` bytes (in `timeout` seconds)."""
    try:
        return micropython_vm.suite_passed(micropython_vm.run_suite(path, str(heap), timeout=timeout))
    except subprocess.TimeoutExpired:
        return False


def floor(path, budget, verdicts):
    """The suite's floor in bytes (None if it fails in its budget); `verdicts` gets
    {heap: passed} for every size tried, and returns the run time allowed."""
    begun = time.perf_counter()
    verdicts[budget] = passes(path, budget)
    timeout = max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * (time.perf_counter() - begun))
    if not verdicts[budget]:
        return None, timeout

    def ok(heap):
        if heap not in verdicts:
            verdicts[heap] = passes(path, heap, timeout)
        return verdicts[heap]

    low = budget
    while low > COARSE and ok(low - COARSE):
        low -= COARSE
    for heap in range(low - FINE, max(low - COARSE, 0), -FINE):
        if not ok(heap):
            break
        low = heap
    return low, timeout


def measure_one(path, budget, margin, runs=RUNS):
    """{"budget", "floor", "margin", "same", "runs", "seconds", "verdicts"} of one suite."""
    begun = time.perf_counter()
    verdicts = {}
    low, timeout = floor(path, budget, verdicts)
    decisive = {budget, budget - margin}
    if low is not None:
        decisive |= {low, low - FINE} if low > FINE else {low}
    for heap in decisive:
        if heap not in verdicts:
            verdicts[heap] = passes(path, heap, timeout)
    same = True
    for _ in range(runs - 1):
        for heap in sorted(decisive):
            same = passes(path, heap, timeout) == verdicts[heap] and same
    return {
        "budget": budget,
        "floor": low,
        "margin": None if low is None else budget - low,
        "fits": low is not None and low <= budget - margin,
        "same": same,
        "runs": runs,
        "seconds": time.perf_counter() - begun,
        "verdicts": verdicts,
    }


def measure(runs=RUNS, names=None, report=None):
    """{file name: measure_one(...)} of every device suite (or those in `names`);
    `report(name, result)` is called as each is done."""
    from tests.test_device_suites import margin_bytes

    out = {}
    for name, path, budget in suites():
        if names and name not in names:
            continue
        out[name] = measure_one(path, budget, margin_bytes(budget), runs)
        if report:
            report(name, out[name])
    return out


def line(name, r):
    """One suite's result as a line of text."""
    return "%-28s budget %7d  floor %7s  margin %6s%s  %d runs %s, %.0f s" % (
        name, r["budget"], r["floor"], r["margin"], "" if r["fits"] else " (below the rule)",
        r["runs"], "the same" if r["same"] else "VARY", r["seconds"])


def rows(runs=RUNS):
    from tests.test_device_suites import MARGIN, margin_bytes

    results = measure(runs)
    out = []
    for name, r in results.items():
        note = "budget %d, floor %s; %d runs %s; %.0f s" % (
            r["budget"], r["floor"], runs, "the same" if r["same"] else "VARY", r["seconds"])
        out.append(Row("heap margin of %s (budget - floor)" % name, r["margin"], "bytes", goal=margin_bytes(r["budget"]), note=note))
    varying = [n for n, r in results.items() if not r["same"]]
    short = [n for n, r in results.items() if not r["fits"]]
    total = sum(r["seconds"] for r in results.values())
    out.append(Row("device suites whose heap use differs between runs", len(varying), "suites", goal=0, at_most=True,
                   note=", ".join(varying) or "%d suites, %d runs each, %.0f s" % (len(results), runs, total)))
    out.append(Row("device suites short of the heap margin", len(short), "suites", goal=0, at_most=True,
                   note=", ".join(short) or MARGIN))
    return out


if __name__ == "__main__":
    import sys

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else RUNS
    measure(runs, sys.argv[2:] or None, lambda name, r: print(line(name, r), flush=True))
