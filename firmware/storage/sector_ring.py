"""Sectors of a raw flash range used as a ring: headers, frames, erases.

What ring_log.py (the records) and journal.py (the meter's checkpoints) share.
Each sector (a block of the range, e.g. 4 KB):

    offset 0   header: magic (4 bytes) | epoch u32 | sector number u32 | CRC-32 of the 12 bytes before
    offset 16  frames, back to back: u16 length | body | u32 CRC-32 (protocol/records.py)
    ...        0xFF: erased, the next frame goes here

Sector numbers count up from 1; number n lives in sector n mod the sector count,
so the sectors in use are the run of numbers ending at the highest valid header.
A sector is erased only when the ring comes round to it and given its header
at once: a cut in the erase or the header leaves a header that is not valid,
and the sector is simply not in use. Frames are programmed into erased flash
only; a cut in a program leaves a torn frame (wrong length or CRC) that ends
the sector's run of frames.
"""

import binascii
import struct

from protocol import records

HEADER = 16
ERASED = 0xFFFF  # the length field of erased flash: no frame here
_ERASE = 6


class SectorRing:
    def __init__(self, flash, magic):
        self.flash = flash
        self.magic = magic
        self.sector_bytes = flash.ioctl(5, 0)
        self.sectors = flash.ioctl(4, 0)
        self._header_buf = bytearray(HEADER)
        self._length_buf = bytearray(2)
        self._scan_buf = bytearray(64)

    def index(self, number):
        return number % self.sectors

    def _valid(self, index):
        # (epoch, number) of the sector's header if it is valid, else None.
        h = self._header_buf
        self.flash.readblocks(index, h, 0)
        if h[:4] != self.magic or struct.unpack_from(">I", h, 12)[0] != binascii.crc32(memoryview(h)[:12]):
            return None
        epoch, number = struct.unpack_from(">II", h, 4)
        return (epoch, number) if number % self.sectors == index else None

    def _header(self, index, epoch):
        # The sector number a valid header of this epoch gives the sector, else 0.
        valid = self._valid(index)
        return valid[1] if valid and valid[0] == epoch else 0

    def only_epoch(self):
        """The epoch of every valid header, if they all have the same one; None if
        there is none, or several (then which is the newest cannot be told)."""
        found = None
        for index in range(self.sectors):
            valid = self._valid(index)
            if valid:
                if found is not None and valid[0] != found:
                    return None
                found = valid[0]
        return found

    def in_use(self, epoch):
        """(oldest, newest) sector numbers in use, (1, 0) if none."""
        numbers = [self._header(index, epoch) for index in range(self.sectors)]
        head = max(numbers)
        if not head:
            return 1, 0
        base = head
        while base > 1 and head - base + 1 < self.sectors and numbers[self.index(base - 1)] == base - 1:
            base -= 1
        return base, head

    def length(self, index, offset):
        """The length field at `offset`: ERASED at the sector's end or over erased flash."""
        if offset + 2 > self.sector_bytes:
            return ERASED
        self.flash.readblocks(index, self._length_buf, offset)
        return self._length_buf[0] << 8 | self._length_buf[1]

    def frame(self, index, offset, length, limit=records.MAX_BODY, into=None):
        """The whole frame at `offset` if its length and CRC are right, else None;
        read into `into` (a buffer of its size) when given, else into a new bytearray."""
        size = length + records.FRAME_OVERHEAD
        if length == 0 or length > limit or offset + size > self.sector_bytes:
            return None
        frame = bytearray(size) if into is None else into
        self.flash.readblocks(index, frame, offset)
        try:
            records.body_of(frame, limit)  # the frame fills the buffer: its length and CRC, no copy
        except records.RecordError:
            return None
        return frame

    def dirty_bytes(self, index, offset):
        """Bytes from `offset` to the last one not erased: what a torn program left."""
        buf = self._scan_buf
        last = offset
        at = offset
        while at < self.sector_bytes:
            n = min(len(buf), self.sector_bytes - at)
            self.flash.readblocks(index, memoryview(buf)[:n], at)
            if buf.count(b"\xff", 0, n) != n:
                i = n
                while buf[i - 1] == 0xFF:
                    i -= 1
                last = at + i
            at += n
        return last - offset

    def start(self, number, epoch):
        """Erase sector `number`'s place and give it its header."""
        index = self.index(number)
        self.flash.ioctl(_ERASE, index)
        header = self.magic + struct.pack(">II", epoch, number)
        self.flash.writeblocks(index, header + struct.pack(">I", binascii.crc32(header)), 0)

    def program(self, number, offset, frame):
        self.flash.writeblocks(self.index(number), frame, offset)
