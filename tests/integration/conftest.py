"""Fixtures for tests that run the whole emulated board."""

import json

import pytest

from host_tools.emulator.process import EmulatorProcess

# No traffic: the only records are the ones a test causes, so counts are exact.
# Starts where records_workload's clock writes go (2026-12-01 00:00 UTC), so that
# those writes move the clock by seconds, not days: a jump of days would bring the
# first balance query and a cycle rollover, records that land between two pulls.
IDLE = {"subscriber": "+8613800138000", "start": "2026-12-01T00:00:00Z", "plan": {"quota_mb": 100},
        "traffic": [{"from": "+0s", "mbps": 0}]}


def scenario_file(folder, scenario):
    path = folder / "scenario.json"
    path.write_text(json.dumps(scenario))
    return str(path)


@pytest.fixture
def emulator(tmp_path):
    board = EmulatorProcess(tmp_path / "board", "--scenario", scenario_file(tmp_path, IDLE))
    board.wait_ready()
    yield board
    board.stop()
