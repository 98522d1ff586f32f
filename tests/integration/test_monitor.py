"""`edgemeter monitor` against the emulated board: the live view's figures and events."""

import io
import json

from host_tools import cli
from host_tools.cli_field import _monitor


def test_monitor_json_lines_carry_plan_rate_and_last_events(emulator, capsys):
    assert cli.main(["monitor", "--port", emulator.port, "--interval", "0.2", "--count", "3", "--json"]) == 0
    snaps = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(snaps) == 3
    first, last = snaps[0], snaps[-1]
    assert first["plan"]["plan"]["quota"] == 100 * 1048576 and first["rate_bytes_per_s"] is None
    assert last["rate_bytes_per_s"] == 0  # the idle scenario carries nothing
    assert last["events"] and last["events"][0]["type"] == "boot"
    assert [e["seq"] for e in last["events"]] == sorted(e["seq"] for e in last["events"])
    assert last["log"]["head"] == last["events"][-1]["seq"]


def test_monitor_on_a_pipe_prints_blocks_and_on_a_terminal_redraws(emulator):
    import asyncio

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    piped, terminal = io.StringIO(), Terminal()
    asyncio.run(_monitor(emulator.port, 0.1, 2, False, piped))
    asyncio.run(_monitor(emulator.port, 0.1, 2, False, terminal))
    assert "\x1b[" not in piped.getvalue() and piped.getvalue().count("remaining") == 2
    assert terminal.getvalue().count("\x1b[H\x1b[J") == 2 and "reminders 10 MB: armed" in terminal.getvalue()
