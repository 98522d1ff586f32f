"""Fixtures for tests that run the whole emulated board."""

import pytest

from host_tools.emulator.process import EmulatorProcess


@pytest.fixture
def emulator(tmp_path):
    board = EmulatorProcess(tmp_path / "board")
    board.wait_ready()
    yield board
    board.stop()
