"""The metering loop: modem counters → meter → plan → reminders and records.

Every poll reads the modem's byte counters, turns them into exact increments
(meter.py), and works out this cycle's data left from the plan (plan.py). On
the way it writes what happened to the record log: cycle rollovers, thresholds
crossed, reminders sent, data cut at zero, modem reboots, and USAGE records, the
bytes since the one before, for each local hour and at each of
those events (`_usage_record`). The meter's count is saved apart, in the
checkpoint journal (firmware/storage/journal.py: bytes, not an erase), whenever
64 KB more are at stake (meter.py); the reminder states and the cycle's
starting total live in small files replaced atomically (state_files.put).

The poll interval shrinks with the data left to the next threshold (see
`poll_interval_ms`), so little passes a threshold before it is noticed, while a
line far from any threshold is polled rarely.

Two clocks (board/base.py Clock): polls, rates and checkpoint ages run on the
monotonic clock, so a clock correction never stalls or rushes them; the wall
clock only says which billing cycle it is. The cycle moves forward only: a
jump forward across the cycle day rolls over once (whatever the size of the
jump), a jump back across it keeps the cycle the device is in (its usage, its
reminders sent) until the wall clock passes that cycle's end again. Quotas are
those of the cycle the device is in, not of the cycle the wall clock names.
"""

import gc

from firmware.console import RateLimited
from firmware.metering.meter import Meter, packed, unpacked
from firmware.metering.plan import Plan
from firmware.metering.reminders import ARMED, SENT, Reminders, default_text
from firmware.modem.driver import ModemError
from firmware.sms.outbox import DELIVERED, QUEUED
from firmware.storage import state_files
from protocol import records, settings
from protocol.units import MB

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
    def __init__(self, modem, clock, record, state_dir, outbox, checkpoints, subscriber=None):
        """`checkpoints`: where the meter's checkpoint is kept (an opened
        firmware/storage/journal.py Journal: get() and put(value)); `subscriber`:
        the number reminders go to until one is set or loaded from state_dir; the
        plan comes from state_dir too (`resume`) or a write."""
        self.checkpoints = checkpoints
        self.modem = modem
        self.outbox = outbox
        self.clock = clock
        self.record = record
        self.plan = None
        self.subscriber = subscriber
        self.meter = Meter()
        outbox.on_finish = self._message_finished
        self.reminders = Reminders()
        self.state_dir = state_dir
        self._paths = {name: state_dir + "/" + name for name in ("reminders", "cycle", "plan", "subscriber", "texts", "cc")}
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
        self._last_usage = (0, 0)  # the meter's (up, down) the last USAGE record went to
        self._polled = None  # (wall ms, up, down) of the last poll
        self._poked = False
        self.faults = 0  # polls that failed on something other than the modem
        self.progress = None  # firmware/supervisor.py Progress, if supervised
        self._console = RateLimited()

    def resume(self, modem_kept_power):
        self.subscriber = state_files.get(self._paths["subscriber"]) or self.subscriber
        self.cc = state_files.get(self._paths["cc"]) or []
        saved_plan = state_files.get(self._paths["plan"])
        if saved_plan:
            self.plan = Plan.from_dict(saved_plan)
        config = state_files.get(self._paths["texts"])
        if config:
            self.reminders = Reminders(config["thresholds"])
            self.texts = config["texts"]
        saved = unpacked(self.checkpoints.get())
        self.meter.resume(saved, modem_kept_power)
        # Bytes counted before the cut and not in a USAGE record yet go in the next one.
        recorded = saved.get("rec") if saved else None
        self._last_usage = tuple(recorded) if recorded else (self.meter.up, self.meter.down)
        saved = state_files.get(self._paths["reminders"])
        if saved:
            self.reminders.load(saved)
        cycle = state_files.get(self._paths["cycle"])
        if cycle:
            self.cycle_start, self.cycle_base, self.data_on = cycle["start"], cycle["base"], cycle["data_on"]
            self.snoozed = cycle.get("snoozed")

    # --- the plan over SMP (metering group, command 3) ------------------------

    def read(self):
        """The plan and this cycle's figures, for `edgemeter plan get` / status."""
        if self.plan is None:
            return {"subscriber": self.subscriber, "cc": self.cc, "plan": None, "total": self.meter.total}
        start, end = self.plan.bounds(self._cycle_moment())
        remaining = self.remaining()
        return {
            "subscriber": self.subscriber,
            "cc": self.cc,
            "plan": self.plan.as_dict(),
            "cycle_start": start // 1000,
            "cycle_end": end // 1000,
            "quota": self.quota(),
            "used": self.used(),
            "remaining": max(remaining, 0),
            "overage": max(-remaining, 0),
            "thresholds": [self._threshold_status(t) for t in self.reminders.thresholds],
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
            given = dict(settings.PLAN_DEFAULTS)
            given.update(request)
            new = Plan(request["quota"], given["cycle_day"], given["tz"], given["at_zero"])
            if plan is not None:
                new.addons, new.packs = plan.addons, plan.packs
            plan = new
        elif plan is None and ("addon" in request or "pack" in request):
            raise ValueError("%s: needs a quota first" % ("addon" if "addon" in request else "pack"))
        if "addon" in request:
            plan.addons.append((self._bought_at(now_ms), request["addon"]))
        if "pack" in request:
            plan.add_pack(self._bought_at(now_ms), request.get("months", 3), request["pack"])
        if "cc" in request and request["cc"] != self.cc:
            state_files.put(self._paths["cc"], request["cc"])
            self.record(records.CONFIG_CHANGED, records.config_change("cc", self.cc, request["cc"]))
            self.cc = request["cc"]
        if "subscriber" in request and request["subscriber"] != self.subscriber:
            number, old_number = request["subscriber"], self.subscriber
            state_files.put(self._paths["subscriber"], number)
            self.record(records.CONFIG_CHANGED, records.config_change("subscriber", old_number, number))
            self.subscriber = number
            self._subscriber_changed(old_number)
        self._configure_reminders(request)
        if plan is None or plan.as_dict() == old:
            return self.read()
        state_files.put(self._paths["plan"], plan.as_dict())
        self.plan = plan
        if self.cycle_start is None:
            # The first plan: everything metered since installation is this
            # cycle's usage (the device went in during this cycle).
            self.cycle_start, self.cycle_base = plan.bounds(now_ms)[0], 0
            self._save_cycle()
        self.record(records.CONFIG_CHANGED, records.config_change("plan", old, plan.as_dict()))
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
        state_files.put(self._paths["texts"], {"thresholds": self.reminders.thresholds, "texts": texts})
        state_files.put(self._paths["reminders"], self.reminders.as_dict())
        self.record(records.CONFIG_CHANGED, records.config_change("reminders", old, {"thresholds": self.reminders.thresholds, "texts": sorted(texts)}))

    def clock_set(self):
        """The wall clock was just set: save the count with the new time (the floor a
        later boot checks its RTC against, firmware/metering/rtc_check.py) and poll now, so a
        jump into another cycle rolls over at once."""
        self._usage_record()
        self.poke()

    def snooze(self, on):
        """Let data run past 0 MB for the rest of this cycle (on), or stop doing so.
        The next poll resumes or cuts the session; usage past the quota is the
        cycle's overage, shown apart in `read`."""
        if self.plan is None:
            raise ValueError("no plan")
        self.snoozed = self.cycle_start if on else None
        self._save_cycle()
        self.record(records.CONFIG_CHANGED, records.config_change("snooze", not on, bool(on)))
        self.poke()
        return self.read()

    def line(self):
        """(the subscriber's number, the plan's UTC offset in minutes)."""
        return self.subscriber, self.plan.tz_minutes if self.plan else settings.PLAN_DEFAULTS["tz"]

    def recipients(self):
        """Everybody a reminder goes to: the subscriber first, then the cc numbers."""
        return ([self.subscriber] if self.subscriber else []) + [n for n in self.cc if n != self.subscriber]

    def used(self):
        return self.meter.total - self.cycle_base

    def _bought_at(self, now_ms):
        """When a pack bought now counts as bought: now, or the start of the cycle the
        device is in if the wall clock is behind it (set back): never in a cycle
        already over."""
        return now_ms if self.cycle_start is None else max(now_ms, self.cycle_start)

    def _cycle_moment(self):
        """A moment of the cycle the device is in: its start (now before the first plan)."""
        return self.cycle_start if self.cycle_start is not None else self.clock.now_ms()

    def quota(self):
        """The quota of the cycle the device is in (not the one the wall clock names)."""
        return self.plan.quota(self._cycle_moment())

    def remaining(self):
        return self.quota() - self.used() if self.plan else 1 << 40

    def _save_cycle(self):
        state_files.put(self._paths["cycle"], {"start": self.cycle_start, "base": self.cycle_base, "data_on": self.data_on, "snoozed": self.snoozed})

    def _checkpoint(self):
        """The meter's count on flash (the journal: bytes, not an erase): a power cut
        loses at most the meter's budget (64 KB)."""
        state = self.meter.checkpoint(self.clock.monotonic_ms(), self.clock.now_ms())
        self.checkpoints.put(packed(state, self._last_usage))
        self.meter.saved(state)

    def _usage_record(self, polled=None):
        """The bytes since the last USAGE record, as one, and the count saved with it:
        up to now, or up to an earlier poll `polled` ((wall ms, up, down)), the
        record then of that poll's time. Each hour's first poll closes the hour
        before with the count of its last poll; every event (a threshold, a cut or
        resume, a rollover, a clock set, a modem reset) writes one too. So
        reconciliation gets per-day and per-session bytes, and only the bytes
        between two polls (within the meter's 64 KB budget) may fall on the wrong
        side of midnight."""
        at_ms, up_total, down_total = polled or (None, self.meter.up, self.meter.down)
        up, down = up_total - self._last_usage[0], down_total - self._last_usage[1]
        if (up or down) and up >= 0 and down >= 0:  # (an event since that poll recorded more)
            fields = {records.USAGE__UP_BYTES: up, records.USAGE__DOWN_BYTES: down,
                      records.USAGE__SOURCE: records.SOURCE_MODEM_COUNTER, records.USAGE__TOTAL_BYTES: up_total + down_total}
            if at_ms is None:
                self.record(records.USAGE, fields)
            else:
                self.record(records.USAGE, fields, at_ms // 1000)
            self._last_usage = (up_total, down_total)
        self._checkpoint()

    def _hour(self, now_ms):
        """The local hour (plan's time zone) `now_ms` is in, as hours since 1970."""
        return (now_ms // 1000 + 60 * self.line()[1]) // 3600

    async def _set_data(self, on, reason):
        self._usage_record()  # the bytes up to the cut (or the resume)
        await self.modem.set_data(on)
        self._session_fresh = on
        self.data_on = on
        self._save_cycle()
        # DATA_RESUMED's fields are DATA_CUT's.
        self.record(records.DATA_RESUMED if on else records.DATA_CUT,
                    {records.DATA_CUT__REASON: reason, records.DATA_CUT__REMAINING_BYTES: self.remaining()})

    async def step(self, now_ms):
        """One poll at wall-clock `now_ms`: read counters, account, decide. Returns
        the bytes metered."""
        sent, received = await self.modem.data_counters()
        before = self.meter.total
        if self.modem.answer_life != self._modem_life:
            # It rebooted on its own, or the driver power-cycled it, before it
            # answered: counters from 0, and no data session any more.
            self._modem_life = self.modem.answer_life
            self.meter.restart()
            self._session_ok = False
            self.record(records.MODEM_RESET, {records.MODEM_RESET__REASON: "modem rebooted"})
            self.meter.observe(sent, received)
            self._usage_record()  # the new session's first bytes
        else:
            self.meter.observe(sent, received)
        if not self._session_ok:
            await self._restore_session()
        if self.plan is None:
            return self.meter.total - before
        self._follow_cycle(now_ms)
        start = self.cycle_start
        remaining = self.remaining()
        rearmed = self.reminders.rearmed
        crossed = self.reminders.update(remaining, start)
        for threshold in crossed:
            self.record(records.THRESHOLD_CROSSED, {records.THRESHOLD_CROSSED__THRESHOLD_BYTES: threshold,
                                                        records.THRESHOLD_CROSSED__REMAINING_BYTES: remaining})
        if crossed or rearmed != self.reminders.rearmed:
            state_files.put(self._paths["reminders"], self.reminders.as_dict())
        for threshold in self.reminders.pending():
            self._remind(threshold)
        cut = remaining <= 0 and self.plan.at_zero == "cut" and self.snoozed != start
        if cut and self.data_on:
            await self._set_data(False, records.REASON_AT_ZERO)
        elif not cut and not self.data_on:
            await self._set_data(True, records.REASON_SNOOZE if remaining <= 0 else records.REASON_QUOTA)
        if crossed:
            self._usage_record()  # the crossing's records and the total that made it
        return self.meter.total - before

    def _follow_cycle(self, now_ms):
        """Roll over when the wall clock is in or past the device's cycle and names
        another one: a new cycle, however far the clock jumped (once), or a plan
        whose cycle day or time zone changed. A wall clock behind the cycle's start
        (set back) changes nothing: no cycle is ever rolled back."""
        start = self.plan.bounds(now_ms)[0]
        if self.cycle_start is not None and (now_ms < self.cycle_start or start == self.cycle_start):
            return
        if self.cycle_start is not None:
            self._usage_record()  # the closed cycle's last bytes, before its rollover
            used = self.meter.total - self.cycle_base
            self.record(records.CYCLE_ROLLOVER, {records.CYCLE_ROLLOVER__CYCLE_START: start // 1000, records.CYCLE_ROLLOVER__USED_BYTES: used,
                                                     records.CYCLE_ROLLOVER__QUOTA_BYTES: self.quota()})
            self.plan.rollover(self.cycle_start, used)
            state_files.put(self._paths["plan"], self.plan.as_dict())
        self.cycle_start, self.cycle_base = start, self.meter.total
        self._save_cycle()

    def _remind(self, threshold):
        """Hand the reminder to the outbox (which sends, retries and tracks it), then
        note it sent: the outbox's key makes a repeat after a power cut harmless."""
        if not self.subscriber:
            return  # nobody to tell yet: stays pending until a number is set
        for number in self.recipients():
            self.outbox.add(self._reminder_key(threshold, number), threshold, number, self._text(threshold))
        self.reminders.mark_sent(threshold)
        state_files.put(self._paths["reminders"], self.reminders.as_dict())

    def _text(self, threshold):
        text = self.texts.get(threshold)
        if text:
            return text.replace("{mb}", str(threshold // MB))
        return default_text(threshold, self.plan.at_zero == "cut")

    def _reminder_key(self, threshold, number):
        """The outbox key of this cycle's reminder at `threshold` to `number`."""
        return [self.cycle_start // 1000, threshold, self.reminders.rearmed, number]

    def _message_finished(self, message, outcome, why):
        """The outbox's word on a message: note it if it is this cycle's reminder to the subscriber."""
        threshold = message["kind"]
        if isinstance(threshold, int) and self.cycle_start is not None and self.subscriber \
                and message["key"] == self._reminder_key(threshold, self.subscriber):
            self.reminders.note(threshold, outcome, why)
            state_files.put(self._paths["reminders"], self.reminders.as_dict())

    def _threshold_status(self, threshold):
        """[bytes left, "armed" / "queued" / "sent" / "delivered" / "failed", reason or None]."""
        state = self.reminders.states[threshold]
        if state != SENT:
            return [threshold, "armed" if state == ARMED else "queued", None]
        if threshold in self.reminders.outcomes:
            return [threshold] + list(self.reminders.outcomes[threshold])
        message = self.outbox.find(self._reminder_key(threshold, self.subscriber)) if self.subscriber else None
        if message is not None and message["state"] == QUEUED:
            return [threshold, "queued", message["why"]]  # the reason of the last failed try, if any
        return [threshold, "sent", None]

    def _subscriber_changed(self, old):
        """The number was corrected: each reminder of this cycle that never reached the
        phone goes once to the new number (the old number's, if still waiting, is
        withdrawn). The cc numbers had theirs: they get nothing again."""
        if self.plan is None or self.cycle_start is None or not self.subscriber:
            return
        for threshold in self.reminders.thresholds:
            if self.reminders.states[threshold] != SENT or self.reminders.outcomes.get(threshold, ("",))[0] == DELIVERED:
                continue
            if old:
                self.outbox.withdraw_key(self._reminder_key(threshold, old), "the subscriber's number changed")
            self.reminders.outcomes.pop(threshold, None)
            self.outbox.add(self._reminder_key(threshold, self.subscriber), threshold, self.subscriber, self._text(threshold))
        state_files.put(self._paths["reminders"], self.reminders.as_dict())

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

    def _distance(self):
        """Bytes to the next decision: the next threshold below, or zero."""
        if self.plan is None:
            return 1 << 40
        remaining = self.remaining()
        below = [t for t in self.reminders.thresholds if t < remaining]
        return remaining - (max(below) if below else 0) if remaining > 0 else 0

    async def run(self, ready=None):
        progress = self.progress
        while True:
            if progress is not None:
                progress.beat()
            try:
                await self.start()
                break
            except ModemError:
                await self.modem.recover()
            except Exception as error:  # a full heap at boot must not end metering either
                self.faults += 1
                self._console.say(self.clock.monotonic_ms(), "metering: modem start failed: %r" % (error,))
                gc.collect()
                await self._wait(RESTORE_POLL_MS)
        if ready is not None:
            ready.set()  # the SMS loop may use the modem now
        last_ms = self.clock.monotonic_ms()
        interval = MIN_POLL_MS
        while True:
            if progress is not None:
                progress.beat()
            began_ms = self.clock.monotonic_ms()
            try:
                interval = await self._poll(began_ms - last_ms, interval)
            except Exception as error:  # a bug or a full heap must not end metering for good
                self.faults += 1
                self._console.say(began_ms, "metering: poll failed: %r" % (error,))
                gc.collect()
                interval = RESTORE_POLL_MS
            last_ms = began_ms
            # Poll start to poll start: the time a poll takes comes off the wait.
            await self._wait(interval - (self.clock.monotonic_ms() - began_ms))

    async def _poll(self, since_last_ms, interval):
        """One round of the loop, `since_last_ms` (monotonic) after the last one: read
        and decide, save if due; returns the next interval."""
        try:
            moved = await self.step(self.clock.now_ms())
            elapsed = max(since_last_ms, 1)
            self.rate_bps = moved * 1000 // elapsed
        except ModemError:
            self.rate_bps = 0  # the driver recovers the modem after repeated timeouts
        # Ease out: at most double the last wait, and start again from the
        # shortest once the session is (re)made, so a new session's rate is
        # learnt before the device relaxes.
        longest = MIN_POLL_MS if self._session_fresh else 2 * interval
        self._session_fresh = False
        interval = min(poll_interval_ms(self._distance(), self.rate_bps), longest)
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
        now_ms = self.clock.now_ms()
        polled, self._polled = self._polled, (now_ms, self.meter.up, self.meter.down)
        if polled and self._hour(polled[0]) != self._hour(now_ms):  # the hour's first poll
            self._usage_record(polled)
        elif self.meter.checkpoint_due(self.clock.monotonic_ms(), coming):
            self._checkpoint()
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
