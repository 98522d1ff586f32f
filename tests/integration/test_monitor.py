"""`edgemeter monitor` against the emulated board: the live view's figures and events."""

import io
import json

from host_tools import cli
from host_tools.cli.common import Link
from host_tools.cli.field import _monitor


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
    asyncio.run(_monitor(Link(emulator.port), 0.1, 2, False, piped))
    asyncio.run(_monitor(Link(emulator.port), 0.1, 2, False, terminal))
    assert "\x1b[" not in piped.getvalue() and piped.getvalue().count("remaining") == 2
    assert terminal.getvalue().count("\x1b[H\x1b[J") == 2 and "reminders 10 MB: armed" in terminal.getvalue()


def test_a_reader_that_stops_early_ends_the_command_quietly(emulator):
    """`edgemeter status | head -2` and `edgemeter monitor --json | head`: the reader goes
    after a line or two. With it gone before the first line, every write fails: exit 0,
    nothing on stderr, no traceback."""
    import os
    import subprocess

    from host_tools.emulator.process import EDGEMETER

    for argv in (["status", "--port", emulator.port], ["monitor", "--json", "--interval", "0.1", "--port", emulator.port]):
        reader, writer = os.pipe()
        os.close(reader)
        try:
            done = subprocess.run([EDGEMETER, *argv], stdout=writer, stderr=subprocess.PIPE, timeout=60)
        finally:
            os.close(writer)
        assert (done.returncode, done.stderr.decode()) == (0, ""), argv
