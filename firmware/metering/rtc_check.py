"""At boot: an RTC behind the last time the device saved has lost its battery.

A board's RTC keeps time on a small battery; when it goes flat the RTC comes up
at its reset value (2000-01-01 on most chips) and every record, every billing
cycle and every expiry date would be judged against that. The meter's
checkpoint holds the wall-clock time it was saved at (firmware/metering/meter.py), and a
clock set over SMP saves one at once, so the true time is at least that: the
RTC is put back there, and the boot says so in a record (the technician sets
the exact time with `edgemeter clock set`). Metering never depends on it: it
runs on the monotonic clock.
"""

from firmware.metering.meter import unpacked


def restore(clock, saved):
    """Set `clock` to the wall time of the meter's checkpoint `saved`, as kept on
    flash (None: none yet), if it is behind it; returns (rtc_ms, restored_ms) when
    it did, else None."""
    saved = unpacked(saved)
    floor = saved.get("wall") if saved else None
    rtc_ms = clock.now_ms()
    if not isinstance(floor, int) or rtc_ms >= floor:
        return None
    clock.set_ms(floor)
    return rtc_ms, floor
