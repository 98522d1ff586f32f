"""Asking the device by SMS (firmware/sms/queries.py) on both VMs: the subscriber's
query words get the figures back; anybody else gets nothing."""

# The outbox and metering loop bring the modem driver and codecs into the heap.
HEAP = "192k"

import flash_fixture  # first: its flash buffer is allocated while the heap is empty

import os

from mpunit import refuses
from firmware.account.balance import Balance
from firmware.metering.usage_service import UsageService
from firmware.sms.outbox import Outbox
from firmware.sms.queries import Queries
from protocol import civil_time
from protocol import records
from protocol.units import MB

SUBSCRIBER = "+8613800138000"
NOW = civil_time.parse_utc_ms("2026-12-10T12:00:00+08:00")


class Clock:
    def now_ms(self):
        return NOW


def _setup(folder=None, log=None):
    if folder is None:
        folder = flash_fixture.fresh_dir("state", 512, 32)
        os.mkdir(folder)
    record = lambda rtype, fields: log.append((rtype, fields)) if log is not None else None  # noqa: E731
    outbox = Outbox(None, record, folder + "/outbox")
    usage = UsageService(None, Clock(), record, folder, outbox, flash_fixture.journal(folder), SUBSCRIBER)
    balance = Balance(outbox, folder + "/balance", lambda: (usage.recipients(), 480))
    return Queries(outbox, usage, balance, folder + "/queries"), usage, balance, outbox


def _replies(outbox):
    return [m["text"] for m in outbox.messages if m["to"] == SUBSCRIBER]


def test_data_left_and_the_cycle_end_for_the_subscriber_only():
    queries, usage, balance, outbox = _setup()
    usage.write({"quota": 100 * MB, "cycle_day": 1})
    usage.meter.observe(0, 30 * MB + MB // 2)
    assert not queries.on_message("+8613900000000", "CXLL", "raw", {}, NOW)
    assert queries.on_message(SUBSCRIBER, " cxll ", "raw", {}, NOW)
    assert _replies(outbox) == ["您本月套餐剩余流量69.50MB，已用30.50MB，本周期至12月31日。【edgemeter】"]
    assert not queries.on_message(SUBSCRIBER, "hello", "raw", {}, NOW)


def test_balance_as_last_heard():
    queries, usage, balance, outbox = _setup()
    queries.on_message(SUBSCRIBER, "CXYE", "raw", {}, NOW)
    balance.on_message("10086", "", "balance", {"fen": 1250, "expires": "2026-12-20"})
    queries.on_message(SUBSCRIBER, "CXYE", "raw", {}, NOW + 1)
    assert _replies(outbox) == ["尚未查到账户余额，请稍后再试。【edgemeter】", "您的账户余额为12.50元，有效期至2026-12-20。【edgemeter】"]


def test_query_words_are_configurable_and_survive_a_restart():
    log = []
    queries, usage, balance, outbox = _setup(log=log)
    queries.set_words({"ll": "data", "余额": "balance"})
    assert log[-1] == (records.CONFIG_CHANGED, {8: "sms_words", 9: {"CXLL": "data", "CXYE": "balance"}, 10: {"LL": "data", "余额": "balance"}})
    queries.set_words({"LL": "data", "余额": "balance"})  # as they are: no record
    assert len(log) == 1
    folder = queries.path.rsplit("/", 1)[0]
    queries, usage, balance, outbox = _setup(folder)
    usage.write({"quota": 100 * MB, "cycle_day": 1})
    assert not queries.on_message(SUBSCRIBER, "CXLL", "raw", {}, NOW)
    assert queries.on_message(SUBSCRIBER, "Ll", "raw", {}, NOW)
    assert queries.on_message(SUBSCRIBER, "余额", "raw", {}, NOW)
    replies = _replies(outbox)
    assert len(replies) == 2 and replies[0].startswith("您本月套餐剩余流量100.00MB") and replies[1].startswith("尚未查到账户余额")


def test_bad_query_words_are_refused_and_change_nothing():
    queries, usage, balance, outbox = _setup()
    refuses(queries.set_words, ({}, {"CX LL": "data"}, {"CXLL": "weather"}, {"": "data"}, {"X" * 17: "data"}, {1: "data"},
                                ["CXLL"], dict(("W%d" % i, "data") for i in range(9))))
    assert queries.words == {"CXLL": "data", "CXYE": "balance"}


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
