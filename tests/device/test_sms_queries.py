"""Asking the device by SMS (firmware/sms_queries.py) on both VMs: the subscriber's
query words get the figures back; anybody else gets nothing."""

# The outbox and metering loop bring the modem driver and codecs into the heap.
HEAP = "160k"

import flash_fixture  # first: its flash buffer is allocated while the heap is empty

import os

from firmware import civil_time
from firmware.balance import Balance
from firmware.plan import MB
from firmware.sms_outbox import Outbox
from firmware.sms_queries import Queries
from firmware.usage_service import UsageService

SUBSCRIBER = "+8613800138000"
NOW = civil_time.parse_utc_ms("2026-12-10T12:00:00+08:00")


class Clock:
    def now_ms(self):
        return NOW


def _setup():
    folder = flash_fixture.fresh_dir("state", 512, 32)
    os.mkdir(folder)
    record = lambda rtype, fields: None  # noqa: E731
    outbox = Outbox(None, record, folder + "/outbox")
    usage = UsageService(None, Clock(), record, folder, None, SUBSCRIBER, outbox)
    balance = Balance(outbox, folder + "/balance", lambda: (usage.recipients(), 480))
    return Queries(outbox, usage, balance), usage, balance, outbox


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


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
