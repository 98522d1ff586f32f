"""`edgemeter reconcile` on a real ledger: output forms, two devices, refusals that write nothing."""

import csv
import json

from host_tools import cli
from host_tools.ledger import Ledger
from line_month import DEVICE, BillRows, frames, records


def _ledger(tmp_path, devices=(DEVICE,)):
    path = str(tmp_path / "ledger.sqlite")
    with Ledger(path) as ledger:
        for device in devices:
            ledger.add(device, 7, frames(records()))
    return path


def _planted(tmp_path):
    bill = BillRows()
    bill.rows[14][10] = "5.00"  # 2.10 yuan over the agreed tariff
    return bill.write(tmp_path / "bill-2026-11.csv")


def test_json_csv_and_table(tmp_path, capsys):
    ledger, bill = _ledger(tmp_path), _planted(tmp_path)
    argv = ["reconcile", "--ledger", ledger, "--bill", bill, "--account", "postpaid", "--today", "2026-12-20"]
    assert cli.main(argv + ["--json", "--csv", str(tmp_path / "f.csv"), "--html", str(tmp_path / "r.html")]) == 0
    report = json.loads(capsys.readouterr().out)
    (finding,) = report["findings"]
    assert {k: finding[k] for k in ("category", "excluded", "overcharged_fen", "refund_fen")} == {
        "category": "tariff_not_as_agreed", "excluded": None, "overcharged_fen": 210, "refund_fen": 420}
    assert finding["payment"] == "account top-up, recharge card or deduction from the next bill"
    assert finding["evidence"]["bill_lines"] == [bill + ":16"]
    assert (report["total_overcharged_fen"], report["total_refund_fen"], report["device"]) == (210, 420, DEVICE)
    assert report["claim"]["reply_due"] > report["claim"]["filed"] and "48" in report["claim"]["text"]
    with open(tmp_path / "f.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["refund_fen"] == "420" and rows[-1]["id"] == "total" and rows[-1]["refund_fen"] == "420"
    page = (tmp_path / "r.html").read_text(encoding="utf-8")  # rendered in Chromium by test_claim_html
    assert 'id="total-refund">4.20 元<' in page and report["claim"]["reply_due"][:16] in page
    assert cli.main(argv) == 0
    table = capsys.readouterr().out
    assert "tariff_not_as_agreed" in table and "refund 4.20 yuan" in table


def test_two_devices_in_one_ledger_need_a_choice(tmp_path, capsys):
    ledger, bill = _ledger(tmp_path, (DEVICE, "em-ffff")), _planted(tmp_path)
    argv = ["reconcile", "--ledger", ledger, "--bill", bill, "--account", "prepaid", "--today", "2026-12-20", "--json"]
    assert cli.main(argv) == 1
    assert "say which with --device" in capsys.readouterr().err
    assert cli.main(argv + ["--device", "em-ffff"]) == 0
    assert json.loads(capsys.readouterr().out)["device"] == "em-ffff"
    assert cli.main(argv + ["--device", "em-nope"]) == 1
    assert "no device em-nope" in capsys.readouterr().err


def test_a_malformed_row_or_a_bill_out_of_the_window_reports_nothing(tmp_path, capsys):
    ledger, good = _ledger(tmp_path), _planted(tmp_path)
    bad = BillRows()
    bad.rows[20][10] = "2.9O"
    bad = bad.write(tmp_path / "bad.csv")
    out = tmp_path / "report.html"
    argv = ["reconcile", "--ledger", ledger, "--account", "prepaid", "--html", str(out), "--csv", str(tmp_path / "f.csv")]
    assert cli.main(argv + ["--bill", good, "--bill", bad, "--today", "2026-12-20"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "bad.csv:22 column charge_yuan" in captured.err
    assert cli.main(argv + ["--bill", good, "--today", "2026-11-20"]) == 1
    assert "outside the last 5 months" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "f.csv").exists()
