"""SMP over a serial console: the line framing of Zephyr's MCUmgr UART/shell transport.

One SMP message (8-byte header + CBOR payload) travels as a *frame*:

    base64( u16 BE length | message | u16 BE CRC-16/XMODEM(message) )

where length = len(message) + 2 (it counts the CRC). The base64 text is cut
into lines so a line-buffered console can carry it next to ordinary log text:

    0x06 0x09 <base64> "\\n"     first line of a frame
    0x04 0x14 <base64> "\\n"     each continuation line

A line is at most 127 bytes on the wire, delimiter and newline included.
`encode` produces exactly what the `smp` package's `smp.packet.encode` does;
`SerialDecoder` is the receiving side, built for a UART shared with a console.

The decoder never raises on bad input: the link is noisy and whatever arrives,
the firmware must keep serving the next good frame. It counts what it drops so
the firmware can report it. It keeps at most one unfinished line
(`max_line` bytes) and one decoded frame (`max_message` + 4 bytes) in two
buffers allocated once, which keeps a small MicroPython heap unfragmented.

Runs unchanged on MicroPython and CPython (>= 3.10).
"""

from binascii import a2b_base64, b2a_base64

START = b"\x06\x09"
CONTINUE = b"\x04\x14"
NEWLINE = b"\n"

# Lines are at most this long on the wire (Zephyr's MCUMGR_SERIAL_MAX_FRAME).
MAX_LINE = 127
# Largest message the decoder accepts by default: a 1024-byte reassembly buffer
# (what the firmware reports as buf_size in MCUmgr params) minus the 2-byte
# length and the 2-byte CRC that share it, as in Zephyr.
MAX_MESSAGE = 1020

# CRC-16/XMODEM (poly 0x1021, init 0, not reflected, no final xor), one table
# entry per value of the top byte, split into its high and low byte. As bytes
# constants the tables cost no RAM when the module is frozen (they stay in
# flash), and indexing two bytes objects is as fast as one list of ints on
# MicroPython and faster on CPython. tests/device/test_smp_serial.py rebuilds
# them from the polynomial.
_CRC_HI = (
    b"\x00\x10\x20\x30\x40\x50\x60\x70\x81\x91\xa1\xb1\xc1\xd1\xe1\xf1"
    b"\x12\x02\x32\x22\x52\x42\x72\x62\x93\x83\xb3\xa3\xd3\xc3\xf3\xe3"
    b"\x24\x34\x04\x14\x64\x74\x44\x54\xa5\xb5\x85\x95\xe5\xf5\xc5\xd5"
    b"\x36\x26\x16\x06\x76\x66\x56\x46\xb7\xa7\x97\x87\xf7\xe7\xd7\xc7"
    b"\x48\x58\x68\x78\x08\x18\x28\x38\xc9\xd9\xe9\xf9\x89\x99\xa9\xb9"
    b"\x5a\x4a\x7a\x6a\x1a\x0a\x3a\x2a\xdb\xcb\xfb\xeb\x9b\x8b\xbb\xab"
    b"\x6c\x7c\x4c\x5c\x2c\x3c\x0c\x1c\xed\xfd\xcd\xdd\xad\xbd\x8d\x9d"
    b"\x7e\x6e\x5e\x4e\x3e\x2e\x1e\x0e\xff\xef\xdf\xcf\xbf\xaf\x9f\x8f"
    b"\x91\x81\xb1\xa1\xd1\xc1\xf1\xe1\x10\x00\x30\x20\x50\x40\x70\x60"
    b"\x83\x93\xa3\xb3\xc3\xd3\xe3\xf3\x02\x12\x22\x32\x42\x52\x62\x72"
    b"\xb5\xa5\x95\x85\xf5\xe5\xd5\xc5\x34\x24\x14\x04\x74\x64\x54\x44"
    b"\xa7\xb7\x87\x97\xe7\xf7\xc7\xd7\x26\x36\x06\x16\x66\x76\x46\x56"
    b"\xd9\xc9\xf9\xe9\x99\x89\xb9\xa9\x58\x48\x78\x68\x18\x08\x38\x28"
    b"\xcb\xdb\xeb\xfb\x8b\x9b\xab\xbb\x4a\x5a\x6a\x7a\x0a\x1a\x2a\x3a"
    b"\xfd\xed\xdd\xcd\xbd\xad\x9d\x8d\x7c\x6c\x5c\x4c\x3c\x2c\x1c\x0c"
    b"\xef\xff\xcf\xdf\xaf\xbf\x8f\x9f\x6e\x7e\x4e\x5e\x2e\x3e\x0e\x1e"
)
_CRC_LO = (
    b"\x00\x21\x42\x63\x84\xa5\xc6\xe7\x08\x29\x4a\x6b\x8c\xad\xce\xef"
    b"\x31\x10\x73\x52\xb5\x94\xf7\xd6\x39\x18\x7b\x5a\xbd\x9c\xff\xde"
    b"\x62\x43\x20\x01\xe6\xc7\xa4\x85\x6a\x4b\x28\x09\xee\xcf\xac\x8d"
    b"\x53\x72\x11\x30\xd7\xf6\x95\xb4\x5b\x7a\x19\x38\xdf\xfe\x9d\xbc"
    b"\xc4\xe5\x86\xa7\x40\x61\x02\x23\xcc\xed\x8e\xaf\x48\x69\x0a\x2b"
    b"\xf5\xd4\xb7\x96\x71\x50\x33\x12\xfd\xdc\xbf\x9e\x79\x58\x3b\x1a"
    b"\xa6\x87\xe4\xc5\x22\x03\x60\x41\xae\x8f\xec\xcd\x2a\x0b\x68\x49"
    b"\x97\xb6\xd5\xf4\x13\x32\x51\x70\x9f\xbe\xdd\xfc\x1b\x3a\x59\x78"
    b"\x88\xa9\xca\xeb\x0c\x2d\x4e\x6f\x80\xa1\xc2\xe3\x04\x25\x46\x67"
    b"\xb9\x98\xfb\xda\x3d\x1c\x7f\x5e\xb1\x90\xf3\xd2\x35\x14\x77\x56"
    b"\xea\xcb\xa8\x89\x6e\x4f\x2c\x0d\xe2\xc3\xa0\x81\x66\x47\x24\x05"
    b"\xdb\xfa\x99\xb8\x5f\x7e\x1d\x3c\xd3\xf2\x91\xb0\x57\x76\x15\x34"
    b"\x4c\x6d\x0e\x2f\xc8\xe9\x8a\xab\x44\x65\x06\x27\xc0\xe1\x82\xa3"
    b"\x7d\x5c\x3f\x1e\xf9\xd8\xbb\x9a\x75\x54\x37\x16\xf1\xd0\xb3\x92"
    b"\x2e\x0f\x6c\x4d\xaa\x8b\xe8\xc9\x26\x07\x64\x45\xa2\x83\xe0\xc1"
    b"\x1f\x3e\x5d\x7c\x9b\xba\xd9\xf8\x17\x36\x55\x74\x93\xb2\xd1\xf0"
)


def crc16_xmodem(data, crc=0):
    """CRC-16/XMODEM of a bytes-like `data`, continuing from `crc` (0 to start).

    crc16_xmodem(b"123456789") == 0x31C3. MicroPython has no binascii.crc_hqx,
    so this is the table-driven byte loop, with the CRC kept as two bytes to
    save the shifts and masks of a 16-bit value.
    """
    hi_t = _CRC_HI
    lo_t = _CRC_LO
    hi = crc >> 8
    lo = crc & 0xFF
    for b in data:
        i = hi ^ b
        hi = lo ^ hi_t[i]
        lo = lo_t[i]
    return (hi << 8) | lo


def encode_lines(message, line_length=127):
    """Yield the serial frame of `message` line by line.

    Each line carries ((line_length - 4) // 4) * 4 base64 characters, so it is
    at most line_length - 1 bytes long (123 for the default, which is smp's;
    smpclient sends with 128, giving lines of exactly 127 bytes, the most a
    Zephyr server or a default SerialDecoder accepts). A line's characters are
    the base64 of a slice of the frame (u16 length | message | u16 CRC) whose
    length is a multiple of 3, copied into one small buffer: a device sending a
    4 KB response holds no copy of it, nor more than one line of base64 (a
    fragmented heap may have no second 4 KB block). Raises ValueError if
    line_length < 8 (no room for base64) or the message is too long for the
    16-bit length field.
    """
    if line_length < 8:
        raise ValueError("line_length must be >= 8")
    n = len(message)
    if n > 0xFFFF - 2:
        raise ValueError("message too long for an SMP serial frame")
    crc = crc16_xmodem(message)
    parts = ((0, bytes(((n + 2) >> 8, (n + 2) & 0xFF))), (2, memoryview(message)), (n + 2, bytes((crc >> 8, crc & 0xFF))))
    raw_per_line = ((line_length - 4) // 4) * 3
    chunk = bytearray(raw_per_line)
    for start in range(0, n + 4, raw_per_line):
        end = min(start + raw_per_line, n + 4)
        at = 0
        for first, part in parts:
            low, high = max(start, first), min(end, first + len(part))
            if low < high:
                chunk[at : at + high - low] = part[low - first : high - first]
                at += high - low
        head = START if start == 0 else CONTINUE
        yield head + b2a_base64(memoryview(chunk)[:at], newline=False) + NEWLINE


def encode(message, line_length=127):
    """The whole serial frame of `message`: all its lines, joined.

    Byte-identical to b"".join(smp.packet.encode(message, line_length)).
    """
    return b"".join(encode_lines(message, line_length))


def _b64decode(body):
    """Decode one line's base64, or return None if it is not canonical base64.

    binascii.a2b_base64 is lenient on both VMs (it skips characters outside the
    alphabet, stops at the first padding, ignores non-zero padding bits), and
    the two VMs word their errors differently. Re-encoding the result and
    comparing accepts exactly the canonical encoding of some bytes, the same
    way on both: a multiple of 4 characters from the standard alphabet, '='
    only as the final padding, unused bits zero.
    """
    n = len(body)
    if n == 0 or n & 3:
        return None
    try:
        data = a2b_base64(body)
    except ValueError:  # binascii.Error is a ValueError on CPython
        return None
    if b2a_base64(data, newline=False) != body:
        return None
    return data


class SerialDecoder:
    """Reassemble SMP messages from bytes read off a serial console.

    feed(data) takes whatever the UART produced (any chunking, down to one
    byte) and returns the list of complete messages (header + CBOR payload, the
    length and CRC removed) finished by this chunk, in order.

    Bytes outside SMP lines (log text on the same UART) are skipped and counted
    in `noise_bytes`; a line starts at a 0x06 0x09 or 0x04 0x14 anywhere in the
    stream, as smpclient's reader does, and ends at "\\n" (a "\\r" before it is
    tolerated). Dropped frames are counted, one count per frame, in:

    - `dropped_crc`: the frame was complete but its CRC did not match.
    - `dropped_oversize`: the first line declared a length over max_message + 2;
      refused then, its continuation lines are skipped unbuffered.
    - `dropped_malformed`: a line was not canonical base64 or was empty, a line
      was longer than max_line, a line was cut short by a new delimiter, the
      declared length was < 2, the first line was too short to hold the length,
      the data ran past the declared length, or '=' padding came before the
      last line.
    - `dropped_incomplete`: a new first line arrived before the frame finished;
      the old frame is dropped and the new one started.
    - `dropped_orphan`: continuation lines arrived with no frame in progress
      (one count per run of such lines).

    After a drop, continuation lines up to the next first line belong to the
    dropped frame and are skipped silently. `messages` counts good messages.
    """

    def __init__(self, max_message=MAX_MESSAGE, max_line=MAX_LINE):
        if max_line < 7:  # delimiter + 4 base64 chars + newline
            raise ValueError("max_line must be >= 7")
        if not 0 <= max_message <= 0xFFFF - 2:
            raise ValueError("max_message out of range")
        self.max_message = max_message
        self.max_line = max_line
        self.messages = 0
        self.noise_bytes = 0
        self.dropped_crc = 0
        self.dropped_malformed = 0
        self.dropped_oversize = 0
        self.dropped_incomplete = 0
        self.dropped_orphan = 0
        # The line being received, delimiter included, newline not stored. A
        # line that reaches max_line bytes before its newline is too long.
        self._line = bytearray(max_line)
        self._ll = 0  # bytes in _line; 0 = between lines
        self._skip = False  # inside a too-long line: drop bytes up to its end
        self._held = 0  # first byte of a possible delimiter split across feeds
        # The decoded frame: u16 length, message, u16 CRC.
        self._frame = bytearray(max_message + 4)
        self._fl = 0  # decoded bytes in _frame
        self._need = 0  # decoded bytes the frame will have; 0 = no frame in progress
        self._discard = False  # skipping the continuation lines of a dropped frame

    def feed(self, data):
        """Consume bytes (bytes or bytearray; anything else is copied to bytes first).

        Returns a list of the messages completed by this chunk (often empty).
        Never raises on malformed input.
        """
        if not isinstance(data, (bytes, bytearray)):
            data = bytes(data)  # .find is needed below; memoryview lacks it
        out = []
        n = len(data)
        if not n:
            return out
        src = memoryview(data)
        line = self._line
        max_line = self.max_line
        p = 0
        # Next start/continue delimiter at or after p (-1: none in this chunk).
        # Searched once per chunk and again only when passed, so a chunk full
        # of lines is scanned in linear time.
        ns = data.find(START)
        nc = data.find(CONTINUE)

        if self._held:
            # A chunk ended on 0x06 or 0x04 outside a line: see if it was a delimiter.
            if data[0] == (0x09 if self._held == 0x06 else 0x14):
                line[0] = self._held
                line[1] = data[0]
                self._ll = 2
                p = 1
            else:
                self.noise_bytes += 1
            self._held = 0
        elif self._ll > 2 and line[self._ll - 1] in (0x06, 0x04):
            # A line ended this way can only be a truncated line followed by
            # a delimiter split across feeds (0x06/0x04 never occur in base64).
            last = line[self._ll - 1]
            if data[0] == (0x09 if last == 0x06 else 0x14):
                self._ll -= 1
                self._line_done(out, True)
                line[0] = last
                line[1] = data[0]
                self._ll = 2
                p = 1

        while p < n:
            if ns != -1 and ns < p:
                ns = data.find(START, p)
            if nc != -1 and nc < p:
                nc = data.find(CONTINUE, p)
            if ns == -1:
                d = nc
            elif nc == -1:
                d = ns
            else:
                d = ns if ns < nc else nc

            if not self._ll and not self._skip:
                # Between lines: everything up to the next delimiter is console text.
                if d == -1:
                    last = data[n - 1]
                    if last == 0x06 or last == 0x04:
                        self._held = last
                        self.noise_bytes += n - 1 - p
                    else:
                        self.noise_bytes += n - p
                    break
                self.noise_bytes += d - p
                line[0] = data[d]
                line[1] = data[d + 1]
                self._ll = 2
                p = d + 2
                continue

            j = data.find(NEWLINE, p)
            end = n if j == -1 else j
            if d != -1 and d < end:
                # A delimiter inside the line: bytes were lost (a newline at
                # least). Drop the cut line and start over at the delimiter.
                if self._skip:
                    self._skip = False
                else:
                    self._line_done(out, True)
                p = d
                continue
            if self._skip:
                if j == -1:
                    break
                self._skip = False
                p = j + 1
                continue
            ll = self._ll + end - p
            if ll >= max_line:
                # Too long even before its newline: drop the line now and skip
                # the rest of it without buffering.
                self._line_done(out, True)
                self._skip = True
                continue
            line[self._ll : ll] = src[p:end]
            self._ll = ll
            if j == -1:
                break
            p = j + 1
            self._line_done(out, False)
        return out

    def _drop(self):
        # Forget the frame in progress and skip its remaining continuation lines.
        self._need = 0
        self._fl = 0
        self._discard = True

    def _line_done(self, out, bad):
        """Handle the line in _line[:_ll] (bad: known cut short or too long)."""
        line = self._line
        ll = self._ll
        self._ll = 0
        if line[0] == 0x06:
            if self._need:
                self.dropped_incomplete += 1
            self._need = 0
            self._fl = 0
            self._discard = False
        elif not self._need:
            # A continuation with no frame in progress.
            if not self._discard:
                self.dropped_orphan += 1
                self._discard = True
            return
        if bad:
            self.dropped_malformed += 1
            self._drop()
            return
        if ll > 2 and line[ll - 1] == 0x0D:
            ll -= 1
        data = _b64decode(memoryview(line)[2:ll])
        if data is None:
            self.dropped_malformed += 1
            self._drop()
            return
        k = len(data)
        if not self._need:
            # First line: the length comes first. Refuse oversize frames here,
            # before their continuation lines arrive.
            if k < 2:
                self.dropped_malformed += 1
                self._drop()
                return
            declared = (data[0] << 8) | data[1]
            if declared < 2:
                self.dropped_malformed += 1
                self._drop()
                return
            if declared > self.max_message + 2:
                self.dropped_oversize += 1
                self._drop()
                return
            self._need = declared + 2
        fl = self._fl
        need = self._need
        if fl + k > need:
            self.dropped_malformed += 1
            self._drop()
            return
        frame = self._frame
        frame[fl : fl + k] = data
        fl += k
        if fl < need:
            if line[ll - 1] == 0x3D:  # '=' padding: base64 of the frame ended early
                self.dropped_malformed += 1
                self._drop()
                return
            self._fl = fl
            return
        self._need = 0
        self._fl = 0
        mv = memoryview(frame)
        if crc16_xmodem(mv[2 : need - 2]) != (frame[need - 2] << 8) | frame[need - 1]:
            self.dropped_crc += 1
            self._discard = True
            return
        self._discard = False
        self.messages += 1
        out.append(bytes(mv[2 : need - 2]))
