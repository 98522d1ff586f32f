"""`edgemeter deploy` on the emulated board: the build copied with the real mpremote over
the REPL of the real MicroPython VM, then booted from the board's own filesystem, where
it reports the version just built over SMP."""

import asyncio
import os

from host_tools import cli
from host_tools.cli.common import Link
from host_tools.cli.deploy import running_version
from host_tools.emulator.process import EmulatorProcess
from firmware.version import VERSION


def test_deploy_copies_the_build_and_the_board_boots_it(tmp_path, capsys):
    state = tmp_path / "board"
    repl = EmulatorProcess(state, action="repl")  # a bare MicroPython board on the bench
    try:
        assert cli.main(["deploy", "--board", "emulated", "--port", repl.port, "--no-reset"]) == 0, capsys.readouterr().err
    finally:
        repl.stop()
    assert "copied" in capsys.readouterr().out
    deployed = state / "fs"
    assert (deployed / "main.py").exists() and (deployed / "firmware" / "main.mpy").exists()
    assert (deployed / "board" / "emulated" / "board.json").exists()
    assert not (deployed / "board" / "pico_ec25").exists()  # only this board's code

    board = EmulatorProcess(state)  # boots STATE/fs/main.py
    try:
        board.wait_ready()
        assert asyncio.run(running_version(Link(board.port), 10)) == "edgemeter-" + VERSION
        assert "booted (power-on)" in board.console()
        assert cli.main(["deploy", "--board", "emulated", "--port", board.port, "--no-reset"]) == 1
    finally:
        board.stop()
    err = capsys.readouterr().err
    assert err.startswith("edgemeter: mpremote ") and "MicroPython" in err and len(err.strip().splitlines()) == 1


def test_an_unknown_board_is_named_with_the_known_ones(capsys):
    assert cli.main(["deploy", "--board", "nosuch", "--port", os.devnull]) == 1
    err = capsys.readouterr().err
    assert "nosuch" in err and "pico_ec25" in err and "esp32s3_sim7600" in err


def test_a_board_that_runs_the_image_gets_main_py_and_its_data_and_boots_the_frozen_firmware(tmp_path, capsys):
    from host_tools.build import image_build

    image = image_build.current("emulated")
    if image is None:
        import pytest

        pytest.skip("no image of the code as it is (invoke image --board emulated)")
    state = tmp_path / "board"
    repl = EmulatorProcess(state, action="repl")
    try:
        assert cli.main(["deploy", "--board", "emulated", "--port", repl.port, "--no-reset", "--frozen"]) == 0, \
            capsys.readouterr().err
    finally:
        repl.stop()
    assert "copied 2 files" in capsys.readouterr().out
    deployed = state / "fs"
    assert (deployed / "main.py").exists() and (deployed / "board" / "emulated" / "board.json").exists()
    assert not (deployed / "firmware").exists()  # the firmware is in the image
    board = EmulatorProcess(state, "--image", image)  # the image's VM boots STATE/fs/main.py
    try:
        board.wait_ready()
        assert asyncio.run(running_version(Link(board.port), 10)) == "edgemeter-" + VERSION
    finally:
        board.stop()


def test_a_board_whose_heap_cannot_hold_the_mpy_files_is_told_to_flash_the_image(capsys):
    assert cli.main(["deploy", "--board", "pico_ec25", "--port", os.devnull]) == 1  # 192 KB: the image it is
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "192 KB heap" in err and "invoke image --board pico_ec25" in err
    assert "firmware.uf2" in err and "--frozen" in err
