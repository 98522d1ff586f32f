"""The record log: every event written once to flash, kept until the host acknowledges it.

On-flash layout, one folder (/flash/log on the device), beside log_base.py's
meta, ack and drop files:

    0000002a.seg  a segment: the records from seq 0x2a on, frames back to back
    *.tmp         a replacement being written; removed at open

A frame is protocol.records.frame(body): u16 length | CBOR body | u32 CRC-32.
The small files use the same framing around a CBOR list, so a damaged one is
recognised. Seqs are consecutive within a segment: the k-th frame of segment
NAME holds seq NAME + k, so the file names are the whole index.

Crash safety (littlefs: a file's content changes only at sync/close, atomically;
rename is atomic):
- append: write + flush (lfs_file_sync) of the last segment; the record exists
  once append returns. A cut before leaves the old file; a torn tail (possible on
  other file systems) is cut back to the last whole frame at open.
- ack, drop, meta: see log_base.py. Segments go only after the ack file saying
  so is on flash; a cut between is tidied at open.
- meta missing or damaged with segments present cannot happen on littlefs; if it
  does, the records cannot be tied to an epoch: the folder is emptied and a new
  epoch starts, as after a reformat.
- a bad frame in an older segment (never on littlefs): read() stops that segment
  there and goes on with the next one; status()["lost"] counts the seqs skipped.
"""

import os

from firmware.storage import state_files
from firmware.storage.log_base import LogBase
from protocol import records

# Budget bytes only a GAP record may use: a detail record must leave them free,
# so the gap can always go in first once an ack freed space. A GAP frame is at
# most 51 bytes (seq and dropped as u32, times as u64).
RESERVE = 64


class RecordLog(LogBase):
    """The log in folder `root`: at most max_bytes of segments of about segment_bytes.

    open() -> {"new_epoch", "torn_bytes", "records", "head", "ack",
    "dropped_pending"} (and "device_mismatch": True if the metadata names
    another device: the stored id is kept). append(rtype, time, fields) -> seq,
    or None if the log is full. read(from_seq, max_bytes) -> [frame]. ack(seq)
    -> ack_seq; BeyondHead past the head. status() -> {"epoch", "first",
    "head", "ack", "used_bytes", "free_bytes", "dropped_pending", "lost"}.
    acked_link() -> the MAC record ack + 1 chains to (None if not known);
    attested_head() -> (link, att) with the key, att the device's MAC over it.
    File system errors other than ENOSPC (full) propagate as OSError.
    """

    def __init__(self, root, device_id, max_bytes, segment_bytes=4096):
        self.capacity = max_bytes
        self.segment_bytes = segment_bytes
        self._f = None  # the last segment, open for appending
        LogBase.__init__(self, root, device_id)

    def _reset(self):
        LogBase._reset(self)
        self._firsts = []  # first seq of each segment, ascending: from the file names
        self._sizes = []  # bytes of each segment
        self._sealed = False  # its tail could not be cut: start a new segment

    @property
    def max_bytes(self):
        return self.capacity

    @property
    def first_seq(self):
        return self._firsts[0] if self._firsts else self.head_seq + 1

    def _seg(self, first):
        return self._path("%08x.seg" % first)

    # ------------------------------------------------------------ boot

    def open(self):
        """Recover the log from flash; returns what was found and repaired."""
        self.close()
        self._reset()
        state_files.makedirs(self.root)
        names = os.listdir(self.root)
        for name in names:
            if name.endswith(".tmp"):  # a replacement that never got renamed
                os.remove(self._path(name))
        new, facts = self._open_meta()
        facts["new_epoch"] = new
        facts["torn_bytes"] = 0
        if new:
            for name in names:
                if name.endswith(".seg") or name in ("ack", "drop"):
                    os.remove(self._path(name))
            names = []
        for name in names:
            if name.endswith(".seg"):
                try:
                    self._firsts.append(int(name[:-4], 16))
                except ValueError:
                    continue
        self._firsts.sort()
        self._sizes = [state_files.size(self._seg(first)) for first in self._firsts]
        ack = self._open_ack()
        if ack is None and self._firsts:  # no ack file: everything before the first segment was acked
            self.ack_seq = self._firsts[0] - 1
        facts["torn_bytes"] = self._repair_tail()
        self._trim()  # segments an ack covered before a cut stopped their removal
        return self._open_rest(ack, facts)

    def _repair_tail(self):
        # Only the last segment can end in a partial frame: segments are only
        # appended to while last, and open() repairs before anything is added.
        # Sets head_seq; returns the bytes cut.
        torn = 0
        last = 0
        while self._firsts:
            first = self._firsts[-1]
            path = self._seg(first)
            count, good = state_files.scan(path, first)
            torn += self._sizes[-1] - good
            if count == 0:  # nothing whole in it (a cut right after creating it)
                os.remove(path)
                self._firsts.pop()
                self._sizes.pop()
                continue
            if good < self._sizes[-1]:
                self._cut(path, good)
            last = first + count - 1
            break
        self.head_seq = max(self.ack_seq, last)
        return torn

    def _cut(self, path, good):
        # No truncate() on MicroPython's VFS: copy the good prefix, rename it
        # over. No room for the copy: leave the tail, write on in a new segment
        # (read() never looks past a segment's last seq).
        self._sealed = not state_files.copy_prefix(path, good)
        self._sizes[-1] = good

    def close(self):
        """Close the segment open for appending (before unmounting)."""
        if self._f is not None:
            f = self._f
            self._f = None
            try:
                f.close()
            except OSError:
                pass

    # ------------------------------------------------------------ writing

    def _has_room(self, frame):
        return sum(self._sizes) + len(frame) <= self.capacity - RESERVE

    def _write(self, frame):
        # Append one frame durably. False if the file system is full (nothing
        # written then); other errors propagate.
        seq = self.head_seq + 1
        new = not self._firsts or self._sealed or (
            self._sizes[-1] and self._sizes[-1] + len(frame) > self.segment_bytes
        )
        try:
            if new:
                self.close()
                self._f = open(self._seg(seq), "ab")
                self._firsts.append(seq)
                self._sizes.append(0)
                self._sealed = False
            elif self._f is None:
                self._f = open(self._seg(self._firsts[-1]), "ab")
            self._f.write(frame)
            self._f.flush()  # littlefs: lfs_file_sync, the commit point
        except OSError as e:
            self.close()
            if e.errno != state_files.ENOSPC:
                raise
            if self._firsts:  # a part may have landed (not on littlefs): cut it
                path = self._seg(self._firsts[-1])
                good = state_files.scan(path, self._firsts[-1])[1]
                if not good:  # a segment created for this frame: nothing to keep
                    os.remove(path)
                    self._firsts.pop()
                    self._sizes.pop()
                elif good < state_files.size(path):
                    self._cut(path, good)
            return False
        self._sizes[-1] += len(frame)
        self.head_seq = seq
        return True

    # ------------------------------------------------------------ host side

    def _read_into(self, seq, buf):
        # The old layout's frames, copied in: a board on it holds only what it had.
        total = 0
        for frame in self._read(seq, len(buf)):
            buf[total : total + len(frame)] = frame
            total += len(frame)
        return total

    def _read(self, seq, max_bytes):
        out = []
        firsts = self._firsts
        i = len(firsts) - 1
        while firsts[i] > seq:
            i -= 1
        total = 0
        while i < len(firsts):
            end = firsts[i + 1] if i + 1 < len(firsts) else self.head_seq + 1
            with open(self._seg(firsts[i]), "rb") as f:
                got = state_files.skip(f, seq - firsts[i])
                while got and seq < end:
                    frame = state_files.next_frame(f)
                    if not frame or state_files.seq_of(frame) != seq:
                        break
                    if total + len(frame) > max_bytes:
                        return out
                    out.append(frame)
                    total += len(frame)
                    seq += 1
            if seq < end:  # a bad frame in an older segment: skip to the next one
                self._lost[firsts[i]] = end - seq
            seq = end
            i += 1
        return out

    def _trim(self):
        # Delete the segments whose every record is acknowledged, oldest first,
        # so what remains is always one run of seqs.
        firsts = self._firsts
        while firsts and (firsts[1] - 1 if len(firsts) > 1 else self.head_seq) <= self.ack_seq:
            if len(firsts) == 1:
                self.close()
                self._sealed = False
            os.remove(self._seg(firsts[0]))
            self._lost.pop(firsts.pop(0), None)
            self._sizes.pop(0)

    def _used_bytes(self):
        return sum(self._sizes)
