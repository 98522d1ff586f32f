"""The SMS outbox (firmware/sms_outbox.py) on both VMs: the real modem driver and the
scripted modem, the queue on (RAM) LittleFS. What the subscriber's side sees: the
PDUs typed to the modem, and the records that say sent, failed, delivered."""

# The modem driver, SMS codec and CBOR bytecode live in the unix port's heap.
HEAP = "128k"

import flash_fixture  # first: its flash buffer is allocated while the heap is empty

import asyncio
import os

from fake_modem_stream import OK, FakeModemStream, fast_sleep
from firmware.modem import Modem
from firmware.sms_outbox import BACKOFF_MS, Outbox
from protocol import records, sms_pdu

TO = "+8613800138000"
LONG = "尊敬的客户，" * 20  # 120 UCS2 units: 2 parts


def run(body):
    async def main():
        folder = flash_fixture.fresh_dir("state")
        os.mkdir(folder)
        fake = FakeModemStream()
        fake.fallback = lambda line: "\r\n> " if line.startswith("AT+CMGS=") else "\r\nERROR\r\n"
        modem = Modem(fake, fake.power, fast_sleep)
        log = []
        outbox = Outbox(modem, lambda rtype, fields: log.append((rtype, fields)), folder + "/outbox")
        try:
            await modem.init()
            await body(outbox, fake, log, folder)
        finally:
            modem.stop()
            await asyncio.sleep(0)

    asyncio.run(main())


def _types(log, rtype):
    return [fields for t, fields in log if t == rtype]


def _report(mr, status):
    return sms_pdu.decode_status_report(sms_pdu.status_report_pdu(mr, TO, status, 1796000000, 1796000001))


def test_a_refused_send_is_retried_after_the_backoff_then_sent():
    async def body(outbox, fake, log, folder):
        fake.payload_answer = "\r\n+CMS ERROR: 331\r\n"  # no network service
        assert outbox.add([1, 10], 10, TO, "Data left: 10MB", 0)
        await outbox.pump(0)
        (failed,) = _types(log, records.REMINDER_FAILED)
        assert failed[14] == 1 and "331" in failed[13] and 15 not in failed
        await outbox.pump(BACKOFF_MS[0] - 1)
        assert len(fake.payloads) == 1  # not due yet
        fake.payload_answer = "\r\n+CMGS: 4\r\n" + OK
        await outbox.pump(BACKOFF_MS[0])
        (sent,) = _types(log, records.REMINDER_SENT)
        assert sent[10] == [4] and sent[9] == TO
        assert sms_pdu.decode_submit(fake.payloads[-1].decode())["text"] == "Data left: 10MB"

    run(body)


def test_delivered_only_on_a_report_that_says_so_for_every_part():
    async def body(outbox, fake, log, folder):
        answers = iter(["\r\n+CMGS: 21\r\n" + OK, "\r\n+CMGS: 22\r\n" + OK])
        fake.payload_answer = lambda payload: next(answers)
        outbox.add("k", 5, TO, LONG, 0)
        await outbox.pump(0)
        (sent,) = _types(log, records.REMINDER_SENT)
        assert sent[10] == [21, 22]
        assert "".join(sms_pdu.decode_submit(p.decode())["text"] for p in fake.payloads) == LONG
        outbox.report(_report(21, 0x21), 1)  # the phone is off: wait
        outbox.report(_report(21, 0x00), 2)
        assert _types(log, records.REMINDER_DELIVERED) == [] and outbox.waiting() == 1
        outbox.report(_report(22, 0x00), 3)
        (delivered,) = _types(log, records.REMINDER_DELIVERED)
        assert delivered[10] == [21, 22] and outbox.waiting() == 0

    run(body)


def test_a_final_failure_report_sends_again_and_a_repeat_add_is_ignored():
    async def body(outbox, fake, log, folder):
        fake.payload_answer = "\r\n+CMGS: 7\r\n" + OK
        outbox.add([1, 0], 0, TO, "0MB", 0)
        await outbox.pump(0)
        outbox.report(_report(7, 0x46), 10)  # validity period expired
        (failed,) = _types(log, records.REMINDER_FAILED)
        assert failed[10] == 7 and "0x46" in failed[13]
        await outbox.pump(10 + BACKOFF_MS[0])
        assert len(_types(log, records.REMINDER_SENT)) == 2
        outbox.report(_report(7, 0x00), 20)
        assert len(_types(log, records.REMINDER_DELIVERED)) == 1
        assert not outbox.add([1, 0], 0, TO, "0MB", 30)  # finished recently: not again
        again = Outbox(outbox.modem, outbox.record, folder + "/outbox")  # after a power cut
        assert not again.add([1, 0], 0, TO, "0MB", 30) and again.waiting() == 0

    run(body)


def test_given_up_after_the_last_backoff_with_a_final_record():
    async def body(outbox, fake, log, folder):
        fake.payload_answer = "\r\n+CMS ERROR: 500\r\n"
        outbox.add("x", 10, TO, "10MB", 0)
        now = 0
        for delay in (0,) + BACKOFF_MS:
            now += delay
            await outbox.pump(now)
        failed = _types(log, records.REMINDER_FAILED)
        assert [f[14] for f in failed] == list(range(1, len(BACKOFF_MS) + 1))
        assert failed[-1].get(15) is True and outbox.waiting() == 0 and outbox.next_due() is None

    run(body)


def test_status_reports_arrive_as_urcs_and_a_damaged_one_changes_nothing():
    async def body(outbox, fake, log, folder):
        fake.payload_answer = "\r\n+CMGS: 3\r\n" + OK
        outbox.add("u", 10, TO, "10MB", 0)
        await outbox.pump(0)
        good = sms_pdu.status_report_pdu(3, TO, 0, 1796000000, 1796000001)
        outbox.take_reports(["+CDS: 25\n00" + good[2:-2], "+CDS: %d\n%s" % (sms_pdu.tpdu_length(good), good)], 5)
        assert len(_types(log, records.REMINDER_DELIVERED)) == 1

    run(body)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
