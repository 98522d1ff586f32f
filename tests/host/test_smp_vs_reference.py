"""Cross-check protocol.smp and protocol.smp_serial (and the header of the SMP server's
answer to an unknown op) against the `smp` package (the reference).

Host only (CPython): the `smp` package's header, encoder and decoder and crcmod's
CRC-16/XMODEM are what smpclient, and so the technician's laptop, use.
"""

import struct

import pytest
import smp.packet
from crcmod.predefined import mkPredefinedCrcFun
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from smp.header import Header

from firmware.smp.server import SMPServer
from protocol import smp as smph
from protocol.smp_serial import SerialDecoder, crc16_xmodem, encode

crcmod_xmodem = mkPredefinedCrcFun("xmodem")

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

messages = st.binary(min_size=0, max_size=2000)
line_lengths = st.one_of(st.just(127), st.just(128), st.integers(min_value=8, max_value=300))
# Console text as a shared UART carries it: printable ASCII, tabs, CR/LF. It
# cannot contain the control bytes 0x06 and 0x04 that start SMP lines.
noise_text = st.binary(max_size=80).map(
    lambda b: bytes(c for c in b if c not in (0x04, 0x06)).replace(b"\n", b"\r\n")
)


def reference_decode(wire_lines):
    """Decode one frame with smp.packet.decode, feeding it line by line."""
    decoder = smp.packet.decode()
    next(decoder)
    for line in wire_lines:
        try:
            decoder.send(line)
        except StopIteration as done:
            return done.value
    raise AssertionError("smp.packet.decode wanted more lines")


def split_lines(wire):
    return [ln + b"\n" for ln in wire.split(b"\n")[:-1]]


def feed_in_chunks(decoder, data, sizes):
    out = []
    i = 0
    k = 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        k += 1
        out.extend(decoder.feed(data[i : i + n]))
        i += n
    return out


def test_crc_check_value():
    assert crc16_xmodem(b"123456789") == 0x31C3 == crcmod_xmodem(b"123456789")


@FAST
@given(st.binary(max_size=3000), st.integers(0, 0xFFFF))
def test_crc_equals_crcmod(data, init):
    assert crc16_xmodem(data) == crcmod_xmodem(data)
    assert crc16_xmodem(data, init) == mkPredefinedCrcFun("xmodem")(data, init)


@FAST
@given(messages, line_lengths)
def test_encode_equals_reference(message, line_length):
    assert encode(message, line_length) == b"".join(smp.packet.encode(message, line_length))


def test_encode_default_line_length_equals_reference():
    for n in (0, 1, 50, 89, 90, 500, 1020, 2000):
        message = bytes(range(256)) * 8
        assert encode(message[:n]) == b"".join(smp.packet.encode(message[:n]))


@FAST
@given(messages, line_lengths)
def test_reference_decodes_our_encoding(message, line_length):
    assert reference_decode(split_lines(encode(message, line_length))) == message


@SLOW
@given(
    st.lists(
        st.tuples(st.binary(max_size=1020), st.integers(min_value=8, max_value=128), noise_text),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=10),
    st.data(),
)
def test_decoder_reads_reference_encoding_with_noise(frames, chunk_sizes, data):
    """Frames from smp.packet.encode, console text before, between and inside
    (at line boundaries of) frames, any chunking: every message comes out, in order."""
    wire = b""
    expected_noise = 0
    for message, line_length, noise in frames:
        lines = list(smp.packet.encode(message, line_length))
        wire += noise
        expected_noise += len(noise)
        for line in lines:
            if data.draw(st.booleans()):
                extra = data.draw(noise_text)
                wire += extra
                expected_noise += len(extra)
            wire += line
    d = SerialDecoder(max_message=1020)
    assert feed_in_chunks(d, wire, chunk_sizes) == [m for m, _, _ in frames]
    assert d.messages == len(frames)
    assert d.noise_bytes == expected_noise
    assert (d.dropped_crc, d.dropped_malformed, d.dropped_oversize, d.dropped_incomplete,
            d.dropped_orphan) == (0, 0, 0, 0, 0)


@FAST
@given(messages, st.integers(min_value=8, max_value=128))
def test_roundtrip_own_decoder(message, line_length):
    d = SerialDecoder(max_message=2000)
    assert d.feed(encode(message, line_length)) == [message]


@FAST
@given(
    st.integers(0, 3), st.integers(0, 1), st.integers(0, 255), st.integers(0, 0xFFFF),
    st.one_of(st.sampled_from([0, 1, 2, 3, 8, 9, 10, 63]), st.integers(0, 0xFFFF)),
    st.integers(0, 255), st.integers(0, 255),
)
def test_header_equals_reference(op, version, flags, length, group, seq, cmd):
    try:
        ref = Header(op, version, flags, length, group, seq, cmd)
    except ValueError:
        assume(False)  # the reference rejects command ids unknown in a known group
    ours = smph.pack_header(op, version, flags, length, group, seq, cmd)
    assert ours == bytes(ref)
    assert smph.unpack_header(ours) == (op, version, flags, length, group, seq, cmd)
    back = Header.loads(ours)
    assert (back.op, back.version, back.flags, back.length, back.group_id, back.sequence,
            back.command_id) == (op, version, flags, length, group, seq, cmd)


@FAST
@given(st.binary(min_size=8, max_size=8))
def test_unpack_any_header_like_reference(raw):
    b0, flags, length, group, seq, cmd = struct.unpack("!BBHHBB", raw)
    op, version = b0 & 7, (b0 >> 3) & 3
    assert smph.unpack_header(raw) == (op, version, flags, length, group, seq, cmd)
    if op <= 3 and version <= 1:
        try:
            ref = Header.loads(raw)
        except ValueError:
            return
        assert (ref.op, ref.version, ref.length, ref.group_id, ref.sequence, ref.command_id) == (
            op, version, length, group, seq, cmd)


def test_the_answers_header_matches_reference_shape():
    req = Header(0, 1, 0, 0, 0, 42, 6)  # MCUmgr params read, as smpclient sends it
    answer = SMPServer().handle(bytes(req))  # no group registered: ENOTSUP, in a read response
    assert answer[: smph.HEADER_SIZE] == bytes(Header(1, 1, 0, len(answer) - smph.HEADER_SIZE, 0, 42, 6))


@pytest.mark.parametrize("op", [4, 5, 6, 7])
def test_the_answer_to_an_unknown_op_is_a_response_the_reference_reads(op):
    # ENOTSUP in a write response (op 3), as Zephyr answers it; op + 1 would be no op at all.
    answer = SMPServer().handle(smph.pack_header(op, 1, 0, 0, 0, 9, 0))
    ref = Header.loads(answer[: smph.HEADER_SIZE])
    assert (ref.op, ref.sequence, ref.length) == (smph.OP_WRITE_RSP, 9, len(answer) - smph.HEADER_SIZE)


SENTINEL = b"\x0a\x00\x00\x01\x00\x40\x07\x00\xf6"


def flip_outcome(wire, index, bit):
    bad = bytearray(wire)
    bad[index] ^= 1 << bit
    d = SerialDecoder(max_message=2000)
    out = d.feed(bytes(bad) + encode(SENTINEL))
    problems = (d.noise_bytes + d.dropped_crc + d.dropped_malformed + d.dropped_oversize
                + d.dropped_incomplete + d.dropped_orphan)
    return out, problems


@SLOW
@given(messages.filter(lambda m: len(m) <= 600), st.integers(min_value=8, max_value=128), st.data())
def test_single_bit_flips_are_caught(message, line_length, data):
    """A flipped bit never yields a wrong message: the frame is dropped (counted)
    and the next frame still decodes. (CRC-16 catches every burst of <= 16 bits,
    and a flip in a base64 character disturbs at most 6 decoded bits; flips in
    the length, delimiters or newlines break the framing itself.)"""
    wire = encode(message, line_length)
    positions = data.draw(st.lists(st.integers(0, len(wire) * 8 - 1), min_size=1, max_size=40))
    for pos in positions:
        out, problems = flip_outcome(wire, pos // 8, pos % 8)
        assert out == [SENTINEL], (pos, out)
        assert problems > 0


@pytest.mark.parametrize("size", [0, 1, 20, 95, 150])
def test_every_single_bit_flip(size):
    message = bytes((i * 37 + 11) & 0xFF for i in range(size))
    wire = encode(message, 64)
    for index in range(len(wire)):
        for bit in range(8):
            out, problems = flip_outcome(wire, index, bit)
            assert out == [SENTINEL], (index, bit, out)
            assert problems > 0
