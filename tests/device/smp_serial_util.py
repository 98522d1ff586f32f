"""Helpers shared by the SMP serial device tests (not a test file itself).

Kept out of the test files so each of them compiles in the 64 KB MicroPython
heap the device suites run in.
"""

from binascii import b2a_base64

from protocol.smp_serial import crc16_xmodem, encode

START = b"\x06\x09"
CONT = b"\x04\x14"
COUNTERS = ("messages", "noise_bytes", "dropped_crc", "dropped_malformed", "dropped_oversize",
            "dropped_incomplete", "dropped_orphan")

MSG = b"\x08\x00\x00\x03\x00\x00\x07\x06\xa1ab"  # a small SMP request
GOOD_MSG = b"\x0a\x00\x00\x01\x00\x40\x01\x00\xf6"
GOOD = encode(GOOD_MSG)  # the frame a recovery check feeds


def counts(d):
    return dict((k, getattr(d, k)) for k in COUNTERS)


def changed(before, d):
    """The counters that moved since `before`, as {name: delta}."""
    now = counts(d)
    return dict((k, now[k] - before[k]) for k in COUNTERS if now[k] != before[k])


def recovers(d):
    before = counts(d)
    assert d.feed(GOOD) == [GOOD_MSG]
    return changed(before, d) == {"messages": 1}


def lines_of(frame, per_line=120):
    """Base64 lines for arbitrary frame bytes (length field and CRC as given)."""
    b64 = b2a_base64(frame, newline=False)
    out = []
    for i in range(0, len(b64), per_line):
        out.append((START if i == 0 else CONT) + b64[i : i + per_line] + b"\n")
    return out


def raw_frame(message, length=None, crc=None):
    """u16 length | message | u16 crc, with a chosen (possibly wrong) length or CRC."""
    if length is None:
        length = len(message) + 2
    if crc is None:
        crc = crc16_xmodem(message)
    return bytes((length >> 8, length & 0xFF)) + message + bytes((crc >> 8, crc & 0xFF))


def lcg(seed):
    # Deterministic on both VMs (no dependency on either VM's random module).
    while True:
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        yield seed >> 8


def pattern(n, seed=1):
    r = lcg(seed)
    return bytes(next(r) & 0xFF for _ in range(n))


def feed_chunks(d, data, seed=7, max_chunk=40):
    r = lcg(seed)
    out = []
    i = 0
    while i < len(data):
        k = 1 + next(r) % max_chunk
        out.extend(d.feed(data[i : i + k]))
        i += k
    return out


def feed_bytes(d, data):
    out = []
    for i in range(len(data)):
        out.extend(d.feed(data[i : i + 1]))
    return out


