"""Billing error, double refund, end to end: the emulated carrier bills November with
planted errors, two technicians pull the device on different days, their ledgers are
synced into one central PostgreSQL ledger (and merged into one SQLite file), and
reconcile gives the same answer on both: the one the plant implies — to the fen where
the device is exact, within its tolerance where not."""

import json

import pytest
from subscriber_view import network, start_board, wait_for

from host_tools import cli
from host_tools.ledger.store import open_ledger

MB = 1048576
# 10 MB a day (Mbit/s, exact as a decimal): the 2 MB quota is gone on the first day.
TEN_MB_A_DAY = 0.000970903
BILLING = {
    "plan_fee_yuan": "58.00",
    "data_yuan_per_mb": "0.29",
    "discounts": [{"from": "2026-11", "to": "2026-12", "percent": 50, "why": "新入网半价"}],
    "force_majeure": [{"from": "2026-11-28", "to": "2026-11-28", "why": "typhoon"}],
    "errors": [
        {"kind": "extra_data", "day": "2026-11-28", "mb": 10},  # excluded: force majeure
        {"kind": "extra_data", "day": "2026-11-29", "mb": 20},
        {"kind": "data_price", "day": "2026-11-29", "yuan_per_mb": "0.50"},
        {"kind": "reversed_charge", "day": "2026-11-29", "yuan": "3.00"},
        {"kind": "phantom_data", "day": "2026-11-30", "mb": 5},
        {"kind": "plan_discount_missing"},
        {"kind": "roaming_day_pack", "day": "2026-11-30", "yuan": "9.00"},  # excluded: a roaming partner's
        {"kind": "backcharge", "day": "2024-06-01", "yuan": "5.00"},  # in scope: charged on this bill (usage of 2024)
    ],
}


def _ceil(a, b):
    return -(-a // b)


def _central_ledgers(request, tmp_path, fields, capsys):
    """The field ledgers synced into one SQLite file and, where the server binaries are
    here, one PostgreSQL ledger: [merged, central] (or [merged])."""
    targets = [str(tmp_path / "merged.sqlite")]
    try:
        targets.append(request.getfixturevalue("pg_cluster").create_database("central"))
        assert cli.main(["ledger", "init", targets[-1]]) == 0
    except pytest.skip.Exception as why:
        print("no PostgreSQL here (%s): the central ledger is checked on SQLite only" % why)
    for target in targets:
        for field in fields:
            assert cli.main(["ledger", "sync", "--from", field, "--to", target]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return targets


def _pull(capsys, port, ledger):
    assert cli.main(["pull", "--port", port, "--ledger", ledger, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_the_carriers_planted_errors_come_back_as_findings_and_refunds(tmp_path, capsys, request):
    traffic = [{"from": "+0s", "mbps": TEN_MB_A_DAY}, {"from": "2026-11-30T00:00:00+08:00", "mbps": 0}]
    state, board = start_board(tmp_path, {"quota_mb": 2, "at_zero": "warn"}, traffic, "--speed", "5000",
                               start="2026-11-27T12:00:00+08:00", billing=BILLING)
    fields = [str(tmp_path / "anna.sqlite"), str(tmp_path / "bo.sqlite")]
    try:
        board.wait_ready()
        wait_for(lambda: network(state)["time"] >= "2026-11-29T06:00", 180, "November 29")
        first = _pull(capsys, board.port, fields[0])  # one technician; the device frees what she has
        wait_for(lambda: network(state)["time"] >= "2026-12-01T00:10", 180, "December")
        second = _pull(capsys, board.port, fields[1])  # another, later: his ledger starts after hers
    finally:
        board.stop()
    assert second["linked_at"] == first["head_seq"] and second["evidence"]["flagged"] == []
    bill = tmp_path / "bill.csv"
    agreement = tmp_path / "agreement.json"
    capsys.readouterr()
    assert cli.main(["emulate", "bill", "--state", str(state), "--month", "2026-11", "--agreement", str(agreement)]) == 0
    bill.write_text(capsys.readouterr().out, encoding="utf-8")
    reports = []
    for target in _central_ledgers(request, tmp_path, fields, capsys):
        with open_ledger(target, readonly=True) as ledger:  # the device's records, each once, no gap
            assert [x["seq"] for x in ledger.records()] == list(range(1, second["head_seq"] + 1))
        assert cli.main(["reconcile", "--ledger", target, "--bill", str(bill), "--account", "prepaid", "--today",
                         "2026-12-05", "--agreement", str(agreement), "--json"]) == 0, capsys.readouterr().err
        reports.append(json.loads(capsys.readouterr().out))
        reports[-1].pop("claim")  # it carries the time it was made
    assert all(other == reports[0] for other in reports[1:])
    report = reports[0]
    found = {(f["item"], f["category"], f["excluded"]): f["overcharged_fen"] for f in report["findings"]}

    # The carrier's own record of Nov 29, plus the planted 20 MB: the bill's row.
    with open(state / "cdr.jsonl", encoding="utf-8") as f:
        carried_29 = sum(json.loads(line)["days"].get("2026-11-29", 0) for line in f)
    billed_29 = _ceil(carried_29, 1024) * 1024 + 20 * MB
    assert found.pop(("plan fee", "discount_not_applied", None)) == 2900
    assert found.pop(("data", "tariff_not_as_agreed", None)) == _ceil(billed_29 * 50, MB) - _ceil(billed_29 * 29, MB)
    assert found.pop(("data", "tariff_not_as_agreed", "corrected_before_charging")) == 300
    # 5 MB at 0.29, less the tolerance: a day's 64 KB, a row's 1 KB, and the few KB the
    # device's first checkpoint after midnight carried into the 30th.
    assert 145 - _ceil(129 * 1024 * 29, MB) <= found.pop(("data 2026-11-30", "never_happened", None)) <= 145 - _ceil(65 * 1024 * 29, MB)
    metering = found.pop(("data 2026-11-29", "metering_error", None))
    assert 20 * 29 - 3 <= metering <= 20 * 29  # 20 MB at 0.29, less at most the day's tolerance
    assert 10 * 29 - 3 <= found.pop(("data 2026-11-28", "metering_error", "force_majeure")) <= 10 * 29
    assert found.pop(("data", "tariff_not_as_agreed", "interconnect_or_roaming_partner")) == 900
    # The two years count from when the fee was charged (this bill), not from the call of 2024.
    assert found.pop(("voice", "tariff_not_as_agreed", None)) == 500 - 19
    # Nothing else: the device agrees with the carrier elsewhere. On the day it was
    # installed (not watched all day) the usage it counted before it had its key is
    # not verifiable evidence: a difference there is excluded, never refunded.
    assert all(item == "data 2026-11-27" and excluded == "subscriber_own_doing" for item, _c, excluded in found), found
    qualifying = [f for f in report["findings"] if not f["excluded"]]
    assert report["total_refund_fen"] == 2 * report["total_overcharged_fen"] == 2 * sum(f["overcharged_fen"] for f in qualifying)
