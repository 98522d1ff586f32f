"""10 MB / 5 MB / 0 MB reminders: once each per cycle, re-armed by add-ons and rollover."""

from firmware.metering.reminders import Reminders, default_text
from protocol.units import MB


def test_each_threshold_fires_once_in_order():
    r = Reminders()
    fired = []
    for left in (50 * MB, 11 * MB, 10 * MB, 9 * MB, 6 * MB, 5 * MB, 2 * MB, 0, -3 * MB, -5 * MB):
        for t in r.update(left, 1):
            fired.append(t)
            r.mark_sent(t)
    assert fired == [10 * MB, 5 * MB, 0]


def test_a_jump_past_several_thresholds_sends_each_highest_first():
    r = Reminders()
    assert r.update(4 * MB, 1) == [10 * MB, 5 * MB]
    assert r.pending() == [10 * MB, 5 * MB]


def test_pending_survives_a_reboot_until_sent():
    r = Reminders()
    r.update(9 * MB, 1)
    again = Reminders()
    again.load(r.as_dict())
    assert again.pending() == [10 * MB]
    assert again.update(9 * MB, 1) == []  # not crossed a second time
    again.mark_sent(10 * MB)
    assert again.pending() == [] and again.update(8 * MB, 1) == []


def test_add_on_rearms_and_cancels_what_is_no_longer_true():
    r = Reminders()
    for t in r.update(4 * MB, 1):
        r.mark_sent(t)
    r.update(3 * MB, 1)
    assert r.update(7 * MB, 1) == []  # a small add-on lifts data left above 5 MB only
    assert r.update(4 * MB, 1) == [5 * MB]
    r.update(600 * MB, 1)
    assert r.update(10 * MB, 1) == [10 * MB]


def test_rollover_rearms_everything():
    r = Reminders()
    for t in r.update(0, 1):
        r.mark_sent(t)
    assert r.update(0, 1) == []
    assert r.update(100 * MB, 2) == []
    assert r.update(9 * MB, 2) == [10 * MB]


def test_default_texts_state_the_mb_left():
    assert "剩余流量为10MB" in default_text(10 * MB, True)
    assert "剩余0MB" in default_text(0, True) and "暂停上网" in default_text(0, True)
    assert "套餐外资费" in default_text(0, False)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
