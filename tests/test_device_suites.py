"""Run every device-side test file on the real MicroPython unix port, in a 64 KB heap.

The same files also run under CPython through pytest's normal collection
(tests/device/test_*.py), so each device test is checked on both VMs.

Heap budget and margin. A file runs in 64 KB unless it declares `HEAP = "NNNk"`
(a stack whose bytecode alone takes more: the unix port holds in its heap the
bytecode a board keeps in flash). The rule: every suite passes in every heap
from 8 KB less than its budget up to its budget, so it never needs its last
8 KB (MARGIN, margin_bytes). 8 KB is an eighth of the 64 KB board heap; a larger
budget is no more memory to spare, only more bytecode held, so the margin is
the same. `test_margin_on_micropython` proves it in the default suite at one
size, budget - 8 KB. Near its limit a suite does not fail at a sharp line (an
allocation finds a free run long enough or not, by when the collector last ran:
a suite can pass in some heap and fail in a larger one), so the slow
`test_heap_floors` (and `invoke bench`, bench/device_heap.py) scans each suite
down from its budget for its floor, the smallest heap from which it passes in
every size up to the budget, and runs it 3 times at the sizes that decide: it
fails if a suite's floor is above budget - 8 KB or its verdicts differ between
runs. A run that prints a MemoryError fails even if its tests passed: the
firmware survives one (a poll or a reply fails and the loop goes on).

Runs are deterministic (micropython_vm.run_suite): the test file and its helpers
run compiled by mpy-cross, as the device code does (compiling a test file on the
VM took more heap than its tests, in some suites); the heap's pool is the same
wherever the host process's malloc() puts it; the VM sees paths relative to the
repo, so its heap holds the same strings in any clone; stdin is empty. The fake
modem's tests run asyncio on a virtual clock (tests/device/virtual_clock.py), so
a run takes the same steps however fast or loaded the machine is.
"""

import glob
import os

import pytest

from host_tools.build import micropython_vm

DEVICE_TESTS = sorted(glob.glob(os.path.join(micropython_vm.DEVICE_TESTS, "test_*.py")))

MARGIN = "every device suite passes in every heap from 8 KB below its budget up to its budget"


def margin_bytes(budget):
    """The heap (bytes) below its budget that a suite must never need."""
    return 8 * 1024


def _heap(path):
    return micropython_vm.suite_heap(path)


def _output(done):
    return done.stdout + done.stderr


@pytest.mark.parametrize("path", DEVICE_TESTS, ids=os.path.basename)
def test_on_micropython(path):
    done = micropython_vm.run_suite(path, _heap(path))
    assert micropython_vm.suite_passed(done), _output(done)


@pytest.mark.parametrize("path", DEVICE_TESTS, ids=os.path.basename)
def test_margin_on_micropython(path):
    budget = micropython_vm.heap_bytes(_heap(path))
    heap = budget - margin_bytes(budget)
    done = micropython_vm.run_suite(path, str(heap))
    assert micropython_vm.suite_passed(done), "%s fails in %d bytes, its budget %s less the margin (%s):\n%s" % (
        os.path.basename(path), heap, _heap(path), MARGIN, _output(done))


@pytest.mark.slow
def test_heap_floors():
    from bench import device_heap

    results = device_heap.measure(report=lambda name, r: print(device_heap.line(name, r), flush=True))
    bad = [device_heap.line(name, r) for name, r in results.items() if not (r["same"] and r["fits"])]
    assert not bad, "device suites short of the margin (%s) or whose heap use differs between runs:\n%s" % (
        MARGIN, "\n".join(bad))
