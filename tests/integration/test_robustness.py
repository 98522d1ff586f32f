"""Garbage on the line never takes the device down.

Throws ≥ 10,000 random and mutated frames at the emulated board — random bytes,
valid frames with bits flipped (bad CRC), frames cut short, oversize frames,
well-framed requests carrying a random header or random CBOR, unknown groups
and commands — then checks that the firmware process is the same one and that
echo still answers. Responses are drained concurrently, as a real client would.
"""

import asyncio
import random
import struct
import threading
import time

import cbor2
from smp import packet as smppacket
from smpclient import SMPClient
from smpclient.generics import success
from smpclient.requests.os_management import EchoWrite
from smpclient.transport.serial import SMPSerialTransport

from host_tools.device.session import open_port

FRAMES = 10_000


def _header(op, group, seq, cmd, length, version=1):
    return struct.pack(">BBHHBB", (version << 3) | op, 0, length, group, seq, cmd)


def _request(rng):
    """A well-framed SMP message with something wrong (or right) inside."""
    kind = rng.randrange(6)
    if kind == 0:  # random header and payload
        return rng.randbytes(rng.randrange(8, 64))
    if kind == 1:  # unknown group or command
        payload = cbor2.dumps({})
        return _header(rng.choice((0, 2)), rng.randrange(1, 300), 1, rng.randrange(256), len(payload)) + payload
    if kind == 2:  # echo with random CBOR instead of a map
        payload = rng.randbytes(rng.randrange(1, 40))
        return _header(2, 0, 2, 0, len(payload)) + payload
    if kind == 3:  # header length disagrees with the payload
        payload = cbor2.dumps({"d": "x" * rng.randrange(20)})
        return _header(2, 0, 3, 0, len(payload) + rng.choice((-3, -1, 1, 7))) + payload
    if kind == 4:  # reserved SMP version, or a response op
        payload = cbor2.dumps({"d": "hi"})
        return _header(rng.choice((1, 3)), 0, 4, 0, len(payload), version=rng.choice((2, 3))) + payload
    payload = cbor2.dumps({"d": 12345, "format": b"\x00", "datetime": "2026-13-45T99:99:99"})
    return _header(rng.choice((0, 2)), 0, 5, rng.randrange(9), len(payload)) + payload


def _not_reset(message):
    """The reset command is legitimate; everything else here is garbage."""
    if len(message) >= 8 and message[0] & 7 == 2 and message[4:6] == b"\0\0" and message[7] == 5:
        return message[:7] + b"\x00" + message[8:]
    return message


def _frame(rng):
    kind = rng.randrange(5)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 200))
    lines = b"".join(smppacket.encode(_not_reset(_request(rng))))
    if kind == 1:  # bit flips: bad CRC or bad base64
        data = bytearray(lines)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data)
    if kind == 2:  # truncated mid-frame, then a newline
        return lines[: rng.randrange(1, len(lines))] + b"\n"
    if kind == 3:  # oversize: claims more than the device's buffer
        big = b"\x0a\x00\x10\x00\x00\x00\x00\x00" + rng.randbytes(3000)
        return b"".join(smppacket.encode(big))[: rng.randrange(10, 600)]
    return lines  # a well-framed request with something wrong inside


def test_device_survives_garbage(emulator):
    rng = random.Random(2026)
    pid = emulator.pid()
    conn = open_port(emulator.port)
    received = bytearray()
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            received.extend(conn.read(4096) or b"")
            if not received:
                stop.wait(0.001)

    conn.timeout = 0.05
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        for _ in range(FRAMES):
            conn.write(_frame(rng))
        conn.flush()
        # Let the device work through what is still queued: wait for a quiet line.
        seen = -1
        while seen != len(received):
            seen = len(received)
            time.sleep(1.0)
    finally:
        stop.set()
        reader.join()
        conn.close()

    async def echo():
        async with SMPClient(SMPSerialTransport(), emulator.port, timeout_s=30.0) as client:
            return await client.request(EchoWrite(d="still here 还在"), timeout_s=30.0)

    response = asyncio.run(echo())
    assert success(response), response
    assert response.r == "still here 还在"
    assert emulator.pid() == pid, "the firmware restarted:\n" + emulator.console()
    assert "Traceback" not in emulator.console()
    # About a fifth of the frames are well-framed requests the device must answer
    # (with an error); a few are swallowed by the truncated frame before them.
    answers = received.count(b"\x06\x09")
    assert answers >= FRAMES // 10, answers
