"""The SMS loop: status reports and incoming messages in, balance checks, the
monthly services, answers to the subscriber's queries, the outbox out.

One task beside the metering loop (the modem driver runs one command at a
time for both). Every TICK_MS (sooner when a reminder is queued) it sorts the modem's URCs (+CDS to the outbox,
+CMTI to the inbox), reads what came in and sends what is due. It sweeps the
SIM's storage once the modem is up and every SWEEP_MS, in case an announcement
was lost (a modem reboot between storing and telling). The outbox's retries and
the sweeps are timed on the monotonic clock; the account's reminders, which are
about calendar days, on the wall clock.

A step that fails on a bug (not the modem) is tried again after a wait that
doubles up to MAX_BACKOFF_MS, and said on the console at most once a minute.
"""

from firmware.console import RateLimited
from firmware.modem.driver import ModemError

TICK_MS = 1000
QUICK_MS = 50  # how soon a newly queued reminder goes out
SWEEP_MS = 3600 * 1000
MAX_BACKOFF_MS = 60000


class Messaging:
    def __init__(self, modem, clock, outbox, inbox, balance, queries, services):
        self.modem = modem
        self.clock = clock
        self.outbox = outbox
        self.inbox = inbox
        self.balance = balance
        self.queries = queries
        self.services = services
        self._swept_ms = None
        self.faults = 0  # steps that failed on a bug, not the modem
        self.progress = None  # firmware/supervisor.py Progress, if supervised
        self._faults_in_row = 0
        self._console = RateLimited()
        inbox.on_message = self._message

    def _message(self, sender, text, kind, fields, sent_s):
        """A whole incoming message, recorded already: the account, the monthly
        services and the subscriber's queries may act on it."""
        self.balance.on_message(sender, text, kind, fields)
        self.services.on_message(kind, fields, sent_s)
        self.queries.on_message(sender, text, kind, fields, self.clock.now_ms())

    async def step(self):
        now_ms, mono_ms = self.clock.now_ms(), self.clock.monotonic_ms()
        urcs = self.modem.take_urcs()
        self.outbox.take_reports(urcs, mono_ms)
        self.inbox.take_urcs(urcs)
        if self._swept_ms is None or mono_ms - self._swept_ms >= SWEEP_MS:
            await self.inbox.sweep(now_ms)
            self._swept_ms = mono_ms
        await self.inbox.pump(now_ms)
        self.balance.step(now_ms)
        await self.outbox.pump(mono_ms)

    async def run(self, ready):
        progress = self.progress
        if progress is not None:
            progress.waiting()
        await ready.wait()  # the metering loop has brought the modem up
        while True:
            if progress is not None:
                progress.beat()
            try:
                await self.step()
                self._faults_in_row = 0
            except ModemError:
                pass  # the modem is rebooting or busy: the next tick tries again
            except Exception as error:  # a bug must not end SMS handling for good
                self.faults += 1
                self._faults_in_row += 1
                self._console.say(self.clock.monotonic_ms(), "sms: step failed: %r" % (error,))
            await self._wait()

    async def _wait(self):
        """TICK_MS, or less as soon as the outbox has a message due (a reminder just
        queued); after failed steps, a wait that doubles with each one."""
        if self._faults_in_row:
            await self.clock.sleep_ms(min(MAX_BACKOFF_MS, TICK_MS << min(self._faults_in_row, 6)))
            return
        waited = 0
        while waited < TICK_MS:
            await self.clock.sleep_ms(QUICK_MS)
            waited += QUICK_MS
            due = self.outbox.next_due()
            if due is not None and due <= self.clock.monotonic_ms():
                return
