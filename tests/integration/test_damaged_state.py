"""A board whose state file system is damaged (issue 16): its records not pulled yet are kept.

The state range (LittleFS: plan, keys, the log's meta and ack files) is written
over while the board is off. The boot formats it (`flash formatted`), but the
record ring's sector headers still name the log's epoch
(firmware/storage/ring_log.py): the log goes on in it, every record still held is
served again, and a pull stores the ones not pulled before, with no gap and
nothing twice in the ledger. The board lost its key with its state, so the ack
is refused with one line naming the way out, `edgemeter provision`, which gives
it back the key the technician's key file holds; the pull after acknowledges.
"""

import json
import os
import re

from cli_run import run_json
from records_workload import produce

from host_tools import cli
from host_tools.emulator.process import EmulatorProcess

STATE_BLOCKS = 32  # the emulated board's layout (board.json): the state range comes first


def test_a_damaged_state_file_system_keeps_the_records_not_pulled(tmp_path, capsys):
    state = tmp_path / "board"
    ledger = str(tmp_path / "ledger.sqlite")
    board = EmulatorProcess(state, "--power-on-delay", "1")

    def damage():
        with open(os.path.join(state, "flash.img"), "r+b") as flash:
            flash.write(b"\x5a" * 4096 * STATE_BLOCKS)

    try:
        board.wait_ready()
        produce(board.port, 20)
        before = run_json(capsys, "pull", "--port", board.port, "--ledger", ledger, "--json")
        produce(board.port, 15, base_second=20)
        head_seq = before["head_seq"] + 15
        board.power_cut(before_power_on=damage)
        console = board.console()
        assert cli.main(["pull", "--port", board.port, "--ledger", ledger]) == 1
        refused = capsys.readouterr().err
        assert cli.main(["provision", "--port", board.port]) == 0, capsys.readouterr().err
        capsys.readouterr()
        assert cli.main(["pull", "--port", board.port, "--ledger", ledger, "--json"]) == 3  # stored, acknowledged, flagged
        out, flagged = capsys.readouterr()
        after = json.loads(out)
        listed = run_json(capsys, "log", "--ledger", ledger, "--json")
    finally:
        board.stop()
    assert refused.count("\n") == 1 and "has no key" in refused and "edgemeter provision --port" in refused, refused
    epoch = before["epoch"]
    assert console.count("flash formatted") == 2 and "flash formatted, log epoch %d" % epoch in console.splitlines()[-1]
    assert after["epoch"] == epoch and after["head_seq"] > before["head_seq"] + 15
    # The records the board wrote while it had no key are unsigned after signed ones: not evidence, and said so.
    keyless = [r["seq"] for r in listed if r["seq"] > head_seq and "mac" not in r]
    assert keyless and re.findall(r"record (\d+) of epoch", flagged) == [str(seq) for seq in keyless], flagged
    assert [r["seq"] for r in listed] == list(range(1, after["head_seq"] + 1)) and {r["epoch"] for r in listed} == {epoch}
    assert sum(1 for r in listed if r["type"] == "config_changed" and r["fields"]["key"] == "clock") == 35
