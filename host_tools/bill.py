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
from fractions import Fraction

from protocol import money

KINDS = ("data", "voice", "sms", "mms", "service", "plan")
KB = 1024
_CHUNK = 1 << 20

_MONEY = re.compile(r"[+-]?[0-9]+(?:\.[0-9]{1,2})?", re.ASCII)
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


class BillItem:
    """One billed row. `start` is "YYYY-MM-DD HH:MM:SS" local time; money in fen."""

    __slots__ = ("kind", "start", "location", "network", "seconds", "bytes", "number", "item", "provider",
                 "discount_fen", "charge_fen", "path", "line")

    def __init__(self, kind, start, location="", network="", seconds=0, bytes_=0, number="", item="", provider="",
                 discount_fen=0, charge_fen=0, path="", line=0):
        self.kind, self.start, self.location, self.network = kind, start, location, network
        self.seconds, self.bytes, self.number, self.item, self.provider = seconds, bytes_, number, item, provider
        self.discount_fen, self.charge_fen, self.path, self.line = discount_fen, charge_fen, path, line

    @property
    def day(self):
        return self.start[:10]

    @property
    def month(self):
        return self.start[:7]

    @property
    def roaming(self):
        """Charged through a partner network abroad (国际漫游 / roaming)."""
        return "roaming" in self.network.lower() or "漫游" in self.network or "漫游" in self.location

    def where(self):
        return "%s:%d" % (self.path, self.line)

    def as_dict(self):
        return {name: getattr(self, name) for name in self.__slots__}


# --- cell parsers: each raises ValueError with what it expected ----------------


def _fen(text):
    text = text.strip().lstrip("¥￥").removesuffix("元").strip()
    if not _MONEY.fullmatch(text):
        raise ValueError("expected an amount in yuan like 12.34, got %r" % text)
    return money.fen_of_yuan(text)


def _start(text):
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


def _text(text):
    return text.strip()


# --- schemas -----------------------------------------------------------------------
# Each column: (BillItem attribute, parser). A schema: required and optional columns.

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
    "discount_yuan": ("discount_fen", _fen),
    "charge_yuan": ("charge_fen", _fen),
}
ENGLISH_REQUIRED = ("type", "start", "charge_yuan")
# What each type needs besides the required columns.
ENGLISH_NEEDS = {"data": "volume_kb", "voice": "duration_s", "service": "item", "plan": "item"}

_CN_COMMON = {"起始时间": ("start", _start), "套餐优惠": ("discount_fen", _fen), "通信费": ("charge_fen", _fen),
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


def read_bill(path):
    """The items of the bill at `path`, in file order; BillError at the first bad row."""
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
            yield from _carrier(path, reader, row)


def _columns(path, line, header, known, required):
    missing = [name for name in required if name not in header]
    if missing:
        raise BillError(path, line, None, "header lacks column(s) %s (has: %s)" % (", ".join(missing), ", ".join(header)))
    duplicate = sorted({name for name in header if name and header.count(name) > 1})
    if duplicate:
        raise BillError(path, line, None, "column(s) %s appear twice" % ", ".join(duplicate))
    return [(i, name) + known[name] for i, name in enumerate(header) if name in known]


def _item(path, line, row, columns, kind, width):
    if len(row) != width:
        raise BillError(path, line, None, "%d cells where the header has %d" % (len(row), width))
    item = BillItem(kind, "", path=path, line=line)
    for i, name, attribute, parse in columns:
        cell = row[i]
        if not cell.strip() and attribute not in ("start", "charge_fen", "kind"):
            continue
        try:
            setattr(item, attribute, parse(cell))
        except ValueError as error:
            raise BillError(path, line, name, str(error)) from None
    return item


def _english(path, reader, header):
    columns = _columns(path, reader.line_num, header, ENGLISH_COLUMNS, ENGLISH_REQUIRED)
    kind_at = header.index("type")
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        line = reader.line_num
        item = _item(path, line, row, columns, "", len(header))
        if item.kind not in KINDS:
            raise BillError(path, line, "type", "expected one of %s, got %r" % (", ".join(KINDS), row[kind_at]))
        need = ENGLISH_NEEDS.get(item.kind)
        if need and (need not in header or not row[header.index(need)].strip()):
            raise BillError(path, line, need, "a %s row needs %s" % (item.kind, need))
        yield item


def _carrier(path, reader, first):
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
            section = (kind, _columns(path, reader.line_num, header, known, required), len(header))
        elif any(cell.strip() for cell in row):
            if section is None:
                if len([c for c in row if c.strip()]) <= 2:
                    row = _next_row(reader)  # the export's preamble: 客户姓名, 手机号码, 账期 ...
                    continue
                raise BillError(path, reader.line_num, None, "a row before any section title (%s)" % ", ".join(CARRIER_SECTIONS))
            kind, columns, width = section
            item = _item(path, reader.line_num, row, columns, kind, width)
            if kind == "sms" and "彩信" in item.item:
                item.kind = "mms"
            yield item
        row = _next_row(reader)
    if section is None:
        raise BillError(path, reader.line_num, None, "no section title (%s) in the carrier's export" % ", ".join(CARRIER_SECTIONS))


def _next_row(reader):
    for row in reader:
        if any(cell.strip() for cell in row):
            return row
    return None
