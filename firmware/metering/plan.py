"""The data plan: this cycle's quota and where the cycle starts and ends.

A plan has a monthly quota, a cycle day (the day of the month the quota renews,
at local midnight in the plan's time zone; in a short month, day 29-31 fall on
the month's last day), add-on packs valid for the cycle they were bought in, and
multi-month packs (quarterly, half-year: a quota shared by several cycles, the
unused part carried to the next cycle while the pack lasts).

Usage draws on the monthly quota and this cycle's add-ons first (they expire
first); what goes beyond them is taken from the packs at rollover, the pack that
ends first first (`rollover`). Byte counts are integers; 1 MB is 1,048,576
bytes, as carriers bill.
"""

from protocol import civil_time
from protocol import settings

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_days(year, month):
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def _cycle_start_in(year, month, cycle_day, tz_minutes):
    day = min(cycle_day, _month_days(year, month))
    return (civil_time.days_from_civil(year, month, day) * 86400 - tz_minutes * 60) * 1000


def cycle_bounds(now_ms, cycle_day, tz_minutes):
    """(start_ms, end_ms) of the cycle that contains now_ms."""
    local_days = (now_ms // 1000 + tz_minutes * 60) // 86400
    year, month, _day = civil_time.civil_from_days(local_days)
    start = _cycle_start_in(year, month, cycle_day, tz_minutes)
    if start > now_ms:
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        start = _cycle_start_in(year, month, cycle_day, tz_minutes)
    next_year, next_month = (year, month + 1) if month < 12 else (year + 1, 1)
    return start, _cycle_start_in(next_year, next_month, cycle_day, tz_minutes)


class Plan:
    def __init__(self, quota_bytes, cycle_day=settings.PLAN_DEFAULTS["cycle_day"],
                 tz_minutes=settings.PLAN_DEFAULTS["tz"], at_zero=settings.PLAN_DEFAULTS["at_zero"]):
        settings.check("cycle_day", cycle_day)
        settings.check("at_zero", at_zero)
        self.quota_bytes = quota_bytes
        self.cycle_day = cycle_day
        self.tz_minutes = tz_minutes
        self.at_zero = at_zero
        self.addons = []  # (bought_ms, bytes): valid in the cycle they were bought in
        self.packs = []  # [start_ms, end_ms, bytes left]: multi-month packs, by end

    def bounds(self, now_ms):
        return cycle_bounds(now_ms, self.cycle_day, self.tz_minutes)

    def _monthly(self, start, end):
        return self.quota_bytes + sum(size for bought, size in self.addons if start <= bought < end)

    def quota(self, now_ms):
        """This cycle's quota: plan + add-ons bought this cycle + what multi-month packs have left."""
        start, end = self.bounds(now_ms)
        packs = sum(left for first, last, left in self.packs if first <= start < last)
        return self._monthly(start, end) + packs

    def add_pack(self, now_ms, months, size):
        """A pack of `size` bytes bought now, shared by this cycle and the next `months` - 1."""
        settings.check("months", months)
        settings.check("pack", size)
        start, end = self.bounds(now_ms)
        for _ in range(months - 1):
            end = self.bounds(end)[1]
        self.packs.append([start, end, size])
        self.packs.sort(key=lambda pack: pack[1])

    def rollover(self, cycle_start, used):
        """The cycle from `cycle_start` ended having used `used` bytes: charge the
        packs with what went beyond the monthly quota, forget what has expired."""
        start, end = self.bounds(cycle_start)
        beyond = used - self._monthly(start, end)
        for pack in self.packs:
            if pack[0] <= start < pack[1] and beyond > 0:
                taken = min(pack[2], beyond)
                pack[2] -= taken
                beyond -= taken
        self.packs = [pack for pack in self.packs if pack[1] > end and pack[2] > 0]
        self.addons = [addon for addon in self.addons if addon[0] >= end]

    def as_dict(self):
        return {
            "quota": self.quota_bytes,
            "cycle_day": self.cycle_day,
            "tz": self.tz_minutes,
            "at_zero": self.at_zero,
            "addons": [list(a) for a in self.addons],
            "packs": [list(p) for p in self.packs],
        }

    @classmethod
    def from_dict(cls, data):
        plan = cls(data["quota"], data["cycle_day"], data["tz"], data["at_zero"])
        plan.addons = [tuple(a) for a in data.get("addons", ())]
        plan.packs = [list(p) for p in data.get("packs", ())]
        return plan
