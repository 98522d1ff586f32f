"""The walking skeleton end to end: `edgemeter emulate` runs the firmware on the real
MicroPython VM and PyPI's smpclient talks to it over a pseudo-terminal, before and
after a power cut (SIGKILL of the firmware process). Reads are open to any SMP client;
a write needs a proof made with the device's key (firmware/smp/auth_guard.py)."""

import asyncio
from datetime import datetime, timedelta, timezone

from smpclient import SMPClient
from smpclient.generics import error, success
from smpclient.requests.os_management import (
    DateTimeRead,
    DateTimeWrite,
    EchoWrite,
    MCUMgrParametersRead,
    OSApplicationInfoRead,
    ResetWrite,
)
from smpclient.transport.serial import SMPSerialTransport

from host_tools.device.keys import KeyFile
from host_tools.device.requests import AuthRead
from host_tools.device.session import signed


async def _with_proof(client, request):
    """`request` sent with a proof over a fresh challenge, as edgemeter's own client does."""
    challenge = await client.request(AuthRead())
    return await client.request(signed(request, KeyFile().get(challenge.dev), challenge.nonce))


async def _session(port, set_to):
    async with SMPClient(SMPSerialTransport(), port, timeout_s=3.0) as client:
        echo = await client.request(EchoWrite(d="剩余10MB 流量提醒 – edgemeter"))
        assert success(echo), echo
        assert echo.r == "剩余10MB 流量提醒 – edgemeter"

        stamp = set_to.strftime("%Y-%m-%dT%H:%M:%S")
        refused = await client.request(DateTimeWrite(datetime=stamp))
        assert error(refused) and refused.rc == 11, refused  # EACCESSDENIED: no proof
        written = await _with_proof(client, DateTimeWrite(datetime=stamp))
        assert success(written), written
        read = await client.request(DateTimeRead())
        assert success(read), read
        device_time = datetime.fromisoformat(read.datetime)
        assert timedelta(0) <= device_time - set_to < timedelta(seconds=2), (read.datetime, set_to)

        params = await client.request(MCUMgrParametersRead())
        assert success(params), params
        assert params.buf_size >= 256 and params.buf_count >= 1

        info = await client.request(OSApplicationInfoRead(format="a"))
        assert success(info), info
        assert "edgemeter" in info.output and "MicroPython" in info.output

        bad = await client.request(OSApplicationInfoRead(format="z"))
        assert error(bad), bad
        return info.output


def test_smpclient_before_and_after_power_cut(emulator):
    set_to = datetime(2026, 12, 1, 0, 0, 0, tzinfo=timezone.utc)
    first = asyncio.run(_session(emulator.port, set_to))
    emulator.power_cut()
    # The pty path is the cable: it stays the same across the power cut.
    second = asyncio.run(_session(emulator.port, set_to + timedelta(days=1)))
    assert first == second  # same device id, same firmware
    console = emulator.console()
    assert console.count("booted (power-on)") == 1 and console.count("booted (power-loss)") == 1


async def _reset_and_wait(port):
    async with SMPClient(SMPSerialTransport(), port, timeout_s=3.0) as client:
        assert success(await _with_proof(client, DateTimeWrite(datetime="2027-03-04T05:06:07")))
        assert success(await _with_proof(client, ResetWrite()))
    await asyncio.sleep(0.5)
    async with SMPClient(SMPSerialTransport(), port, timeout_s=3.0) as client:
        read = await client.request(DateTimeRead())
    return read.datetime


def test_reset_command_restarts_and_rtc_survives(emulator):
    pid = emulator.pid()
    after = asyncio.run(_reset_and_wait(emulator.port))
    assert emulator.pid() != pid
    assert after.startswith("2027-03-04T05:06:0")
    assert "booted (reset-command)" in emulator.console()


def test_sigterm_stops_board_and_emulator(tmp_path):
    import os

    from host_tools.emulator.process import EmulatorProcess

    board = EmulatorProcess(tmp_path / "board")
    board.wait_ready()
    pid = board.pid()
    output = board.stop()
    assert board.process.returncode == 0
    assert "emulator stopped after 1 boot(s)" in output
    assert not os.path.exists(tmp_path / "board" / "firmware.pid")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError("firmware process %d still running" % pid)


# --- the state folder is the emulator's alone (issue 14) ---------------------------

def _edgemeter(*argv, timeout=60):
    import os
    import subprocess
    import sys

    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "edgemeter"), *argv],
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_a_second_emulator_on_a_running_boards_folder_is_refused_and_ports_lists_it(tmp_path, monkeypatch):
    import json
    import os
    import signal
    import time

    from host_tools.emulator.process import EmulatorProcess

    from conftest import IDLE, scenario_file

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))  # this test's emulators only
    state = str(tmp_path / "board")
    board = EmulatorProcess(state, "--scenario", scenario_file(tmp_path, IDLE))
    try:
        board.wait_ready()
        ports = json.loads(_edgemeter("ports", "--json").stdout)
        assert [(p["port"], p["emulator_pid"], p["state"]) for p in ports if p.get("emulated")] == [
            (board.port, board.process.pid, state)]
        assert "emulated board (board's host link, state %s)" % state in _edgemeter("ports").stdout

        second = _edgemeter("emulate", "run", "--state", state, timeout=30)
        assert second.returncode == 1
        assert second.stderr == "edgemeter: %s is in use by the emulator with pid %d\n" % (state, board.process.pid)

        # A crash of the emulator (and its board) leaves the folder free and ports without it.
        firmware = board.pid()
        os.kill(board.process.pid, signal.SIGKILL)
        os.kill(firmware, signal.SIGKILL)
        board.process.wait()
        time.sleep(0.2)
        assert not [p for p in json.loads(_edgemeter("ports", "--json").stdout) if p.get("emulated")]
    finally:
        board.stop()
    again = EmulatorProcess(state, "--scenario", scenario_file(tmp_path, IDLE))
    try:
        again.wait_ready()
    finally:
        again.stop()


def test_the_emulator_never_writes_the_scenario_it_is_given(tmp_path):
    import json

    from host_tools.emulator.process import EmulatorProcess

    from conftest import IDLE

    state = tmp_path / "board"
    state.mkdir()
    mine = state / "scenario.json"  # the user's own file, in the state folder
    text = json.dumps(dict(IDLE, billing={"plan_fee_yuan": "58.00"}), indent=2) + "\n"
    mine.write_text(text)
    board = EmulatorProcess(state, "--scenario", str(mine))
    try:
        board.wait_ready()
    finally:
        board.stop()
    assert mine.read_text() == text
    kept = json.loads((state / "emulator-scenario.json").read_text(encoding="utf-8"))
    assert kept["start"] == "2026-12-01T00:00:00.000+00:00" and kept["billing"] == {"plan_fee_yuan": "58.00"}
    bill = _edgemeter("emulate", "bill", "--state", str(state), "--month", "2026-12", "--format", "csv")
    assert bill.returncode == 0, bill.stderr
    assert "58.00" in bill.stdout

    # Without --scenario it runs the default, and the user's file stays as it is.
    board = EmulatorProcess(state)
    try:
        board.wait_ready()
    finally:
        board.stop()
    assert mine.read_text() == text
    assert "billing" not in json.loads((state / "emulator-scenario.json").read_text(encoding="utf-8"))


# --- counters through the standard statistics group (issue 15) ---------------------

async def _statistics(port):
    from smpclient.requests.statistics_management import GroupData, ListOfGroups

    async with SMPClient(SMPSerialTransport(), port, timeout_s=3.0) as client:
        names = (await client.request(ListOfGroups())).stat_list
        counters = {name: (await client.request(GroupData(name=name))).fields for name in names}
        return counters, await client.request(GroupData(name="no-such-group"))


def _with_a_bad_crc(message):
    """The console frame of `message`, its CRC-16 wrong by one bit (a noisy line)."""
    import base64

    from protocol import smp_serial

    (line,) = smp_serial.encode_lines(message)
    frame = bytearray(base64.b64decode(line[2:-1]))
    frame[-1] ^= 1
    return line[:2] + base64.b64encode(frame) + b"\n"


def test_the_counters_are_served_by_the_standard_statistics_group_and_shown_by_info(emulator):
    import json

    import serial

    from protocol import cbor, smp

    before, unknown = asyncio.run(_statistics(emulator.port))
    assert list(before) == ["smp", "serial", "cobs", "modem", "meter", "usage", "sms", "outbox", "log", "flash",
                            "watchdog"]
    assert before["log"]["appended"] >= 1 and before["flash"]["programs"] >= 1 and before["flash"]["bytes_programmed"] > 0
    assert all(isinstance(v, int) for group in before.values() for v in group.values())
    assert error(unknown) and (unknown.err.group, unknown.err.rc) == (smp.GROUP_STATS, 2)  # STAT_MGMT_ERR_INVALID_GROUP

    echo = cbor.dumps({"d": "x"})
    with serial.Serial(emulator.port, 115200, timeout=1) as line:
        line.write(_with_a_bad_crc(smp.pack_header(smp.OP_WRITE, 1, 0, len(echo), smp.GROUP_OS, 1, smp.OS_ECHO) + echo))
        line.flush()
    after, _unknown = asyncio.run(_statistics(emulator.port))
    assert after["serial"]["dropped_crc"] == before["serial"]["dropped_crc"] + 1
    # The rest of the groups, the unknown name, the list and the smp group at least (smpclient may ask more).
    assert after["smp"]["requests"] >= before["smp"]["requests"] + len(before) + 2
    assert after["smp"]["errors"] == before["smp"]["errors"] + 1

    shown = _edgemeter("info", "--port", emulator.port)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert [line.split()[0] for line in lines if line.startswith("statistics")] == ["statistics"]
    (serial_line,) = [line.split() for line in lines if "serial:" in line.split()]
    assert "dropped_crc=%d" % after["serial"]["dropped_crc"] in serial_line and len(serial_line) == 1 + len(after["serial"])
    as_json = json.loads(_edgemeter("info", "--port", emulator.port, "--json").stdout)
    assert as_json["statistics"]["serial"]["dropped_crc"] == after["serial"]["dropped_crc"]
    assert as_json["statistics"]["flash"]["programs"] >= after["flash"]["programs"]
