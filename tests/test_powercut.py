"""Power cuts at random writes of the record log's flash, on the real MicroPython VM.

tests/device/powercut.py runs a workload of the record log (firmware/storage/record_log.py
on LittleFS, or with --ring firmware/storage/ring_log.py on raw flash sectors) once, recording every flash write, then rebuilds and recovers the
flash image of a power cut at each chosen write (see its docstring for what is
checked). The default suite runs a random sample (the seed is in the output, so
a failure can be re-run: `powercut.py --sample K --seed S`); the full sweep of
every write is marked slow. tests/device/migration_cuts.py does the same for the
move of a flash off the old layout, at every write in the default suite (a few
hundred writes, two seconds).
"""

import os
import random
import re

import pytest

from host_tools.build import micropython_vm

HARNESS = os.path.join(micropython_vm.REPO, "tests", "device", "powercut.py")
# Simulated flash, the recorded writes and the model: host memory, not firmware RAM.
HEAP = "32m"


def _harness(*args, timeout=600, harness=HARNESS):
    done = micropython_vm.run([harness, *args], heap=HEAP, extra_paths=[os.path.dirname(HARNESS)], timeout=timeout)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    points = re.search(r"^cut points: (\d+) of (\d+) writes", output, re.M)
    summary = re.search(r"^(\d+) passed, (\d+) failed$", output, re.M)
    assert points and summary, output
    return int(points.group(1)), int(points.group(2)), int(summary.group(1)), int(summary.group(2)), output


def _seed():
    return os.environ.get("POWERCUT_SEED") or str(random.randrange(1, 1 << 30))


def test_power_cut_sample():
    seed = _seed()
    cuts, writes, passed, failed, output = _harness("--sample", "1000", "--seed", seed, "--live", "5")
    assert writes > 3000 and cuts == 1000, output
    assert (passed, failed) == (cuts + 5, 0), "seed %s\n%s" % (seed, output)
    assert int(re.search(r"(\d+) gap\(s\)", output).group(1)) >= 1, output


def test_power_cut_sample_with_reordered_writes():
    seed = _seed()
    cuts, writes, passed, failed, output = _harness("--sample", "500", "--seed", seed, "--reorder")
    assert cuts == 500 and (passed, failed) == (500, 0), "seed %s\n%s" % (seed, output)
    assert "blocks" in output and "ooo" in output, output


@pytest.mark.slow
def test_power_cut_every_write():
    cuts, writes, passed, failed, output = _harness("--every", "--live", "20", timeout=1800)
    assert cuts == writes > 3000 and (passed, failed) == (cuts + 20, 0), output


@pytest.mark.slow
def test_power_cut_every_write_reordered():
    cuts, writes, passed, failed, output = _harness("--every", "--reorder", timeout=1800)
    assert cuts == writes > 3000 and (passed, failed) == (cuts, 0), output


# --- the ring of raw flash sectors (firmware/storage/ring_log.py), issue 16 --------

def test_power_cut_sample_on_the_ring():
    seed = _seed()
    cuts, writes, passed, failed, output = _harness("--ring", "--sample", "600", "--seed", seed, "--live", "5")
    assert writes > 1500 and cuts == 600, output
    assert (passed, failed) == (cuts + 5, 0), "seed %s\n%s" % (seed, output)
    assert int(re.search(r"(\d+) gap\(s\)", output).group(1)) >= 1, output  # the offline stretch filled the ring


@pytest.mark.slow
def test_power_cut_every_write_on_the_ring():
    cuts, writes, passed, failed, output = _harness("--ring", "--every", "--live", "20", timeout=1800)
    assert cuts == writes > 1500 and (passed, failed) == (cuts + 20, 0), output


# --- the move off the old layout (firmware/storage/migration.py), issue 16 --------

def test_power_cut_at_every_write_of_the_move_off_the_old_layout():
    cuts, writes, passed, failed, output = _harness("--every", harness=os.path.join(os.path.dirname(HARNESS), "migration_cuts.py"))
    assert cuts == writes > 200 and (passed, failed) == (cuts, 0), output
    assert "mounted" in output.split("boots after a cut:")[1]  # a cut in the parcel's erase was among them
