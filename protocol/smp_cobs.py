"""SMP in COBS frames: the raw framing smpclient's SMPSerialRawTransport speaks with Cobs().

Each frame is COBS(message | u16 big-endian CRC-16/XMODEM of message) followed
by a 0x00 delimiter. COBS removes every zero byte from the frame, so the
delimiter alone marks frame boundaries and a damaged frame costs only itself.
The overhead is one byte in 254, against a third for the base64 console
encoding — but no console text may share the line.

`CobsDecoder.feed(data)` returns the whole, CRC-checked messages; anything else
between delimiters (damage, console text, an oversize frame) is dropped and
counted in `dropped`.
"""

import struct

from protocol.smp_serial import crc16_xmodem

DELIMITER = 0


def encode_blocks(message):
    """Yield the COBS frame of an SMP message (with its CRC and the trailing delimiter)
    block by block, each at most 255 bytes: a 4 KB response goes out without a 4 KB
    block of heap (a fragmented heap may have none)."""
    block = bytearray(255)  # the code byte, then up to 254 data bytes
    n = 0
    for chunk in (message, struct.pack(">H", crc16_xmodem(message))):
        for byte in chunk:
            if byte:
                n += 1
                block[n] = byte
                if n < 254:
                    continue
                block[0] = 0xFF  # 254 data bytes and no zero after them
            else:
                block[0] = n + 1
            yield bytes(memoryview(block)[: n + 1])
            n = 0
    block[0] = n + 1
    block[n + 1] = DELIMITER
    yield bytes(memoryview(block)[: n + 2])


def encode(message):
    """The whole COBS frame (with its trailing delimiter) of an SMP message."""
    return b"".join(encode_blocks(message))


def decode_frame(frame):
    """The bytes inside one delimiter-stripped COBS frame; ValueError if it is not COBS."""
    out = bytearray()
    index = 0
    size = len(frame)
    while index < size:
        code = frame[index]
        if code == 0:
            raise ValueError("zero code byte")
        end = index + code
        if end > size:
            raise ValueError("truncated COBS frame")
        out += frame[index + 1 : end]
        index = end
        if code != 0xFF and index < size:
            out.append(0)
    return bytes(out)


class CobsDecoder:
    def __init__(self, max_message=1020):
        # A frame can be at most this long: message, CRC, one code byte per 254.
        self.max_frame = max_message + 2 + (max_message + 2) // 254 + 1
        self._buffer = bytearray()
        self._overflow = False
        self.messages = 0
        self.dropped = 0

    def reset(self):
        """Forget a partial frame (the line turned out to carry something else)."""
        self._buffer = bytearray()
        self._overflow = False

    def feed(self, data):
        found = []
        start = 0
        while True:
            end = data.find(b"\x00", start)
            if end < 0:
                self._keep(data[start:])
                return found
            self._keep(data[start:end])
            message = self._take()
            if message is not None:
                found.append(message)
            start = end + 1

    def _keep(self, part):
        if self._overflow or len(self._buffer) + len(part) > self.max_frame:
            self._overflow = True  # oversize: drop it all at the delimiter, keep no bytes
            self._buffer = bytearray()
            return
        self._buffer += part

    def _take(self):
        frame, overflow = self._buffer, self._overflow
        self.reset()
        if overflow:
            self.dropped += 1
            return None
        if not frame:
            return None  # a stray delimiter
        try:
            data = decode_frame(frame)
        except ValueError:
            self.dropped += 1
            return None
        if len(data) < 3 or struct.unpack(">H", data[-2:])[0] != crc16_xmodem(data[:-2]):
            self.dropped += 1
            return None
        self.messages += 1
        return data[:-2]
