"""The metering loop: modem counters → meter → plan → reminders and records.

Every poll reads the modem's byte counters, turns them into exact increments
(meter.py), and works out this cycle's data left from the plan (plan.py). On
the way it writes what happened to the record log: usage summaries at each
checkpoint, cycle rollovers, thresholds crossed, reminders sent, data cut at
zero, modem reboots. State that must survive a power cut (meter checkpoint,
reminder states, the cycle's starting total) lives in small files replaced
atomically (store_io.put).

The poll interval shrinks with the data left to the next threshold (see
`poll_interval_ms`), so little passes a threshold before it is noticed, while a
line far from any threshold is polled rarely.
"""

import gc

from firmware import store_io
from firmware.meter import Meter
from firmware.modem import ModemError
from firmware.plan import MB, Plan
from firmware.reminders import Reminders, default_text
from protocol import records, settings

MIN_POLL_MS = 50
MAX_POLL_MS = 60000
RESTORE_POLL_MS = 1000  # while the modem has yet to register after a (re)boot
PEAK_BYTES_PER_S = 6250000  # 50 Mbit/s: the fastest the line may go without warning


def poll_interval_ms(distance, rate_bps):
    """How long (board-clock ms) until the next counter reading.

    `distance` is the bytes left to the next decision (a threshold, or zero).
    Traffic can jump from idle to the line's peak at any moment, so the wait is
    the time the peak rate (or the current one, if faster) needs to cover the
    distance: far from a threshold an idle line is polled rarely, near one often,
    and at 50 Mbit/s no more than MIN_POLL_MS of traffic (~0.6 MB) passes zero.
    """
    if distance <= 0:
        return MIN_POLL_MS
    ms = int(distance * 1000 // max(rate_bps, PEAK_BYTES_PER_S))
    return max(MIN_POLL_MS, min(MAX_POLL_MS, ms))


class UsageService:
    def __init__(self, modem, clock, record, state_dir, plan, subscriber, outbox):
        self.modem = modem
        self.outbox = outbox
        self.clock = clock
        self.record = record
        self.plan = plan
        self.subscriber = subscriber
        self.meter = Meter()
        self.reminders = Reminders()
        self.state_dir = state_dir
        self._paths = {name: state_dir + "/" + name for name in ("meter", "reminders", "cycle", "plan", "subscriber", "texts", "cc")}
        self.cc = []  # more numbers that get every reminder (family, the technician)
        self.texts = {}  # threshold -> the subscriber's own reminder text ("{mb}": MB left)
        self.cycle_start = None
        self.cycle_base = 0  # meter total at the start of this cycle
        self.data_on = True
        self.snoozed = None  # the cycle (start ms) in which data may run past zero
        self.rate_bps = 0
        self._modem_life = 0  # the modem's answer_life of the last reading
        self._session_ok = False  # the modem's data session is as data_on says
        self._session_fresh = False  # it has just been (re)made: poll soon
        self._last_usage = (0, 0)
        self._poked = False
        self.faults = 0  # polls that failed on something other than the modem

    def resume(self, modem_kept_power):
        self.subscriber = store_io.get(self._paths["subscriber"]) or self.subscriber
        self.cc = store_io.get(self._paths["cc"]) or []
        saved_plan = store_io.get(self._paths["plan"])
        if saved_plan:
            self.plan = Plan.from_dict(saved_plan)
        config = store_io.get(self._paths["texts"])
        if config:
            self.reminders = Reminders(config["thresholds"])
            self.texts = config["texts"]
        self.meter.resume(store_io.get(self._paths["meter"]), modem_kept_power)
        self._last_usage = (self.meter.up, self.meter.down)
        saved = store_io.get(self._paths["reminders"])
        if saved:
            self.reminders.load(saved)
        cycle = store_io.get(self._paths["cycle"])
        if cycle:
            self.cycle_start, self.cycle_base, self.data_on = cycle["start"], cycle["base"], cycle["data_on"]
            self.snoozed = cycle.get("snoozed")

    # --- the plan over SMP (metering group, command 3) ------------------------

    def read(self):
        """The plan and this cycle's figures, for `edgemeter plan get` / status."""
        if self.plan is None:
            return {"subscriber": self.subscriber, "cc": self.cc, "plan": None, "total": self.meter.total}
        now_ms = self.clock.now_ms()
        start, end = self.plan.bounds(now_ms)
        remaining = self.remaining(now_ms)
        return {
            "subscriber": self.subscriber,
            "cc": self.cc,
            "plan": self.plan.as_dict(),
            "cycle_start": start // 1000,
            "cycle_end": end // 1000,
            "quota": self.plan.quota(now_ms),
            "used": self.used(),
            "remaining": max(remaining, 0),
            "overage": max(-remaining, 0),
            "thresholds": [[t, self.reminders.states[t]] for t in self.reminders.thresholds],
            "texts": self.texts,
            "data_on": self.data_on,
            "snoozed": self.snoozed == self.cycle_start,
            "total": self.meter.total,
        }

    def write(self, request):
        """Set the plan (keys as Plan.as_dict); "addon": bytes records an add-on pack
        bought now, "pack": bytes with "months" a multi-month pack; "subscriber"
        sets the number reminders go to (and whose queries are answered), "cc" more
        numbers that get every reminder; "thresholds" and "texts" the reminders.
        Every field is checked (protocol/settings.py) before anything changes, so a
        refused write changes nothing; a setting written as it is writes no record."""
        request = settings.check_write(request, settings.PLAN, {"thresholds": self.reminders.thresholds, "texts": self.texts})
        now_ms = self.clock.now_ms()
        old = self.plan.as_dict() if self.plan else None
        plan = Plan.from_dict(old) if old else None  # a copy, until everything is checked
        if "quota" in request:
            new = Plan(request["quota"], request.get("cycle_day", 1), request.get("tz", 480), request.get("at_zero", "cut"))
            if plan is not None:
                new.addons, new.packs = plan.addons, plan.packs
            plan = new
        elif plan is None and ("addon" in request or "pack" in request):
            raise ValueError("%s: needs a quota first" % ("addon" if "addon" in request else "pack"))
        if "addon" in request:
            plan.addons.append((now_ms, request["addon"]))
        if "pack" in request:
            plan.add_pack(now_ms, request.get("months", 3), request["pack"])
        if "cc" in request and request["cc"] != self.cc:
            store_io.put(self._paths["cc"], request["cc"])
            self.record(records.CONFIG_CHANGED, {8: "cc", 9: self.cc, 10: request["cc"]})
            self.cc = request["cc"]
        if "subscriber" in request and request["subscriber"] != self.subscriber:
            number = request["subscriber"]
            store_io.put(self._paths["subscriber"], number)
            self.record(records.CONFIG_CHANGED, {8: "subscriber", 9: self.subscriber, 10: number})
            self.subscriber = number
        self._configure_reminders(request)
        if plan is None or plan.as_dict() == old:
            return self.read()
        store_io.put(self._paths["plan"], plan.as_dict())
        self.plan = plan
        if self.cycle_start is None:
            # The first plan: everything metered since installation is this
            # cycle's usage (the device went in during this cycle).
            self.cycle_start, self.cycle_base = plan.bounds(now_ms)[0], 0
            self._save_cycle()
        self.record(records.CONFIG_CHANGED, {8: "plan", 9: old, 10: plan.as_dict()})
        self.poke()  # thresholds moved: look at the counters now
        return self.read()

    def _configure_reminders(self, request):
        """New thresholds (bytes left, highest first) and/or texts ({threshold: text}),
        as write checked them; nothing is stored or recorded if both stay as they are."""
        thresholds = request.get("thresholds", self.reminders.thresholds)
        texts = request.get("texts", self.texts)
        if thresholds == self.reminders.thresholds and texts == self.texts:
            return
        # The record names which thresholds have their own text, not the texts
        # (up to 600 characters each: more than a record holds).
        old = {"thresholds": self.reminders.thresholds, "texts": sorted(self.texts)}
        states = self.reminders.as_dict()
        self.reminders = Reminders(thresholds)
        self.reminders.load(states)  # thresholds kept keep their state; new ones are armed
        self.texts = texts
        store_io.put(self._paths["texts"], {"thresholds": self.reminders.thresholds, "texts": texts})
        store_io.put(self._paths["reminders"], self.reminders.as_dict())
        self.record(records.CONFIG_CHANGED, {8: "reminders", 9: old, 10: {"thresholds": self.reminders.thresholds, "texts": sorted(texts)}})

    def snooze(self, on):
        """Let data run past 0 MB for the rest of this cycle (on), or stop doing so.
        The next poll resumes or cuts the session; usage past the quota is the
        cycle's overage, shown apart in `read`."""
        if self.plan is None:
            raise ValueError("no plan")
        self.snoozed = self.cycle_start if on else None
        self._save_cycle()
        self.record(records.CONFIG_CHANGED, {8: "snooze", 9: not on, 10: bool(on)})
        self.poke()
        return self.read()

    def line(self):
        """(the subscriber's number, the plan's UTC offset in minutes)."""
        return self.subscriber, self.plan.tz_minutes if self.plan else 480

    def recipients(self):
        """Everybody a reminder goes to: the subscriber first, then the cc numbers."""
        return ([self.subscriber] if self.subscriber else []) + [n for n in self.cc if n != self.subscriber]

    def used(self):
        return self.meter.total - self.cycle_base

    def remaining(self, now_ms):
        return self.plan.quota(now_ms) - self.used() if self.plan else 1 << 40

    def _save_cycle(self):
        store_io.put(self._paths["cycle"], {"start": self.cycle_start, "base": self.cycle_base, "data_on": self.data_on, "snoozed": self.snoozed})

    def _checkpoint(self, now_ms):
        up, down = self.meter.up - self._last_usage[0], self.meter.down - self._last_usage[1]
        self.record(records.USAGE, {8: up, 9: down, 10: records.SOURCE_MODEM_COUNTER, 11: self.meter.total})
        state = self.meter.checkpoint(now_ms)
        store_io.put(self._paths["meter"], state)
        self.meter.saved(state)
        self._last_usage = (self.meter.up, self.meter.down)

    async def _set_data(self, on, reason):
        await self.modem.set_data(on)
        self._session_fresh = on
        self.data_on = on
        self._save_cycle()
        self.record(records.DATA_RESUMED if on else records.DATA_CUT, {8: reason, 9: self.remaining(self.clock.now_ms())})

    async def step(self, now_ms):
        """One poll: read counters, account, decide. Returns the next interval in ms."""
        sent, received = await self.modem.data_counters()
        before = self.meter.total
        if self.modem.answer_life != self._modem_life:
            # It rebooted on its own, or the driver power-cycled it, before it
            # answered: counters from 0, and no data session any more.
            self._modem_life = self.modem.answer_life
            self.meter.restart()
            self._session_ok = False
            self.record(records.MODEM_RESET, {8: "modem rebooted"})
        self.meter.observe(sent, received)
        if not self._session_ok:
            await self._restore_session()
        if self.plan is None:
            return self.meter.total - before
        start, _end = self.plan.bounds(now_ms)
        if start != self.cycle_start:
            if self.cycle_start is not None:
                used = self.meter.total - self.cycle_base
                self.record(records.CYCLE_ROLLOVER, {8: start // 1000, 9: used, 10: self.plan.quota(self.cycle_start)})
                self.plan.rollover(self.cycle_start, used)
                store_io.put(self._paths["plan"], self.plan.as_dict())
            self.cycle_start, self.cycle_base = start, self.meter.total
            self._save_cycle()
        remaining = self.remaining(now_ms)
        rearmed = self.reminders.rearmed
        crossed = self.reminders.update(remaining, start)
        for threshold in crossed:
            self.record(records.THRESHOLD_CROSSED, {8: threshold, 9: remaining})
        if crossed or rearmed != self.reminders.rearmed:
            store_io.put(self._paths["reminders"], self.reminders.as_dict())
        for threshold in self.reminders.pending():
            self._remind(threshold, now_ms)
        cut = remaining <= 0 and self.plan.at_zero == "cut" and self.snoozed != start
        if cut and self.data_on:
            await self._set_data(False, records.REASON_AT_ZERO)
        elif not cut and not self.data_on:
            await self._set_data(True, records.REASON_SNOOZE if remaining <= 0 else records.REASON_QUOTA)
        if crossed:
            self._checkpoint(now_ms)  # the crossing's records and the total that made it
        return self.meter.total - before

    def _remind(self, threshold, now_ms):
        """Hand the reminder to the outbox (which sends, retries and tracks it), then
        note it sent: the outbox's key makes a repeat after a power cut harmless."""
        if not self.subscriber:
            return  # nobody to tell yet: stays pending until a number is set
        text = self.texts.get(threshold)
        if text:
            text = text.replace("{mb}", str(threshold // MB))
        else:
            text = default_text(threshold, self.plan.at_zero == "cut")
        for number in self.recipients():
            key = [self.cycle_start // 1000, threshold, self.reminders.rearmed, number]
            self.outbox.add(key, threshold, number, text, now_ms)
        self.reminders.mark_sent(threshold)
        store_io.put(self._paths["reminders"], self.reminders.as_dict())

    async def start(self):
        """Bring the modem up; the polls then bring the data session where it should be."""
        await self.modem.init()
        self._modem_life = self.modem.answer_life  # our own power-on is no news
        self._session_ok = False

    async def _restore_session(self):
        """Once the modem is registered, put the data session where it should be (on,
        or off when cut at zero). Until then the polls come every RESTORE_POLL_MS."""
        if await self.modem.registered():
            await self.modem.set_data(self.data_on)
            self._session_ok = True
            self._session_fresh = True

    def _distance(self, now_ms):
        """Bytes to the next decision: the next threshold below, or zero."""
        if self.plan is None:
            return 1 << 40
        remaining = self.remaining(now_ms)
        below = [t for t in self.reminders.thresholds if t < remaining]
        return remaining - (max(below) if below else 0) if remaining > 0 else 0

    async def run(self, ready=None):
        while True:
            try:
                await self.start()
                break
            except ModemError:
                await self.modem.recover()
        if ready is not None:
            ready.set()  # the SMS loop may use the modem now
        last_ms = self.clock.now_ms()
        interval = MIN_POLL_MS
        while True:
            now_ms = self.clock.now_ms()
            try:
                interval = await self._poll(now_ms, last_ms, interval)
            except Exception as error:  # a bug or a full heap must not end metering for good
                self.faults += 1
                print("metering: poll failed:", repr(error))
                gc.collect()
                interval = RESTORE_POLL_MS
            last_ms = now_ms
            # Poll start to poll start: the time a poll takes comes off the wait.
            await self._wait(interval - (self.clock.now_ms() - now_ms))

    async def _poll(self, now_ms, last_ms, interval):
        """One round of the loop: read and decide, save if due; returns the next interval."""
        try:
            moved = await self.step(now_ms)
            elapsed = max(now_ms - last_ms, 1)
            self.rate_bps = moved * 1000 // elapsed
        except ModemError:
            self.rate_bps = 0  # the driver recovers the modem after repeated timeouts
        # Ease out: at most double the last wait, and start again from the
        # shortest once the session is (re)made, so a new session's rate is
        # learnt before the device relaxes.
        longest = MIN_POLL_MS if self._session_fresh else 2 * interval
        self._session_fresh = False
        interval = min(poll_interval_ms(self._distance(now_ms), self.rate_bps), longest)
        if not self._session_ok:
            interval = min(interval, RESTORE_POLL_MS)
        coming = 0
        if self.rate_bps > 0:
            # A power cut loses what was counted since the last checkpoint plus
            # what the modem counted since this reading (its counters die with
            # it): poll often enough that the latter fits the budget, and save
            # now if both together may not by the next reading.
            interval = min(interval, max(MIN_POLL_MS, self.meter.budget_bytes * 1000 // self.rate_bps))
            coming = self.rate_bps * interval // 1000
        if self.meter.checkpoint_due(now_ms, coming):
            self._checkpoint(now_ms)
        return interval

    async def _wait(self, ms):
        """Sleep `ms`, or less if a plan change asks for a poll now (`poke`)."""
        self._poked = False
        while ms > 0 and not self._poked:
            step = min(ms, 1000)
            await self.clock.sleep_ms(step)
            ms -= step

    def poke(self):
        self._poked = True
