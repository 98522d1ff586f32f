"""`edgemeter plan` and `edgemeter status` against the emulated board."""

import json

from host_tools import cli

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


def test_a_bad_plan_is_refused_in_one_line(emulator, capsys):
    assert cli.main(["plan", "set", "--port", emulator.port, "--quota-mb", "10", "--cycle-day", "40"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("edgemeter: the device refused PlanWrite") and len(err.strip().splitlines()) == 1
    state = _json(capsys, "plan", "get", "--port", emulator.port, "--json")
    assert state["plan"]["quota"] == 100 * MB


def test_the_clock_is_read_and_set_with_a_proof(emulator, capsys):
    assert cli.main(["clock", "set", "--port", emulator.port, "--to", "2027-01-02T08:00:00+08:00", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["datetime"].startswith("2027-01-02T00:00:0")
    assert cli.main(["clock", "set", "--port", emulator.port, "--to", "2027-01-02T08:00:00"]) == 1
    assert "time zone" in capsys.readouterr().err
    assert cli.main(["clock", "get", "--port", emulator.port]) == 0
    assert capsys.readouterr().out.startswith("device clock 2027-01-02T00:00:")
