"""A mistyped subscriber number, as the subscriber and the technician see it on the
emulated board: the network refuses the reminder for good, `status` says so with
the reason, the device neither hammers the modem nor floods its console, and once
the number is corrected the missed reminder reaches the phone once, then the rest."""

from subscriber_view import (
    MB,
    ONE_MB_A_SECOND,
    SUBSCRIBER,
    all_sms,
    assert_reminders,
    device_state,
    sms,
    start_board,
    wait_for,
    wait_for_sms,
)

WRONG = "+8613900000000"


def _reminders(port, capsys):
    return {t // MB: (s, why) for t, s, why in device_state(port, capsys)["thresholds"]}


def test_a_wrong_number_fails_in_status_and_the_corrected_one_gets_every_reminder_once(tmp_path, capsys):
    plan = {"quota_mb": 30, "cycle_day": 1, "timezone": "+08:00", "at_zero": "warn"}
    # 22 MB (the 10 MB reminder at 20), a pause with 8 MB left, then the rest.
    traffic = [{"from": "+30s", "mbps": ONE_MB_A_SECOND}, {"from": "+52s", "mbps": 0},
               {"from": "+200s", "mbps": ONE_MB_A_SECOND}]
    state, board = start_board(tmp_path, plan, traffic, "--speed", "10", unassigned_numbers=[WRONG])
    try:
        board.wait_ready()
        device_state(board.port, capsys, "plan", "set", "--subscriber", WRONG)  # a digit short
        failed = wait_for(lambda: _reminders(board.port, capsys)[10][0] == "failed" and _reminders(board.port, capsys),
                          60, "the 10 MB reminder refused")
        assert "+CMS ERROR: 1" in failed[10][1] and "unassigned" in failed[10][1], failed
        assert sms(state) == []
        commands_while_wrong = _cmgs_count(state)
        device_state(board.port, capsys, "plan", "set", "--subscriber", SUBSCRIBER)
        wait_for_sms(state, 1, 30)
        wait_for_sms(state, 3, 90)  # the pause ends: 5 MB and 0 MB, to the right number
        wait_for(lambda: all(s == "delivered" for s, _why in _reminders(board.port, capsys).values()), 30,
                 "every reminder delivered")
        messages = sms(state)
        console = board.console()
    finally:
        board.stop()
    assert_reminders(messages, 10, 5, 0)
    assert [m["to"] for m in all_sms(state) if m["to"] == WRONG] == []
    assert commands_while_wrong == 1  # refused once, given up: not tried again and again
    assert "failed" not in console and len(console.splitlines()) < 5, console


def _cmgs_count(state):
    with open(state / "modem.log", encoding="utf-8", errors="replace") as f:
        return f.read().count("SMS to %s refused" % WRONG)
