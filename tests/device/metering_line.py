"""The harness of the metering-loop tests (test_usage_service.py, test_clock_jumps.py),
on both VMs: the real modem driver against the scripted modem, state files on (RAM)
LittleFS, and a board clock the test moves.

`run(body)` calls `await body(service, line, clock, log)`: the UsageService under
test, the modem's side (`Line`: a byte counter, the data session, the SMS typed),
the `Clock`, and the records written as (type, fields).
"""

import flash_fixture

import asyncio
import os

from fake_modem_stream import OK, FakeModemStream, fast_sleep
from firmware.metering.usage_service import UsageService
from firmware.modem.driver import Modem
from firmware.sms.outbox import Outbox
from protocol import civil_time
from protocol import sms_pdu

SUBSCRIBER = "+8613800138000"


def ms(text):
    return civil_time.parse_utc_ms(text)


class Clock:
    """The board's two clocks: the wall clock (`ms`: the test sets it, or jumps it
    with `set_ms` as a date-time write does) and the monotonic clock (`mono`), which
    only sleeping moves. A sleep passes at once in real time (both clocks move on by
    it): the metering loop's minutes cost nothing."""

    def __init__(self, now_ms):
        self.ms = now_ms
        self.mono = 0

    def now_ms(self):
        return self.ms

    def monotonic_ms(self):
        return self.mono

    def set_ms(self, epoch_ms):
        self.ms = epoch_ms

    async def sleep_ms(self, ms):
        ms = max(0, ms)
        self.mono += ms
        self.ms += ms
        await asyncio.sleep(0)


class Line:
    """The modem's side: a byte counter the test moves (`received`, or a function of
    the clock with `counting`), the data session, the SMS typed."""

    def __init__(self):
        self.fake = FakeModemStream()
        self.received = 0
        self.counting = None  # callable() -> bytes received so far, instead of `received`
        self.readings = 0  # AT+QGDCNT? answered
        self.session = []  # every AT+CGACT=<n>,1 value, in order
        self.fake.answers["AT+QGDCNT?"] = self._counters
        # AT+CMGS=<TPDU length> in PDU mode: the prompt, then a message reference.
        self.fake.fallback = lambda line: "\r\n> " if line.startswith("AT+CMGS=") else "\r\nERROR\r\n"
        self.fake.payload_answer = "\r\n+CMGS: 1\r\n" + OK
        self.fake.answers["AT+CEREG?"] = "\r\n+CEREG: 0,1\r\n" + OK
        for on in (0, 1):
            self.fake.answers["AT+CGACT=%d,1" % on] = lambda line: self.session.append(int(line[9])) or OK

    def _counters(self, line):
        self.readings += 1
        if self.counting is not None:
            self.received = self.counting()
        return "\r\n+QGDCNT: 0,%d\r\n%s" % (self.received, OK)

    def sms_texts(self):
        return [sms_pdu.decode_submit(payload.decode())["text"] for payload in self.fake.payloads]


def service(modem, clock, log, state_dir, subscriber=SUBSCRIBER):
    record = lambda rtype, fields, at=None: log.append((rtype, fields))  # noqa: E731
    outbox = Outbox(modem, record, state_dir + "/outbox")
    return UsageService(modem, clock, record, state_dir, outbox, flash_fixture.journal(state_dir), subscriber)


def run(body, start="2026-12-01T08:00:00+08:00"):
    async def main():
        state_dir = flash_fixture.fresh_dir("state", 512, 32)  # room for a long queued SMS
        os.mkdir(state_dir)
        line = Line()
        clock = Clock(ms(start))
        modem = Modem(line.fake, line.fake.power, fast_sleep)  # its timeouts 100 times faster
        log = []
        under_test = service(modem, clock, log, state_dir)
        try:
            await modem.init()
            await body(under_test, line, clock, log)
        finally:
            modem.stop()
            await asyncio.sleep(0)

    asyncio.run(main())


async def use(service, line, clock, received, at=None):
    """One poll of the metering loop, then one send of the SMS loop's outbox."""
    line.received = received
    if at is not None:
        clock.ms = ms(at)
    await service.step(clock.now_ms())
    await service.outbox.pump(clock.monotonic_ms())


def types(log, rtype):
    return [fields for t, fields in log if t == rtype]
