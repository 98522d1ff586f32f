"""Prepaid balance reminders (firmware/account/balance.py) on both VMs: what goes into the
outbox, in the carrier's own wording, once per crossing and once per expiry date."""

# The outbox brings the modem driver and SMS codec: their bytecode is in the heap.
HEAP = "160k"

import flash_fixture  # first: its flash buffer is allocated while the heap is empty

import os

from mpunit import refuses
from firmware.account.balance import DELIVERY_MARGIN_MS, FIRST_QUERY_MS, PROMISE_MS, QUERY_MS, REMIND_BEFORE_MS, Balance
from firmware.sms.outbox import Outbox
from protocol import civil_time, records

SUBSCRIBER = "+8613800138000"


def _ms(text):
    return civil_time.parse_utc_ms(text)


def _setup():
    folder = flash_fixture.fresh_dir("state", 512, 32)
    os.mkdir(folder)
    outbox = Outbox(None, lambda rtype, fields: None, folder + "/outbox")  # add() needs no modem
    return Balance(outbox, folder + "/balance", lambda: ([SUBSCRIBER], 480)), outbox, folder


def _taken(outbox):
    """As if the modem had taken every queued message (the SMS centre has them)."""
    for message in outbox.messages:
        message["state"] = "sent"


def _texts(outbox, to=SUBSCRIBER):
    return [m["text"] for m in outbox.messages if m["to"] == to]


def test_asks_10086_on_a_schedule():
    balance, outbox, _folder = _setup()
    balance.step(0)  # installed
    balance.step(FIRST_QUERY_MS - 1)
    assert _texts(outbox, "10086") == []
    balance.step(FIRST_QUERY_MS)
    balance.step(FIRST_QUERY_MS + QUERY_MS - 1)
    balance.step(FIRST_QUERY_MS + QUERY_MS)
    assert _texts(outbox, "10086") == ["CXYE", "CXYE"]


def test_low_balance_once_per_crossing_and_again_after_a_top_up():
    balance, outbox, folder = _setup()
    balance.on_message("10086", "", "balance", {"fen": 1500})
    balance.step(0)
    assert _texts(outbox) == []
    balance.on_message("10086", "", "balance", {"fen": 900})
    balance.step(1)
    balance.on_message("10086", "", "balance", {"fen": 800})
    balance.step(2)
    assert _texts(outbox) == ["尊敬的客户,您的账户余额不足10元,为不影响您的正常通信,请您尽快充值交费。谢谢。中国移动"]
    _taken(outbox)
    balance.on_message("10086", "", "topup", {"fen": 5000, "balance": 5800})
    balance.step(3)
    assert len(_texts(outbox)) == 1
    balance.on_message("10086", "", "balance", {"fen": 950})
    again = Balance(outbox, folder + "/balance", lambda: ([SUBSCRIBER], 480))  # after a power cut
    again.step(4)
    again.step(5)
    assert len(_texts(outbox)) == 2


def test_a_balance_going_up_and_down_around_the_threshold_reminds_once_per_fall():
    balance, outbox, _folder = _setup()
    for step, fen in enumerate((1200, 990, 980, 1010, 1000, 1001, 999)):
        balance.on_message("10086", "", "balance", {"fen": fen})
        balance.step(step)
        _taken(outbox)
    assert len(_texts(outbox)) == 3  # 990, then 1000 (at the threshold), then 999


def test_a_top_up_withdraws_a_low_balance_reminder_not_yet_sent():
    balance, outbox, _folder = _setup()
    balance.on_message("10086", "", "balance", {"fen": 500})
    balance.step(0)
    assert len(_texts(outbox)) == 1  # queued: the modem has not taken it yet
    balance.on_message("10086", "", "topup", {"fen": 5000, "balance": 5500})
    assert _texts(outbox) == [] and not balance.low_sent


def test_expiry_reminder_reaches_the_phone_24_hours_before_the_earliest_moment_with_a_day_to_spare():
    # "有效期至12月20日" gives a date: the earliest it can mean is 12-20 00:00 in the
    # plan's time zone. The reminder is due 24 h before that, and is queued another
    # DELIVERY_MARGIN_MS earlier, so the SMS centre has a day to reach the phone.
    assert REMIND_BEFORE_MS == PROMISE_MS + DELIVERY_MARGIN_MS and DELIVERY_MARGIN_MS >= 12 * 3600 * 1000
    balance, outbox, _folder = _setup()
    balance.on_message("10086", "", "balance", {"fen": 5000, "expires": "2026-12-20"})
    balance.step(_ms("2026-12-20T00:00:00+08:00") - REMIND_BEFORE_MS - 60000)
    assert _texts(outbox) == []
    balance.step(_ms("2026-12-20T00:00:00+08:00") - REMIND_BEFORE_MS)
    balance.step(_ms("2026-12-19T12:00:00+08:00"))
    assert _texts(outbox) == ["尊敬的客户,您的账户余额将于12月20日到有效期,为不影响您的正常通信,请您尽快充值交费。谢谢。中国移动"]
    balance.on_message("10086", "", "topup", {"fen": 5000, "balance": 10000, "expires": "2027-03-20"})
    balance.step(_ms("2027-03-17T23:59:00+08:00"))  # 48 h 1 min before 03-20 00:00
    assert len(_texts(outbox)) == 1
    balance.step(_ms("2027-03-18T00:00:00+08:00"))
    assert len(_texts(outbox)) == 2 and "3月20日" in _texts(outbox)[1]


def test_an_expiry_date_learnt_late_is_reminded_at_once_and_a_past_one_not_at_all():
    late, outbox, _folder = _setup()
    late.on_message("10086", "", "balance", {"fen": 5000, "expires": "2026-12-20"})
    late.step(_ms("2026-12-19T20:00:00+08:00"))  # 4 h before: late, still worth it
    assert len(_texts(outbox)) == 1
    past, outbox, _folder = _setup()
    past.on_message("10086", "", "balance", {"fen": 5000, "expires": "2026-12-20"})
    past.step(_ms("2026-12-20T00:00:00+08:00"))
    assert _texts(outbox) == []


def test_a_clock_set_back_does_not_hold_the_balance_query_back():
    balance, outbox, _folder = _setup()
    balance.step(_ms("2026-12-01T08:00:00+08:00"))
    balance.step(_ms("2026-12-01T08:00:00+08:00") + FIRST_QUERY_MS)
    assert len(outbox.messages) == 1
    balance.step(_ms("2026-11-01T08:00:00+08:00"))  # a month back: the schedule starts again
    balance.step(_ms("2026-11-01T08:00:00+08:00") + FIRST_QUERY_MS)
    assert len(outbox.messages) == 2


def test_postpaid_bill_reminded_48_hours_before_the_due_day_unless_paid():
    balance, outbox, _folder = _setup()
    bill = {"month": 11, "fen": 8800, "unpaid": 8800, "due": "2026-12-15"}
    balance.on_message("10086", "", "bill", bill)
    balance.step(_ms("2026-12-12T23:59:00+08:00"))
    assert _texts(outbox) == []
    balance.step(_ms("2026-12-13T00:00:00+08:00"))
    balance.step(_ms("2026-12-14T00:00:00+08:00"))
    assert _texts(outbox) == ["尊敬的客户:您11月通信消费88元,尚有88元未缴。为不影响您的正常通信,请您在本月15日前交清费用。谢谢。中国移动"]
    paid, _outbox, _f = _setup()
    paid.on_message("10086", "", "bill", dict(bill, due="2027-01-15"))
    paid.on_message("10086", "", "payment", {"fen": 8800, "unpaid": 0})
    paid.step(_ms("2027-01-14T00:00:00+08:00"))
    assert _texts(_outbox) == []


def test_a_threshold_in_fen_and_nonsense_refused():
    balance, outbox, _folder = _setup()
    balance.set_low(550)
    balance.on_message("10086", "", "balance", {"fen": 550})
    balance.step(0)
    assert "不足5.50元" in _texts(outbox)[0]
    refuses(balance.set_low, (-1, "10", 1.5))


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())


def test_each_balance_the_carrier_tells_is_a_record_with_its_source_and_expiry():
    folder = flash_fixture.fresh_dir("state", 512, 32)
    os.mkdir(folder)
    outbox = Outbox(None, lambda rtype, fields: None, folder + "/outbox")
    logged = []
    balance = Balance(outbox, folder + "/balance", lambda: ([SUBSCRIBER], 480),
                      record=lambda rtype, fields: logged.append((rtype, fields)))
    balance.on_message("10086", "", "balance", {"fen": 1250, "expires": "2027-03-20"})
    balance.on_message("10086", "", "topup", {"fen": 5000})  # a top-up notice without the new balance
    balance.on_message("10086", "", "topup", {"fen": 5000, "balance": 6250})
    balance.on_message("10086", "", "bill", {"due": "2027-01-15", "unpaid": 100})
    assert logged == [
        (records.BALANCE, {records.BALANCE__BALANCE_FEN: 1250, records.BALANCE__SOURCE: records.BALANCE_FROM_QUERY,
                           records.BALANCE__EXPIRES: "2027-03-20"}),
        (records.BALANCE, {records.BALANCE__BALANCE_FEN: 6250, records.BALANCE__SOURCE: records.BALANCE_FROM_TOPUP,
                           records.BALANCE__EXPIRES: "2027-03-20"}),
    ]
