"""The carrier: the subscriber's account as the network sees it.

`Carrier(scenario, state_dir)` keeps the plan's books on simulated time:

- the billing cycle starts at 00:00 on `plan.cycle_day` in the plan's time zone
  (the last day of a shorter month when the day does not exist); at rollover the
  cycle's usage starts again from 0;
- this cycle's quota = the plan's quota + add-ons bought in this cycle (from their
  time on) + what is left of a multi-month pack while it is valid; usage draws on
  the monthly quota and add-ons first (they expire first), the pack takes the rest
  at rollover;
- bytes flow only while the data session is up, at the scenario's traffic rate
  (piecewise constant, integrated exactly with Fractions). The carrier never
  stops data at the quota: past it, usage is out-of-plan and billed. Stopping at
  zero is the device's job (the plan's `at_zero` is the device's setting);
- each session is billed rounded UP to 1 KB (`BYTES_PER_KB`) when it ends; a
  session open across a rollover is billed as two records, one per cycle (a
  partial record at the rollover). `used_bytes` = the billed records of this
  cycle + the exact bytes of the open session;
- `carried` (a Fraction) counts every byte ever carried, exactly, before any
  rounding: the modem's own counters are differences of it.

Files in `state_dir` (times ISO 8601 in the plan's time zone):
- `network.json`: the account now (see `snapshot()`), replaced atomically (temp +
  rename) on every change of session, cycle, quota or SMS count, and otherwise by
  `advance()` once the last write is `refresh_ms` (a simulated minute) old: its
  usage may lag by that much; `write()` forces it;
- `sms.jsonl`: every SMS the subscriber's phone shows, one `{"time", "from", "to",
  "text", "parts"}` a line (smsc.py: store and forward, reassembly, reports);
- `cdr.jsonl`: one line per billed session record
  `{"start", "end", "bytes", "billed_bytes", "cycle_start", "partial", "days"}`,
  `days` the exact bytes of each local day the record spans (the itemised bill's
  rows, bill_writer.py).
"""

import calendar
import json
import os
import threading
from datetime import datetime, timedelta
from fractions import Fraction

from host_tools.emulator.account import SERVICE_NUMBER, Account
from host_tools.emulator.scenario import BITS_PER_MBIT, BYTES_PER_KB, iso_ms
from host_tools.emulator.services import Services
from host_tools.emulator.smsc import SMSC

MINUTE_MS = 60000
DAY_MS = 24 * 60 * MINUTE_MS
_BYTES_PER_MS_PER_MBPS = Fraction(BITS_PER_MBIT, 8 * 1000)
_EPOCH = datetime(1970, 1, 1)


def _to_ms(naive_local, offset_min):
    delta = naive_local - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000 - offset_min * MINUTE_MS


def cycle_bounds(now_ms, cycle_day, offset_min):
    """(start_ms, end_ms) of the billing cycle holding `now_ms`, cycles starting at
    00:00 local time (UTC + `offset_min`) on `cycle_day`, clamped to the month's length."""

    def start_of(year, month):
        day = min(cycle_day, calendar.monthrange(year, month)[1])
        return datetime(year, month, day)

    def shift(year, month, by):
        index = year * 12 + month - 1 + by
        return index // 12, index % 12 + 1

    local = _EPOCH + timedelta(milliseconds=now_ms + offset_min * MINUTE_MS)
    year, month = local.year, local.month
    if local < start_of(year, month):
        year, month = shift(year, month, -1)
    start = start_of(year, month)
    end = start_of(*shift(year, month, 1))
    return _to_ms(start, offset_min), _to_ms(end, offset_min)


def _round_up_kb(exact):
    return -(-exact // BYTES_PER_KB) * BYTES_PER_KB


class Carrier:
    def __init__(self, scenario, state_dir, now_ms=None, refresh_ms=MINUTE_MS):
        self.scenario = scenario
        self.refresh_ms = refresh_ms
        self.plan = scenario.plan
        self.state_dir = os.path.abspath(state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        self._lock = threading.RLock()
        self.now_ms = scenario.start_ms if now_ms is None else now_ms
        self.cycle_start_ms, self.cycle_end_ms = self._bounds(self.now_ms)
        self.session = False
        self.session_start_ms = None
        self.session_cycle_bytes = Fraction(0)  # the open session's bytes in this cycle
        self.session_days = {}  # the same bytes by local day (YYYY-MM-DD), for the itemised bill
        self.session_bytes = Fraction(0)  # the open session's bytes since it came up
        self.billed_bytes = 0  # this cycle's closed records, each rounded up to 1 KB
        self.carried = Fraction(0)  # every byte ever carried, exact
        unreachable = [(f.at_ms, f.until_ms) for f in scenario.faults if f.kind == "phone_off"]
        self.smsc = SMSC(os.path.join(self.state_dir, "sms.jsonl"), self._iso, unreachable, scenario.subscriber)
        self._messages = [m for m in scenario.messages if m.at_ms >= self.now_ms]
        self.account = None
        if scenario.account is not None:
            self.account = Account(scenario.account, self.plan.tz, self.now_ms, self._from_10086)
        self.services = Services(scenario.services, self._from_10086)
        self.smsc.on_service = self._service_request
        self._pack_end_ms = None
        self.pack_remaining = 0
        if self.plan.multi_month is not None:
            pack = self.plan.multi_month
            end = self._bounds(pack.at_ms)[0]
            for _ in range(pack.months):
                end = self._bounds(end)[1]
            self._pack_end_ms = end
            self.pack_remaining = pack.bytes
        self._written_ms = None
        self._write()

    # --- the account -----------------------------------------------------------

    def _bounds(self, ms):
        return cycle_bounds(ms, self.plan.cycle_day, self.plan.utc_offset_min)

    def _pack_active(self, ms):
        pack = self.plan.multi_month
        return pack is not None and pack.at_ms <= ms < self._pack_end_ms

    def _monthly_bytes(self, ms):
        addons = sum(a.bytes for a in self.plan.addons if self.cycle_start_ms <= a.at_ms <= ms)
        return self.plan.quota_bytes + addons

    @property
    def quota_bytes(self):
        """This cycle's quota now: plan + add-ons so far + the multi-month pack's rest."""
        pack = self.pack_remaining if self._pack_active(self.now_ms) else 0
        return self._monthly_bytes(self.now_ms) + pack

    @property
    def used_bytes(self):
        """This cycle's usage by the carrier's count: billed records + the open session, exact."""
        return self.billed_bytes + int(self.session_cycle_bytes)

    @property
    def remaining_bytes(self):
        return max(self.quota_bytes - self.used_bytes, 0)

    # --- time --------------------------------------------------------------------

    def _offered(self, a, b):
        """Bytes the traffic model offers between a and b (ms), exactly."""
        total = Fraction(0)
        points = self.scenario.traffic
        for i, point in enumerate(points):
            hi = min(b, points[i + 1].from_ms) if i + 1 < len(points) else b
            lo = max(a, point.from_ms)
            if hi > lo:
                total += point.mbps * (hi - lo)
        return total * _BYTES_PER_MS_PER_MBPS

    def _flow(self, a, b):
        if not self.session or b <= a:
            return
        got = self._offered(a, b)
        self.session_cycle_bytes += got
        self.session_bytes += got
        self.carried += got
        while a < b:  # split at local midnights
            local_ms = a + self.plan.utc_offset_min * MINUTE_MS
            day_end = a - local_ms % DAY_MS + DAY_MS
            day = self._iso(a)[:10]
            part = got if b <= day_end else self._offered(a, day_end)
            self.session_days[day] = self.session_days.get(day, 0) + part
            got -= part
            a = day_end

    def _from_10086(self, text, at_ms):
        self.smsc.from_carrier(SERVICE_NUMBER, self.scenario.subscriber, text, at_ms)

    def _service_request(self, sender, text, now_ms):
        if sender != self.scenario.subscriber or self.services.service_request(text, now_ms):
            return
        if self.account is not None:
            self.account.service_request(text, now_ms)

    def _next_event(self, after_ms):
        times = [a.at_ms for a in self.plan.addons if a.at_ms > after_ms]
        if self.account is not None and self.account.next_event(after_ms) is not None:
            times.append(self.account.next_event(after_ms))
        if self._messages:
            times.append(max(self._messages[0].at_ms, after_ms + 1))
        if self.plan.multi_month is not None and self.plan.multi_month.at_ms > after_ms:
            times.append(self.plan.multi_month.at_ms)
        return min(times, default=None)

    def _rollover(self):
        if self.session:
            self._bill(self.cycle_end_ms, partial=True)
        used = self.billed_bytes
        if self._pack_active(self.cycle_end_ms - 1):
            self.pack_remaining = max(self.pack_remaining - max(used - self._monthly_bytes(self.cycle_end_ms - 1), 0), 0)
        self.billed_bytes = 0
        self.cycle_start_ms, self.cycle_end_ms = self.cycle_end_ms, self._bounds(self.cycle_end_ms)[1]

    def advance(self, now_ms):
        """Carry traffic from the last time up to `now_ms` (exact), rolling cycles over
        and applying add-ons on the way; writes network.json when anything changed or
        the last write is a simulated minute old. Earlier times are ignored."""
        with self._lock:
            changed = False
            while self.now_ms < now_ms:
                step = min(now_ms, self.cycle_end_ms)
                event = self._next_event(self.now_ms)
                if event is not None and event < step:
                    step = event
                self._flow(self.now_ms, step)
                self.now_ms = step
                if step == self.cycle_end_ms:
                    self._rollover()
                    changed = True
                elif step == event:
                    changed = True
                if self.account is not None and self.account.advance(self.now_ms):
                    changed = True
                while self._messages and self._messages[0].at_ms <= self.now_ms:
                    message = self._messages.pop(0)
                    self.smsc.from_carrier(message.sender, self.scenario.subscriber, message.text, message.at_ms, message.damaged)
                    changed = True
            changed = self.smsc.advance(self.now_ms) or changed
            if changed or self.now_ms - self._written_ms >= self.refresh_ms:
                self._write()

    # --- the data session --------------------------------------------------------

    def _bill(self, end_ms, partial):
        billed = _round_up_kb(self.session_cycle_bytes)
        self.billed_bytes += billed
        start = max(self.session_start_ms, self.cycle_start_ms)
        record = {
            "start": self._iso(start),
            "end": self._iso(end_ms),
            "bytes": int(self.session_cycle_bytes),
            "billed_bytes": billed,
            "cycle_start": self._iso(self.cycle_start_ms),
            "partial": partial,
            "days": {day: int(n) for day, n in sorted(self.session_days.items()) if n},
        }
        with open(os.path.join(self.state_dir, "cdr.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        self.session_cycle_bytes = Fraction(0)
        self.session_days = {}

    def session_up(self, now_ms=None):
        """The data session comes up (at `now_ms`, else at the carrier's time)."""
        with self._lock:
            if now_ms is not None:
                self.advance(now_ms)
            if self.session:
                return
            self.session = True
            self.session_start_ms = self.now_ms
            self.session_cycle_bytes = Fraction(0)
            self.session_days = {}
            self.session_bytes = Fraction(0)
            self._write()

    def session_down(self, now_ms=None):
        """The data session ends: its usage this cycle is billed, rounded up to 1 KB."""
        with self._lock:
            if now_ms is not None:
                self.advance(now_ms)
            if not self.session:
                return
            self._bill(self.now_ms, partial=False)
            self.session = False
            self.session_bytes = Fraction(0)
            self._write()

    # --- SMS ---------------------------------------------------------------------

    def submit_sms(self, part):
        """The SMSC takes a part (smsc.Part) submitted at `part.submitted_ms`; it reaches
        the phone (sms.jsonl) at once if the phone is reachable, else later."""
        with self._lock:
            self.advance(part.submitted_ms)
            self.smsc.submit(part)
            if self.smsc.advance(self.now_ms):
                self._write()

    def take_reports(self, sender):
        with self._lock:
            return self.smsc.take_reports(sender)

    @property
    def tz_quarters(self):
        """The plan's UTC offset in quarter hours, as SMS time stamps carry it."""
        return self.plan.utc_offset_min // 15

    @property
    def sms_delivered(self):
        return self.smsc.delivered

    # --- network.json ------------------------------------------------------------

    def _iso(self, ms):
        return iso_ms(ms, self.plan.tz)

    def snapshot(self):
        """The account now, as written to network.json."""
        with self._lock:
            snap = {
                "time": self._iso(self.now_ms),
                "subscriber": self.scenario.subscriber,
                "cycle_start": self._iso(self.cycle_start_ms),
                "cycle_end": self._iso(self.cycle_end_ms),
                "quota_bytes": self.quota_bytes,
                "used_bytes": self.used_bytes,
                "remaining_bytes": self.remaining_bytes,
                "billed_bytes": self.billed_bytes,
                "session_bytes": int(self.session_bytes),
                "data_session": "up" if self.session else "down",
                "at_zero": self.plan.at_zero,
                "carried_bytes": int(self.carried),
                "sms_delivered": self.sms_delivered,
            }
            if self.account is not None:
                snap["account"] = self.account.snapshot()
            snap["services"] = self.services.snapshot()
            if self.plan.multi_month is not None:
                snap["multi_month_remaining_bytes"] = self.pack_remaining if self._pack_active(self.now_ms) else 0
            return snap

    def write(self):
        """Write network.json now (it is also written on changes and every `refresh_ms`)."""
        with self._lock:
            self._write()

    def _write(self):
        path = os.path.join(self.state_dir, "network.json")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.snapshot(), f, indent=1)
            f.write("\n")
        os.replace(tmp, path)
        self._written_ms = self.now_ms
