"""A board upgraded from the old flash layout (issue 16): its records not pulled yet and its
meter's count are kept. The firmware finds one LittleFS over the whole partition,
runs it as it is (flash_mount.OLD_LAYOUT), and `edgemeter pull` gets every record
the old firmware wrote, byte for byte, across a power cut. The boot after that pull
moves the flash onto the board's layout (firmware/storage/migration.py): the same
epoch, the seqs going on, the meter's count kept, and the boot after finds it moved."""

import os

from cli_run import run_json
from conftest import IDLE, scenario_file

from host_tools import cli
from host_tools.build import micropython_vm
from host_tools.emulator.process import EmulatorProcess

BUILDER = os.path.join(os.path.dirname(__file__), "old_layout_image.py")
OLD_RECORDS = 60
UP, DOWN = 3 * 1048576, 40 * 1048576


def _old_board(state):
    os.makedirs(state)
    done = micropython_vm.run([BUILDER, os.path.join(state, "flash.img"), "em-0ld1ay0u7", str(OLD_RECORDS), str(UP), str(DOWN)],
                              heap="256k")
    assert done.returncode == 0, done.stdout + done.stderr
    return int(done.stdout.split()[1])


def test_the_old_layout_is_run_as_it_is_and_every_old_record_is_pulled(tmp_path, capsys):
    state = str(tmp_path / "board")
    epoch = _old_board(state)
    board = EmulatorProcess(state, "--scenario", scenario_file(tmp_path, IDLE))
    try:
        board.wait_ready()
        assert "flash old layout, log epoch %d head %d" % (epoch, OLD_RECORDS + 1) in board.console()  # and its BOOT
        status = run_json(capsys, "status", "--port", board.port, "--json")
        assert status["total"] >= UP + DOWN  # the meter went on from the old checkpoint
        board.power_cut()
        ledger = str(tmp_path / "ledger.sqlite")
        pulled = run_json(capsys, "pull", "--port", board.port, "--ledger", ledger, "--json")
        listed = run_json(capsys, "log", "--ledger", ledger, "--json")
    finally:
        board.stop()
    assert pulled["pulled"] == pulled["head_seq"] >= OLD_RECORDS + 2  # and the two boots since
    old = [r for r in listed if r["seq"] <= OLD_RECORDS]
    assert [r["seq"] for r in old] == list(range(1, OLD_RECORDS + 1)) and {r["epoch"] for r in listed} == {epoch}
    assert all(r["type"] == "usage" and r["fields"]["down_bytes"] == 10 * r["seq"] for r in old)
    assert [r["type"] for r in listed[OLD_RECORDS:]].count("boot") == 2


def test_the_boot_after_every_old_record_is_pulled_moves_the_flash_onto_the_rings(tmp_path, capsys):
    state = str(tmp_path / "board")
    epoch = _old_board(state)
    ledger = str(tmp_path / "ledger.sqlite")
    board = EmulatorProcess(state, "--scenario", scenario_file(tmp_path, IDLE))
    try:
        board.wait_ready()
        first = run_json(capsys, "pull", "--port", board.port, "--ledger", ledger, "--json")
        assert first["pulled"] == first["head_seq"] > OLD_RECORDS  # acked once durable in the ledger
        board.power_cut()
        assert "flash migrated, log epoch %d" % epoch in board.console()
        status = run_json(capsys, "status", "--port", board.port, "--json")
        assert status["total"] >= UP + DOWN  # the checkpoint moved to the journal
        board.power_cut()
        assert "flash mounted, log epoch %d" % epoch in board.console()
        run_json(capsys, "pull", "--port", board.port, "--ledger", ledger, "--json")
        listed = run_json(capsys, "log", "--ledger", ledger, "--json")
        assert cli.main(["ledger", "check", ledger]) == 0, capsys.readouterr()  # no gap
    finally:
        board.stop()
    assert [r["seq"] for r in listed] == list(range(1, len(listed) + 1)) and {r["epoch"] for r in listed} == {epoch}
    moved = [r for r in listed if r["type"] == "config_changed" and r["fields"]["key"] == "flash"]
    assert [(r["fields"]["old"], r["fields"]["new"]) for r in moved] == [("old layout", "rings")]
    assert [r["type"] for r in listed[OLD_RECORDS:]].count("boot") == 3
