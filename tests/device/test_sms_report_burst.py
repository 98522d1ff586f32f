"""Status reports in a burst (a phone back after hours off), on both VMs: the real modem
driver's line reader (firmware/modem/driver.py) and the outbox (firmware/sms/outbox.py).

The 20 reports for 20 sent messages, with other URCs among them, arrive in two reads
split at every byte boundary of the burst, and the SMS loop takes the URCs between
the two reads (Messaging.step: take_urcs, then take_reports). Every message must end
delivered exactly once, whatever the split. The bytes go straight to the driver's
`_feed`, at most _CHUNK at a time as its reading task hands them on (which also keeps
the unix port's heap from needing a 1.7 KB run per slice), so that the whole sweep
takes a few seconds.
"""

# The modem driver, SMS codec and CBOR bytecode live in the unix port's heap.
HEAP = "128k"

import asyncio

from fake_modem_stream import FakeModemStream, fast_sleep
from firmware.modem.driver import _CHUNK, Modem
from firmware.sms.outbox import Outbox
from protocol import records, sms_pdu

TO = "+8613800138000"
N = 20
OTHERS = ["+CEREG: 1", '+CMTI: "SM",3']  # URCs that come among the reports


class _Outbox(Outbox):
    """The outbox without its file (tested in test_sms_outbox.py): the sweep below
    replays the burst some 1,700 times, and a file write per report would take minutes."""

    def _save(self):
        pass


def _burst(mrs):
    reports = []
    for i, mr in enumerate(mrs):
        pdu = sms_pdu.status_report_pdu(mr, TO, 0x00, 1796000000 + i, 1796003600 + i)
        reports.append("\r\n+CDS: %d\r\n%s\r\n" % (sms_pdu.tpdu_length(pdu), pdu))
    reports.insert(0, "\r\n%s\r\n" % OTHERS[0])
    reports.insert(N // 2, "\r\n%s\r\n" % OTHERS[1])
    return "".join(reports).encode()


def _read(modem, data, start, end):
    """The modem sends data[start:end]: the driver reads it in pieces of up to _CHUNK."""
    while start < end:
        modem._feed(data[start : min(end, start + _CHUNK)])
        start += _CHUNK


def test_a_burst_of_reports_split_at_every_byte_delivers_each_message_once():
    async def main():
        fake = FakeModemStream()
        fake.fallback = lambda line: "\r\n> " if line.startswith("AT+CMGS=") else "\r\nERROR\r\n"
        mrs = iter(range(100, 100 + N))
        fake.payload_answer = lambda payload: "\r\n+CMGS: %d\r\n\r\nOK\r\n" % next(mrs)
        modem = Modem(fake, fake.power, fast_sleep)
        log = []
        outbox = _Outbox(modem, lambda rtype, fields: log.append((rtype, fields)), "/no-such-folder/outbox")
        burst = _burst(range(100, 100 + N))  # while the heap still has a 1.7 KB run
        try:
            await modem.init()
            for i in range(N):
                outbox.add(i, i, TO, "Data left: %dMB" % i)
                await outbox.pump(0)
                fake.wire, fake.payloads, fake.commands = bytearray(), [], []  # the fake's logs: heap only
            sent = outbox.messages
            assert len(sent) == N and [m["mrs"] for m in sent] == [[100 + i] for i in range(N)]
            for cut in range(len(burst) + 1):
                outbox.messages = [dict(m, done=[]) for m in sent]
                outbox.recent = []
                del log[:]
                _read(modem, burst, 0, cut)
                first = modem.take_urcs()  # the SMS loop's tick between the two reads
                outbox.take_reports(first, 1)
                _read(modem, burst, cut, len(burst))
                second = modem.take_urcs()
                outbox.take_reports(second, 2)
                kinds = sorted(f[8] for t, f in log if t == records.REMINDER_DELIVERED)
                assert kinds == list(range(N)) and len(log) == N and outbox.waiting() == 0, cut
                assert [u for u in first + second if not u.startswith("+CDS:")] == OTHERS, cut
            assert modem.urcs_dropped == 0 and modem.lines_dropped == 0
        finally:
            modem.stop()
            await asyncio.sleep(0)

    asyncio.run(main())


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
