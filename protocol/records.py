"""The record schema: every event the device meters or decides, as a compact CBOR map.

A record is a CBOR map with small integer keys. Keys 0-7 are common to all
records (`K_...`); keys from 8 up are the type's own fields. The device id
and the log epoch are properties of the whole log: on flash and on the wire they
travel once (log metadata, once per SMP response) and the host adds them back as
keys 3 and 4, so the logical record carries all of them.

This module is the one table of the schema. Each record type is a constant
(`USAGE`), and each of its fields a constant named `TYPE__FIELD`
(`USAGE__UP_BYTES`): the firmware writes records with these names, and the host's
names for people (record_names.py) are read off them, the type's name and the
field's name in lower case. protocol/SPEC.md's CDDL is checked against them by
tests/host/test_record_schema.py.

They are bound with `micropython.const`: inside this module the compiler folds
them, and elsewhere each use is one attribute lookup. On CPython `const` is the
identity.

On flash and on the wire each record body is framed as
    u16 big-endian length | body (CBOR map) | u32 big-endian CRC-32 of body
so the host checks the very bytes the device wrote.
"""

import binascii
import struct

from protocol import cbor

try:
    from micropython import const
except ImportError:  # CPython: the host

    def const(value):
        return value


# Common keys.
K_TYPE = const(0)
K_SEQ = const(1)
K_TIME = const(2)  # device UTC, seconds since 1970
K_DEVICE = const(3)
K_EPOCH = const(4)
K_MAC = const(5)  # protocol.auth.record_mac over the body without it, chained to the previous record's
FIRST_FIELD = const(8)  # the types' own fields start here

# Record types, each followed by its fields.
BOOT = const(1)
BOOT__REASON = const(8)  # BOOT_POWER_ON ...
BOOT__FIRMWARE = const(9)  # firmware version

USAGE = const(2)  # bytes metered since the previous USAGE record
USAGE__UP_BYTES = const(8)
USAGE__DOWN_BYTES = const(9)
USAGE__SOURCE = const(10)  # SOURCE_MODEM_COUNTER
USAGE__TOTAL_BYTES = const(11)  # the meter's running total

CYCLE_ROLLOVER = const(3)
CYCLE_ROLLOVER__CYCLE_START = const(8)  # the new cycle's start
CYCLE_ROLLOVER__USED_BYTES = const(9)  # of the closed cycle
CYCLE_ROLLOVER__QUOTA_BYTES = const(10)  # of the closed cycle

THRESHOLD_CROSSED = const(4)
THRESHOLD_CROSSED__THRESHOLD_BYTES = const(8)  # the threshold: bytes left
THRESHOLD_CROSSED__REMAINING_BYTES = const(9)  # bytes left at the crossing

REMINDER_SENT = const(5)
REMINDER_SENT__KIND = const(8)  # "threshold", "balance_low", "query_data", ...
REMINDER_SENT__TO = const(9)
REMINDER_SENT__MESSAGE_REF = const(10)  # each part's message reference
REMINDER_SENT__TEXT = const(11)  # its first characters

REMINDER_DELIVERED = const(6)
REMINDER_DELIVERED__KIND = const(8)
REMINDER_DELIVERED__MESSAGE_REF = const(10)
REMINDER_DELIVERED__STATUS = const(12)  # the status report's TP-Status

REMINDER_FAILED = const(7)
REMINDER_FAILED__KIND = const(8)
REMINDER_FAILED__MESSAGE_REF = const(10)
REMINDER_FAILED__ERROR = const(13)
REMINDER_FAILED__ATTEMPTS = const(14)
REMINDER_FAILED__FINAL = const(15)  # given up

DATA_CUT = const(8)
DATA_CUT__REASON = const(8)  # REASON_AT_ZERO ...
DATA_CUT__REMAINING_BYTES = const(9)

DATA_RESUMED = const(9)
DATA_RESUMED__REASON = const(8)
DATA_RESUMED__REMAINING_BYTES = const(9)

BALANCE = const(10)  # what the carrier said of the prepaid balance
BALANCE__BALANCE_FEN = const(8)
BALANCE__SOURCE = const(9)  # BALANCE_FROM_QUERY ...
BALANCE__EXPIRES = const(10)  # the date the carrier gave, "YYYY-MM-DD"

SMS_RECEIVED = const(11)
SMS_RECEIVED__FROM = const(8)
SMS_RECEIVED__TEXT = const(9)  # a chunk of it
SMS_RECEIVED__KIND = const(10)  # firmware/sms/carrier_texts.py
SMS_RECEIVED__CHUNK = const(11)
SMS_RECEIVED__CHUNKS = const(12)
SMS_RECEIVED__FIELDS = const(13)  # the figures read
SMS_RECEIVED__SENT = const(14)  # SMSC time stamp

CONFIG_CHANGED = const(12)
CONFIG_CHANGED__KEY = const(8)
CONFIG_CHANGED__OLD = const(9)
CONFIG_CHANGED__NEW = const(10)

MODEM_RESET = const(13)
MODEM_RESET__REASON = const(8)

GAP = const(14)  # detail the log had no room for; takes a seq of its own
GAP__DROPPED = const(8)  # records dropped
GAP__FIRST_TIME = const(9)
GAP__LAST_TIME = const(10)

AUTH_FAILED = const(15)
AUTH_FAILED__WHY = const(8)
AUTH_FAILED__GROUP = const(9)
AUTH_FAILED__COMMAND = const(10)
AUTH_FAILED__FAILURES = const(11)  # in a row

WATCHDOG = const(16)  # a task made no progress: the watchdog resets the board (firmware/supervisor.py)
WATCHDOG__TASK = const(8)  # its name: "metering", "smp", "sms", "modem"
WATCHDOG__SILENT_MS = const(9)  # real ms since its last sign of progress

SAFE_MODE = const(17)  # boot loops: metering and SMS stop, SMP stays (firmware/safe_mode.py)
SAFE_MODE__ENTERED = const(8)  # true: entered at this boot; false: left
SAFE_MODE__CRASHES = const(9)  # early crashes in a row
SAFE_MODE__CRASH = const(10)  # the last one: exception type and message
SAFE_MODE__WHERE = const(11)  # and where: "firmware/metering/plan.py:40"

TYPE_LAST = const(SAFE_MODE)

# Boot reasons (BOOT__REASON).
BOOT_POWER_ON = const(0)
BOOT_WATCHDOG = const(1)
BOOT_RESET_COMMAND = const(2)
BOOT_POWER_LOSS = const(3)
BOOT_REASONS = ("power-on", "watchdog", "reset-command", "power-loss")

# Counter sources (USAGE__SOURCE).
SOURCE_MODEM_COUNTER = const(0)  # the modem's data counter (AT+QGDCNT or the dialect's equivalent)

# Where a balance came from (BALANCE__SOURCE).
BALANCE_FROM_QUERY = const(0)  # the reply to the device's balance query
BALANCE_FROM_TOPUP = const(1)  # a top-up notice

# Why data was cut or resumed (DATA_CUT__REASON / DATA_RESUMED__REASON).
REASON_AT_ZERO = const(0)  # no data left and the plan says cut
REASON_QUOTA = const(1)  # data left again: an add-on, a pack or a new cycle
REASON_SNOOZE = const(2)  # the subscriber chose to go on past zero this cycle (overage)

FRAME_OVERHEAD = const(6)  # u16 length + u32 CRC-32
MAX_BODY = const(1024)  # a record never needs more; a larger length on flash is corruption


class RecordError(ValueError):
    """A frame or record that is not what this schema says."""


def body(rtype, seq, time, fields, mac=None):
    """CBOR body of a record; `fields` maps the type's own keys (`TYPE__FIELD`) to values;
    `mac` (16 bytes) goes under K_MAC."""
    record = {K_TYPE: rtype, K_SEQ: seq, K_TIME: time}
    if mac is not None:
        record[K_MAC] = mac
    for key in fields:
        if key < FIRST_FIELD:
            raise RecordError("type-specific keys start at %d, got %d" % (FIRST_FIELD, key))
        record[key] = fields[key]
    return cbor.dumps(record)


def config_change(key, old, new):
    """The fields of a CONFIG_CHANGED record: what changed, from what, to what."""
    return {CONFIG_CHANGED__KEY: key, CONFIG_CHANGED__OLD: old, CONFIG_CHANGED__NEW: new}


def unsigned_body(record):
    """The body a signed record's MAC covers: its map without K_MAC, encoded again
    (canonical CBOR: the bytes the device signed)."""
    record = dict(record)
    record.pop(K_MAC, None)
    return cbor.dumps(record)


def frame(record_body, limit=MAX_BODY):
    """Length + body + CRC-32: a record as written to flash and sent over SMP
    (also the device's small state files, with a larger `limit`)."""
    head, tail = frame_ends(record_body, limit)
    return head + record_body + tail


def frame_ends(record_body, limit=MAX_BODY):
    """(length, CRC-32) of frame(record_body): written around the body, no copy of it is made."""
    if len(record_body) > limit:
        raise RecordError("record of %d bytes exceeds %d" % (len(record_body), limit))
    return struct.pack(">H", len(record_body)), struct.pack(">I", binascii.crc32(record_body))


def body_of(data, limit=MAX_BODY):
    """The body of the frame that fills `data`, as a memoryview of it; RecordError if
    it is cut short, longer, or its CRC is wrong."""
    if len(data) < FRAME_OVERHEAD:
        raise RecordError("frame cut short")
    length = struct.unpack_from(">H", data, 0)[0]
    if length == 0 or length > limit or length + FRAME_OVERHEAD != len(data):
        raise RecordError("bad frame length %d" % length)
    body = memoryview(data)[2 : 2 + length]
    if struct.unpack_from(">I", data, 2 + length)[0] != binascii.crc32(body):
        raise RecordError("CRC-32 mismatch")
    return body


def unframe(data, offset=0, limit=MAX_BODY):
    """(body, end) of the frame at `offset`; RecordError if it is cut short or its CRC is wrong."""
    if len(data) - offset < FRAME_OVERHEAD:
        raise RecordError("frame cut short")
    length = struct.unpack_from(">H", data, offset)[0]
    end = offset + 2 + length + 4
    if length == 0 or length > limit or end > len(data):
        raise RecordError("bad frame length %d" % length)
    record_body = bytes(data[offset + 2 : offset + 2 + length])
    if struct.unpack_from(">I", data, end - 4)[0] != binascii.crc32(record_body):
        raise RecordError("CRC-32 mismatch")
    return record_body, end


def decode(record_body):
    """The record map of a body; RecordError unless it has a known type, a seq and a time."""
    try:
        record = cbor.loads(record_body)
    except ValueError as error:
        raise RecordError("record is not CBOR: %s" % error)
    if not isinstance(record, dict):
        raise RecordError("record is not a map")
    for key in (K_TYPE, K_SEQ, K_TIME):
        if not isinstance(record.get(key), int) or isinstance(record.get(key), bool):
            raise RecordError("record lacks integer key %d" % key)
    if not 1 <= record[K_TYPE] <= TYPE_LAST:
        raise RecordError("unknown record type %d" % record[K_TYPE])
    return record
