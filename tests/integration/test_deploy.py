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
