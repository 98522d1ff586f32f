"""The subscriber's view: the 10 MB / 5 MB / 0 MB reminders arrive, in order, once,
and at zero the data session is cut so the carrier bills no overage."""

import json
import os
import signal
import time

from conftest import scenario_file

from host_tools.emulator.process import EmulatorProcess

MB = 1048576


def _sms(state):
    try:
        with open(state / "sms.jsonl", encoding="utf-8") as f:
            return [json.loads(line) for line in f]
    except FileNotFoundError:
        return []


def _network(state):
    with open(state / "network.json", encoding="utf-8") as f:
        return json.load(f)


def _board(tmp_path, quota_mb, traffic_from, *options):
    """A board on a cut-at-zero plan with 1 MB a second of traffic from `traffic_from`."""
    scenario = {
        "subscriber": "+8613800138000",
        "plan": {"quota_mb": quota_mb, "cycle_day": 1, "timezone": "+08:00", "at_zero": "cut"},
        "traffic": [{"from": traffic_from, "mbps": 8.388608}],
    }
    state = tmp_path / "board"
    return state, EmulatorProcess(state, "--scenario", scenario_file(tmp_path, scenario), *options)


def _assert_three_in_order(messages):
    texts = [m["text"] for m in messages]
    assert len(texts) == 3, texts
    assert "剩余流量为10MB" in texts[0] and "剩余流量为5MB" in texts[1] and "剩余0MB" in texts[2]
    assert all(m["to"] == "+8613800138000" for m in messages)


def test_three_reminders_in_order_then_cut(tmp_path):
    # Traffic starts once the board is installed and metering.
    state, board = _board(tmp_path, 12, "+40s", "--speed", "10")
    try:
        board.wait_ready()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_sms(state)) < 3:
            time.sleep(0.2)
        time.sleep(1.5)  # long enough for a duplicate or a late extra to show up
        messages = _sms(state)
        network = _network(state)
    finally:
        board.stop()
    _assert_three_in_order(messages)
    assert network["data_session"] == "down"
    overshoot = network["used_bytes"] - 12 * MB
    assert 0 <= overshoot <= 1 * MB, overshoot


def test_reminders_exactly_once_across_power_cuts(tmp_path):
    state, board = _board(tmp_path, 30, "+0s", "--speed", "5", "--power-on-delay", "0.1")
    cuts = 0
    cuts_between_reminders = 0
    try:
        board.wait_ready()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(_sms(state)) < 3:
            time.sleep(0.8)
            sent = len(_sms(state))
            if cuts < 10 and (cuts < 3 or sent >= 1):  # some before the reminders, the rest between them
                os.kill(board.pid(), signal.SIGKILL)  # the board and its modem lose power
                cuts += 1
                cuts_between_reminders += sent in (1, 2)
        time.sleep(2.0)
        messages = _sms(state)
        network = _network(state)
        console = board.console()
    finally:
        board.stop()
    assert cuts >= 5 and console.count("booted (power-loss)") >= 5, console
    assert cuts_between_reminders >= 1, cuts_between_reminders
    _assert_three_in_order(messages)
    assert network["data_session"] == "down"
