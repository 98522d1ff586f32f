"""The data plan: this cycle's quota and where the cycle starts and ends.

A plan has a monthly quota, a cycle day (the day of the month the quota renews,
at local midnight in the plan's time zone; in a short month, day 29-31 fall on
the month's last day), add-on packs valid for the cycle they were bought in, and
multi-month packs (a quota spread over several cycles, the unused part carried
to the next cycle while the pack lasts). Byte counts are integers; 1 MB is
1,048,576 bytes, as carriers bill.
"""

from firmware import civil_time

MB = 1048576
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
    def __init__(self, quota_bytes, cycle_day=1, tz_minutes=480, at_zero="cut"):
        if not 1 <= cycle_day <= 31:
            raise ValueError("cycle_day must be 1..31")
        if at_zero not in ("cut", "warn"):
            raise ValueError("at_zero must be 'cut' or 'warn'")
        self.quota_bytes = quota_bytes
        self.cycle_day = cycle_day
        self.tz_minutes = tz_minutes
        self.at_zero = at_zero
        self.addons = []  # (bought_ms, bytes): valid in the cycle they were bought in
        self.carried = 0  # from a multi-month pack, set at rollover

    def bounds(self, now_ms):
        return cycle_bounds(now_ms, self.cycle_day, self.tz_minutes)

    def quota(self, now_ms):
        """This cycle's quota: plan + add-ons bought this cycle + carried quota."""
        start, end = self.bounds(now_ms)
        extra = sum(size for bought, size in self.addons if start <= bought < end)
        return self.quota_bytes + extra + self.carried

    def as_dict(self):
        return {
            "quota": self.quota_bytes,
            "cycle_day": self.cycle_day,
            "tz": self.tz_minutes,
            "at_zero": self.at_zero,
            "addons": [list(a) for a in self.addons],
            "carried": self.carried,
        }

    @classmethod
    def from_dict(cls, data):
        plan = cls(data["quota"], data["cycle_day"], data["tz"], data["at_zero"])
        plan.addons = [tuple(a) for a in data.get("addons", ())]
        plan.carried = data.get("carried", 0)
        return plan
