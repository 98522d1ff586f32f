"""The subscriber's view: the 10 MB / 5 MB / 0 MB reminders arrive, in order, once,
and at zero the data session is cut so the carrier bills no overage."""

import os
import random
import signal
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


def _board(tmp_path, quota_mb, traffic_from, *options, faults=(), mbps=ONE_MB_A_SECOND):
    """A board on a cut-at-zero plan with (by default) 1 MB a second of traffic from `traffic_from`."""
    plan = {"quota_mb": quota_mb, "cycle_day": 1, "timezone": "+08:00", "at_zero": "cut"}
    return start_board(tmp_path, plan, [{"from": traffic_from, "mbps": mbps}], *options, faults=faults)


def test_three_reminders_in_order_then_cut(tmp_path):
    # Traffic starts once the board is installed and metering.
    state, board = _board(tmp_path, 12, "+40s", "--speed", "10")
    try:
        board.wait_ready()
        wait_for_sms(state, 3, 60)
        time.sleep(1.5)  # long enough for a duplicate or a late extra to show up
        messages = sms(state)
        account = network(state)
    finally:
        board.stop()
    assert_reminders(messages, 10, 5, 0)
    assert account["data_session"] == "down"
    overshoot = account["used_bytes"] - 12 * MB
    assert 0 <= overshoot <= 1 * MB, overshoot


CUTS = 20
MODEM_RESETS = 3
BUDGET_PER_CUT = 64 * 1024 + 1024  # unsaved usage the device may lose + the carrier's rounding up


def test_reminders_exactly_once_across_20_power_cuts_and_3_modem_resets(tmp_path, capsys):
    # 24 MB at 0.4 MB a second (simulated) while the session is up, time 5x faster:
    # the reminders come due in the middle of the cuts.
    faults = [{"at": "+%ds" % (15 + 12 * i), "modem_reset": True} for i in range(8)]
    state, board = _board(tmp_path, 24, "+0s", "--speed", "5", "--power-on-delay", "0.1", faults=faults,
                          mbps=ONE_MB_A_SECOND * 0.4)
    rng = random.Random(4)
    sent_at_cut = []
    try:
        board.wait_ready()
        for _ in range(CUTS):
            time.sleep(rng.uniform(0.5, 2.0))
            sent_at_cut.append(len(sms(state)))
            os.kill(board.pid(), signal.SIGKILL)  # the board and its modem lose power
        board.wait_ready()
        wait_for_sms(state, 3, 90)
        wait_for(lambda: network(state)["data_session"] == "down", 30, "the cut at zero")
        time.sleep(2.0)  # long enough for a duplicate or a late extra to show up
        messages = sms(state)
        account = network(state)
        device = device_state(board.port, capsys)
        console = board.console()
    finally:
        board.stop()
    with open(state / "modem.log", encoding="utf-8") as f:
        resets = f.read().count("fault: modem_reset")
    assert console.count("booted (power-loss)") == CUTS, console
    assert resets >= MODEM_RESETS, resets
    assert any(0 < sent < 3 for sent in sent_at_cut), sent_at_cut  # cuts fell between reminders
    assert_reminders(messages, 10, 5, 0)
    assert account["data_session"] == "down" and not device["data_on"]
    # The device never counts a byte twice, and loses at most its budget per cut or reset.
    lost = account["used_bytes"] - device["used"]
    assert 0 <= lost <= (CUTS + resets) * BUDGET_PER_CUT, (lost, account["used_bytes"], device["used"])
