"""Run every device-side test file on the real MicroPython unix port, in a 64 KB heap.

The same files also run under CPython through pytest's normal collection
(tests/device/test_*.py), so each device test is checked on both VMs.
"""

import glob
import os

import pytest

from host_tools import micropython_vm

DEVICE_TESTS = sorted(glob.glob(os.path.join(micropython_vm.REPO, "tests", "device", "test_*.py")))


@pytest.mark.parametrize("path", DEVICE_TESTS, ids=os.path.basename)
def test_on_micropython(path):
    done = micropython_vm.run([path], extra_paths=[os.path.dirname(path)])
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    last = output.strip().splitlines()[-1]
    assert last.endswith(" 0 failed") and not last.startswith("0 passed"), output
