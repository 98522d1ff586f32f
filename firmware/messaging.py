"""The SMS loop: status reports and incoming messages in, balance checks, the
subscription ledger, answers to the subscriber's queries, the outbox out.

One task beside the metering loop (the modem driver runs one command at a
time for both). Every TICK_MS (sooner when a reminder is queued) it sorts the modem's URCs (+CDS to the outbox,
+CMTI to the inbox), reads what came in and sends what is due. It sweeps the
SIM's storage once the modem is up and every SWEEP_MS, in case an announcement
was lost (a modem reboot between storing and telling).
"""

from firmware.modem import ModemError

TICK_MS = 1000
QUICK_MS = 50  # how soon a newly queued reminder goes out
SWEEP_MS = 3600 * 1000


class Messaging:
    def __init__(self, modem, clock, outbox, inbox, balance, queries, subscriptions):
        self.modem = modem
        self.clock = clock
        self.outbox = outbox
        self.inbox = inbox
        self.balance = balance
        self.queries = queries
        self.subscriptions = subscriptions
        self._swept_ms = None
        self.faults = 0  # steps that failed on a bug, not the modem
        inbox.on_message = self._message

    def _message(self, sender, text, kind, fields, sent_s):
        """A whole incoming message, recorded already: the account, the subscription
        ledger and the subscriber's queries may act on it."""
        self.balance.on_message(sender, text, kind, fields)
        self.subscriptions.on_message(kind, fields, sent_s)
        self.queries.on_message(sender, text, kind, fields, self.clock.now_ms())

    async def step(self, now_ms):
        urcs = self.modem.take_urcs()
        self.outbox.take_reports(urcs, now_ms)
        self.inbox.take_urcs(urcs)
        if self._swept_ms is None or now_ms - self._swept_ms >= SWEEP_MS:
            await self.inbox.sweep(now_ms)
            self._swept_ms = now_ms
        await self.inbox.pump(now_ms)
        self.balance.step(now_ms)
        await self.outbox.pump(now_ms)

    async def run(self, ready):
        await ready.wait()  # the metering loop has brought the modem up
        while True:
            try:
                await self.step(self.clock.now_ms())
            except ModemError:
                pass  # the modem is rebooting or busy: the next tick tries again
            except Exception as error:  # a bug must not end SMS handling for good
                self.faults += 1
                print("sms: step failed:", repr(error))
            await self._wait()

    async def _wait(self):
        """TICK_MS, or less as soon as the outbox has a message due (a reminder just queued)."""
        waited = 0
        while waited < TICK_MS:
            await self.clock.sleep_ms(QUICK_MS)
            waited += QUICK_MS
            due = self.outbox.next_due()
            if due is not None and due <= self.clock.now_ms():
                return
