"""The subscriber's view: the 10 MB / 5 MB / 0 MB reminders arrive, in order, once,
and at zero the data session is cut so the carrier bills no overage."""

import json
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


def test_three_reminders_in_order_then_cut(tmp_path):
    scenario = {
        "subscriber": "+8613800138000",
        "plan": {"quota_mb": 12, "cycle_day": 1, "timezone": "+08:00", "at_zero": "cut"},
        # 1 MB a second, starting once the board is installed and metering.
        "traffic": [{"from": "+40s", "mbps": 8.388608}],
    }
    state = tmp_path / "board"
    board = EmulatorProcess(state, "--scenario", scenario_file(tmp_path, scenario), "--speed", "10")
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
    texts = [m["text"] for m in messages]
    assert len(texts) == 3, texts
    assert "剩余流量为10MB" in texts[0] and "剩余流量为5MB" in texts[1] and "剩余0MB" in texts[2]
    assert all(m["to"] == "+8613800138000" for m in messages)
    assert network["data_session"] == "down"
    overshoot = network["used_bytes"] - 12 * MB
    assert 0 <= overshoot <= 1 * MB, overshoot


def test_reminders_exactly_once_across_power_cuts(tmp_path):
    import os
    import signal

    scenario = {
        "subscriber": "+8613800138000",
        "plan": {"quota_mb": 30, "cycle_day": 1, "timezone": "+08:00", "at_zero": "cut"},
        "traffic": [{"from": "+0s", "mbps": 8.388608}],
    }
    state = tmp_path / "board"
    board = EmulatorProcess(
        state, "--scenario", scenario_file(tmp_path, scenario), "--speed", "5", "--power-on-delay", "0.1"
    )
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
    texts = [m["text"] for m in messages]
    assert cuts >= 5 and console.count("booted (power-loss)") >= 5, console
    assert cuts_between_reminders >= 1, cuts_between_reminders
    assert len(texts) == 3, texts
    assert "剩余流量为10MB" in texts[0] and "剩余流量为5MB" in texts[1] and "剩余0MB" in texts[2]
    assert network["data_session"] == "down"
