"""Device tests for protocol.smp_serial: every kind of bad input is dropped, counted, survived.

Runs on MicroPython and CPython. Each case checks the counter it should bump,
that no other counter moved, and that the decoder then still decodes a good frame.
"""

from binascii import b2a_base64

from protocol.smp_serial import SerialDecoder, crc16_xmodem, encode
from smp_serial_util import (CONT, COUNTERS, GOOD, GOOD_MSG, MSG, START, changed, counts,
                             feed_bytes, feed_chunks, lcg, lines_of, pattern, raw_frame, recovers)


# --- drop cases --------------------------------------------------------------


def test_drop_bad_crc():
    d = SerialDecoder()
    before = counts(d)
    for lines in (lines_of(raw_frame(MSG, crc=crc16_xmodem(MSG) ^ 1)),
                  lines_of(raw_frame(pattern(500), crc=0), 60)):
        assert d.feed(b"".join(lines)) == []
    assert changed(before, d) == {"dropped_crc": 2}
    assert recovers(d)


def test_drop_bad_crc_in_data():
    frame = bytearray(raw_frame(pattern(200)))
    frame[100] ^= 0x10
    d = SerialDecoder()
    assert d.feed(b"".join(lines_of(frame))) == []
    assert d.dropped_crc == 1
    assert recovers(d)


def test_drop_bad_base64():
    good = encode(MSG)  # b"\x06\x09" + 28 base64 chars + b"\n"
    body = good[2:-1]
    bad_bodies = [
        body[:5] + b"*" + body[6:],  # outside the alphabet
        body[:5] + b"-" + body[6:],  # urlsafe alphabet
        body[:5] + b" " + body[6:],  # whitespace
        body[:-1],  # not a multiple of 4
        body + b"AAAA"[:1],
        body[:4] + b"QQ==" + body[8:],  # padding before the end
        b"====",
        b"",  # no base64 at all
        body[:-4] + b"QR==",  # non-zero padding bits ("QQ==" is canonical)
        body[:-4] + b"QUJ=",  # non-zero padding bits ("QUI=" is canonical)
        body + b"====",
    ]
    for bad in bad_bodies:
        d = SerialDecoder()
        before = counts(d)
        assert d.feed(START + bad + b"\n") == [], bad
        assert changed(before, d) == {"dropped_malformed": 1}, (bad, changed(before, d))
        assert recovers(d)


def test_drop_bad_base64_in_continuation():
    lines = encode(pattern(300), 64).split(b"\n")[:-1]
    lines[2] = lines[2][:10] + b"!" + lines[2][11:]
    d = SerialDecoder()
    before = counts(d)
    assert d.feed(b"\n".join(lines) + b"\n") == []
    # The rest of the frame's lines are skipped, not counted as orphans.
    assert changed(before, d) == {"dropped_malformed": 1}
    assert recovers(d)


def test_drop_padding_before_last_line():
    # Two frames' worth of base64, each padded, glued as lines of one frame.
    frame = raw_frame(pattern(10))
    b64 = b2a_base64(frame[:8], newline=False)  # 8 bytes -> padded "...="
    assert b64.endswith(b"=")
    wire = START + b64 + b"\n" + CONT + b2a_base64(frame[8:], newline=False) + b"\n"
    d = SerialDecoder()
    before = counts(d)
    assert d.feed(wire) == []
    assert changed(before, d) == {"dropped_malformed": 1}
    assert recovers(d)


def test_drop_line_too_long():
    msg = pattern(300, 9)
    d = SerialDecoder()
    before = counts(d)
    assert d.feed(encode(msg, 132)) == []  # 131-byte lines
    assert changed(before, d) == {"dropped_malformed": 1}
    assert recovers(d)
    # 127 bytes is fine, 128 is not (here: a 127-byte line with "\r" added).
    d = SerialDecoder()
    assert d.feed(encode(msg, 128)) == [msg]
    assert d.feed(encode(msg, 128).replace(b"\n", b"\r\n")) == []
    assert d.dropped_malformed == 1
    assert recovers(d)
    # Smaller limit.
    d = SerialDecoder(max_line=40)
    assert d.feed(encode(msg, 41)) == [msg]
    assert d.feed(encode(msg, 45)) == []
    assert d.dropped_malformed == 1
    assert recovers(d)  # GOOD's one line is 23 bytes: it fits


def test_long_line_is_not_buffered():
    d = SerialDecoder()
    d.feed(START + b"AAAA")
    for _ in range(200):
        d.feed(b"QUJD" * 25)
    assert len(d._line) == 127 and d._ll == 0
    before = counts(d)
    assert d.feed(b"QUJD\n") == []
    assert changed(before, d) == {}
    assert d.dropped_malformed == 1
    assert recovers(d)
    # A lost newline: the too-long line ends at the next delimiter.
    d.feed(START + b"AAAA" * 40)
    assert recovers(d)
    assert d.dropped_malformed == 2


def test_drop_oversize_at_first_line():
    d = SerialDecoder(max_message=100)
    big = pattern(101, 1)
    lines = encode(big, 32).split(b"\n")[:-1]
    before = counts(d)
    assert d.feed(lines[0] + b"\n") == []
    assert changed(before, d) == {"dropped_oversize": 1}  # refused before the rest arrives
    assert d._need == 0 and d._fl == 0
    assert d.feed(b"\n".join(lines[1:]) + b"\n") == []
    assert changed(before, d) == {"dropped_oversize": 1}  # the rest skipped silently
    assert recovers(d)
    # A declared length of 65535 on a default decoder.
    d = SerialDecoder()
    assert d.feed(b"".join(lines_of(raw_frame(b"abc", length=0xFFFF)))) == []
    assert d.dropped_oversize == 1
    assert recovers(d)


def test_drop_longer_than_declared():
    d = SerialDecoder()
    before = counts(d)
    # Declared 10, single line carries 2 + 20 + 2 bytes.
    assert d.feed(b"".join(lines_of(raw_frame(pattern(20), length=10)))) == []
    # Multi-line: the overrun shows on a continuation line.
    assert d.feed(b"".join(lines_of(raw_frame(pattern(300), length=200), 40))) == []
    assert changed(before, d) == {"dropped_malformed": 2}
    assert recovers(d)


def test_drop_declared_length_below_two():
    for length in (0, 1):
        d = SerialDecoder()
        before = counts(d)
        assert d.feed(b"".join(lines_of(raw_frame(b"", length=length)))) == []
        assert changed(before, d) == {"dropped_malformed": 1}
        assert recovers(d)


def test_drop_first_line_without_length():
    d = SerialDecoder()
    before = counts(d)
    assert d.feed(START + b"AA==\n") == []  # one byte: no room for the u16 length
    assert changed(before, d) == {"dropped_malformed": 1}
    assert recovers(d)


def test_drop_continuation_without_start():
    lines = encode(pattern(400), 64).split(b"\n")[:-1]
    d = SerialDecoder()
    before = counts(d)
    assert d.feed(b"\n".join(lines[1:]) + b"\n") == []
    assert changed(before, d) == {"dropped_orphan": 1}  # one count for the run
    assert recovers(d)
    before = counts(d)
    assert d.feed(lines[3] + b"\n") == []  # after a good frame, a continuation is an orphan
    assert changed(before, d) == {"dropped_orphan": 1}
    assert recovers(d)


def test_drop_incomplete_on_new_start():
    first = encode(pattern(400, 1), 64).split(b"\n")[:-1]
    msg = pattern(150, 2)
    d = SerialDecoder()
    before = counts(d)
    assert d.feed(b"\n".join(first[:3]) + b"\n" + encode(msg, 64)) == [msg]
    assert changed(before, d) == {"dropped_incomplete": 1, "messages": 1}
    assert recovers(d)


def test_drop_truncated_line():
    # The newline (and the rest of the frame) is lost; the next frame's start
    # delimiter shows up inside the line.
    msg = pattern(80, 3)
    cut = encode(pattern(200, 4))[:60]
    for feed in (lambda d, w: d.feed(w), feed_bytes, feed_chunks):
        d = SerialDecoder()
        before = counts(d)
        assert feed(d, cut + encode(msg)) == [msg]
        assert changed(before, d) == {"dropped_malformed": 1, "messages": 1}, feed
        assert recovers(d)
    # Cut inside a continuation line, then a new frame.
    lines = encode(pattern(300, 5), 64)
    d = SerialDecoder()
    before = counts(d)
    assert feed_bytes(d, lines[:100] + encode(msg)) == [msg]
    assert changed(before, d) == {"dropped_malformed": 1, "messages": 1}


def test_delimiter_bytes_inside_a_line():
    # 0x06 / 0x04 never occur in base64: a line holding one is malformed.
    for junk in (b"\x06", b"\x04", b"\x06\x06", b"\x04\x04"):
        d = SerialDecoder()
        wire = encode(MSG)
        assert d.feed(wire[:10] + junk + wire[10:]) == []
        assert d.dropped_malformed == 1
        assert recovers(d)


def test_garbage_never_raises():
    r = lcg(99)
    d = SerialDecoder(max_message=200, max_line=60)
    alphabet = b"\x06\x09\x04\x14\n\r=AQgw+/9zZ*"
    for round_ in range(30):
        junk = bytes(alphabet[next(r) % len(alphabet)] for _ in range(150))
        feed_chunks(d, junk, round_ + 1, 23)
        d.feed(b"\n")
        msg = pattern(next(r) % 150, round_)
        assert d.feed(encode(msg, 60)) == [msg]
    assert d.messages == 30
    assert d._fl <= 204 and d._ll <= 60


def test_single_bit_flips_never_give_a_wrong_message():
    msg = b"\x02\x01\x00\x05\x00\x00\x2a\x00\xa1ad\x01"
    wire = encode(msg, 16)
    for i in range(len(wire)):
        for bit in range(8):
            bad = bytearray(wire)
            bad[i] ^= 1 << bit
            d = SerialDecoder()
            out = d.feed(bytes(bad) + GOOD)
            assert out == [GOOD_MSG], (i, bit, out)
            c = counts(d)
            assert c["messages"] == 1
            assert sum(c[k] for k in COUNTERS if k != "messages") > 0, (i, bit)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
