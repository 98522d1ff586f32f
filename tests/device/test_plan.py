"""Plan cycles in the plan's time zone, and this cycle's quota."""

from firmware.metering.plan import Plan, cycle_bounds
from protocol import civil_time
from protocol.units import MB


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


def test_a_quarterly_pack_is_shared_by_three_cycles_and_used_after_the_monthly_quota():
    plan = Plan(100 * MB, 15, 480)
    plan.add_pack(_ms("2026-12-20T10:00:00+08:00"), 3, 300 * MB)  # cycles from Dec 15, Jan 15, Feb 15
    assert plan.packs == [[_ms("2026-12-15T00:00:00+08:00"), _ms("2027-03-15T00:00:00+08:00"), 300 * MB]]
    assert plan.quota(_ms("2026-12-20T10:00:00+08:00")) == 400 * MB
    assert plan.quota(_ms("2026-12-01T10:00:00+08:00")) == 100 * MB  # the cycle before: not yet
    plan.addons.append((_ms("2026-12-21T00:00:00+08:00"), 50 * MB))
    plan.rollover(_ms("2026-12-15T00:00:00+08:00"), 180 * MB)  # 30 MB beyond plan + add-on
    assert plan.quota(_ms("2027-01-20T00:00:00+08:00")) == 370 * MB and plan.addons == []
    plan.rollover(_ms("2027-01-15T00:00:00+08:00"), 90 * MB)  # within the monthly quota
    assert plan.quota(_ms("2027-02-20T00:00:00+08:00")) == 370 * MB
    plan.rollover(_ms("2027-02-15T00:00:00+08:00"), 100 * MB)
    assert plan.quota(_ms("2027-03-20T00:00:00+08:00")) == 100 * MB and plan.packs == []  # expired


def test_packs_overlapping_are_drawn_down_in_order_of_expiry():
    plan = Plan(0, 1, 0)
    plan.add_pack(_ms("2027-01-05T00:00:00Z"), 6, 60 * MB)
    plan.add_pack(_ms("2027-01-06T00:00:00Z"), 2, 20 * MB)
    plan.rollover(_ms("2027-01-01T00:00:00Z"), 30 * MB)
    assert [p[2] for p in plan.packs] == [50 * MB]  # the 2-month pack went first, and is gone
    assert plan.quota(_ms("2027-02-10T00:00:00Z")) == 50 * MB


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
