"""The meter: counter readings to exact increments, across restarts and reboots."""

from firmware.metering.meter import Meter


def test_increments_are_differences():
    meter = Meter()
    assert meter.observe(100, 1000) == (100, 1000)
    assert meter.observe(150, 5000) == (50, 4000)
    assert meter.observe(150, 5000) == (0, 0)
    assert (meter.up, meter.down, meter.total) == (150, 5000, 5150)


def test_a_counter_going_backwards_is_a_restart_not_a_loss():
    meter = Meter()
    meter.observe(1000, 9000)
    assert meter.observe(10, 20) == (10, 20)  # restarted: everything read is new
    assert meter.restarts == 1
    assert meter.observe(15, 2**40) == (5, 2**40 - 20)  # large counters stay exact
    assert meter.total == 1015 + 9000 + 2**40


def test_soft_reset_resumes_counters_without_double_counting():
    first = Meter()
    first.observe(300, 7000)
    state = first.checkpoint(1000, 1796000000000)
    second = Meter()
    second.resume(state, modem_kept_power=True)
    assert second.observe(350, 7100) == (50, 100)
    assert second.total == 7450


def test_power_loss_restarts_from_zero_counters():
    first = Meter()
    first.observe(300, 7000)
    state = first.checkpoint(1000, 1796000000000)
    second = Meter()
    second.resume(state, modem_kept_power=False)
    assert second.observe(40, 60) == (40, 60)
    assert second.total == 7400


def test_checkpoint_budget_in_bytes_and_time():
    meter = Meter(budget_bytes=1000, budget_ms=60000)
    meter.resume(None, False)
    assert not meter.checkpoint_due(0)
    meter.observe(0, 999)
    assert not meter.checkpoint_due(1)
    meter.observe(0, 1000)
    assert meter.checkpoint_due(2)
    meter.saved(meter.checkpoint(2, 0))
    assert not meter.checkpoint_due(3)
    meter.observe(0, 1001)
    assert not meter.checkpoint_due(60001)
    assert meter.checkpoint_due(60002)
    meter.saved(meter.checkpoint(60002, 0))
    assert not meter.checkpoint_due(999999)  # nothing new: no write, no wear


def test_checkpoint_counts_what_the_modem_will_count_before_the_next_reading():
    meter = Meter(budget_bytes=1000, budget_ms=60000)
    meter.resume(None, False)
    meter.observe(0, 600)
    assert not meter.checkpoint_due(1, coming=399)
    assert meter.checkpoint_due(1, coming=400)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
