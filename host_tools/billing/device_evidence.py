"""What one device's records in the ledger say about a line, day by day, for reconciliation.

The device metered every byte of the line's data (USAGE records: the bytes
since the previous record), knows when it was running, when it cut data, which
SMS it sent, and what 10086 told it about value-added services (orders, 二次确认,
charge notices, cancellations). Days are the plan's local days ("YYYY-MM-DD"),
as the carrier's bill prints them.

Coverage: the device watched the line from its first record to its last,
except while it was off. A power cut leaves a gap from its last record before
the cut to the BOOT after it; a day with a gap longer than GAP_ALLOWED_S is not
covered (what the line did then is outside the device's evidence).
"""

import datetime

PLAN_TZ_MINUTES = 480  # China Mobile's bills and plans run on Beijing time
GAP_ALLOWED_S = 3600
POWER_LOSS = 3  # BOOT reason (protocol/records.py BOOT_REASONS)


def phone_number(text):
    """A phone number as digits without the country code, for comparing: "+8613800138000",
    "008613800138000", "86 138-0013-8000" and "13800138000" are all "13800138000"."""
    digits = "".join(c for c in str(text or "") if c.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix):]
    return digits


def _seconds(iso):
    return int(datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp())


class DeviceEvidence:
    """Built from `ledger.records(device)`; see the attributes set in __init__."""

    def __init__(self, records):
        self.tz_minutes = PLAN_TZ_MINUTES
        self.day_bytes = {}  # day -> bytes metered (up + down)
        self.day_seqs = {}  # day -> [seq, ...] of the USAGE records
        self.day_cuts = {}  # day -> power cuts and modem resets (each may lose up to one checkpoint)
        self.day_sms = {}  # day -> SMS parts the device sent (reminders, answers, queries)
        self.day_sms_to = {}  # day -> [(seconds, number as phone_number() gives it)], one per part sent
        self.day_gaps = {}  # day -> seconds of the day the device was off
        self.cut_seqs = {}  # day -> seq of BOOT / MODEM_RESET records
        self.first_s = self.last_s = None
        self.quota = {}  # "YYYY-MM" -> (quota bytes of that cycle, seq), from the cycle's rollover
        self.plans = []  # (seconds, quota bytes, seq) of every plan configured, in record order
        self.subscribers = []  # (seconds, old, new) of every change of the subscriber's number
        self.services = {}  # service -> {"ordered", "confirmed", "price", "charge_notice", "cancelled": (seconds, seq)}
        self.listings = []  # (seconds, seq, {service names}) of 10086's answers to "0000"
        self.records = 0
        previous_s = None
        for record in records:
            self._take(record, previous_s)
            previous_s = _seconds(record["time"])

    def day(self, seconds):
        return datetime.datetime.fromtimestamp(seconds + self.tz_minutes * 60, datetime.timezone.utc).strftime("%Y-%m-%d")

    def _take(self, record, previous_s):
        self.records += 1
        seconds = _seconds(record["time"])
        kind, fields, seq = record["type"], record["fields"], record["seq"]
        if self.first_s is None:
            self.first_s = seconds
        self.last_s = max(self.last_s or seconds, seconds)
        day = self.day(seconds)
        if kind == "usage":
            self.day_bytes[day] = self.day_bytes.get(day, 0) + fields["up_bytes"] + fields["down_bytes"]
            self.day_seqs.setdefault(day, []).append(seq)
        elif kind in ("boot", "modem_reset") and previous_s is not None:
            self.day_cuts[day] = self.day_cuts.get(day, 0) + 1
            self.cut_seqs.setdefault(day, []).append(seq)
            if kind == "boot" and fields.get("reason") == POWER_LOSS:
                self._gap(previous_s, seconds)
        elif kind == "config_changed" and fields.get("key") == "plan":
            plan = fields.get("new") or {}
            self.tz_minutes = plan.get("tz", self.tz_minutes)
            if plan.get("quota") is not None:
                self.plans.append((seconds, plan["quota"], seq))
        elif kind == "config_changed" and fields.get("key") == "subscriber":
            self.subscribers.append((seconds, fields.get("old"), fields.get("new")))
        elif kind == "cycle_rollover":
            # The cycle that just ended: its month is the local month of the day before.
            self.quota[self.day(seconds - 1)[:7]] = (fields["quota_bytes"], seq)
        elif kind == "reminder_sent":  # every SMS the device sends, one record a try
            parts = fields.get("message_ref")
            count = len(parts) if isinstance(parts, list) else 1
            self.day_sms[day] = self.day_sms.get(day, 0) + count
            self.day_sms_to.setdefault(day, []).extend([(seconds, phone_number(fields.get("to")))] * count)
        elif kind == "sms_received":
            self._service_event(fields, seconds, seq)

    def _gap(self, start_s, end_s):
        """The device was off from start_s to end_s: count the seconds on each day."""
        while start_s < end_s:
            day = self.day(start_s)
            local = datetime.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
            day_end = int(local.timestamp()) - self.tz_minutes * 60 + 86400
            step = min(end_s, day_end)
            self.day_gaps[day] = self.day_gaps.get(day, 0) + step - start_s
            start_s = step

    def _service_event(self, fields, seconds, seq):
        facts = fields.get("fields") or {}
        if fields.get("kind") == "services":
            self.listings.append((seconds, seq, {item[1] for item in facts.get("items") or ()}))
            return
        name = facts.get("service")
        event = {"order_request": "ordered", "order_confirmed": "confirmed", "charge_notice": "charge_notice",
                 "cancelled": "cancelled"}.get(fields.get("kind"))
        if not event or not name:
            return
        service = self.services.setdefault(name, {})
        if event == "cancelled" or event not in service:
            service[event] = (seconds, seq)
        if event == "confirmed" and facts.get("price") is not None:
            service["price"] = facts["price"]

    def covered(self, day):
        """True if the device watched the line the whole of this local day (but for short cuts)."""
        if self.first_s is None or not self.day(self.first_s) < day < self.day(self.last_s):
            return False
        return self.day_gaps.get(day, 0) <= GAP_ALLOWED_S

    def unlisted(self, name, seconds):
        """(seconds, seq) of the last "0000" list before `seconds` that did not show `name`
        (with no order confirmed after it), or None: the carrier's own word that the
        service was not subscribed then."""
        confirmed = self.services.get(name, {}).get("confirmed")
        for at, seq, names in reversed(self.listings):
            if at <= seconds:
                if name in names or (confirmed and confirmed[0] >= at):
                    return None
                return at, seq
        return None

    def month_bounds(self, month):
        """(start, end) in seconds of a local calendar month "YYYY-MM" of the plan's time zone."""
        year, mon = int(month[:4]), int(month[5:7])
        after = (year + mon // 12, mon % 12 + 1)
        starts = [int(datetime.datetime(y, m, 1, tzinfo=datetime.timezone.utc).timestamp()) - self.tz_minutes * 60
                  for y, m in ((year, mon), after)]
        return starts[0], starts[1]

    def month_quota(self, month):
        """(bytes, seq) of the plan quota for a calendar month: the quota of the cycle that
        ended with it, else the plan last configured before the month ended; None if the
        device knew no plan then. A plan configured later never answers for an earlier month."""
        if month in self.quota:
            return self.quota[month]
        end = self.month_bounds(month)[1]
        known = [(quota, seq) for at, quota, seq in self.plans if at < end]
        return known[-1] if known else None

    def first_plan_day(self):
        """The local day the device was first given a plan, or None."""
        return self.day(self.plans[0][0]) if self.plans else None

    def subscriber_numbers(self, month):
        """The subscriber numbers (as phone_number() gives them) the device had in a month: the
        one in force at its start and each set during it; if none was set by its end, the
        first one set later. An empty set when the ledger records none."""
        start, end = self.month_bounds(month)
        numbers = set()
        before = [new for at, _old, new in self.subscribers if at <= start]
        if before:
            numbers.add(before[-1])
        later = [(at, old, new) for at, old, new in self.subscribers if at > start]
        if not before and later and later[0][1]:
            numbers.add(later[0][1])  # the number the first change replaced was in force then
        numbers.update(new for at, _old, new in later if at < end)
        if not numbers and later:
            numbers.add(later[0][2])
        return {phone_number(n) for n in numbers if n}
