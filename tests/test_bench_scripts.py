"""The bench's device scripts and modules still run (a bench that breaks silently measures
nothing), and on the real MicroPython VM the storage they drive never programs a byte
that is not erased (the NOR file flash counts those as faults)."""

import importlib
import json
import os

import pytest

from host_tools.build import micropython_vm

DEVICE_TESTS = os.path.join(micropython_vm.REPO, "tests", "device")
BENCH = os.path.join(micropython_vm.REPO, "bench")


@pytest.mark.parametrize("name", sorted(n[:-3] for n in os.listdir(BENCH) if n.endswith(".py") and n != "__init__.py"))
def test_each_bench_module_imports_and_has_rows(name):
    module = importlib.import_module("bench." + name)
    assert name == "table" or callable(module.rows)


def _script(tmp_path, *args):
    done = micropython_vm.run([os.path.join(DEVICE_TESTS, args[0]), str(tmp_path / "flash.img"), *args[1:]],
                              heap="384k", extra_paths=[DEVICE_TESTS])
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_record_ring_bench_programs_only_erased_flash(tmp_path):
    stats = _script(tmp_path, "bench_store.py", "1200")
    assert stats["program_faults"] == 0 and stats["records"] == 1200 and stats["erases"] >= 1
    assert stats["bytes_written"] >= 1200 * stats["frame_bytes"] > 0


def test_the_wear_bench_programs_only_erased_flash_and_wears_the_journal_evenly(tmp_path):
    stats = _script(tmp_path, "bench_wear.py", "20", "1")
    assert stats["program_faults"] == 0 and stats["checkpoints_per_day"] == 20 * 1024 * 1024 * 1024 // 30.4 // 65536
    layout = dict(stats["layout"])
    journal = stats["erases_per_day"][layout["state"] : layout["state"] + layout["checkpoints"]]
    assert max(journal) - min(journal) <= 1  # the ring goes round: no block erased more than another lap


def test_the_heap_months_scenario_is_one_the_emulator_takes():
    from bench import heap_month
    from host_tools.emulator.scenario import parse_scenario

    month = parse_scenario(heap_month.scenario())
    assert month.plan.quota_bytes == 300 * 1048576 and len(month.messages) >= 4
