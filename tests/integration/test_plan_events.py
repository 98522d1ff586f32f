"""What happens to the reminders and the data session when the plan moves: an
add-on lifts the data left (reminders re-arm, data resumes), the subscriber
snoozes past zero (overage metered apart), a warn-only plan, and the cycle
rolling over at midnight in the plan's time zone, not UTC's."""

import time

from subscriber_view import (
    MB,
    ONE_MB_A_SECOND,
    assert_reminders,
    device_state,
    network,
    sms,
    start_board,
    wait_for,
    wait_for_sms,
)

from host_tools import cli


def _plan(quota_mb, at_zero="cut", **extra):
    plan = {"quota_mb": quota_mb, "cycle_day": 1, "timezone": "+08:00", "at_zero": at_zero}
    plan.update(extra)
    return plan


def _session(state, wanted, timeout=20):
    wait_for(lambda: network(state)["data_session"] == wanted, timeout, "data session " + wanted)


def test_an_add_on_rearms_the_reminders_and_resumes_data_then_snooze_runs_past_zero(tmp_path, capsys):
    plan = _plan(12, addons=[{"at": "+75s", "mb": 20}])
    state, board = start_board(tmp_path, plan, [{"from": "+40s", "mbps": ONE_MB_A_SECOND}], "--speed", "10")
    try:
        board.wait_ready()
        wait_for_sms(state, 3, 60)
        _session(state, "down")
        # The subscriber buys 20 MB: the carrier has it at +75s, and the device is told.
        wait_for(lambda: network(state)["quota_bytes"] == 32 * MB, 30, "the add-on at the carrier")
        assert cli.main(["plan", "set", "--port", board.port, "--addon-mb", "20"]) == 0
        capsys.readouterr()
        wait_for_sms(state, 6, 60)
        _session(state, "down")
        time.sleep(1.0)
        after_add_on = network(state)
        assert_reminders(sms(state), 10, 5, 0, 10, 5, 0)
        assert 0 <= after_add_on["used_bytes"] - 32 * MB <= 1 * MB

        # Out of data again: the subscriber chooses to go on, paying out-of-plan.
        snoozed = device_state(board.port, capsys, "snooze")
        assert snoozed["snoozed"] and snoozed["overage"] <= 1 * MB
        _session(state, "up")
        time.sleep(1.0)  # 10 simulated seconds: about 10 MB past the quota
        status = device_state(board.port, capsys)
        assert status["data_on"] and status["remaining"] == 0 and status["overage"] >= 5 * MB
        stopped = device_state(board.port, capsys, "snooze", "--cancel")
        assert not stopped["snoozed"]
        _session(state, "down")
        time.sleep(1.0)
        status = device_state(board.port, capsys)
        carrier = network(state)  # written when the session went down: up to date
        messages = sms(state)
    finally:
        board.stop()
    assert len(messages) == 6  # snoozing is not a new crossing: no reminder repeats
    carrier_overage = carrier["used_bytes"] - carrier["quota_bytes"]
    assert not status["data_on"] and 0 <= carrier_overage - status["overage"] <= 128 * 1024


def test_warn_only_reminds_and_keeps_data_on(tmp_path, capsys):
    state, board = start_board(tmp_path, _plan(12, "warn"), [{"from": "+40s", "mbps": ONE_MB_A_SECOND}],
                               "--speed", "10")
    try:
        board.wait_ready()
        wait_for_sms(state, 3, 60)
        wait_for(lambda: network(state)["used_bytes"] >= 17 * MB, 30, "usage past the quota")
        status = device_state(board.port, capsys)
        carrier = network(state)
        time.sleep(1.0)
        messages = sms(state)
    finally:
        board.stop()
    assert_reminders(messages, 10, 5, 0)
    assert "继续使用将按套餐外资费计费" in messages[2]["text"]
    assert carrier["data_session"] == "up" and status["data_on"]
    assert status["overage"] >= 3 * MB and status["remaining"] == 0


def test_rollover_at_local_midnight_of_the_plan_time_zone(tmp_path, capsys):
    # 23:57 in New York on 30 November is already 1 December in UTC: a device that
    # counted cycles in UTC would not roll over at all in this test.
    plan = {"quota_mb": 12, "cycle_day": 1, "timezone": "-05:00", "at_zero": "cut"}
    state, board = start_board(tmp_path, plan, [{"from": "+60s", "mbps": ONE_MB_A_SECOND}], "--speed", "10",
                               start="2026-11-30T23:57:00-05:00")
    try:
        board.wait_ready()
        wait_for_sms(state, 3, 60)
        before = device_state(board.port, capsys)
        wait_for_sms(state, 6, 60)
        _session(state, "down")
        after = device_state(board.port, capsys)
        carrier = network(state)
        time.sleep(1.0)
        messages = sms(state)
    finally:
        board.stop()
    assert_reminders(messages, 10, 5, 0, 10, 5, 0)
    midnight = "2026-12-01T00:00:00.000-05:00"
    assert all(m["time"] < midnight for m in messages[:3]), messages
    assert all(m["time"].startswith("2026-12-01T00:") for m in messages[3:]), messages
    assert carrier["cycle_start"] == midnight
    assert after["cycle_start"] - before["cycle_start"] == 30 * 86400  # November had 30 days
    assert after["cycle_start"] == 1796101200  # 2026-12-01T05:00:00Z
    assert 0 <= carrier["used_bytes"] - 12 * MB <= 1 * MB
