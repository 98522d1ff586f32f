"""Reconciliation (host_tools/billing/reconcile.py): each category and each exclusion, with exact refunds.

One line's November (tests/host/line_month.py): a bill that matches the device
gives no finding; each test plants one billing error and checks the finding,
its category or exclusion, and the money to the fen.
"""

import datetime

import pytest

from host_tools.billing.device_evidence import DeviceEvidence
from host_tools.billing.reconcile import PAYMENT, ReconcileError, reconcile
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


def _utc(local):
    return local.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_sms_the_device_never_sent_are_named_and_claimed_once(tmp_path):
    bill = BillRows()
    for i in range(3):
        bill.add("sms", "2026-11-12 10:0%d:00" % i, 10, number="13900000000")  # bill lines 32, 33, 34
    bill.add("sms", "2026-11-12 11:00:00", 10, number="10086")  # to 10086: free (line 35)
    recs = records()
    # The device sent one of them, the one of 10:01 (its clock 20 s off the carrier's).
    sent = datetime.datetime(2026, 11, 12, 10, 1, 20, tzinfo=TZ)
    recs.insert(-2, {"type": "reminder_sent", "seq": 0, "time": _utc(sent),
                     "fields": {"kind": 0, "to": "+8613900000000", "message_ref": [5], "text": "还剩10MB"}})
    report = reconcile([bill.write(tmp_path / "bill-2026-11.csv")], DeviceEvidence(recs), "prepaid", TODAY, AGREEMENT)
    got = {(f["item"], f["category"]): f for f in report["findings"]}
    assert set(got) == {("SMS 2026-11-12", "metering_error"), ("sms", "tariff_not_as_agreed")}
    sms = got["SMS 2026-11-12", "metering_error"]
    where = str(tmp_path / "bill-2026-11.csv") + ":%d"
    # The messages the device did not send, not every message of the day; the 10086 one it
    # did not send either, but its charge is all the tariff finding's already.
    assert sms["evidence"]["bill_lines"] == [where % 32, where % 34] and sms["rows"] == 2
    assert sms["overcharged_fen"] == 20 and "13900000000" in sms["explanation"]
    assert got["sms", "tariff_not_as_agreed"]["overcharged_fen"] == 10
    assert report["total_overcharged_fen"] == 30


@pytest.mark.parametrize("plant, excluded", [
    ("reversed", "corrected_before_charging"),
    ("device_off", "subscriber_own_doing"),
    ("roaming", "interconnect_or_roaming_partner"),
    ("typhoon", "force_majeure"),
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


def test_a_back_charge_on_a_recent_bill_is_in_scope(tmp_path):
    # Usage of 2024, charged on the November 2026 bill: charged less than two years ago.
    bill = BillRows()
    bill.add("voice", "2024-10-01 10:00:00", 500, number="13900000000", seconds=60)
    finding = _only(_run(tmp_path, bill))
    assert (finding["item"], finding["category"], finding["excluded"]) == ("voice", "tariff_not_as_agreed", None)
    assert finding["overcharged_fen"] == 500 - 19 and finding["refund_fen"] == 2 * 481


def test_a_roaming_row_is_excluded_on_its_own_and_never_counted_against_the_device(tmp_path):
    bill = BillRows()
    bill.data("2026-11-18 20:00:00", 1024, 3000, network="国际漫游", location="香港")  # the device metered none of it
    report = _run(tmp_path, bill, tolerances=NO_SLACK)
    finding = _only(report)
    assert (finding["item"], finding["excluded"], finding["overcharged_fen"]) == ("data", "interconnect_or_roaming_partner", 3000)
    assert report["total_refund_fen"] == 0
    assert [d["billed_bytes"] for d in report["daily"] if d["day"] == "2026-11-18"] == [DAILY]


def _plan_after_november():
    """The device was first given its plan on Dec 1, after the November bill's month."""
    recs = [r for r in records() if r["type"] != "cycle_rollover"]
    plan = next(r for r in recs if r["type"] == "config_changed")
    recs.remove(plan)
    plan["time"] = _utc(datetime.datetime(2026, 12, 1, 9, tzinfo=TZ))
    recs.insert(-1, plan)
    return recs


def test_a_month_the_device_knew_no_plan_for_is_refused_never_given_a_later_plan(tmp_path):
    path = BillRows().write(tmp_path / "bill-2026-11.csv")
    evidence = DeviceEvidence(_plan_after_november())
    with pytest.raises(ReconcileError, match=r"^the ledger has no data plan for 2026-11 \(the device's first plan dates "
                                             r"from 2026-12-01\): pull the device, or give the month's quota with "
                                             r"--plan-quota-mb N \(plan_quota_mb in the agreement\)$"):
        reconcile([path], evidence, "prepaid", TODAY)
    report = reconcile([path], evidence, "prepaid", TODAY, {"plan_quota_mb": 100})
    assert report["findings"] == []
    # A plan configured during the month answers for it (no rollover pulled yet).
    recs = [r for r in records() if r["type"] != "cycle_rollover"]
    assert reconcile([path], DeviceEvidence(recs), "prepaid", TODAY)["findings"] == []


def test_a_day_the_device_did_not_watch_reads_not_covered_never_never_happened(tmp_path):
    off = [(datetime.datetime(2026, 11, 17, 1, tzinfo=TZ), datetime.datetime(2026, 11, 17, 23, tzinfo=TZ))]
    finding = _only(_run(tmp_path, BillRows(), off=off, daily={"2026-11-17": 0}))
    assert (finding["item"], finding["category"], finding["excluded"]) == ("data 2026-11-17", "not_covered", "subscriber_own_doing")
    assert "not covered by the device" in finding["explanation"]
    assert "Not covered by the device" in finding["category_text"] and "Not covered by the device" in finding["excluded_text"]
    assert "never" not in finding["category_text"] + finding["explanation"]


def _carrier_export(path, phone, bill):
    lines = ["客户姓名,张三", "手机号码,%s" % phone, "账期,2026年11月", "", "上网详单",
             "起始时间,通信地点,上网方式,总流量,套餐优惠,通信费"]
    lines += ["%s,%s,4G网络,%sKB,0.00,%s" % (row[1], row[2], row[5], row[10]) for row in bill.rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_the_bills_phone_number_is_checked_against_the_devices_subscriber(tmp_path):
    recs = records()
    recs.insert(2, {"type": "config_changed", "seq": 0, "time": recs[1]["time"],
                    "fields": {"key": "subscriber", "old": None, "new": "+8613800138000"}})
    evidence = DeviceEvidence(recs)
    ours = _carrier_export(tmp_path / "ours.csv", "13800138000", BillRows())
    report = reconcile([ours], evidence, "prepaid", TODAY)
    assert report["phone_checks"] == [{"bill": ours, "phone": "13800138000", "subscribers": ["13800138000"], "match": True}]
    theirs = _carrier_export(tmp_path / "theirs.csv", "13900139000", BillRows())
    with pytest.raises(ReconcileError, match=r"theirs.csv is the bill of 13900139000, but the device's subscriber in 2026-11 "
                                             r"was 13800138000: another line's bill\? .* name this device with --device"):
        reconcile([theirs], evidence, "prepaid", TODAY)
    report = reconcile([theirs], evidence, "prepaid", TODAY, device_named=True)
    assert report["phone_checks"][0]["match"] is False and report["findings"] == []


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
