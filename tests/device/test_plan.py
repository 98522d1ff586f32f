"""Plan cycles in the plan's time zone, and this cycle's quota."""

from firmware import civil_time
from firmware.plan import MB, Plan, cycle_bounds


def _ms(text):
    return civil_time.parse_utc_ms(text)


def test_cycle_starts_at_local_midnight_of_the_cycle_day():
    start, end = cycle_bounds(_ms("2026-12-15T12:00:00+08:00"), 1, 480)
    assert start == _ms("2026-12-01T00:00:00+08:00") and end == _ms("2027-01-01T00:00:00+08:00")


def test_rollover_across_a_utc_date_boundary():
    # 2026-12-31T16:30Z is already 2027-01-01 00:30 in Beijing: a new cycle there.
    start, _end = cycle_bounds(_ms("2026-12-31T16:30:00Z"), 1, 480)
    assert start == _ms("2027-01-01T00:00:00+08:00")
    start, _end = cycle_bounds(_ms("2026-12-31T15:59:59Z"), 1, 480)
    assert start == _ms("2026-12-01T00:00:00+08:00")


def test_cycle_day_in_short_months_and_before_the_day():
    start, end = cycle_bounds(_ms("2027-02-28T10:00:00+08:00"), 31, 480)
    assert start == _ms("2027-02-28T00:00:00+08:00") and end == _ms("2027-03-31T00:00:00+08:00")
    start, end = cycle_bounds(_ms("2027-01-10T00:00:00+08:00"), 15, 480)
    assert start == _ms("2026-12-15T00:00:00+08:00") and end == _ms("2027-01-15T00:00:00+08:00")


def test_quota_counts_add_ons_of_this_cycle_only():
    plan = Plan(100 * MB, 1, 480)
    plan.addons.append((_ms("2026-12-20T00:00:00+08:00"), 500 * MB))
    assert plan.quota(_ms("2026-12-25T00:00:00+08:00")) == 600 * MB
    assert plan.quota(_ms("2027-01-02T00:00:00+08:00")) == 100 * MB
    plan.carried = 30 * MB
    assert plan.quota(_ms("2027-01-02T00:00:00+08:00")) == 130 * MB


def test_plan_round_trips_and_refuses_nonsense():
    plan = Plan(100 * MB, 5, -300, "warn")
    plan.addons.append((1, 2))
    again = Plan.from_dict(plan.as_dict())
    assert again.as_dict() == plan.as_dict()
    for args in ((1, 0), (1, 32), (1, 1, 0, "stop")):
        try:
            Plan(*args)
        except ValueError:
            pass
        else:
            raise AssertionError(args)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
