"""`edgemeter reconcile` on a real ledger: output forms, two devices, refusals that write nothing."""

import csv
import json

from host_tools import cli
from host_tools.ledger.store import open_ledger
from line_month import DEVICE, BillRows, frames, records


def _ledger(tmp_path, devices=(DEVICE,)):
    path = str(tmp_path / "ledger.sqlite")
    with open_ledger(path) as ledger:
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


def test_the_claim_numbers_its_findings_1_2_3_and_names_bills_by_file_name(tmp_path, capsys):
    ledger = _ledger(tmp_path)
    bill = BillRows()
    bill.data("2026-11-18 20:00:00", 1024, 3000, network="国际漫游", location="香港")  # excluded: finding 2 of the table
    bill.rows[14][10] = "5.00"  # 2.10 over the tariff
    bill.add("voice", "2026-11-05 10:15:00", 100, number="13900000000", seconds=60)  # 0.81 over the tariff
    path = bill.write(tmp_path / "bill-2026-11.csv")
    html = tmp_path / "claim.html"
    argv = ["reconcile", "--ledger", ledger, "--bill", path, "--account", "prepaid", "--today", "2026-12-20",
            "--html", str(html), "--json"]
    assert cli.main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(f["id"], f["item"], f["excluded"]) for f in report["findings"]] == [
        (1, "data", None), (2, "data", "interconnect_or_roaming_partner"), (3, "voice", None)]
    text = report["claim"]["text"]
    claimed = [line.split(".")[0] for line in text.splitlines() if line[:1].isdigit()]
    assert claimed == ["1", "2"], text
    assert "bill-2026-11.csv:16" in text and "bills bill-2026-11.csv." in text
    page = html.read_text(encoding="utf-8")
    assert str(tmp_path) not in page and str(tmp_path) not in text
    assert "bill-2026-11.csv:16" in page


def test_plan_quota_mb_for_a_month_the_device_knew_no_plan(tmp_path, capsys):
    path = str(tmp_path / "ledger.sqlite")
    recs = [r for r in records() if r["type"] not in ("config_changed", "cycle_rollover")]
    for seq, record in enumerate(recs, 1):
        record["seq"] = seq
    with open_ledger(path) as ledger:
        ledger.add(DEVICE, 7, frames(recs))
    argv = ["reconcile", "--ledger", path, "--bill", _planted(tmp_path), "--account", "prepaid", "--today", "2026-12-20"]
    assert cli.main(argv) == 1
    assert capsys.readouterr().err == ("edgemeter: the ledger has no data plan for 2026-11: pull the device, or give the "
                                       "month's quota with --plan-quota-mb N (plan_quota_mb in the agreement)\n")
    assert cli.main(argv + ["--plan-quota-mb", "100", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_refund_fen"] == 420


def test_another_lines_bill_is_refused_unless_the_device_is_named(tmp_path, capsys):
    path = str(tmp_path / "ledger.sqlite")
    recs = records()
    recs.insert(2, {"type": "config_changed", "seq": 0, "time": recs[1]["time"],
                    "fields": {"key": "subscriber", "old": "", "new": "+8613800138000"}})
    for seq, record in enumerate(recs, 1):
        record["seq"] = seq
    with open_ledger(path) as ledger:
        ledger.add(DEVICE, 7, frames(recs))
    bill = tmp_path / "export.csv"
    bill.write_text("手机号码,13900139000\n上网详单\n起始时间,通信地点,上网方式,总流量,套餐优惠,通信费\n"
                    "2026-11-03 12:00:00,广州,4G网络,10240KB,0.00,0.00\n", encoding="utf-8")
    argv = ["reconcile", "--ledger", path, "--bill", str(bill), "--account", "prepaid", "--today", "2026-12-20", "--json"]
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "is the bill of 13900139000, but the device's subscriber in 2026-11 was 13800138000" in captured.err
    assert cli.main(argv + ["--device", DEVICE]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["phone_checks"][0]["match"] is False
    assert "reconciled because --device names it" in captured.err
