"""Itemised bills (话费清单): the carrier's rows read exactly, one at a time.

Two schemas, both documented with an example in docs/bill-formats.md:

- our CSV: a header row of English column names (type, start, ... charge_yuan);
- the carrier's own export: sections (上网详单, 通话详单, 短彩信详单, 增值业务详单,
  套餐及固定费详单), each a title line, a header row of Chinese column names
  (起始时间, 通信地点, 上网方式, 总流量, 套餐优惠, 通信费 ...) and its rows.

Files are UTF-8 (with or without BOM) or GB18030. Amounts are yuan with at most
two decimals and become integer fen; volumes become bytes (KB = 1024 bytes, as
the carrier bills). Times are the carrier's local time, as printed.

`read_bill(path)` yields `BillItem`s and never holds more than one row: a
million-row bill costs no more memory than a small one. A row it cannot read
raises `BillError` naming the file, line and column; the caller then uses
nothing of that bill (reconcile reads every bill to the end before it reports).
"""

import codecs
import csv
import re
from collections import namedtuple

from protocol import money
from protocol.units import KB
from fractions import Fraction


KINDS = ("data", "voice", "sms", "mms", "service", "plan")
_KIND_SET = frozenset(KINDS)
_CHUNK = 1 << 20

_PLAIN_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-2][0-9]:[0-5][0-9]:[0-5][0-9]", re.ASCII)
_TIME = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?", re.ASCII)
_VOLUME = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(B|KB|K|MB|M|GB|G)?", re.ASCII | re.IGNORECASE)
_DURATION_CN = re.compile(r"(?:([0-9]+)(?:小时|时))?(?:([0-9]+)分(?:钟)?)?(?:([0-9]+)秒)?")
_UNIT_BYTES = {"b": 1, "kb": KB, "k": KB, "mb": KB * KB, "m": KB * KB, "gb": KB**3, "g": KB**3, None: KB}


class BillError(ValueError):
    """A bill that cannot be read; str() names the file, line and column."""

    def __init__(self, path, line, column, message):
        where = "%s:%d" % (path, line) + (" column %s" % column if column else "")
        super().__init__("%s: %s" % (where, message))
        self.path, self.line, self.column = path, line, column


# What a row says, in this order; then where it is (path, line) and whether a
# roaming partner charged it (国际漫游, network "roaming").
ROW_FIELDS = ("kind", "start", "location", "network", "seconds", "bytes", "number", "item", "provider",
              "discount_fen", "charge_fen")


class BillItem(namedtuple("BillItem", ROW_FIELDS + ("path", "line", "roaming"))):
    """One billed row. `start` is "YYYY-MM-DD HH:MM:SS" local time; money in fen; volume in bytes.
    A tuple: a million of them are made and read, never changed."""

    __slots__ = ()

    @property
    def day(self):
        return self.start[:10]

    @property
    def month(self):
        return self.start[:7]

    def where(self):
        return "%s:%d" % (self.path, self.line)

    def as_dict(self):
        return self._asdict()


# --- cell parsers: each raises ValueError with what it expected ----------------


def _fen(text):
    try:
        return money.fen_of_yuan(text.strip().lstrip("¥￥").removesuffix("元"))
    except ValueError:
        raise ValueError("expected an amount in yuan like 12.34, got %r" % text) from None


_valid_days = {}  # "YYYY-MM-DD" -> is a real date: a bill has few days and many rows


def _start(text):
    if _PLAIN_TIME.fullmatch(text) and text[11:13] < "24":  # the common spelling, checked fast
        day = text[:10]
        valid = _valid_days.get(day)
        if valid is None:
            y, mo, d = int(day[:4]), int(day[5:7]), int(day[8:])
            valid = _valid_days[day] = 1 <= mo <= 12 and 1 <= d <= _days_in_month(y, mo)
        if valid:
            return text
    match = _TIME.fullmatch(text.strip())
    if not match:
        raise ValueError("expected a time like 2026-11-12 08:30:00, got %r" % text)
    y, mo, d, h, mi, s = (int(g or 0) for g in match.groups())
    if not (1 <= mo <= 12 and 1 <= d <= _days_in_month(y, mo) and h < 24 and mi < 60 and s < 60):
        raise ValueError("no such time: %r" % text)
    return "%04d-%02d-%02d %02d:%02d:%02d" % (y, mo, d, h, mi, s)


def _days_in_month(year, month):
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _volume(text):
    """'1536', '1536KB', '1.5MB', '2GB' as bytes (a bare number is KB); rounded up to a byte."""
    match = _VOLUME.fullmatch(text.strip())
    if not match:
        raise ValueError("expected a volume like 1536KB or 1.50MB, got %r" % text)
    unit = match.group(2).lower() if match.group(2) else None
    exact = Fraction(match.group(1)) * _UNIT_BYTES[unit]
    return -(-exact.numerator // exact.denominator)


def _kb(text):
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        raise ValueError("expected a whole number of KB, got %r" % text)
    return int(text) * KB


def _seconds(text):
    """'83', '00:01:23', '1分23秒', '1小时2分3秒' as seconds."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        return int(text)
    parts = text.split(":")
    if len(parts) in (2, 3) and all(p.isascii() and p.isdigit() for p in parts):
        seconds = 0
        for p in parts:
            seconds = seconds * 60 + int(p)
        return seconds
    match = _DURATION_CN.fullmatch(text)
    if text and match:
        h, m, s = (int(g or 0) for g in match.groups())
        return h * 3600 + m * 60 + s
    raise ValueError("expected a duration like 83, 00:01:23 or 1分23秒, got %r" % text)


def _remembered(parse, empty=None):
    """`parse` remembering its answers: a bill repeats its amounts and volumes
    ("0.00", "2.90", "10240") over and over. `empty`: the value of an empty cell."""
    known = {}

    def parse_remembered(text):
        value = known.get(text)
        if value is None:
            value = empty if empty is not None and (not text or text.isspace()) else parse(text)
            if len(known) < 4096:
                known[text] = value
        return value

    return parse_remembered


_text = str.strip
_charge = _remembered(_fen)
_seconds, _kb, _volume, _discount = (_remembered(f, 0) for f in (_seconds, _kb, _volume, _fen))


# --- schemas -----------------------------------------------------------------------
# Each column: (BillItem field, parser). A schema: required and optional columns.

ENGLISH_COLUMNS = {
    "type": ("kind", _text),
    "start": ("start", _start),
    "location": ("location", _text),
    "network": ("network", _text),
    "duration_s": ("seconds", _seconds),
    "volume_kb": ("bytes", _kb),
    "number": ("number", _text),
    "item": ("item", _text),
    "provider": ("provider", _text),
    "discount_yuan": ("discount_fen", _discount),
    "charge_yuan": ("charge_fen", _charge),
}
ENGLISH_REQUIRED = ("type", "start", "charge_yuan")
# What each type needs besides the required columns.
ENGLISH_NEEDS = {"data": "volume_kb", "voice": "duration_s", "service": "item", "plan": "item"}

_CN_COMMON = {"起始时间": ("start", _start), "套餐优惠": ("discount_fen", _discount), "通信费": ("charge_fen", _charge),
              "通信地点": ("location", _text)}
CARRIER_SECTIONS = {
    "上网详单": ("data", dict(_CN_COMMON, 上网方式=("network", _text), 上网时长=("seconds", _seconds),
                              总流量=("bytes", _volume)), ("起始时间", "通信地点", "上网方式", "总流量", "套餐优惠", "通信费")),
    "通话详单": ("voice", dict(_CN_COMMON, 通信方式=("network", _text), 对方号码=("number", _text),
                              通信时长=("seconds", _seconds)), ("起始时间", "通信地点", "对方号码", "通信时长", "套餐优惠", "通信费")),
    "短彩信详单": ("sms", dict(_CN_COMMON, 对方号码=("number", _text), 信息类型=("item", _text),
                                业务名称=("provider", _text)), ("起始时间", "对方号码", "信息类型", "通信费")),
    "增值业务详单": ("service", dict(_CN_COMMON, 业务名称=("item", _text), 服务提供商=("provider", _text)),
                      ("起始时间", "业务名称", "服务提供商", "通信费")),
    "套餐及固定费详单": ("plan", dict(_CN_COMMON, 费用名称=("item", _text)), ("起始时间", "费用名称", "通信费")),
}


def detect_encoding(path):
    """'utf-8-sig' if the whole file is UTF-8, else 'gb18030' if that reads it; BillError otherwise."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as f:
                while chunk := f.read(_CHUNK):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
        except OSError as error:
            raise BillError(path, 0, None, "cannot read: %s" % error.strerror) from None
    raise BillError(path, 1, None, "neither UTF-8 nor GB18030 text; export the bill again as CSV")


def bill_phone(path):
    """The phone number the bill at `path` names in its preamble (手机号码), or None."""
    preamble = {}
    for _item in read_bill(path, preamble):
        break  # the preamble comes before the first row
    return preamble.get("手机号码") or None


def read_bill(path, preamble=None):
    """The items of the bill at `path`, in file order; BillError at the first bad row.
    `preamble`: a dict that gets the carrier export's preamble lines before its first
    section, name to value (手机号码: the line's phone number, 客户姓名, 账期 ...)."""
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, newline="") as f:
        reader = csv.reader(f)
        for row in reader:
            if any(cell.strip() for cell in row):
                break
        else:
            raise BillError(path, max(reader.line_num, 1), None, "empty bill")
        header = [cell.strip().lower() for cell in row]
        if "type" in header and "start" in header:
            yield from _english(path, reader, header)
        else:
            yield from _carrier(path, reader, row, {} if preamble is None else preamble)


def _check_header(path, line, header, known, required):
    missing = [name for name in required if name not in header]
    if missing:
        raise BillError(path, line, None, "header lacks column(s) %s (has: %s)" % (", ".join(missing), ", ".join(header)))
    duplicate = sorted({name for name in header if name and header.count(name) > 1})
    if duplicate:
        raise BillError(path, line, None, "column(s) %s appear twice" % ", ".join(duplicate))


class _Plan(list):
    """For each of ROW_FIELDS: (cell index, parser, column name). A field no column gives
    reads the empty cell appended to every row (index -1): "" or 0, or `kind`.

    `values(row)` applies them all. It is one generated expression,
    `[p0(row[3]), p1(row[0]), ...]`, made from the steps' indexes alone: a loop over
    the steps would cost a third of the time it takes to read a million rows."""

    def __init__(self, steps):
        super().__init__(steps)
        names = {"p%d" % k: parse for k, (_i, parse, _name) in enumerate(steps)}
        cells = ", ".join("p%d(row[%d])" % (k, i) for k, (i, _parse, _name) in enumerate(steps))
        self.values = eval("lambda row: [%s]" % cells, names)  # noqa: S307 (integers and our own parsers only)


def _plan(header, known, kind):
    plan = []
    for field in ROW_FIELDS:
        names = [name for name in header if name in known and known[name][0] == field]
        if names:
            plan.append((header.index(names[0]), known[names[0]][1], names[0]))
        elif field == "kind":
            plan.append((-1, lambda _empty: kind, None))
        else:
            plan.append((-1, _text if field in ("location", "network", "number", "item", "provider") else _remembered(int, 0), None))
    return _Plan(plan)


def _item(path, line, row, plan, width):
    if len(row) != width:
        raise BillError(path, line, None, "%d cells where the header has %d" % (len(row), width))
    row.append("")
    try:
        values = plan.values(row)
    except ValueError:
        for i, parse, name in plan:  # find the cell, for the message
            try:
                parse(row[i])
            except ValueError as error:
                raise BillError(path, line, name, str(error)) from None
        raise
    where = (values[3], values[2])  # network, location
    roaming = _roaming.get(where)
    if roaming is None:
        roaming = "roaming" in where[0].lower() or "漫游" in where[0] or "漫游" in where[1]
        if len(_roaming) < 4096:
            _roaming[where] = roaming
    return BillItem(*values, path, line, roaming)


_roaming = {}  # (network, location) -> charged by a roaming partner: a bill has few of them


def _english(path, reader, header):
    _check_header(path, reader.line_num, header, ENGLISH_COLUMNS, ENGLISH_REQUIRED)
    plan = _plan(header, ENGLISH_COLUMNS, None)
    kind_at = header.index("type")
    # kind -> (column, its index or None): what each kind of row cannot do without.
    needs = {kind: (name, header.index(name) if name in header else None) for kind, name in ENGLISH_NEEDS.items()}
    width = len(header)
    for row in reader:
        if not any(row) or (len(row) != width and not "".join(row).strip()):
            continue  # a blank line
        line = reader.line_num
        item = _item(path, line, row, plan, width)
        if item.kind not in _KIND_SET:
            raise BillError(path, line, "type", "expected one of %s, got %r" % (", ".join(KINDS), row[kind_at]))
        need = needs.get(item.kind)
        if need and (need[1] is None or not row[need[1]].strip()):
            raise BillError(path, line, need[0], "a %s row needs %s" % (item.kind, need[0]))
        yield item


def _carrier(path, reader, first, preamble):
    """Sections: a title line, then a header, then rows up to the next title."""
    row, section = first, None
    while row is not None:
        title = row[0].strip() if row else ""
        if title in CARRIER_SECTIONS and not any(cell.strip() for cell in row[1:]):
            kind, known, required = CARRIER_SECTIONS[title]
            header = _next_row(reader)
            if header is None:
                raise BillError(path, reader.line_num, None, "section %s has no header row" % title)
            header = [cell.strip() for cell in header]
            _check_header(path, reader.line_num, header, known, required)
            section = (_plan(header, known, kind), len(header))
        elif any(cell.strip() for cell in row):
            if section is None:
                cells = [c.strip() for c in row if c.strip()]
                if len(cells) <= 2:
                    if len(cells) == 2:
                        preamble.setdefault(cells[0].rstrip(":："), cells[1])
                    row = _next_row(reader)  # the export's preamble: 客户姓名, 手机号码, 账期 ...
                    continue
                raise BillError(path, reader.line_num, None, "a row before any section title (%s)" % ", ".join(CARRIER_SECTIONS))
            plan, width = section
            item = _item(path, reader.line_num, row, plan, width)
            if item.kind == "sms" and "彩信" in item.item:
                item = item._replace(kind="mms")
            yield item
        row = _next_row(reader)
    if section is None:
        raise BillError(path, reader.line_num, None, "no section title (%s) in the carrier's export" % ", ".join(CARRIER_SECTIONS))


def _next_row(reader):
    for row in reader:
        if any(cell.strip() for cell in row):
            return row
    return None
