"""Settings written over SMP (firmware/smp/groups/: plan, account, config) on both VMs: a refused
write answers rc 3 EINVAL with "<field>: <rule>" in "rsn" in SMP v1 and v2 and
changes nothing (state, flash files, records); a write of what is already so
writes no record."""

# The metering loop and the outbox bring the modem driver and codecs into the heap.
HEAP = "224k"

import flash_fixture  # first: its flash buffer is allocated while the heap is empty

import os

from firmware.account.balance import Balance
from firmware.metering.usage_service import UsageService
from firmware.smp.groups.account import AccountCommands
from firmware.smp.groups.config import ConfigCommands
from firmware.smp.groups.plan import PlanCommands
from firmware.smp.server import SMPServer
from firmware.sms.outbox import Outbox
from firmware.sms.queries import Queries
from protocol import civil_time
from protocol import cbor, metering, records, settings, smp
from protocol.units import MB

SUBSCRIBER = "+8613800138000"


class Clock:
    def now_ms(self):
        return civil_time.parse_utc_ms("2026-12-10T12:00:00+08:00")


def _board():
    """The plan, balance and query-word services behind an SMP server; no modem."""
    folder = flash_fixture.fresh_dir("state")
    os.mkdir(folder)
    log = []
    record = lambda rtype, fields: log.append((rtype, fields))  # noqa: E731
    outbox = Outbox(None, record, folder + "/outbox")
    usage = UsageService(None, Clock(), record, folder, outbox, flash_fixture.journal(folder))
    balance = Balance(outbox, folder + "/balance", lambda: ([], 480))
    queries = Queries(outbox, usage, balance, folder + "/queries")
    server = SMPServer(buf_size=1024)
    PlanCommands(server, usage)
    AccountCommands(server, balance=balance)
    ConfigCommands(server, queries)
    return server, usage, log, folder


def _ask(server, command, body, version):
    request = cbor.dumps(body)
    message = smp.pack_header(smp.OP_WRITE, version, 0, len(request), metering.GROUP, 1, command) + request
    return cbor.loads(server.handle(message)[smp.HEADER_SIZE :])


def _flash(folder):
    files = {}
    for name in sorted(os.listdir(folder)):
        with open(folder + "/" + name, "rb") as f:
            files[name] = f.read()
    return files


def _refused(server, folder, state, log, command, body, reason):
    """`body` is refused with `reason` in both versions; state, flash and records as they were."""
    before = (state(), _flash(folder), len(log))
    for version in (smp.VERSION_1, smp.VERSION_2):
        answer = _ask(server, command, body, version)
        assert answer == {"rc": smp.ERR_EINVAL, "rsn": reason}, (body, answer)
        assert (state(), _flash(folder), len(log)) == before, body


def _configured():
    server, usage, log, folder = _board()
    usage.write({"quota": 100 * MB, "cycle_day": 5, "tz": 480, "at_zero": "warn", "subscriber": SUBSCRIBER,
                 "cc": ["+8613900000001"], "thresholds": [10 * MB, 5 * MB, 0], "texts": {5 * MB: "还剩{mb}MB"}})
    return server, usage, log, folder


def test_a_refused_plan_write_names_field_and_rule_and_changes_nothing():
    server, usage, log, folder = _configured()
    tz = "tz: must be between -720 and 840"
    for body, reason in (
        ({"quota": 10 * MB, "tz": 99999}, tz),
        # Good fields alongside a bad one are not taken either.
        ({"cc": ["+8613900000002"], "subscriber": "+8613900000003", "thresholds": [20 * MB, 0], "texts": {},
          "quota": 50 * MB, "addon": MB, "tz": 99999}, tz),
        ({"subscriber": "abc"}, "subscriber: " + settings.rule("subscriber")),
        ({"quota": -100 * MB}, "quota: must be between 0 and 1000000 MB"),
        ({"addon": -500 * MB}, "addon: must be above 0 and at most 1000000 MB"),
        ({"pack": 300 * MB, "months": 0}, "months: must be between 1 and 120"),
        ({"cc": ["+8613900000002", "12345"]}, "cc: " + settings.rule("cc")),
        ({"thresholds": [0, 5 * MB]}, "thresholds: " + settings.rule("thresholds")),
        ({"thresholds": [10 * MB, 0]}, "texts: " + settings.rule("texts")),  # the 5 MB text would be left over
        ({"texts": {0: "{gb} left"}}, "texts: " + settings.rule("texts")),
        ({"at_zero": "stop", "quota": MB}, "at_zero: must be cut or warn"),
        ({"colour": "red"}, "colour: unknown setting"),
    ):
        _refused(server, folder, usage.read, log, metering.CMD_PLAN, body, reason)


def test_an_add_on_without_a_plan_is_refused_and_changes_nothing():
    server, usage, log, folder = _board()
    _refused(server, folder, usage.read, log, metering.CMD_PLAN, {"addon": MB, "subscriber": SUBSCRIBER},
             "addon: needs a quota first")


def test_a_refused_balance_or_config_write_changes_nothing():
    server, usage, log, folder = _configured()
    state = lambda: (usage.read(), _ask(server, metering.CMD_BALANCE, {"low_fen": 1000}, 0))  # noqa: E731
    low = "low_fen: must be between 0 and 1000 yuan"
    for body, reason in (({"low_fen": -1}, low), ({"low_fen": 100001}, low), ({}, low),
                         ({"low_fen": 500, "high_fen": 1}, "high_fen: unknown setting")):
        _refused(server, folder, state, log, metering.CMD_BALANCE, body, reason)
    words = "sms_words: " + settings.rule("sms_words")
    for body, reason in (({"sms_words": {"CXLL": "weather"}}, words), ({"sms_words": {"CX LL": "data"}}, words),
                         ({"sms_words": {"LL": "data"}, "colour": 1}, "colour: unknown setting")):
        _refused(server, folder, usage.read, log, metering.CMD_CONFIG, body, reason)
    assert _ask(server, metering.CMD_CONFIG, {}, 0) == {"sms_words": {"CXLL": "data", "CXYE": "balance"}}


def test_a_plan_write_that_changes_nothing_writes_no_record():
    server, usage, log, folder = _configured()
    assert [fields[8] for _t, fields in log] == ["cc", "subscriber", "reminders", "plan"]
    state, files = usage.read(), _flash(folder)
    for body in (
        {"subscriber": SUBSCRIBER},
        {"cc": ["+8613900000001"]},
        {"thresholds": [10 * MB, 5 * MB, 0]},
        {"texts": {5 * MB: "还剩{mb}MB"}},
        {"quota": 100 * MB, "cycle_day": 5, "tz": 480, "at_zero": "warn"},
        {"quota": 100 * MB, "cycle_day": 5, "at_zero": "warn", "subscriber": SUBSCRIBER, "thresholds": [10 * MB, 5 * MB, 0]},
        {},
    ):
        assert usage.write(body) == state, body
    assert len(log) == 4 and _flash(folder) == files
    assert _ask(server, metering.CMD_PLAN, {"subscriber": SUBSCRIBER}, smp.VERSION_2)["subscriber"] == SUBSCRIBER
    # A change among the unchanged: one record, for what changed.
    usage.write({"quota": 100 * MB, "cycle_day": 5, "at_zero": "warn", "subscriber": SUBSCRIBER, "cc": []})
    assert len(log) == 5 and log[-1] == (records.CONFIG_CHANGED, {8: "cc", 9: ["+8613900000001"], 10: []})


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
