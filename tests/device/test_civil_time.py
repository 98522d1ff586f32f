"""RFC 3339 date-times on the device: parse and format without the C library."""

from protocol import civil_time


def test_epoch_and_known_dates():
    assert civil_time.parse_utc_ms("1970-01-01T00:00:00") == 0
    assert civil_time.parse_utc_ms("2000-02-29T12:00:00Z") == 951825600000
    assert civil_time.format_utc(951825600000) == "2000-02-29T12:00:00.000+00:00"
    assert civil_time.format_utc(0) == "1970-01-01T00:00:00.000+00:00"


def test_time_zone_offsets_convert_to_utc():
    beijing = civil_time.parse_utc_ms("2026-12-01T08:00:00+08:00")
    assert beijing == civil_time.parse_utc_ms("2026-12-01T00:00:00Z")
    assert civil_time.parse_utc_ms("2026-11-30T19:00:00-05:00") == beijing


def test_fraction_of_a_second_keeps_milliseconds():
    assert civil_time.parse_utc_ms("2026-12-01T00:00:00.5") % 1000 == 500
    assert civil_time.parse_utc_ms("2026-12-01T00:00:00.123456") % 1000 == 123
    ms = civil_time.parse_utc_ms("2026-12-01T00:00:00.007")
    assert civil_time.format_utc(ms).endswith("00:00:00.007+00:00")


def test_days_round_trip_over_three_centuries():
    day = civil_time.days_from_civil(1900, 1, 1)
    end = civil_time.days_from_civil(2200, 12, 31)
    while day <= end:
        y, m, d = civil_time.civil_from_days(day)
        assert civil_time.days_from_civil(y, m, d) == day, (y, m, d)
        day += 37


def test_format_then_parse_is_identity():
    for ms in (0, 1, 86399999, 1764547200000, 4102444799999, 1709164800123):
        assert civil_time.parse_utc_ms(civil_time.format_utc(ms)) == ms


def test_bad_date_times_are_refused_with_a_reason():
    bad = (
        "2026-13-01T00:00:00",
        "2026-02-29T00:00:00",
        "2026-04-31T00:00:00",
        "2026-12-01T24:00:00",
        "2026-12-01T23:60:00",
        "2026-12-01 23:59",
        "2026-12-01X00:00:00",
        "2026-12-01T00:00:00+8",
        "2026-12-01T00:00:00+08:00junk",
        "2026-12-01T00:00:00.",
        "26-12-01T00:00:00",
        "",
        "２０２６-12-01T00:00:00",
    )
    for text in bad:
        try:
            civil_time.parse_utc_ms(text)
        except ValueError as error:
            assert str(error), text
        else:
            raise AssertionError("accepted %r" % text)
    for value in (None, 20261201, b"2026-12-01T00:00:00"):
        try:
            civil_time.parse_utc_ms(value)
        except ValueError:
            pass
        else:
            raise AssertionError("accepted %r" % (value,))


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
