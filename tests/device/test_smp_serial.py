"""Device tests for protocol.smp_serial: CRC, encoder, decoding good input and console noise.

Runs on MicroPython and CPython. The drop cases are in test_smp_serial_drops.py
(one file would not compile in the 64 KB heap).
"""

import gc
from binascii import b2a_base64

from protocol.smp_serial import SerialDecoder, crc16_xmodem, encode
from smp_serial_util import (CONT, GOOD, GOOD_MSG, MSG, START, counts, feed_bytes, feed_chunks,
                             pattern, raw_frame, recovers)


# --- CRC ---------------------------------------------------------------------


def test_crc_check_value():
    assert crc16_xmodem(b"123456789") == 0x31C3
    assert crc16_xmodem(b"") == 0
    assert crc16_xmodem(b"6789", crc16_xmodem(b"12345")) == 0x31C3
    assert crc16_xmodem(bytearray(b"123456789")) == 0x31C3
    assert crc16_xmodem(memoryview(b"xx123456789")[2:]) == 0x31C3


def test_crc_tables_match_polynomial():
    from protocol import smp_serial

    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
        c &= 0xFFFF
        assert smp_serial._CRC_HI[i] == c >> 8 and smp_serial._CRC_LO[i] == c & 0xFF, i
    assert len(smp_serial._CRC_HI) == len(smp_serial._CRC_LO) == 256


def test_crc_matches_bitwise():
    data = pattern(300)
    c = 0
    for b in data:
        c ^= b << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) & 0xFFFF if c & 0x8000 else (c << 1) & 0xFFFF
    assert crc16_xmodem(data) == c


# --- encode ------------------------------------------------------------------


def test_encode_known_vectors():
    # From the smp package's documentation of smp.packet.encode.
    assert encode(b"Hello, world!") == b"\x06\tAA9IZWxsbywgd29ybGQhet4=\n"
    assert encode(b"Hello, world!", 8) == (
        b"\x06\tAA9I\n\x04\x14ZWxs\n\x04\x14bywg\n\x04\x14d29y\n\x04\x14bGQh\n\x04\x14et4=\n")
    assert encode(b"") == b"\x06\x09AAIAAA==\n"
    assert encode(bytearray(b"x")) == b"\x06\tAAN4/58=\n"  # bytearray in, same frame out


def test_encode_line_shape():
    for n, line_length, longest in ((1020, 127, 123), (1020, 128, 127), (200, 8, 7), (200, 64, 63)):
        msg = pattern(n)
        lines = encode(msg, line_length).split(b"\n")
        assert lines[-1] == b""
        lines = lines[:-1]
        assert lines[0][:2] == START
        for ln in lines[1:]:
            assert ln[:2] == CONT
        assert max(len(ln) + 1 for ln in lines) == longest
        assert b"".join(ln[2:] for ln in lines) == b2a_base64(raw_frame(msg), newline=False)


def test_encode_rejects():
    class Huge:  # a 65534-byte message, without the RAM
        def __len__(self):
            return 65534

    for bad in ((b"x", 7), (b"x", 0), (Huge(), 127)):
        try:
            encode(*bad)
            assert False, bad
        except ValueError:
            pass
    assert len(encode(bytes(200), 8)) > 0


# --- decoding good input -----------------------------------------------------


def test_roundtrip_sizes_and_line_lengths():
    d = SerialDecoder()
    for line_length in (8, 9, 12, 16, 64, 127, 128):
        for n in (0, 1, 2, 3, 4, 5, 8, 45, 89, 90, 91, 92, 93, 200):
            msg = pattern(n, n + line_length)
            assert d.feed(encode(msg, line_length)) == [msg], (n, line_length)
    assert d.messages == 7 * 14
    assert counts(d)["noise_bytes"] == 0


def test_multiline_reassembly_127_byte_lines():
    msg = pattern(1020, 3)
    wire = encode(msg, 128)  # smpclient's setting: full lines of exactly 127 bytes
    assert wire.count(b"\n") == 12
    d = SerialDecoder()
    assert d.feed(wire) == [msg]
    # Line by line: nothing comes out until the last line.
    d = SerialDecoder()
    lines = wire.split(b"\n")[:-1]
    for ln in lines[:-1]:
        assert d.feed(ln + b"\n") == []
    assert d.feed(lines[-1] + b"\n") == [msg]
    assert counts(d) == {"messages": 1, "noise_bytes": 0, "dropped_crc": 0,
                         "dropped_malformed": 0, "dropped_oversize": 0,
                         "dropped_incomplete": 0, "dropped_orphan": 0}


def test_max_message_boundary():
    d = SerialDecoder(max_message=100)
    assert d.feed(encode(pattern(100))) == [pattern(100)]
    assert d.feed(encode(b"")) == [b""]


def test_several_frames_in_one_chunk():
    msgs = [pattern(n, n) for n in (10, 0, 300, 7, 95)]
    d = SerialDecoder()
    assert d.feed(b"".join(encode(m) for m in msgs)) == msgs


def test_feed_types():
    d = SerialDecoder()
    assert d.feed(bytearray(encode(MSG))) == [MSG]
    assert d.feed(memoryview(encode(MSG))) == [MSG]
    assert d.feed(b"") == []
    out = d.feed(encode(MSG))
    assert type(out[0]) is bytes


def test_crlf_tolerated():
    d = SerialDecoder()
    wire = encode(pattern(300), 64).replace(b"\n", b"\r\n")
    assert d.feed(wire) == [pattern(300)]


# --- console noise -----------------------------------------------------------


def test_noise_before_and_between_frames():
    boot = b"boot: edgemeter v0.1\r\nI (12) modem: powered\r\n"
    msg2 = pattern(250, 2)
    wire = boot + encode(MSG) + b"log line\r\n" + encode(msg2) + b"tail"
    d = SerialDecoder()
    assert d.feed(wire) == [MSG, msg2]
    assert d.noise_bytes == len(boot) + len(b"log line\r\n") + 4
    assert recovers(d)


def test_noise_inside_line_boundaries():
    # Text without a newline right before a delimiter, and a log line printed
    # between two lines of the same multi-line frame.
    msg = pattern(400, 4)
    lines = encode(msg).split(b"\n")[:-1]
    wire = b"partial log text" + lines[0] + b"\n" + b"W: heap low\r\n" + lines[1] + b"\n"
    wire += b"x" + b"\n".join(lines[2:]) + b"\n" + b"done\n"
    d = SerialDecoder()
    assert d.feed(wire) == [msg]
    assert d.noise_bytes == len(b"partial log text") + len(b"W: heap low\r\n") + 1 + 5
    assert counts(d)["dropped_malformed"] == 0


def test_noise_with_delimiter_first_bytes():
    # 0x06 / 0x04 in the text not followed by the second delimiter byte is just text.
    d = SerialDecoder()
    wire = b"\x06\x06\x04\x04x\x06" + encode(MSG) + b"\x04"
    assert d.feed(wire) == [MSG]
    assert d.noise_bytes == 6  # the final 0x04 is held: it may start a delimiter
    assert feed_bytes(d, b"\x06\x06\x04" + encode(MSG) + b"\x06") == [MSG]
    assert d.noise_bytes == 6 + 1 + 3
    assert d.feed(GOOD) == [GOOD_MSG]
    assert d.noise_bytes == 6 + 1 + 3 + 1  # the held 0x06 was text after all


def test_one_byte_feeds():
    msg = pattern(333, 5)
    wire = b"boot\r\n" + encode(msg) + b"log\n" + encode(MSG, 16) + b"\x06" + encode(b"")
    d = SerialDecoder()
    assert feed_bytes(d, wire) == [msg, MSG, b""]
    assert d.noise_bytes == 6 + 4 + 1
    assert d.messages == 3


def test_random_chunking():
    msgs = [pattern(n, n) for n in (1, 100, 500, 1020, 3, 64)]
    # One join, not repeated +=: kinder to a fragmented 64 KB heap.
    wire = b"".join(b"noise %d\r\n" % i + encode(m, 128) for i, m in enumerate(msgs))
    d = SerialDecoder()
    for seed in range(1, 6):
        assert feed_chunks(d, wire, seed, 1 + seed * 17) == msgs
    assert d.messages == 5 * len(msgs)


# --- memory ------------------------------------------------------------------


def test_constructor_limits():
    for kw in ({"max_line": 6}, {"max_message": -1}, {"max_message": 65534}):
        try:
            SerialDecoder(**kw)
            assert False, kw
        except ValueError:
            pass
    d = SerialDecoder(max_message=0, max_line=7)
    assert d.feed(encode(b"", 8)) == [b""]


def test_large_frame_small_heap():
    # A 1020-byte message (the default maximum) in a 64 KB heap, decoded again
    # and again without the free heap shrinking.
    msg = pattern(1020, 11)
    wire = encode(msg, 128)
    d = SerialDecoder()
    assert len(d._frame) == 1024 and len(d._line) == 127
    mem_free = getattr(gc, "mem_free", None)
    free = []
    for rep in range(6):
        out = feed_chunks(d, wire, rep + 1, 200)
        assert out == [msg]
        out = None
        gc.collect()
        if mem_free:
            free.append(mem_free())
    if mem_free:
        assert free[-1] >= free[1] - 256, free
    assert d.messages == 6
    assert d.feed(encode(pattern(1021))) == []
    assert d.dropped_oversize == 1


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
