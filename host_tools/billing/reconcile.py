"""Billing error, double refund: the carrier's itemised bill against the device's evidence.

    report = reconcile(bill_paths, evidence, account="prepaid", today=date(2026, 12, 20))

Every bill row is read once (host_tools/billing/bill.py streams them) and checked:

- data: per local day, the volume billed against the volume the device metered,
  with the tolerances below; per row, the charge against the agreed out-of-plan
  tariff, given how much of the month's quota the rows before it used;
- voice: per row, the charge against the agreed price per started minute;
- SMS/MMS: per day, the count billed against the SMS the device sent (it is the
  only sender on the line); per row, the charge against the agreed price
  (messages to service numbers such as 10086 are free);
- value-added services: per row, against the subscription ledger the device kept
  from 10086's messages: confirmed (二次确认)? cancelled before the charge? charge
  reminder (扣费提醒) before the first deduction? charged the confirmed price?
- the plan fee: against the agreed fee less any promised discount.

Each discrepancy becomes a finding in one of the four kinds of seed-facts §3
(metering error, tariff not as agreed, promised discount not applied, usage or
service that never happened) or is excluded for one of its reasons. Refund = 2 x
the overcharge of each finding that is not excluded; money is integer fen.

Memory does not grow with the number of rows: days, months and services are
counted, findings are grouped by (month, kind of row, category, exclusion) and
keep their first EVIDENCE_LINES bill lines.
"""

import datetime

from host_tools.billing.bill import BillError, read_bill
from host_tools.billing.device_evidence import phone_number
from protocol import money
from protocol.units import KB, MB

EVIDENCE_LINES = 20
SMS_ROWS_KEPT = 1000  # a day's SMS rows kept to name the ones the device did not send

CATEGORIES = {
    "metering_error": "Metering error (计费误差: data volume, SMS count)",
    "tariff_not_as_agreed": "Charged other than the agreed tariff (未按约定资费收费)",
    "discount_not_applied": "Promised discount not applied (承诺优惠未兑现)",
    "never_happened": "Usage or service that never happened or was never ordered (未使用/未订购)",
    # Not one of the four: a day the device did not watch, where its records say nothing
    # either way. Always excluded (subscriber_own_doing); never claimed.
    "not_covered": "Not covered by the device: no evidence either way (设备未覆盖)",
}
EXCLUSIONS = {
    "corrected_before_charging": "Corrected before anything was charged",
    "subscriber_own_doing": "Not covered by the device: it did not watch the line then (off, or the SIM elsewhere: "
                            "the subscriber's own doing)",
    "interconnect_or_roaming_partner": "An interconnect or roaming partner's charge",
    "force_majeure": "Force majeure",
    # Counted from when the fee was charged: the bill it is on. Every bill reconcile
    # accepts is of the last 5 months, so a back-charge (补收) on one is in scope.
    "charged_over_two_years_ago": "Charged more than two years ago",
    "claimed_over_five_months_after_cancelling": "Claimed more than 5 months after the service was cancelled",
    "group_customer_product": "A group-customer product (its contract's rules apply)",
}
PAYMENT = {
    "prepaid": "account top-up or an equal-value recharge card",
    "postpaid": "account top-up, recharge card or deduction from the next bill",
}
DEFAULT_AGREEMENT = {
    "data_yuan_per_mb": "0.29",  # China Mobile's standard out-of-plan data price
    "voice_yuan_per_minute": "0.19",
    "sms_yuan": "0.10",
    "mms_yuan": "0.30",
    "free_numbers": ["10086"],
}
DEFAULT_TOLERANCES = {
    "data_relative_ppm": 1000,  # 0.1% of what the device metered
    "data_slack_per_day_kb": 64,  # a checkpoint's worth may fall on either side of midnight
    "data_slack_per_cut_kb": 64,  # what a power cut or modem reset may lose (the device's save budget)
    "data_rounding_kb_per_row": 1,  # the carrier rounds each row up to a whole KB
    "sms_count": 0,
}
REPLY_HOURS = 48  # seed-facts §6: every complaint gets a first reply within 48 hours
BILL_MONTHS = 5  # seed-facts §6: itemised bills of the last 5 months, not the current one


class ReconcileError(ValueError):
    """Input reconcile refuses (a bill outside the window, a missing plan, another line's bill); one line."""


def _ceil_div(a, b):
    return -(-a // b)


def _months_before(month, n):
    year, mon = int(month[:4]), int(month[5:7]) - n
    while mon < 1:
        year, mon = year - 1, mon + 12
    return "%04d-%02d" % (year, mon)


def bill_window(today):
    """The months the carrier must itemise on `today`: the last 5, not the current one."""
    this = today.strftime("%Y-%m")
    return [_months_before(this, n) for n in range(BILL_MONTHS, 0, -1)]


def _agreement_fen(agreement, key):
    value = agreement.get(key)
    if value is None:
        return None
    try:
        return money.fen_of_yuan(str(value))
    except ValueError:
        raise ReconcileError("agreement %s: %s" % (key, "expected yuan like 0.29, got %r" % value)) from None


class Finding:
    """A group of bill rows (or one day) with the same month, category and exclusion."""

    def __init__(self, month, item, category, excluded, explanation):
        self.month, self.item, self.category, self.excluded = month, item, category, excluded
        self.explanation = explanation
        self.overcharged_fen = 0
        self.rows = 0
        self.lines = []
        self.more_lines = 0
        self.ledger_seqs = []

    def add(self, fen, lines=(), seqs=(), rows=1):
        """`rows` more bill rows overcharged by `fen` in all, cited by `lines` and ledger `seqs`."""
        self.overcharged_fen += fen
        self.rows += rows
        for where in lines:
            if len(self.lines) < EVIDENCE_LINES:
                self.lines.append(where)
            else:
                self.more_lines += 1
        for seq in seqs:
            if seq not in self.ledger_seqs and len(self.ledger_seqs) < EVIDENCE_LINES:
                self.ledger_seqs.append(seq)


class Reconciliation:
    def __init__(self, evidence, account, today, agreement=None, tolerances=None, device_named=False):
        if account not in PAYMENT:
            raise ReconcileError("account must be prepaid or postpaid, got %r" % account)
        self.evidence, self.account, self.today = evidence, account, today
        self.device_named = device_named  # the technician named the device: another line's bill is reconciled
        self.agreement = dict(DEFAULT_AGREEMENT, **(agreement or {}))
        self.tolerances = dict(DEFAULT_TOLERANCES, **(tolerances or {}))
        unknown = set(self.tolerances) - set(DEFAULT_TOLERANCES)
        if unknown:
            raise ReconcileError("unknown tolerance(s) %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(DEFAULT_TOLERANCES)))
        self.fen_per_mb = _agreement_fen(self.agreement, "data_yuan_per_mb")
        self.fen_per_minute = _agreement_fen(self.agreement, "voice_yuan_per_minute")
        self.sms_fen = {"sms": _agreement_fen(self.agreement, "sms_yuan"), "mms": _agreement_fen(self.agreement, "mms_yuan")}
        self.plan_fee_fen = _agreement_fen(self.agreement, "plan_fee_yuan")
        self.window = bill_window(today)
        self.findings = {}
        self.bills = []
        self.phone_checks = []  # per bill: its 手机号码 against the device's subscriber
        self.months = set()
        # Per month: data used so far (bytes, domestic rows), for the in-plan / out-of-plan split.
        self._month_used = {}
        # Per day: the domestic data rows' billed bytes, their number, their first lines. A
        # roaming partner's rows are not in it: they are excluded on their own, never checked
        # against (or claimed from) what the device metered.
        self._days = {}
        self._sms_days = {}  # day -> [count, [(seconds, number, fair fen, where) ...] up to SMS_ROWS_KEPT]
        self._service_first = {}  # service -> start of its first charge seen
        self._reversals = {}  # (kind, start, number, item) -> [fen, where] of negative rows
        self._checks = {"data": self._data, "voice": self._voice, "sms": self._sms, "mms": self._sms,
                        "service": self._service, "plan": self._plan}
        self._overcharged_rows = {}  # same key -> (finding key, fen, where) of rows charged too much

    # --- reading -----------------------------------------------------------------

    def add_bill(self, path):
        """Read one bill to the end (BillError at its first bad row), then check its month
        and, when it names one (手机号码), its phone number against the device's subscriber."""
        latest = ""
        preamble = {}
        for item in read_bill(path, preamble):
            if item.start > latest:
                latest = item.start
            self._row(item)
        if not latest:
            raise BillError(path, 1, None, "no rows")
        latest = latest[:7]
        if latest not in self.window:
            raise ReconcileError(
                "%s is a bill for %s: outside the last %d months the carrier itemises on %s (%s to %s, not the current month)"
                % (path, latest, BILL_MONTHS, self.today.isoformat(), self.window[0], self.window[-1]))
        self._check_phone(path, latest, preamble.get("手机号码"))
        self.bills.append(path)
        self.months.add(latest)

    def _check_phone(self, path, month, phone):
        if not phone:
            return
        subscribers = sorted(self.evidence.subscriber_numbers(month))
        match = phone_number(phone) in subscribers if subscribers else None
        self.phone_checks.append({"bill": path, "phone": phone, "subscribers": subscribers, "match": match})
        if match is False and not self.device_named:
            raise ReconcileError(
                "%s is the bill of %s, but the device's subscriber in %s was %s: another line's bill? "
                "Reconcile it against that line's device, or name this device with --device to reconcile it anyway"
                % (path, phone, month, " or ".join(subscribers)))

    def _row(self, item):
        if item.charge_fen < 0:
            self._reversals[(item.kind, item.start, item.number, item.item)] = (-item.charge_fen, item.where())
            return
        self._checks[item.kind](item)

    def _finding(self, month, item, category, excluded, explanation):
        key = (month, item, category, excluded)
        finding = self.findings.get(key)
        if finding is None:
            finding = self.findings[key] = Finding(month, item, category, excluded, explanation)
        return finding

    def _row_finding(self, row, category, fen, item, explanation, excluded=None):
        """An overcharged row; remembered so that a reversal later in the bill can exclude it."""
        excluded = excluded or self._excluded_by_date(row.day)
        if row.roaming and category == "tariff_not_as_agreed":
            excluded = excluded or "interconnect_or_roaming_partner"
        key = (row.month, item, category, excluded)
        self._finding(*key, explanation).add(fen, [row.where()])
        self._overcharged_rows[(row.kind, row.start, row.number, row.item)] = (key, fen, row.where())

    def _excluded_by_date(self, day):
        """Force majeure on the day of the usage. ("Charged more than two years ago" counts
        from the bill a fee is on, never from the usage: every bill accepted is of the last
        5 months, so an old day's back-charge on it is in scope.)"""
        for period in self.agreement.get("force_majeure", ()):
            if period["from"] <= day <= period["to"]:
                return "force_majeure"
        return None

    # --- each kind of row ------------------------------------------------------------

    def _quota(self, month):
        known = self.evidence.month_quota(month)
        if known is None:
            if self.agreement.get("plan_quota_mb") is None:
                first = self.evidence.first_plan_day()
                raise ReconcileError(
                    "the ledger has no data plan for %s%s: pull the device, or give the month's quota with "
                    "--plan-quota-mb N (plan_quota_mb in the agreement)"
                    % (month, " (the device's first plan dates from %s)" % first if first else ""))
            try:
                return int(self.agreement["plan_quota_mb"]) * MB, None
            except (TypeError, ValueError):
                raise ReconcileError("agreement plan_quota_mb: expected a whole number of MB, got %r"
                                     % self.agreement["plan_quota_mb"]) from None
        return known

    def _data(self, row):
        n = row.bytes
        if row.roaming:
            expected, in_plan = 0, 0  # a partner's tariff: not the agreed domestic one
        else:
            day = self._days.get(row.start[:10])
            if day is None:
                day = self._days[row.start[:10]] = [0, 0, []]
            day[0] += n
            day[1] += 1
            if len(day[2]) < EVIDENCE_LINES:
                day[2].append(row.where())
            month = row.start[:7]
            used = self._month_used.get(month)
            if used is None:  # [bytes so far, fen charged, quota]
                used = self._month_used[month] = [0, 0, self._quota(month)[0]]
            before, quota = used[0], used[2]
            used[0] += n
            used[1] += row.charge_fen
            out = max(0, before + n - max(quota, before))
            in_plan = row.bytes - out
            expected = _ceil_div(out * self.fen_per_mb, MB)
        over = row.charge_fen - expected
        if over <= 0:
            return
        covered_part = min(over, _ceil_div(in_plan * self.fen_per_mb, MB)) if in_plan else 0
        if covered_part:
            self._row_finding(row, "discount_not_applied", covered_part, "data",
                              "data within the plan's quota charged; the plan's 套餐优惠 covers it")
        if over - covered_part:
            self._row_finding(row, "tariff_not_as_agreed", over - covered_part, "data",
                              "out-of-plan data charged above the agreed %s yuan/MB" % money.yuan(self.fen_per_mb))

    def _voice(self, row):
        expected = _ceil_div(row.seconds, 60) * self.fen_per_minute
        if row.charge_fen > expected:
            self._row_finding(row, "tariff_not_as_agreed", row.charge_fen - expected, "voice",
                              "calls charged above the agreed %s yuan per started minute" % money.yuan(self.fen_per_minute))

    def _sms(self, row):
        free = row.number in self.agreement["free_numbers"]
        expected = 0 if free else self.sms_fen[row.kind]
        day = self._sms_days.setdefault(row.day, [0, []])
        day[0] += 1
        if len(day[1]) < SMS_ROWS_KEPT:
            # What a metering finding may claim of it: the charge a tariff finding leaves.
            day[1].append((self._local_seconds(row.start), phone_number(row.number), min(row.charge_fen, expected),
                           row.where()))
        if row.charge_fen > expected:
            self._row_finding(row, "tariff_not_as_agreed", row.charge_fen - expected, row.kind,
                              "messages to %s are free" % row.number if free else
                              "%s charged above the agreed %s yuan" % (row.kind.upper(), money.yuan(expected)))

    def _service(self, row):
        if row.charge_fen <= 0:
            return
        name = row.item
        ledger = self.evidence.services.get(name, {})
        group = name in self.agreement.get("group_products", ()) or "集团" in row.provider
        excluded = "group_customer_product" if group else None
        first = name not in self._service_first
        self._service_first.setdefault(name, row.start)
        start_s = self._local_seconds(row.start)
        cancelled = ledger.get("cancelled")
        if "confirmed" not in ledger:
            unlisted = self.evidence.unlisted(name, start_s)
            if "ordered" in ledger:
                why = "charged for %s: 10086 asked for the order's confirmation (二次确认) and none was given" % name
            elif unlisted:
                why = "charged for %s, which 10086's own 0000 list did not show and was never ordered since" % name
            else:
                return  # ordered before the device watched the line: no evidence either way
            self._row_finding(row, "never_happened", row.charge_fen, "service " + name, why, excluded)
        elif cancelled and cancelled[0] <= start_s:
            late = self._months_after(cancelled[0], 5) < self.today.isoformat()
            excluded = excluded or ("claimed_over_five_months_after_cancelling" if late else None)
            why = "charged for %s after it was cancelled (退订成功 on record)" % name
            self._row_finding(row, "never_happened", row.charge_fen, "service " + name, why, excluded)
        elif first and ledger["confirmed"][0] <= start_s and not (ledger.get("charge_notice") and ledger["charge_notice"][0] <= start_s):
            why = "first deduction for %s without the charge reminder (扣费提醒) that lets the subscriber cancel first" % name
            self._row_finding(row, "never_happened", row.charge_fen, "service " + name, why, excluded)
        elif ledger.get("price") is not None and row.charge_fen > ledger["price"]:
            why = "%s charged above the %s yuan confirmed in the order" % (name, money.yuan(ledger["price"]))
            self._row_finding(row, "tariff_not_as_agreed", row.charge_fen - ledger["price"], "service " + name, why, excluded)

    def _plan(self, row):
        if self.plan_fee_fen is None:
            return
        percent = sum(d["percent"] for d in self.agreement.get("discounts", ()) if d["from"] <= row.month <= d["to"])
        expected = self.plan_fee_fen * (100 - percent) // 100
        over = row.charge_fen - expected
        if over <= 0:
            return
        discount_part = min(over, self.plan_fee_fen - expected)
        if discount_part:
            self._row_finding(row, "discount_not_applied", discount_part, "plan fee",
                              "the promised %d%% off the %s yuan plan fee was not applied" % (percent, money.yuan(self.plan_fee_fen)))
        if over - discount_part:
            self._row_finding(row, "tariff_not_as_agreed", over - discount_part, "plan fee",
                              "plan fee above the agreed %s yuan" % money.yuan(self.plan_fee_fen))

    def _local_seconds(self, start):
        local = datetime.datetime.strptime(start, "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
        return int(local.timestamp()) - self.evidence.tz_minutes * 60

    def _months_after(self, seconds, months):
        day = self.evidence.day(seconds)
        year, mon = int(day[:4]), int(day[5:7]) + months
        year, mon = year + (mon - 1) // 12, (mon - 1) % 12 + 1
        return "%04d-%02d%s" % (year, mon, day[7:])

    # --- after all rows ----------------------------------------------------------------

    def _apply_reversals(self):
        for key, (fen, where) in self._reversals.items():
            found = self._overcharged_rows.get(key)
            if found is None:
                continue
            finding_key, over, row_where = found
            finding = self.findings[finding_key]
            moved = min(fen, over)  # a reversal may take back part of the overcharge only
            finding.overcharged_fen -= moved
            if moved == over:
                finding.rows -= 1
                if row_where in finding.lines:
                    finding.lines.remove(row_where)
            month, item, category, _excluded = finding_key
            corrected = self._finding(month, item, category, "corrected_before_charging",
                                      "charged and reversed in the same bill: corrected before charging")
            corrected.add(moved, [row_where, where])
            if finding.rows == 0:
                del self.findings[finding_key]

    def _data_volume(self):
        """Per day: billed volume beyond the device's count and the tolerances; its money."""
        by_month = {}
        for day in sorted(self._days):
            by_month.setdefault(day[:7], []).append(day)
        for month, days in by_month.items():
            quota, _seq = self._quota(month)
            volumes = [self._days[d][0] for d in days]  # domestic bytes: what the money walk counts
            excesses = [(i, self._excess(day)) for i, day in enumerate(days)]
            excesses = [(i, e) for i, e in excesses if e > 0]
            fair = volumes[:]
            for i, excess in excesses:
                fair[i] = max(0, fair[i] - excess)
            # What was charged beyond the fair charge, at most, is shared out: a charge
            # the carrier's own volume implies but it never made is no overcharge.
            budget = max(0, min(self._month_used[month][1], self._walk_fen(volumes, quota)) - self._walk_fen(fair, quota))
            for i, excess in excesses:
                before = self._walk_fen(volumes, quota)
                volumes[i] = fair[i]
                fen = min(before - self._walk_fen(volumes, quota), budget)
                budget -= fen
                self._volume_finding(days[i], excess, fen)

    def _excess(self, day):
        tol = self.tolerances
        billed, rows = self._days[day][:2]
        device = self.evidence.day_bytes.get(day, 0)
        cuts = self.evidence.day_cuts.get(day, 0)
        slack = (device * tol["data_relative_ppm"] // 1000000 + rows * tol["data_rounding_kb_per_row"] * KB
                 + (tol["data_slack_per_day_kb"] + cuts * tol["data_slack_per_cut_kb"]) * KB)
        return billed - device - slack

    def _volume_finding(self, day, excess, fen):
        billed, rows, lines = self._days[day]
        device = self.evidence.day_bytes.get(day, 0)
        # Nothing but what a checkpoint just after midnight carries over: no usage that day.
        nothing = device <= self.tolerances["data_slack_per_day_kb"] * KB
        category = "never_happened" if nothing else "metering_error"
        excluded = self._excluded_by_date(day)
        why = ("billed %s MB on %s; the device metered %s MB, %d power cut(s) or modem reset(s) that day: "
               "%s MB beyond the tolerances" % (_mb(billed), day, _mb(device), self.evidence.day_cuts.get(day, 0), _mb(excess)))
        if not self.evidence.covered(day):
            # The device did not watch the line all day: its count says nothing either way.
            category, excluded = "not_covered", excluded or "subscriber_own_doing"
            why = ("billed %s MB on %s, a day not covered by the device (it watched the line for part of it at "
                   "most, and metered %s MB then)" % (_mb(billed), day, _mb(device)))
        finding = self._finding(day[:7], "data " + day, category, excluded, why)
        finding.add(fen, lines, self.evidence.day_seqs.get(day, [])[:EVIDENCE_LINES] + self.evidence.cut_seqs.get(day, []), rows)

    def _walk_fen(self, volumes, quota):
        """Out-of-plan charge, at the agreed tariff, of a month's daily domestic volumes."""
        used = fen = 0
        for v in volumes:
            out = max(0, used + v - max(quota, used))
            fen += _ceil_div(out * self.fen_per_mb, MB)
            used += v
        return fen

    def _unsent(self, day, rows):
        """The billed messages of a day the device did not send: each message the device sent
        (a part a row) is paired with the billed row to the same number nearest in time; the
        rows left over."""
        sent = {}
        for at, number in self.evidence.day_sms_to.get(day, ()):
            sent.setdefault(number, []).append(at)
        left = []
        for number in sorted({row[1] for row in rows}):
            billed = sorted((row for row in rows if row[1] == number), key=lambda row: row[0])
            times = sent.get(number, [])
            pairs = sorted((abs(row[0] - at), i, j) for i, row in enumerate(billed) for j, at in enumerate(times))
            used_rows, used_sends = set(), set()
            for _distance, i, j in pairs:
                if i not in used_rows and j not in used_sends:
                    used_rows.add(i)
                    used_sends.add(j)
            left += [row for i, row in enumerate(billed) if i not in used_rows]
        return sorted(left, key=lambda row: (row[0], row[3]))

    def _sms_counts(self):
        allowed = self.tolerances["sms_count"]
        for day in sorted(self._sms_days):
            count, rows = self._sms_days[day]
            sent = self.evidence.day_sms.get(day, 0)
            if count - sent - allowed <= 0:
                continue
            unsent = self._unsent(day, rows)
            # Within the tolerance: the cheapest of them are not claimed.
            claimed = sorted(sorted(unsent, key=lambda row: row[2])[allowed:], key=lambda row: (row[0], row[3]))
            claimed = [row for row in claimed if row[2] > 0]  # a free one, or one a tariff finding claims whole
            fen = sum(row[2] for row in claimed)
            if not claimed or fen <= 0:
                continue
            excluded = self._excluded_by_date(day)
            category = "metering_error"
            numbers = sorted({row[1] for row in claimed})
            why = ("%d message(s) billed on %s to %s that the device, the line's only sender, did not send "
                   "(%d billed that day, %d sent)" % (len(claimed), day, ", ".join(numbers), count, sent))
            if not self.evidence.covered(day):
                category, excluded = "not_covered", excluded or "subscriber_own_doing"
                why = "%d message(s) billed on %s, a day not covered by the device" % (len(claimed), day)
            finding = self._finding(day[:7], "SMS " + day, category, excluded, why)
            finding.add(fen, [row[3] for row in claimed], rows=len(claimed))

    def report(self):
        """The whole result as plain data (see protocol of `edgemeter reconcile --json`)."""
        self._apply_reversals()
        self._data_volume()
        self._sms_counts()
        ordered = sorted(self.findings.values(), key=lambda f: (f.month, f.item, f.category, f.excluded or ""))
        findings = []
        for number, f in enumerate(ordered, 1):
            qualifies = f.excluded is None
            findings.append({
                "id": number,
                "month": f.month,
                "item": f.item,
                "category": f.category,
                "category_text": CATEGORIES[f.category],
                "excluded": f.excluded,
                "excluded_text": EXCLUSIONS.get(f.excluded),
                "explanation": f.explanation,
                "rows": f.rows,
                "overcharged_fen": f.overcharged_fen,
                "refund_fen": 2 * f.overcharged_fen if qualifies else 0,
                "payment": PAYMENT[self.account] if qualifies and f.overcharged_fen else None,
                "cash_max_fen": f.overcharged_fen if qualifies else 0,
                "evidence": {"bill_lines": f.lines, "more_bill_lines": f.more_lines, "ledger_seqs": sorted(f.ledger_seqs)},
            })
        qualifying = [f for f in findings if not f["excluded"]]
        return {
            "account": self.account,
            "today": self.today.isoformat(),
            "months": sorted(self.months),
            "window": self.window,
            "bills": self.bills,
            "phone_checks": self.phone_checks,
            "agreement": self.agreement,
            "tolerances": self.tolerances,
            "findings": findings,
            "daily": self._daily(),
            "total_overcharged_fen": sum(f["overcharged_fen"] for f in qualifying),
            "total_refund_fen": sum(f["refund_fen"] for f in qualifying),
            "total_excluded_fen": sum(f["overcharged_fen"] for f in findings if f["excluded"]),
        }

    def _daily(self):
        daily = []
        for month in sorted(self.months):
            day = datetime.date(int(month[:4]), int(month[5:]), 1)
            while day.strftime("%Y-%m") == month:
                key = day.isoformat()
                metered = key in self.evidence.day_bytes or self.evidence.covered(key)
                # billed_bytes: the domestic rows, checked against the device (not a roaming partner's)
                daily.append({"day": key, "billed_bytes": self._days.get(key, [0])[0],
                              "device_bytes": self.evidence.day_bytes.get(key, 0) if metered else None})
                day += datetime.timedelta(days=1)
        return daily


def _mb(n):
    return "%.1f" % (n / MB) if abs(n) < 100 * MB else "%d" % (n // MB)


def reconcile(bill_paths, evidence, account, today, agreement=None, tolerances=None, device_named=False):
    """Read every bill, then report. Raises BillError or ReconcileError, having reported nothing.
    `device_named`: the technician named the device, so a bill whose phone number is not
    its subscriber's is reconciled (and the mismatch reported in phone_checks)."""
    run = Reconciliation(evidence, account, today, agreement, tolerances, device_named)
    for path in bill_paths:
        run.add_bill(path)
    return run.report()
