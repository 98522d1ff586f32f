"""UTC date-time strings without the C library: parse and format RFC 3339.

The unix port's time.mktime follows the host's local time zone and boards differ
in their epoch, so the conversion between calendar dates and days since 1970 is
done here with Howard Hinnant's days_from_civil / civil_from_days algorithms,
which are exact for every Gregorian date.
"""

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MS_PER_DAY = 86400000


def days_from_civil(year, month, day):
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days):
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _is_leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def format_utc(epoch_ms):
    """'2026-12-01T00:00:00.000+00:00' for an epoch in milliseconds."""
    days, ms = divmod(epoch_ms, _MS_PER_DAY)
    year, month, day = civil_from_days(days)
    seconds, ms = divmod(ms, 1000)
    hour, seconds = divmod(seconds, 3600)
    minute, second = divmod(seconds, 60)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03d+00:00" % (year, month, day, hour, minute, second, ms)


def _number(text, start, width):
    part = text[start : start + width]
    if len(part) != width or not all("0" <= c <= "9" for c in part):
        raise ValueError("expected %d digits at position %d" % (width, start))
    return int(part)


def _expect(text, index, char):
    if text[index : index + 1] != char:
        raise ValueError("expected %r at position %d" % (char, index))


def parse_utc_ms(text):
    """Epoch milliseconds of 'YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]'.

    No zone means UTC (the SMP date-time command's own form). Raises ValueError
    naming what is wrong.
    """
    if not isinstance(text, str):
        raise ValueError("date-time must be a text string")
    year = _number(text, 0, 4)
    _expect(text, 4, "-")
    month = _number(text, 5, 2)
    _expect(text, 7, "-")
    day = _number(text, 8, 2)
    if text[10:11] not in ("T", "t", " "):
        raise ValueError("expected 'T' at position 10")
    hour = _number(text, 11, 2)
    _expect(text, 13, ":")
    minute = _number(text, 14, 2)
    _expect(text, 16, ":")
    second = _number(text, 17, 2)
    if not 1 <= month <= 12:
        raise ValueError("month out of range")
    days_in_month = 29 if month == 2 and _is_leap(year) else _DAYS_IN_MONTH[month - 1]
    if not 1 <= day <= days_in_month or hour > 23 or minute > 59 or second > 59:
        raise ValueError("date or time out of range")
    index = 19
    ms = 0
    if text[index : index + 1] == ".":
        end = index + 1
        while end < len(text) and "0" <= text[end] <= "9":
            end += 1
        digits = text[index + 1 : end]
        if not digits or len(digits) > 9:
            raise ValueError("bad fraction of a second")
        ms = int((digits + "00")[:3])
        index = end
    offset_min = 0
    zone = text[index:]
    if zone in ("Z", "z"):
        pass
    elif zone:
        if zone[0] not in "+-" or len(zone) != 6:
            raise ValueError("bad time zone %r" % zone)
        offset_h = _number(zone, 1, 2)
        _expect(zone, 3, ":")
        offset_m = _number(zone, 4, 2)
        if offset_h > 23 or offset_m > 59:
            raise ValueError("time zone out of range")
        offset_min = (offset_h * 60 + offset_m) * (1 if zone[0] == "+" else -1)
    seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    return (seconds - offset_min * 60) * 1000 + ms
