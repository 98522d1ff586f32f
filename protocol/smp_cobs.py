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


def _stuff(chunks, out):
    """COBS-stuff the bytes of `chunks` into `out` (None: only count); the frame's
    length with its delimiter. One pass counts, a second writes: the frame is
    built in one buffer of its exact size, with no copy of the message."""
    code_at = 0
    write = 1
    code = 1
    for chunk in chunks:
        for byte in chunk:
            if byte:
                if out is not None:
                    out[write] = byte
                write += 1
                code += 1
                if code != 0xFF:
                    continue
            if out is not None:
                out[code_at] = code
            code_at = write
            write += 1
            code = 1
    if out is not None:
        out[code_at] = code
        out[write] = DELIMITER
    return write + 1


def encode(message):
    """One COBS frame (with its trailing delimiter) for an SMP message, a bytearray.

    A 4 KB response costs one 4 KB block (the frame, sized first), not four: on a
    fragmented heap, fewer big blocks are what lets the answer go out."""
    chunks = (message, struct.pack(">H", crc16_xmodem(message)))
    out = bytearray(_stuff(chunks, None))
    _stuff(chunks, out)
    return out


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
