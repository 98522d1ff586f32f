"""`edgemeter pull` and `edgemeter log` against the emulated board."""

import asyncio
import os

from cli_run import run_json
from records_workload import produce

from host_tools import cli
from host_tools.device.requests import Ack, LogStatus
from host_tools.device.session import Device, DeviceError
from host_tools.ledger.store import open_ledger
from protocol import records


async def _status(port):
    async with Device(port) as device:
        return await device.request(LogStatus())


def test_pull_is_exactly_once_and_log_lists_it(emulator, ledger_target, capsys):
    """On each engine: a ledger file, and a PostgreSQL ledger."""
    assert produce(emulator.port, 150) == 150
    ledger = ledger_target
    before = asyncio.run(_status(emulator.port))
    assert before.head >= 151 and before.ack == 0  # a boot record + 150 clock changes

    first = run_json(capsys, "pull", "--port", emulator.port, "--ledger", ledger, "--json")
    assert first["device"] == before.dev
    assert first["pulled"] == first["new"] == before.head
    assert first["duplicates"] == 0 and first["head_seq"] == before.head

    after = asyncio.run(_status(emulator.port))
    assert after.ack == before.head  # acknowledged only what the ledger holds

    again = run_json(capsys, "pull", "--port", emulator.port, "--ledger", ledger, "--json")
    assert again["pulled"] == 0 and again["new"] == 0

    listed = run_json(capsys, "log", "--ledger", ledger, "--json")
    assert [r["seq"] for r in listed] == list(range(1, before.head + 1))
    assert {r["device"] for r in listed} == {before.dev} and {r["epoch"] for r in listed} == {before.ep}
    assert listed[0]["type"] == "boot"
    assert sum(r["type"] == "config_changed" and r["fields"]["key"] == "clock" for r in listed) == 150
    assert all(r["time"] for r in listed)
    assert cli.main(["ledger", "check", ledger]) == 0 and "integrity ok" in capsys.readouterr().out
    (seen,) = run_json(capsys, "fleet", "--ledger", ledger, "--json")["devices"]
    assert (seen["device"], seen["records"], seen["missing"], seen["mac_failed"]) == (before.dev, before.head, 0, 0)
    assert seen["last_pull"] is not None and not seen["stale"]


def test_records_survive_power_cuts_until_pulled(emulator, tmp_path, capsys):
    produce(emulator.port, 40)
    emulator.power_cut()
    produce(emulator.port, 40, base_second=100)
    emulator.power_cut()
    ledger = str(tmp_path / "ledger.sqlite")
    result = run_json(capsys, "pull", "--port", emulator.port, "--ledger", ledger, "--json")
    listed = run_json(capsys, "log", "--ledger", ledger, "--json")
    assert [r["seq"] for r in listed] == list(range(1, result["head_seq"] + 1))
    boots = [r for r in listed if r["type"] == "boot"]
    assert [b["fields"]["reason"] for b in boots] == [0, 3, 3]  # power-on, then power-loss twice
    assert sum(r["type"] == "config_changed" and r["fields"]["key"] == "clock" for r in listed) == 80


async def _bad_acks(port):
    async with Device(port) as device:
        status = await device.request(LogStatus())
        errors = []
        for request in (Ack(ep=status.ep, seq=status.head + 5), Ack(ep=status.ep ^ 1, seq=1)):
            try:
                await device.request(request)
            except DeviceError as error:
                errors.append(str(error))
        return status, errors, await device.request(LogStatus())


def test_ack_beyond_head_or_of_another_epoch_is_refused(emulator):
    before, errors, after = asyncio.run(_bad_acks(emulator.port))
    assert len(errors) == 2
    assert "BEYOND_HEAD" in errors[0] and "WRONG_EPOCH" in errors[1]
    assert after.ack == before.ack == 0


async def _raw_echo(port):
    from smpclient import SMPClient
    from smpclient.generics import success
    from smpclient.requests.os_management import EchoWrite
    from smpclient.transport.serial import Cobs, SMPSerialRawTransport

    async with SMPClient(SMPSerialRawTransport(mtu=4096, framing=Cobs()), port, timeout_s=3.0) as client:
        response = await client.request(EchoWrite(d="COBS 帧"))
        assert success(response), response
        return response.r


def test_cobs_framing_with_smpclient_and_pull(emulator, tmp_path, capsys):
    assert asyncio.run(_raw_echo(emulator.port)) == "COBS 帧"
    produce(emulator.port, 200)  # console framing again, on the same line
    ledger = str(tmp_path / "ledger.sqlite")
    result = run_json(capsys, "pull", "--port", emulator.port, "--ledger", ledger, "--framing", "cobs", "--json")
    assert result["pulled"] == result["new"] == result["head_seq"] >= 201
    listed = run_json(capsys, "log", "--ledger", ledger, "--json")
    assert [r["seq"] for r in listed] == list(range(1, result["head_seq"] + 1))


def _damaged_ledger(path):
    """A ledger holding another device's 3000 records, one of its pages then overwritten
    (a bad sector): the pages a new device's records go to are whole, a full scan is not."""
    with open_ledger(path) as ledger:
        for start in range(1, 3001, 500):
            ledger.add("a-laptop-test", 1, [records.frame(records.body(records.USAGE, seq, 1796083200 + seq,
                                                                      {8: seq, 9: 0, 10: 0, 99: "x" * 40}))
                                            for seq in range(start, start + 500)])
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek((size // 4096 // 2) * 4096)
        f.write(b"\xff" * 4096)


def test_pull_into_a_damaged_ledger_acknowledges_nothing(emulator, tmp_path, capsys):
    assert produce(emulator.port, 20) == 20
    damaged = str(tmp_path / "damaged.sqlite")
    _damaged_ledger(damaged)
    assert cli.main(["pull", "--port", emulator.port, "--ledger", damaged]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and len(err.strip().splitlines()) == 1
    assert err.startswith("edgemeter: ledger %s is damaged (quick_check: " % damaged)
    assert err.rstrip().endswith("the device still holds every record after seq 0; pull into a new ledger")
    assert asyncio.run(_status(emulator.port)).ack == 0  # nothing acknowledged: the device keeps it all

    fresh = str(tmp_path / "new.sqlite")  # the way out the message gives
    result = run_json(capsys, "pull", "--port", emulator.port, "--ledger", fresh, "--json")
    assert result["new"] == result["head_seq"] >= 21 and result["evidence"]["flagged"] == []
