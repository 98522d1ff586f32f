"""Fixtures for tests that run the whole emulated board.

They run on the frozen image (issue 17): `frozen_image` builds the emulated
board's image once per session from the code as it is (invoke image --board
emulated, incremental), and every `edgemeter emulate run` boots it by default,
in the heap of the board it stands for (board.json "image" "heap"). Without
MicroPython's source beside the clone they run on the .mpy files, with a warning.
"""

import json
import warnings

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


@pytest.fixture(scope="session", autouse=True)
def frozen_image():
    from host_tools.build import image_build
    from host_tools.build.micropython_source import source_dir

    try:
        image_build.build_image("emulated", log=lambda line: None)
    except image_build.ImageError as exc:
        if image_build.has_source():
            raise  # the source is there: an image that does not build is a failure
        warnings.warn("the emulator tests run on .mpy files, not the frozen image: %s (%s)" % (exc, source_dir()))
    return image_build.current("emulated")


@pytest.fixture
def emulator(tmp_path):
    board = EmulatorProcess(tmp_path / "board", "--scenario", scenario_file(tmp_path, IDLE))
    board.wait_ready()
    yield board
    board.stop()
