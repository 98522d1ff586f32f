"""Run every device-side test file on the real MicroPython unix port, in a 64 KB heap.

The same files also run under CPython through pytest's normal collection
(tests/device/test_*.py), so each device test is checked on both VMs.
"""

import glob
import os
import re

import pytest

from host_tools import micropython_vm

DEVICE_TESTS = sorted(glob.glob(os.path.join(micropython_vm.REPO, "tests", "device", "test_*.py")))


_HEAP = re.compile(r'^HEAP = "(\d+k)"', re.M)


def _heap(path):
    """64 KB, unless the file says otherwise (a stack whose bytecode alone takes more)."""
    with open(path, encoding="utf-8") as f:
        found = _HEAP.search(f.read())
    return found.group(1) if found else micropython_vm.DEFAULT_HEAP


@pytest.mark.parametrize("path", DEVICE_TESTS, ids=os.path.basename)
def test_on_micropython(path):
    done = micropython_vm.run([path], heap=_heap(path), extra_paths=[os.path.dirname(path)])
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    last = output.strip().splitlines()[-1]
    assert last.endswith(" 0 failed") and not last.startswith("0 passed"), output
