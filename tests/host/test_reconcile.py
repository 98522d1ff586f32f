"""Reconciliation (host_tools/reconcile.py): each category and each exclusion, with exact refunds.

One line's November (tests/host/line_month.py): a bill that matches the device
gives no finding; each test plants one billing error and checks the finding,
its category or exclusion, and the money to the fen.
"""

import datetime

import pytest

from host_tools.device_evidence import DeviceEvidence
from host_tools.reconcile import PAYMENT, ReconcileError, reconcile
from line_month import DAILY, MB, TZ, BillRows, records

TODAY = datetime.date(2026, 12, 20)
NO_SLACK = {"data_relative_ppm": 0, "data_slack_per_day_kb": 0, "data_slack_per_cut_kb": 0, "data_rounding_kb_per_row": 0}
AGREEMENT = {"plan_fee_yuan": "58.00", "discounts": [{"item": "plan", "percent": 50, "from": "2026-11", "to": "2026-12"}],
             "force_majeure": [{"from": "2026-11-25", "to": "2026-11-25", "why": "typhoon"}], "group_products": ["集团彩铃"]}


def _run(tmp_path, bill, account="prepaid", tolerances=None, **device):
    evidence = DeviceEvidence(records(**device))
    return reconcile([bill.write(tmp_path / "bill-2026-11.csv")], evidence, account, TODAY, AGREEMENT, tolerances)


def _only(report):
    assert len(report["findings"]) == 1, report["findings"]
    return report["findings"][0]


def test_a_bill_that_matches_the_device_has_no_finding(tmp_path):
    report = _run(tmp_path, BillRows())
    assert report["findings"] == [] and report["total_refund_fen"] == 0
    assert len(report["daily"]) == 30 and all(d["device_bytes"] == d["billed_bytes"] == DAILY for d in report["daily"])


def test_metering_error_after_the_quota_is_used_up_refunds_twice_the_tariff(tmp_path):
    bill = BillRows()
    bill.rows[19][5] = str((DAILY + 50 * MB) // 1024)  # Nov 20: 50 MB more than the device saw
    bill.rows[19][10] = "17.40"  # charged consistently for 60 MB: the error is in the volume
    report = _run(tmp_path, bill, tolerances=NO_SLACK)
    finding = _only(report)
    assert (finding["category"], finding["excluded"], finding["item"]) == ("metering_error", None, "data 2026-11-20")
    assert finding["overcharged_fen"] == 50 * 29 and finding["refund_fen"] == 2 * 50 * 29
    assert finding["evidence"]["bill_lines"] == [str(tmp_path / "bill-2026-11.csv") + ":21"]
    assert finding["evidence"]["ledger_seqs"]  # the day's usage records
    assert finding["payment"] == PAYMENT["prepaid"] and finding["cash_max_fen"] == 1450
    assert report["total_overcharged_fen"] == 1450 and report["total_refund_fen"] == 2900


def test_extra_volume_inside_the_quota_is_paid_for_when_the_quota_runs_out_early(tmp_path):
    bill = BillRows()
    bill.rows[2][5] = str((DAILY + 20 * MB) // 1024)  # Nov 3: 20 MB more, still within the plan
    for row in bill.rows[8:]:
        row[10] = "2.90"  # the quota now ends on the 9th: the 9th and 10th are charged too
    report = _run(tmp_path, bill, tolerances=NO_SLACK)
    finding = _only(report)
    assert finding["item"] == "data 2026-11-03" and finding["overcharged_fen"] == 2 * 290


def test_tolerances_absorb_rounding_and_what_a_power_cut_may_lose(tmp_path):
    bill = BillRows()
    bill.rows[4][5] = str(DAILY // 1024 + 60)  # +60 KB: within a day's 64 KB slack
    bill.rows[5][5] = str(DAILY // 1024 + 120)  # +120 KB: a modem reset that day allows 64 KB more
    bill.rows[6][5] = str(DAILY // 1024 + 300)  # +300 KB: beyond any tolerance, but within the plan
    report = _run(tmp_path, bill, cuts=[datetime.datetime(2026, 11, 6, 15, tzinfo=TZ)])
    assert [f["item"] for f in report["findings"]] == ["data 2026-11-07"]
    assert report["findings"][0]["overcharged_fen"] == 0  # the quota lasted: nothing was charged for it


def test_tariff_not_as_agreed_and_discount_not_applied(tmp_path):
    bill = BillRows()
    bill.rows[14][10] = "5.00"  # out of plan: 10 MB at 0.50 instead of 0.29
    bill.rows[3][10] = "1.00"  # inside the plan: should be free
    bill.add("plan", "2026-11-01 00:00:00", 5800, item="4G飞享套餐58元")  # the promised half price not applied
    report = _run(tmp_path, bill)
    got = {(f["item"], f["category"]): f["overcharged_fen"] for f in report["findings"]}
    assert got == {("data", "tariff_not_as_agreed"): 500 - 290, ("data", "discount_not_applied"): 100,
                   ("plan fee", "discount_not_applied"): 2900}
    assert report["total_refund_fen"] == 2 * (210 + 100 + 2900)


def test_services_never_confirmed_charged_after_cancelling_without_reminder_or_above_price(tmp_path):
    at = lambda d: datetime.datetime(2026, 11, d, 9, tzinfo=TZ)  # noqa: E731
    services = [
        (at(1), "order_request", "彩铃", 500),  # asked, never confirmed
        (at(1), "order_confirmed", "视频会员", 1500), (at(2), "charge_notice", "视频会员", 1500),
        (at(1), "order_confirmed", "手机报", 300), (at(2), "charge_notice", "手机报", 300), (at(10), "cancelled", "手机报", None),
        (at(1), "order_confirmed", "游戏包", 800),  # no charge reminder before the first deduction
        (at(1), "order_confirmed", "音乐包", 600), (at(2), "charge_notice", "音乐包", 600),
    ]
    bill = BillRows()
    bill.add("service", "2026-11-05 00:00:00", 500, item="彩铃", provider="SP A")
    bill.add("service", "2026-11-05 00:00:00", 2000, item="视频会员", provider="SP B")  # confirmed at 15.00
    bill.add("service", "2026-11-05 00:00:00", 300, item="手机报", provider="SP C")  # fine: before cancelling
    bill.add("service", "2026-11-15 00:00:00", 300, item="手机报", provider="SP C")  # after cancelling
    bill.add("service", "2026-11-05 00:00:00", 800, item="游戏包", provider="SP D")
    bill.add("service", "2026-11-05 00:00:00", 600, item="音乐包", provider="SP E")  # fine
    report = _run(tmp_path, bill, account="postpaid", services=services)
    got = {(f["item"], f["category"]): f["overcharged_fen"] for f in report["findings"]}
    assert got == {("service 彩铃", "never_happened"): 500, ("service 视频会员", "tariff_not_as_agreed"): 500,
                   ("service 手机报", "never_happened"): 300, ("service 游戏包", "never_happened"): 800}
    assert all(f["payment"] == PAYMENT["postpaid"] for f in report["findings"])
    assert report["total_refund_fen"] == 2 * 2100


def test_data_billed_on_a_day_the_device_metered_nothing_never_happened(tmp_path):
    bill = BillRows()
    report = _run(tmp_path, bill, daily={"2026-11-22": 0}, tolerances=NO_SLACK)
    finding = _only(report)
    assert (finding["category"], finding["item"], finding["overcharged_fen"]) == ("never_happened", "data 2026-11-22", 290)


def test_sms_the_device_never_sent(tmp_path):
    bill = BillRows()
    for i in range(3):
        bill.add("sms", "2026-11-12 10:0%d:00" % i, 10, number="13900000000")
    bill.add("sms", "2026-11-12 11:00:00", 10, number="10086")  # to 10086: free
    report = _run(tmp_path, bill)
    got = {(f["item"], f["category"]): f["overcharged_fen"] for f in report["findings"]}
    assert got == {("SMS 2026-11-12", "metering_error"): 40, ("sms", "tariff_not_as_agreed"): 10}


@pytest.mark.parametrize("plant, excluded", [
    ("reversed", "corrected_before_charging"),
    ("device_off", "subscriber_own_doing"),
    ("roaming", "interconnect_or_roaming_partner"),
    ("typhoon", "force_majeure"),
    ("old_backcharge", "charged_over_two_years_ago"),
    ("late_claim", "claimed_over_five_months_after_cancelling"),
    ("group", "group_customer_product"),
])
def test_each_exclusion_is_reported_and_refunds_nothing(tmp_path, plant, excluded):
    bill = BillRows()
    device = {}
    if plant == "reversed":
        bill.rows[14][10] = "5.00"
        bill.add("data", "2026-11-15 12:00:00", -210)
        bill.rows[-1][5] = "0"
        bill.rows[-1][10] = "-2.10"
    elif plant == "device_off":
        device["off"] = [(datetime.datetime(2026, 11, 17, 1, tzinfo=TZ), datetime.datetime(2026, 11, 17, 23, tzinfo=TZ))]
        device["daily"] = {"2026-11-17": 0}
    elif plant == "roaming":
        bill.data("2026-11-18 20:00:00", 1024, 3000, network="国际漫游", location="香港")
        device["daily"] = {"2026-11-18": DAILY + MB}
    elif plant == "typhoon":
        bill.rows[24][10] = "5.00"
    elif plant == "old_backcharge":
        bill.add("voice", "2024-10-01 10:00:00", 500, number="13900000000", seconds=60)
    elif plant in ("late_claim", "group"):
        name = "集团彩铃" if plant == "group" else "手机报"
        at = datetime.datetime(2026, 5, 1, 9, tzinfo=TZ)
        device["services"] = [(at, "order_confirmed", name, 300), (at, "charge_notice", name, 300)]
        if plant == "late_claim":
            device["services"].append((datetime.datetime(2026, 6, 1, 9, tzinfo=TZ), "cancelled", name, None))
        bill.add("service", "2026-11-05 00:00:00", 300 if plant == "late_claim" else 900, item=name, provider="SP")
        if plant == "group":
            device["services"][0] = (at, "order_request", name, 300)  # never confirmed: but a group product
    report = _run(tmp_path, bill, **device)
    assert [f["excluded"] for f in report["findings"]] == [excluded], report["findings"]
    finding = report["findings"][0]
    assert finding["overcharged_fen"] > 0 and finding["refund_fen"] == 0 and finding["payment"] is None
    assert report["total_refund_fen"] == 0 and report["total_excluded_fen"] == finding["overcharged_fen"]


def test_bills_outside_the_five_month_window_are_refused(tmp_path):
    evidence = DeviceEvidence(records())
    current = BillRows()
    current.add("voice", "2026-12-02 10:00:00", 19, number="13900000000", seconds=30)
    with pytest.raises(ReconcileError, match=r"bill for 2026-12: outside the last 5 months .* \(2026-07 to 2026-11"):
        reconcile([current.write(tmp_path / "dec.csv")], evidence, "prepaid", TODAY)
    with pytest.raises(ReconcileError, match="bill for 2026-11"):
        reconcile([BillRows().write(tmp_path / "nov.csv")], evidence, "prepaid", datetime.date(2027, 5, 1))
    assert reconcile([BillRows().write(tmp_path / "nov.csv")], evidence, "prepaid", datetime.date(2027, 4, 30))["months"] == ["2026-11"]


def test_a_service_charged_but_missing_from_10086s_own_0000_list(tmp_path):
    at = datetime.datetime(2026, 11, 3, 9, tzinfo=TZ)
    recs = records()
    # The device asked "0000" on Nov 3: 10086 listed 手机报 only.
    recs.insert(-2, {"type": "sms_received", "seq": 0, "time": at.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "fields": {"from": "10086", "text": "", "kind": "services", "fields": {"items": [[1, "手机报", 300]]}}})
    bill = BillRows()
    bill.add("service", "2026-11-01 00:00:00", 300, item="游戏包", provider="SP")  # before the list: no evidence
    bill.add("service", "2026-11-20 00:00:00", 500, item="彩铃", provider="SP")  # after it, never listed nor ordered
    bill.add("service", "2026-11-20 00:00:00", 300, item="手机报", provider="SP")  # listed: ordered before the device
    report = reconcile([bill.write(tmp_path / "b.csv")], DeviceEvidence(recs), "prepaid", TODAY, AGREEMENT)
    finding = _only(report)
    assert (finding["item"], finding["category"], finding["overcharged_fen"]) == ("service 彩铃", "never_happened", 500)
