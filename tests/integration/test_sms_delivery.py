"""Reminders reach the phone: tracked by status reports while the phone is off,
delivered once when it is back, and long texts arrive whole (concatenated SMS)."""


from subscriber_view import (
    ONE_MB_A_SECOND,
    SUBSCRIBER,
    assert_reminders,
    device_state,
    network,
    pulled_records,
    sms,
    start_board,
    wait_for,
    wait_for_sms,
)

from host_tools import cli
from protocol import sms_pdu


def _records(port, tmp_path, capsys, rtype):
    """The device's records of this type about data reminders (not its balance queries)."""
    records = pulled_records(port, tmp_path, capsys, rtype)
    return [r for r in records if isinstance(r["fields"].get("kind"), int)]


def test_reminders_sent_while_the_phone_is_off_arrive_once_when_it_is_back(tmp_path, capsys):
    plan = {"quota_mb": 12, "at_zero": "cut"}
    off = {"at": "+0s", "phone_off": True, "until": "+100s"}
    state, board = start_board(tmp_path, plan, [{"from": "+40s", "mbps": ONE_MB_A_SECOND}], "--speed", "10",
                               faults=[off], start="2026-12-01T08:00:00+08:00")
    try:
        board.wait_ready()
        wait_for(lambda: network(state)["data_session"] == "down", 60, "the cut at zero")
        assert sms(state) == []  # sent, but the phone is off
        wait_for(lambda: len(_records(board.port, tmp_path, capsys, "reminder_sent")) == 3, 30, "3 sent")
        assert _records(board.port, tmp_path, capsys, "reminder_delivered") == []  # no evidence yet
        messages = wait_for_sms(state, 3, 30)
        wait_for(lambda: len(_records(board.port, tmp_path, capsys, "reminder_delivered")) == 3, 30, "3 reports")
        sent = _records(board.port, tmp_path, capsys, "reminder_sent")
        failed = _records(board.port, tmp_path, capsys, "reminder_failed")
    finally:
        board.stop()
    assert_reminders(messages, 10, 5, 0)
    assert all(m["time"] >= "2026-12-01T08:01:40" for m in messages), messages  # none before the phone is on
    assert len(sent) == 3 and failed == []  # one try each: the SMS centre held them


def test_a_400_character_reminder_arrives_whole(tmp_path, capsys):
    text = "尊敬的客户，您本月套餐内剩余流量为{mb}MB。" + "为避免产生套餐外流量费用，请合理使用。" * 20
    plan = {"quota_mb": 30, "at_zero": "warn"}
    state, board = start_board(tmp_path, plan, [{"from": "+60s", "mbps": ONE_MB_A_SECOND}], "--speed", "10")
    try:
        board.wait_ready()
        argv = ["plan", "set", "--port", board.port, "--thresholds-mb", "20", "--text", "20=" + text]
        assert cli.main(argv) == 0, capsys.readouterr().err
        capsys.readouterr()
        (message,) = wait_for_sms(state, 1, 60)
        before = device_state(board.port, capsys)["used"]
        wait_for(lambda: device_state(board.port, capsys)["used"] > before + 1048576, 10, "metering going on")
    finally:
        board.stop()
    whole = text.replace("{mb}", "20")
    assert len(whole) > 400
    assert message["text"] == whole and message["to"] == SUBSCRIBER
    assert message["parts"] == len(sms_pdu.split_text(whole)) == 6  # 67 UCS2 units a part
