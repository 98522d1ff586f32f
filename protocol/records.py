"""The record schema: every event the device meters or decides, as a compact CBOR map.

A record is a CBOR map with small integer keys. Keys 0-7 are common to all
records; keys from 8 up are the type's own fields (see record_names.py). The device id
and the log epoch are properties of the whole log: on flash and on the wire they
travel once (log metadata, once per SMP response) and the host adds them back as
keys 3 and 4, so the logical record carries all of them.

On flash and on the wire each record body is framed as
    u16 big-endian length | body (CBOR map) | u32 big-endian CRC-32 of body
so the host checks the very bytes the device wrote. protocol/SPEC.md has the
CDDL.
"""

import binascii
import struct

from protocol import cbor

# Common keys.
K_TYPE = 0
K_SEQ = 1
K_TIME = 2  # device UTC, seconds since 1970
K_DEVICE = 3
K_EPOCH = 4
K_MAC = 5  # protocol.auth.record_mac over the body without it, chained to the previous record's

# Record types.
BOOT = 1
USAGE = 2
CYCLE_ROLLOVER = 3
THRESHOLD_CROSSED = 4
REMINDER_SENT = 5
REMINDER_DELIVERED = 6
REMINDER_FAILED = 7
DATA_CUT = 8
DATA_RESUMED = 9
BALANCE = 10
SMS_RECEIVED = 11
CONFIG_CHANGED = 12
MODEM_RESET = 13
GAP = 14
AUTH_FAILED = 15

# Boot reasons (BOOT field "reason").
BOOT_POWER_ON = 0
BOOT_WATCHDOG = 1
BOOT_RESET_COMMAND = 2
BOOT_POWER_LOSS = 3
BOOT_REASONS = ("power-on", "watchdog", "reset-command", "power-loss")

# Counter sources (USAGE field "source").
SOURCE_MODEM_COUNTER = 0  # the modem's data counter (AT+QGDCNT or the dialect's equivalent)
SOURCE_ESTIMATE = 1  # reconstructed after a counter reset, from the carrier's or our own rate

# Why data was cut or resumed (DATA_CUT / DATA_RESUMED field "reason").
REASON_AT_ZERO = 0  # no data left and the plan says cut
REASON_QUOTA = 1  # data left again: an add-on, a pack or a new cycle
REASON_SNOOZE = 2  # the subscriber chose to go on past zero this cycle (overage)

# Names of types and fields, for people, are in record_names.py: the device only
# needs the numbers.
TYPE_LAST = AUTH_FAILED

FRAME_OVERHEAD = 6  # u16 length + u32 CRC-32
MAX_BODY = 1024  # a record never needs more; a larger length on flash is corruption


class RecordError(ValueError):
    """A frame or record that is not what this schema says."""


def body(rtype, seq, time, fields, mac=None):
    """CBOR body of a record; `fields` maps type-specific keys (>= 8) to values;
    `mac` (16 bytes) goes under K_MAC."""
    record = {K_TYPE: rtype, K_SEQ: seq, K_TIME: time}
    if mac is not None:
        record[K_MAC] = mac
    for key in fields:
        if key < 8:
            raise RecordError("type-specific keys start at 8, got %d" % key)
        record[key] = fields[key]
    return cbor.dumps(record)


def unsigned_body(record):
    """The body a signed record's MAC covers: its map without K_MAC, encoded again
    (canonical CBOR: the bytes the device signed)."""
    record = dict(record)
    record.pop(K_MAC, None)
    return cbor.dumps(record)


def frame(record_body, limit=MAX_BODY):
    """Length + body + CRC-32: a record as written to flash and sent over SMP
    (also the device's small state files, with a larger `limit`)."""
    if len(record_body) > limit:
        raise RecordError("record of %d bytes exceeds %d" % (len(record_body), limit))
    return struct.pack(">H", len(record_body)) + record_body + struct.pack(">I", binascii.crc32(record_body))


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
