"""The record log on a raw flash range: a ring of sectors, each erased once a lap.

LittleFS rewrites a file's last block at every sync (littlefs issue #905), so a
record appended there costs an erase. Here a record costs only its bytes: frames
are programmed into erased flash one after another, and a sector is erased only
when the ring comes round to it again, once the host has acknowledged every
record in it (as Zephyr's FCB and NVS do). Erases per record are then the
physical bound: the bytes programmed over the sector size.

Each sector of the range (a block, 4 KB):

    offset 0   header: b"EMr1" | epoch u32 | sector number u32 | CRC-32 of the 12 bytes before
    offset 16  frames, back to back: u16 length | CBOR body | u32 CRC-32 (protocol/records.py)
    ...        0xFF: erased, the next frame goes here

Sector numbers count up from 1 in an epoch; number n lives in sector n mod the
sector count, so the kept sectors are the run of numbers ending at the highest
valid header. The meta, ack and drop files are on LittleFS (log_base.py).

Power cuts (a program leaves a prefix, the byte being written partly
programmed; an erase leaves the sector partly erased):
- in a frame's program: the head sector ends in a torn frame (its length or
  CRC is wrong). open() stops there and seals the sector: the next frame goes
  into a new sector, never after the torn bytes. The frame's append had not
  returned, so nothing committed is lost;
- in an erase or a header's program: the header is not valid, so the sector is
  not kept; the next new sector erases it again. Only an acknowledged sector is
  ever erased, so nothing committed is lost either way;
- acks: the ack file is on flash before a sector it covers may be erased.
A frame that reads back wrong in an older sector (never expected on NOR flash)
ends that sector for read(); status()["lost"] counts the seqs skipped.
"""

import binascii
import struct

from firmware.storage import state_files
from firmware.storage.log_base import ACK, DROP, LogBase
from protocol import records

MAGIC = b"EMr1"
HEADER = 16
_ERASED = 0xFFFF  # the length field of erased flash: no frame here
_ERASE = 6


class RingLog(LogBase):
    """The log on `flash` (a block device: the records' range), its small files in
    folder `root` on LittleFS. The interface of record_log.RecordLog."""

    def __init__(self, flash, root, device_id):
        self._flash = flash
        self.sector_bytes = flash.ioctl(5, 0)
        self.sectors = flash.ioctl(4, 0)
        self.capacity = self.sectors * (self.sector_bytes - HEADER)
        self._header_buf = bytearray(HEADER)
        self._length_buf = bytearray(2)
        self._scan_buf = bytearray(64)
        LogBase.__init__(self, root, device_id)

    def _reset(self):
        LogBase._reset(self)
        self._base = 1  # sector number of the oldest kept sector
        self._firsts = []  # first seq of each kept sector, oldest first; 0: empty or unreadable
        self._offset = HEADER  # where the head sector's next frame goes
        self._sealed = False  # the head sector ends in torn bytes: the next frame starts a new one

    @property
    def first_seq(self):
        for first in self._firsts:
            if first:
                return max(first, self.ack_seq + 1)
        return self.head_seq + 1

    # ------------------------------------------------------------ flash

    def _index(self, number):
        return number % self.sectors

    def _header(self, index):
        """The sector number a valid header of this epoch gives the sector, else 0."""
        h = self._header_buf
        self._flash.readblocks(index, h, 0)
        if h[:4] != MAGIC or struct.unpack_from(">I", h, 12)[0] != binascii.crc32(memoryview(h)[:12]):
            return 0
        epoch, number = struct.unpack_from(">II", h, 4)
        return number if epoch == self.epoch and number % self.sectors == index else 0

    def _length(self, index, offset):
        """The length field at `offset`: _ERASED at the sector's end or over erased flash."""
        if offset + 2 > self.sector_bytes:
            return _ERASED
        self._flash.readblocks(index, self._length_buf, offset)
        return self._length_buf[0] << 8 | self._length_buf[1]

    def _frame(self, index, offset, length):
        """The whole frame at `offset` if its length and CRC are right, else None."""
        if length == 0 or length > records.MAX_BODY or offset + length + records.FRAME_OVERHEAD > self.sector_bytes:
            return None
        frame = bytearray(length + records.FRAME_OVERHEAD)
        self._flash.readblocks(index, frame, offset)
        try:
            records.unframe(frame)
        except records.RecordError:
            return None
        return frame

    def _scan(self, number):
        """(frames, end offset, first seq, torn bytes) of a kept sector's run of whole frames."""
        index = self._index(number)
        offset, count, first = HEADER, 0, 0
        while True:
            length = self._length(index, offset)
            if length == _ERASED:
                return count, offset, first, 0
            frame = self._frame(index, offset, length)
            seq = state_files.seq_of(frame) if frame else -1
            if frame is None or seq <= 0 or (count and seq != first + count):
                return count, offset, first, self._dirty_bytes(index, offset)
            first = first or seq
            count += 1
            offset += len(frame)

    def _dirty_bytes(self, index, offset):
        # Bytes from `offset` to the last one not erased: what a torn program left.
        buf = self._scan_buf
        last = offset
        at = offset
        while at < self.sector_bytes:
            n = min(len(buf), self.sector_bytes - at)
            view = memoryview(buf)[:n]
            self._flash.readblocks(index, view, at)
            if buf.count(b"\xff", 0, n) != n:
                i = n
                while buf[i - 1] == 0xFF:
                    i -= 1
                last = at + i
            at += n
        return last - offset

    # ------------------------------------------------------------ boot

    def open(self):
        """Recover the log from flash; returns what was found and repaired."""
        self._reset()
        state_files.makedirs(self.root)
        new, facts = self._open_meta()
        facts["new_epoch"] = new
        facts["torn_bytes"] = 0
        if new:  # sectors of another epoch are free space now
            state_files.remove(self._path(ACK))
            state_files.remove(self._path(DROP))
        ack = self._open_ack()
        numbers = [self._header(index) for index in range(self.sectors)]
        head = max(numbers)
        last = 0
        if head:
            base = head
            while base > 1 and head - base + 1 < self.sectors and numbers[self._index(base - 1)] == base - 1:
                base -= 1
            self._base = base
            for number in range(base, head + 1):
                count, end, first, torn = self._scan(number)
                self._firsts.append(first)
                if count:
                    last = first + count - 1
                if number == head:
                    self._offset = end
                    self._sealed = torn > 0
                    facts["torn_bytes"] = torn
        self.head_seq = max(self.ack_seq, last)
        return self._open_rest(ack, facts)

    def close(self):
        """Nothing is held open (for the interface of record_log.RecordLog)."""

    # ------------------------------------------------------------ writing

    def _fits_in_head(self, frame):
        return self._firsts and not self._sealed and self._offset + len(frame) <= self.sector_bytes

    def _oldest_last_seq(self):
        # The last seq the oldest kept sector holds.
        for first in self._firsts[1:]:
            if first:
                return first - 1
        return self.head_seq

    def _can_turn(self):
        # Whether a new sector may start: a free one, or the oldest all acknowledged.
        return len(self._firsts) < self.sectors or self._oldest_last_seq() <= self.ack_seq

    def _has_room(self, frame):
        return self._fits_in_head(frame) or self._can_turn()

    def _write(self, frame):
        if not self._fits_in_head(frame):
            if not self._can_turn():
                return False
            self._turn()
        self._flash.writeblocks(self._index(self._base + len(self._firsts) - 1), frame, self._offset)
        self._offset += len(frame)
        self.head_seq += 1
        if not self._firsts[-1]:
            self._firsts[-1] = self.head_seq
        return True

    def _turn(self):
        # Start the next sector: erase it (the oldest, when the ring is full) and
        # give it its header.
        number = self._base + len(self._firsts)
        if len(self._firsts) == self.sectors:
            self._firsts.pop(0)
            self._base += 1
        index = self._index(number)
        self._flash.ioctl(_ERASE, index)
        header = MAGIC + struct.pack(">II", self.epoch, number)
        self._flash.writeblocks(index, header + struct.pack(">I", binascii.crc32(header)), 0)
        self._firsts.append(0)
        self._offset = HEADER
        self._sealed = False

    # ------------------------------------------------------------ host side

    def read(self, from_seq, max_bytes):
        """Frames, as on flash, from max(from_seq, first_seq) on, at most max_bytes in all."""
        seq = max(from_seq, self.first_seq)
        out = []
        if seq > self.head_seq:
            return out
        firsts = self._firsts
        k = len(firsts) - 1
        while k > 0 and not (firsts[k] and firsts[k] <= seq):
            k -= 1
        total = 0
        while k < len(firsts) and seq <= self.head_seq:
            end = self.head_seq + 1  # the seq the next kept sector starts with
            for first in firsts[k + 1 :]:
                if first:
                    end = first
                    break
            index = self._index(self._base + k)
            at, offset = firsts[k], HEADER
            while at and at < end:
                length = self._length(index, offset)
                if length == _ERASED:
                    break
                if at >= seq:
                    frame = self._frame(index, offset, length)
                    if frame is None or state_files.seq_of(frame) != at:
                        break
                    if total + len(frame) > max_bytes:
                        return out
                    out.append(bytes(frame))
                    total += len(frame)
                    seq = at + 1
                offset += length + records.FRAME_OVERHEAD
                at += 1
            if seq < end:  # unreadable from here: skip to the next sector
                self._lost[self._base + k] = end - seq
                seq = end
            k += 1
        return out

    def _trim(self):
        # Nothing to delete: an acknowledged sector is erased when the ring comes round to it.
        pass

    def _used_bytes(self):
        # Bytes of the sectors that hold a record not acknowledged yet.
        used = 0
        firsts = self._firsts
        for k in range(len(firsts)):
            last = self.head_seq
            for first in firsts[k + 1 :]:
                if first:
                    last = first - 1
                    break
            if firsts[k] and last > self.ack_seq:
                used += (self._offset if k == len(firsts) - 1 else self.sector_bytes) - HEADER
        return used
