"""What the subscriber sees of an emulated board: the SMS on their phone and the
carrier's account, read from the emulator's state folder (docs/scenario.md)."""

import json
import time

from conftest import scenario_file

from host_tools import cli
from host_tools.emulator.process import EmulatorProcess

MB = 1048576
SUBSCRIBER = "+8613800138000"
ONE_MB_A_SECOND = 8.388608  # Mbit/s


def all_sms(state):
    """Every SMS the SMS centre delivered (also the device's queries to 10086)."""
    try:
        with open(state / "sms.jsonl", encoding="utf-8") as f:
            return [json.loads(line) for line in f]
    except FileNotFoundError:
        return []


def sms(state):
    """The SMS the subscriber's phone shows."""
    return [m for m in all_sms(state) if m["to"] == SUBSCRIBER]


def network(state):
    with open(state / "network.json", encoding="utf-8") as f:
        return json.load(f)


def start_board(tmp_path, plan, traffic, *options, **fields):
    """An emulated board on `plan` (scenario fields) with `traffic` and more scenario
    fields (faults, start, messages, account, services, sim); returns (state, board)."""
    scenario = {"subscriber": SUBSCRIBER, "plan": plan, "traffic": traffic}
    scenario.update((key, value) for key, value in fields.items() if value)
    state = tmp_path / "board"
    return state, EmulatorProcess(state, "--scenario", scenario_file(tmp_path, scenario), *options)


def wait_for(condition, timeout, what, poll=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError("timed out waiting for " + what)


def wait_for_sms(state, count, timeout):
    return wait_for(lambda: len(sms(state)) >= count and sms(state), timeout, "%d SMS" % count)


def device_state(port, capsys, *command):
    """`edgemeter <command> --port PORT --json` (default: status) as a dict."""
    argv = list(command or ("status",)) + ["--port", port, "--json"]
    assert cli.main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def pulled_records(port, tmp_path, capsys, rtype):
    """`edgemeter pull` into a ledger, then `edgemeter log --json`: the records of this type."""
    ledger = str(tmp_path / "ledger.sqlite")
    assert cli.main(["pull", "--port", port, "--ledger", ledger]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert cli.main(["log", "--ledger", ledger, "--json"]) == 0
    return [r for r in json.loads(capsys.readouterr().out) if r["type"] == rtype]


def assert_reminders(messages, *mb_left):
    """The SMS texts are reminders for these MB left, in this order, all to the subscriber."""
    texts = [m["text"] for m in messages]
    assert len(texts) == len(mb_left), texts
    for text, mb in zip(texts, mb_left):
        assert ("剩余流量为%dMB" % mb if mb else "剩余0MB") in text, (mb, text)
    assert all(m["to"] == SUBSCRIBER for m in messages)
