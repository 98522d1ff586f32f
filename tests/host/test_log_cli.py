"""`edgemeter log` as a technician reads it: filters, units in the table, raw numbers in --json,
and a --device the ledger does not hold (exit 1, naming the devices it does)."""

import json

import pytest

from cli_run import run as _run
from host_tools import cli
from host_tools.ledger.store import open_ledger
from protocol import records as r

T0 = 1796083200  # 2026-12-01T00:00:00Z
DEV_A, DEV_B = "em-00aa", "em-00bb"


@pytest.fixture
def ledger(tmp_path):
    path = str(tmp_path / "field.sqlite")
    with open_ledger(path) as db:
        db.add(DEV_A, 1, [
            r.frame(r.body(r.BOOT, 1, T0, {8: r.BOOT_POWER_ON, 9: "0.1.0", 10: 1})),
            r.frame(r.body(r.USAGE, 2, T0 + 60, {8: 1536, 9: 3 * 1048576 // 2, 10: 0, 11: 1048576 * 3 // 2 + 1536})),
            r.frame(r.body(r.THRESHOLD_CROSSED, 3, T0 + 86400, {8: 0, 9: -94720})),
            r.frame(r.body(r.BALANCE, 4, T0 + 2 * 86400, {8: 1250, 9: 0, 10: "2027-03-20"})),
            r.frame(r.body(r.USAGE, 5, T0 + 3 * 86400, {8: 10, 9: 20, 10: 0, 11: 30})),
        ])
        db.add(DEV_B, 3, [r.frame(r.body(r.BOOT, 1, T0 + 5, {8: r.BOOT_POWER_ON, 9: "0.1.0", 10: 1}))])
    return path


def _seqs(out):
    return [(line.split()[0], int(line.split()[2])) for line in out.splitlines()[1:]]


def test_sizes_in_mb_and_kb_and_money_in_yuan_in_the_table_raw_in_json(capsys, ledger):
    status, out, err = _run(capsys, "log", "--ledger", ledger, "--device", DEV_A)
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert "up=1.5 KB down=1.50 MB source=0 total=1.50 MB" in lines[2]
    assert "threshold=0 B remaining=-92.5 KB" in lines[3]
    assert "balance=12.50 yuan" in lines[4]
    assert "up=10 B down=20 B" in lines[5]
    status, out, _err = _run(capsys, "log", "--ledger", ledger, "--device", DEV_A, "--json")
    fields = [x["fields"] for x in json.loads(out)]
    assert fields[1]["down_bytes"] == 3 * 1048576 // 2 and fields[3]["balance_fen"] == 1250


def test_a_plans_quota_reads_in_mb():
    from host_tools.cli.ledger_commands import _field_summary

    shown = _field_summary({"key": "plan", "old": None, "new": {"quota": 100 * 1048576, "cycle_day": 1}})
    assert shown == 'key="plan" old=null new={quota: 100.00 MB, cycle_day: 1}'


def test_filters_type_since_until_and_last(capsys, ledger):
    argv = ("log", "--ledger", ledger)
    status, out, _err = _run(capsys, *argv, "--type", "usage")
    assert status == 0 and _seqs(out) == [(DEV_A, 2), (DEV_A, 5)]
    status, out, _err = _run(capsys, *argv, "--type", "boot,balance", "--type", "threshold_crossed")
    assert _seqs(out) == [(DEV_A, 1), (DEV_A, 3), (DEV_A, 4), (DEV_B, 1)]
    status, out, _err = _run(capsys, *argv, "--since", "2026-12-02", "--until", "2026-12-03")
    assert _seqs(out) == [(DEV_A, 3), (DEV_A, 4)]
    # A time with its offset: 08:00:30 in Beijing is 00:00:30 UTC.
    status, out, _err = _run(capsys, *argv, "--since", "2026-12-01T08:00:30+08:00", "--until", "2026-12-02T00:00")
    assert _seqs(out) == [(DEV_A, 2), (DEV_A, 3)]
    status, out, _err = _run(capsys, *argv, "--device", DEV_A, "--last", "2")
    assert _seqs(out) == [(DEV_A, 4), (DEV_A, 5)]
    status, out, _err = _run(capsys, *argv, "--type", "usage", "--last", "1", "--json")
    assert [(x["device"], x["seq"]) for x in json.loads(out)] == [(DEV_A, 5)]
    status, out, _err = _run(capsys, *argv, "--type", "gap")
    assert status == 0 and out.strip() == "no records match the filters in %s" % ledger


@pytest.mark.parametrize("option, value, says", [
    ("--type", "usgae", "unknown record type 'usgae'"),
    ("--since", "yesterday", "not a date like 2026-12-01"),
    ("--last", "0", "--last wants a number"),
])
def test_a_bad_filter_is_a_usage_error(capsys, ledger, option, value, says):
    with pytest.raises(SystemExit) as exited:
        cli.main(["log", "--ledger", ledger, option, value])
    assert exited.value.code == 2 and says in capsys.readouterr().err


@pytest.mark.parametrize("json_flag", [(), ("--json",)])
def test_a_device_the_ledger_does_not_hold_exits_1_and_lists_those_it_does(capsys, ledger, json_flag):
    status, out, err = _run(capsys, "log", "--ledger", ledger, "--device", "em-ffff", *json_flag)
    assert status == 1 and out == ""
    assert err == "edgemeter: no device em-ffff in the ledger (it has: %s, %s)\n" % (DEV_A, DEV_B)
