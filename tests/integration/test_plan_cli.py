"""`edgemeter plan` and `edgemeter status` against the emulated board."""

import asyncio
import json

import pytest

from host_tools import cli
from host_tools.device.requests import BalanceWrite, LogStatus, PlanWrite
from host_tools.device.session import Device, DeviceError

MB = 1048576


def _json(capsys, *argv):
    assert cli.main(list(argv)) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_plan_set_get_survives_a_power_cut(emulator, capsys):
    state = _json(capsys, "status", "--port", emulator.port, "--json")
    assert state["plan"]["quota"] == 100 * MB  # provisioned from the scenario
    assert state["subscriber"] == "+8613800138000" and state["data_on"] is True

    state = _json(capsys, "plan", "set", "--port", emulator.port, "--addon-mb", "500", "--json")
    assert state["quota"] == 600 * MB
    state = _json(capsys, "plan", "set", "--port", emulator.port, "--cc", "+8613900000001", "--cc", "+8613900000002", "--json")
    assert state["cc"] == ["+8613900000001", "+8613900000002"]
    state = _json(capsys, "plan", "set", "--port", emulator.port, "--quota-mb", "30", "--cycle-day", "15",
                  "--at-zero", "warn", "--json")
    assert state["plan"]["quota"] == 30 * MB and state["plan"]["cycle_day"] == 15
    assert state["quota"] in (30 * MB, 530 * MB)  # the add-on counts if bought in this cycle
    state = _json(capsys, "plan", "set", "--port", emulator.port, "--quota-mb", "40", "--json")
    assert state["plan"]["quota"] == 40 * MB  # a new quota alone keeps the cycle day, zone and at-zero mode
    assert (state["plan"]["cycle_day"], state["plan"]["at_zero"], state["plan"]["tz"]) == (15, "warn", 480)

    emulator.power_cut()
    after = _json(capsys, "plan", "get", "--port", emulator.port, "--json")
    assert after["plan"] == state["plan"] and after["cc"] == ["+8613900000001", "+8613900000002"]


def test_the_device_refuses_a_bad_setting_by_field_and_rule_and_a_write_of_what_is_so_records_nothing(emulator, capsys):
    before = _json(capsys, "plan", "get", "--port", emulator.port, "--json")
    assert cli.main(["plan", "set", "--port", emulator.port, "--quota-mb", "10", "--cycle-day", "40"]) == 2
    assert capsys.readouterr().err == "edgemeter: --cycle-day 40: must be between 1 and 31\n"  # never sent

    async def past_the_cli():
        """Another client, with no checks of its own: SMP v2, as smpclient sends it."""
        refused = []
        async with Device(emulator.port) as device:
            for request in (PlanWrite(quota=10 * MB, cycle_day=40), PlanWrite(cc=["+8613900000009"], tz=99999),
                            PlanWrite(subscriber="abc"), PlanWrite(addon=-500 * MB), BalanceWrite(low_fen=-1)):
                with pytest.raises(DeviceError) as error:
                    await device.request(request)
                refused.append(str(error.value))
        return refused

    head = asyncio.run(_head(emulator.port))
    assert asyncio.run(past_the_cli()) == [
        "the device refused PlanWrite: EINVAL (3): cycle_day: must be between 1 and 31",
        "the device refused PlanWrite: EINVAL (3): tz: must be between -720 and 840",
        "the device refused PlanWrite: EINVAL (3): subscriber: must be + and 5 to 15 digits",
        "the device refused PlanWrite: EINVAL (3): addon: must be above 0 and at most 1000000 MB",
        "the device refused BalanceWrite: EINVAL (3): low_fen: must be between 0 and 1000 yuan",
    ]
    assert asyncio.run(_head(emulator.port)) == head  # no record: nothing changed
    assert _json(capsys, "plan", "get", "--port", emulator.port, "--json") == before

    # The plan as it is, the subscriber it has: no config_changed record.
    _json(capsys, "plan", "set", "--port", emulator.port, "--quota-mb", "100", "--subscriber", before["subscriber"], "--json")
    assert asyncio.run(_head(emulator.port)) == head


async def _head(port):
    """The device's last record number."""
    async with Device(port) as device:
        return (await device.request(LogStatus())).head


def test_the_clock_is_read_and_set_with_a_proof(emulator, capsys):
    assert cli.main(["clock", "set", "--port", emulator.port, "--to", "2027-01-02T08:00:00+08:00", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["datetime"].startswith("2027-01-02T00:00:0")
    assert cli.main(["clock", "set", "--port", emulator.port, "--to", "2027-01-02T08:00:00"]) == 1
    assert "time zone" in capsys.readouterr().err
    assert cli.main(["clock", "get", "--port", emulator.port]) == 0
    assert capsys.readouterr().out.startswith("device clock 2027-01-02T00:00:")
