"""A value that changes often, kept in a ring of raw flash sectors: an update costs its bytes.

The meter's checkpoint changes every 64 KB of traffic, thousands of times a day
on a busy line. Replaced as a LittleFS file, each would cost an erase or two;
here each `put` programs one frame (u16 length | CBOR | CRC-32, about 40 bytes)
after the last one, and `get` is the newest whole frame. When a sector is full
the next is erased and started (sector_ring.py): the newest value is still in
the sector before, so a cut in that erase, or in a frame's program, leaves the
value before, never nothing. So a 4 KB sector takes about a hundred
checkpoints per erase, and the wear spreads over every sector of the range.
"""

from firmware.storage.sector_ring import ERASED, HEADER, SectorRing
from protocol import cbor, records

MAGIC = b"EMj1"
LIMIT = 256  # bytes of a value's CBOR: a checkpoint needs about 40
_EPOCH = 0  # a journal outlives the record log's epochs


class Journal:
    def __init__(self, flash):
        self._ring = SectorRing(flash, MAGIC)
        if self._ring.sectors < 2:
            raise ValueError("a journal needs two sectors at least")
        self._head = 0  # sector number being filled (0: none yet)
        self._offset = HEADER
        self._sealed = False
        self._value = None
        self.puts = 0  # since boot

    def open(self):
        """Find the newest value on flash; returns it (None on new flash)."""
        base, head = self._ring.in_use(_EPOCH)
        self._head, self._value, self._sealed = head, None, False
        for number in range(head, base - 1, -1):
            value, end, torn = self._newest(number)
            if number == head:
                self._offset, self._sealed = end, torn
            if value is not None:
                self._value = value
                break
        return self.get()

    def _newest(self, number):
        # (newest value, end of the run of whole frames, whether torn bytes follow it).
        ring = self._ring
        index = ring.index(number)
        offset, newest = HEADER, None
        while True:
            length = ring.length(index, offset)
            if length == ERASED:
                return newest, offset, False
            frame = ring.frame(index, offset, length, LIMIT)
            if frame is None:
                return newest, offset, True
            newest = frame
            offset += len(frame)

    def get(self):
        """The newest value put (or found by open)."""
        if isinstance(self._value, bytearray):  # a frame open() found: decoded when first asked
            try:
                self._value = cbor.loads(memoryview(self._value)[2:-4])
            except ValueError:
                self._value = None
        return self._value

    def put(self, value):
        """Keep `value` durably: on flash when this returns."""
        frame = records.frame(cbor.dumps(value), LIMIT)
        if not self._head or self._sealed or self._offset + len(frame) > self._ring.sector_bytes:
            self._head += 1
            self._ring.start(self._head, _EPOCH)
            self._offset, self._sealed = HEADER, False
        self._ring.program(self._head, self._offset, frame)
        self._offset += len(frame)
        self._value = value
        self.puts += 1
