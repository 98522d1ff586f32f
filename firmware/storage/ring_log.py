"""The record log on a raw flash range: a ring of sectors, each erased once a lap.

LittleFS rewrites a file's last block at every sync (littlefs issue #905), so a
record appended there costs an erase. Here a record costs only its bytes: frames
are programmed into erased flash one after another, and a sector is erased only
when the ring comes round to it again, once the host has acknowledged every
record in it (as Zephyr's FCB and NVS do). Erases per record are then the
physical bound: the bytes programmed over the sector size.

The sectors, their headers and frames are sector_ring.py's; the meta, ack and
drop files are on LittleFS (log_base.py).

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
A meta file lost with the LittleFS it is on (damaged, reformatted) does not lose
the records: the sectors' headers name their epoch, and if they all name the
same one the log goes on in it, every record still held served again from the
first (the ack file gone with it; the host keeps each record once). Sectors of
several epochs cannot be told apart by age: then a new epoch starts, as before.
A frame that reads back wrong in an older sector (never expected on NOR flash)
ends that sector for read(); status()["lost"] counts the seqs skipped.
"""

from firmware.storage import state_files
from firmware.storage.log_base import ACK, DROP, LogBase
from firmware.storage.sector_ring import ERASED, HEADER, SectorRing
from protocol import records

MAGIC = b"EMr1"


class RingLog(LogBase):
    """The log on `flash` (a block device: the records' range), its small files in
    folder `root` on LittleFS. The interface of record_log.RecordLog."""

    def __init__(self, flash, root, device_id):
        self._ring = SectorRing(flash, MAGIC)
        self.sector_bytes = self._ring.sector_bytes
        self.sectors = self._ring.sectors
        self.capacity = self.sectors * (self.sector_bytes - HEADER)
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

    def _scan(self, number):
        """(frames, end offset, first seq, torn bytes) of a kept sector's run of whole frames."""
        ring = self._ring
        index = ring.index(number)
        offset, count, first = HEADER, 0, 0
        while True:
            length = ring.length(index, offset)
            if length == ERASED:
                return count, offset, first, 0
            frame = ring.frame(index, offset, length)
            seq = state_files.seq_of(frame) if frame else -1
            if frame is None or seq <= 0 or (count and seq != first + count):
                return count, offset, first, ring.dirty_bytes(index, offset)
            first = first or seq
            count += 1
            offset += len(frame)

    # ------------------------------------------------------------ boot

    def open(self):
        """Recover the log from flash; returns what was found and repaired."""
        self._reset()
        state_files.makedirs(self.root)
        new, facts = self._open_meta(self._ring.only_epoch)
        facts["new_epoch"] = new
        facts["torn_bytes"] = 0
        if new:  # sectors of another epoch are free space now
            state_files.remove(self._path(ACK))
            state_files.remove(self._path(DROP))
        ack = self._open_ack()
        self._base, head = self._ring.in_use(self.epoch)
        last = 0
        for number in range(self._base, head + 1):
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

    def _end(self, k):
        # The seq after the last one kept sector k holds: the next readable sector's first.
        for first in self._firsts[k + 1 :]:
            if first:
                return first
        return self.head_seq + 1

    def _can_turn(self):
        # Whether a new sector may start: a free one, or the oldest all acknowledged.
        return len(self._firsts) < self.sectors or self._end(0) - 1 <= self.ack_seq

    def _has_room(self, frame):
        return self._fits_in_head(frame) or self._can_turn()

    def _write(self, frame):
        if not self._fits_in_head(frame):
            if not self._can_turn():
                return False
            self._turn()
        self._ring.program(self._base + len(self._firsts) - 1, self._offset, frame)
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
        self._ring.start(number, self.epoch)
        self._firsts.append(0)
        self._offset = HEADER
        self._sealed = False

    # ------------------------------------------------------------ host side

    def _read(self, seq, max_bytes, into=None):
        # The frames from seq on, at most max_bytes in all: a list of them, or, with
        # `into` (a bytearray of max_bytes), read straight into it from its start,
        # and their byte count returned: no block per record.
        out = []
        firsts = self._firsts
        k = len(firsts) - 1
        while k > 0 and not (firsts[k] and firsts[k] <= seq):
            k -= 1
        total = 0
        full = False
        while k < len(firsts) and seq <= self.head_seq and not full:
            end = self._end(k)
            index = self._ring.index(self._base + k)
            at, offset = firsts[k], HEADER
            while at and at < end:
                length = self._ring.length(index, offset)
                if length == ERASED:
                    break
                size = length + records.FRAME_OVERHEAD
                if at >= seq:
                    if total + size > max_bytes:
                        full = True
                        break
                    frame = self._ring.frame(index, offset, length,
                                             into=None if into is None else memoryview(into)[total : total + size])
                    if frame is None or state_files.seq_of(frame) != at:
                        break
                    if into is None:
                        out.append(bytes(frame))
                    total += size
                    seq = at + 1
                offset += size
                at += 1
            if seq < end and not full:  # unreadable from here: skip to the next sector
                self._lost[self._base + k] = end - seq
                seq = end
            k += 1
        return out if into is None else total

    def _read_into(self, seq, buf):
        return self._read(seq, len(buf), buf)

    def _trim(self):
        # Nothing to delete: an acknowledged sector is erased when the ring comes round to it.
        pass

    def _used_bytes(self):
        # Bytes of the sectors that hold a record not acknowledged yet: what is not free.
        # A sealed head takes no more frames: all of it counts.
        used = 0
        firsts = self._firsts
        for k in range(len(firsts)):
            holds = firsts[k] and self._end(k) - 1 > self.ack_seq
            if k < len(firsts) - 1:
                used += self.sector_bytes - HEADER if holds else 0
            elif holds or self._sealed:
                used += (self.sector_bytes if self._sealed else self._offset) - HEADER
        return used
