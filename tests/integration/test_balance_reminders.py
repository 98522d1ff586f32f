"""Prepaid balance on the emulator: the device asks 10086, and reminds the subscriber
before the balance runs low and before it expires, once each, in the carrier's words."""

import json

from subscriber_view import SUBSCRIBER, all_sms, network, start_board, wait_for

from host_tools import cli


def test_low_balance_and_expiry_reminders_once_each(tmp_path, capsys):
    account = {"balance_yuan": 10.80, "expires": "2026-12-03T23:59:59+08:00", "daily_fee_yuan": 1,
               "topups": [{"at": "+10h", "yuan": 50}]}
    state, board = start_board(tmp_path, {"quota_mb": 100}, [], "--speed", "10000",
                               start="2026-12-01T20:00:00+08:00", account=account)
    try:
        board.wait_ready()
        wait_for(lambda: network(state)["time"] >= "2026-12-03T02:00", 60, "30 simulated hours")
        assert cli.main(["balance", "--port", board.port, "--json"]) == 0
        heard = json.loads(capsys.readouterr().out)
        messages = all_sms(state)
    finally:
        board.stop()
    reminders = [m for m in messages if m["to"] == SUBSCRIBER and m["from"] == SUBSCRIBER]
    texts = [m["text"] for m in reminders]
    assert texts == [
        "尊敬的客户,您的账户余额将于12月3日到有效期,为不影响您的正常通信,请您尽快充值交费。谢谢。中国移动",
        "尊敬的客户,您的账户余额不足10元,为不影响您的正常通信,请您尽快充值交费。谢谢。中国移动",
    ], texts
    # The earliest moment "12月3日" can mean is 12-03 00:00: the reminder must be on the
    # phone 24 h before. It is due 48 h before, already past when the device first
    # hears the date (its first query, 10 minutes after installation): it goes then
    # (a few simulated hours later at 10,000x: each real millisecond is 10 s).
    assert "2026-12-01T20:10" <= reminders[0]["time"] < "2026-12-02T00:00"
    assert "2026-12-02T00:00" <= reminders[1]["time"] < "2026-12-02T06:10"  # by the next query after midnight
    topups = [m for m in messages if m["from"] == "10086" and "充值" in m["text"]]
    assert len(topups) == 1 and heard["fen"] in (5980, 5880) and not heard["low_sent"]
    queries = [m for m in messages if m["to"] == "10086"]
    assert 5 <= len(queries) <= 8  # every 6 h, and after the top-up notice


def _postpaid(tmp_path, payments):
    account = {"type": "postpaid", "bill_month": 11, "bill_yuan": 88, "due": "2026-12-15T00:00:00+08:00",
               "bill_at": "+10m", "payments": payments}
    return start_board(tmp_path, {"quota_mb": 100}, [], "--speed", "10000", start="2026-12-12T20:00:00+08:00",
                       account=account)


def _postpaid_sms(tmp_path, payments):
    """Every SMS over a day and a half of a postpaid line."""
    state, board = _postpaid(tmp_path, payments)
    try:
        board.wait_ready()
        wait_for(lambda: network(state)["time"] >= "2026-12-14T12:00", 60, "a day and a half")
        messages = all_sms(state)
    finally:
        board.stop()
    return messages


def _reminders(messages):
    return [m for m in messages if m["from"] == SUBSCRIBER and m["to"] == SUBSCRIBER]


def test_postpaid_reminder_at_least_24_hours_before_suspension(tmp_path):
    (reminder,) = _reminders(_postpaid_sms(tmp_path, []))
    assert reminder["text"] == "尊敬的客户:您11月通信消费88元,尚有88元未缴。为不影响您的正常通信,请您在本月15日前交清费用。谢谢。中国移动"
    assert "2026-12-13T00:00" <= reminder["time"] < "2026-12-14T00:00"  # 24 h or more before the due day


def test_no_postpaid_reminder_once_the_bill_is_paid(tmp_path):
    messages = _postpaid_sms(tmp_path, [{"at": "+2h", "yuan": 88}])
    assert _reminders(messages) == []
    assert any("成功缴费88.00元" in m["text"] for m in messages)
