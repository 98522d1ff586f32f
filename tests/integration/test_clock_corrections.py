"""A clock that jumps, as the subscriber sees it on the emulated board: a technician's
`edgemeter clock set` hours back across the cycle day, and an RTC whose battery
went flat while the board was off. The reminders still come once each at 10, 5 and
0 MB of the carrier's own count, data is cut at zero, and each clock change is a
record with the old and the new time."""

import datetime
import os

from subscriber_view import (
    MB,
    ONE_MB_A_SECOND,
    assert_reminders,
    device_state,
    network,
    pulled_records,
    sms,
    start_board,
    wait_for,
    wait_for_sms,
)

QUOTA_MB = 40
PLAN = {"quota_mb": QUOTA_MB, "cycle_day": 1, "timezone": "+08:00", "at_zero": "cut"}
BUDGET_PER_CUT = 64 * 1024 + 1024  # unsaved usage a power cut may lose + the carrier's rounding up


def _device_time(port, capsys):
    return datetime.datetime.fromisoformat(device_state(port, capsys, "clock", "get")["datetime"])


def _clock_records(port, tmp_path, capsys):
    return [r for r in pulled_records(port, tmp_path, capsys, "config_changed") if r["fields"]["key"] == "clock"]


def test_a_clock_set_9_hours_back_across_the_cycle_day_keeps_every_promise(tmp_path, capsys):
    # 06:00 local on the 1st: 9 hours back is the last cycle's evening.
    state, board = start_board(tmp_path, PLAN, [{"from": "+20s", "mbps": ONE_MB_A_SECOND}], "--speed", "10",
                               start="2026-12-01T06:00:00+08:00")
    try:
        board.wait_ready()
        wait_for(lambda: network(state)["used_bytes"] >= 5 * MB, 60, "5 MB of traffic")
        before = _device_time(board.port, capsys)
        back = before - datetime.timedelta(hours=9)
        device_state(board.port, capsys, "clock", "set", "--to", back.isoformat())
        assert _device_time(board.port, capsys) < before - datetime.timedelta(hours=8)
        wait_for_sms(state, 3, 90)
        wait_for(lambda: network(state)["data_session"] == "down", 30, "the cut at zero")
        messages, account = sms(state), network(state)
        device = device_state(board.port, capsys)
        clocks = _clock_records(board.port, tmp_path, capsys)
        rollovers = pulled_records(board.port, tmp_path, capsys, "cycle_rollover")
    finally:
        board.stop()
    assert_reminders(messages, 10, 5, 0)
    overshoot = account["used_bytes"] - QUOTA_MB * MB
    assert 0 <= overshoot <= MB, overshoot
    assert rollovers == [] and device["cycle_start"] == int(datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone(
        datetime.timedelta(hours=8))).timestamp())  # the cycle it was in: never rolled back
    (clock,) = clocks
    # The old and the new time (the board's clock ran on, 10x, between the read and the write).
    assert 9 * 3600 <= clock["fields"]["old"] - clock["fields"]["new"] <= 9 * 3600 + 60


def test_an_rtc_that_lost_its_battery_comes_back_at_the_last_saved_time_and_metering_goes_on(tmp_path, capsys):
    # 0.4 MB a second at 5x: slow enough that the VM's own latency stays inside the
    # per-cut budget (as in test_subscriber_reminders.py's power cuts).
    plan = dict(PLAN, quota_mb=20)
    state, board = start_board(tmp_path, plan, [{"from": "+10s", "mbps": ONE_MB_A_SECOND * 0.4}], "--speed", "5",
                               "--power-on-delay", "0.5", start="2026-12-10T12:00:00+08:00")
    try:
        board.wait_ready()
        wait_for(lambda: network(state)["used_bytes"] >= 6 * MB, 60, "6 MB of traffic")
        before = _device_time(board.port, capsys)
        board.power_cut(before_power_on=lambda: os.remove(state / "rtc-offset"))  # the RTC's cell is flat
        after = _device_time(board.port, capsys)
        wait_for_sms(state, 3, 90)
        wait_for(lambda: network(state)["data_session"] == "down", 30, "the cut at zero")
        messages, account = sms(state), network(state)
        device = device_state(board.port, capsys)
        clocks = _clock_records(board.port, tmp_path, capsys)
    finally:
        board.stop()
    # Not 2000-01-01: at least the time of the last checkpoint, at most the true time.
    assert before - datetime.timedelta(minutes=15) <= after <= before + datetime.timedelta(minutes=5), (before, after)
    (clock,) = clocks
    assert clock["fields"]["old"] < 946684800 + 3600 and clock["fields"]["new"] >= before.timestamp() - 900
    assert_reminders(messages, 10, 5, 0)
    assert 0 <= account["used_bytes"] - 20 * MB <= MB + BUDGET_PER_CUT
    # What one power cut may lose, twice over: the VM's own latency at 5x adds a few
    # KB to a cut (bench: 66.2 KB a cut). A clock that metering depended on would
    # be off by whole megabytes.
    assert abs(account["used_bytes"] - device["used"]) <= 2 * BUDGET_PER_CUT
