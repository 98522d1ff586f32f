"""The record log: every event written once to flash, kept until the host acknowledges it.

On-flash layout, one folder (/flash/log on the device):

    meta          frame([epoch, device_id])      written once, when the folder is new
    ack           frame([ack_seq, ? mac])        replaced on every ack (mac: record ack_seq's)
    drop          frame([count, first_time, last_time, head])  only while records are dropped
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
- ack, drop, meta: temp file, then rename over the real one: old or new, never half.
  Segments go only after the ack file saying so is on flash; a cut between is
  tidied at open. The head is max(ack, last stored seq), so emptying the log
  never restarts the seqs.
- drop: the count is on flash before append returns None. The GAP record is
  written before the drop file goes; a cut between is seen at open (head has
  passed the drop file's head), so a gap is never written twice.
- meta missing or damaged with segments present cannot happen on littlefs; if it
  does, the records cannot be tied to an epoch: the folder is emptied and a new
  epoch starts, as after a reformat.
- a bad frame in an older segment (never on littlefs): read() stops that segment
  there and goes on with the next one; status()["lost"] counts the seqs skipped.
"""

import os

from firmware.storage import state_files
from protocol import auth, records

# Budget bytes only a GAP record may use: a detail record must leave them free,
# so the gap can always go in first once an ack freed space. A GAP frame is at
# most 51 bytes (seq and dropped as u32, times as u64).
RESERVE = 64


META = "meta"
ACK = "ack"
DROP = "drop"


class BeyondHead(ValueError):
    """ack() of a seq the log has not written."""


class RecordLog:
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
        self.root = root.rstrip("/")
        self.device_id = device_id
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._f = None  # the last segment, open for appending
        self.appended = 0  # records written since boot (gap records too)
        self.dropped = 0  # records the full log had no room for, since boot
        self.mac_key = None  # set by sign_with(): records then carry chained MACs
        self._reset()

    def _reset(self):
        self.epoch = 0
        self.head_seq = 0
        self.ack_seq = 0
        self._firsts = []  # first seq of each segment, ascending: from the file names
        self._sizes = []  # bytes of each segment
        self._sealed = False  # its tail could not be cut: start a new segment
        self._drop = None  # [count, first_time, last_time, head] while dropping
        self._lost = {}  # segment first seq -> seqs read() found unreadable
        self._last_mac = auth.GENESIS  # the head record's MAC (GENESIS: none, or unsigned)
        self._ack_link = None  # what record ack_seq + 1 chains to; None: nothing acked, or not known

    @property
    def first_seq(self):
        return self._firsts[0] if self._firsts else self.head_seq + 1

    def _path(self, name):
        return self.root + "/" + name

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
        meta = state_files.get(self._path(META))
        new = not (isinstance(meta, list) and len(meta) == 2 and isinstance(meta[0], int))
        facts = {"new_epoch": new, "torn_bytes": 0}
        if new:
            for name in names:
                if not name.endswith(".tmp"):
                    os.remove(self._path(name))
            self.epoch = new_epoch()
            state_files.put(self._path(META), [self.epoch, self.device_id])
            names = []
        else:
            self.epoch = meta[0]
            if meta[1] != self.device_id:  # the records were written under the stored id
                facts["device_mismatch"] = True
                self.device_id = meta[1]
        for name in names:
            if name.endswith(".seg"):
                try:
                    self._firsts.append(int(name[:-4], 16))
                except ValueError:
                    continue
        self._firsts.sort()
        self._sizes = [state_files.size(self._seg(first)) for first in self._firsts]
        ack = state_files.get(self._path(ACK))
        if isinstance(ack, list) and ack and isinstance(ack[0], int):
            self.ack_seq = ack[0]
            self._ack_link = _mac_or_genesis(ack[1] if len(ack) > 1 else None)
        elif self._firsts:  # no ack file: everything before the first segment was acked
            self.ack_seq = self._firsts[0] - 1
        facts["torn_bytes"] = self._repair_tail()
        self._trim()  # segments an ack covered before a cut stopped their removal
        self._last_mac = self._head_mac(ack)
        drop = state_files.get(self._path(DROP))
        if isinstance(drop, list) and len(drop) == 4 and drop[0] > 0:
            if self.head_seq > drop[3]:  # its gap record is in the log already
                state_files.remove(self._path(DROP))
            else:
                self._drop = drop
        facts["records"] = self.head_seq - self.first_seq + 1
        facts["head"] = self.head_seq
        facts["ack"] = self.ack_seq
        facts["dropped_pending"] = self._drop[0] if self._drop else 0
        return facts

    def _head_mac(self, ack):
        # The head record's MAC: from its frame, or, once acknowledged and gone,
        # from the ack file, which keeps the MAC of the record it acknowledges.
        frames = self.read(self.head_seq, records.MAX_BODY + records.FRAME_OVERHEAD) if self._firsts else []
        if frames:
            mac = records.decode(records.unframe(frames[0])[0]).get(records.K_MAC)
        else:
            mac = ack[1] if isinstance(ack, list) and len(ack) > 1 and ack[0] == self.head_seq else None
        return mac if isinstance(mac, bytes) and len(mac) == len(auth.GENESIS) else auth.GENESIS

    def sign_with(self, key):
        """From now on each record carries a MAC made with `key`, chained to the last one's."""
        self.mac_key = key

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

    def _signed(self, rtype, seq, time, fields):
        # (frame, mac): the record, with its MAC chained to the head's when signing.
        unsigned = records.body(rtype, seq, time, fields)
        if self.mac_key is None:
            return records.frame(unsigned), auth.GENESIS
        mac = auth.record_mac(self.mac_key, self._last_mac, unsigned)
        return records.frame(records.body(rtype, seq, time, fields, mac)), mac

    def append(self, rtype, time, fields):
        """Write a record; its seq once it is on flash, None if the log is full (counted)."""
        seq = self.head_seq + 1
        frame, mac = self._signed(rtype, seq, time, fields)
        if sum(self._sizes) + len(frame) > self.max_bytes - RESERVE:
            return self._dropped(time)
        d = self._drop
        if d:
            gap, gap_mac = self._signed(records.GAP, seq, time, {records.GAP__DROPPED: d[0], records.GAP__FIRST_TIME: d[1],
                                                                          records.GAP__LAST_TIME: d[2]})
            if not self._write(gap):
                return self._dropped(time)
            self._last_mac = gap_mac
            self._drop = None  # the gap is on flash: only now forget the drops
            state_files.remove(self._path(DROP))
            seq += 1
            frame, mac = self._signed(rtype, seq, time, fields)
        if not self._write(frame):
            return self._dropped(time)
        self._last_mac = mac
        return seq

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
        self.appended += 1
        return True

    def _dropped(self, time):
        self.dropped += 1
        d = self._drop
        if d:
            d[0] += 1
            d[1] = min(d[1], time)
            d[2] = max(d[2], time)
        else:  # no record is written while dropping: the gap will get seq head + 1
            d = self._drop = [1, time, time, self.head_seq]
        try:
            state_files.put(self._path(DROP), d)
        except OSError as e:  # counted in RAM; the next drop tries again
            if e.errno != state_files.ENOSPC:
                raise
        return None

    # ------------------------------------------------------------ host side

    def read(self, from_seq, max_bytes):
        """Frames, as on flash, from max(from_seq, first_seq) on, at most max_bytes in all."""
        seq = max(from_seq, self.first_seq)
        out = []
        if seq > self.head_seq:
            return out
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

    def ack(self, seq):
        """The host has everything up to seq: returns the acknowledged position."""
        if seq <= self.ack_seq:
            return self.ack_seq
        if seq > self.head_seq:
            raise BeyondHead("ack %d beyond head %d" % (seq, self.head_seq))
        acked = self.read(seq, records.MAX_BODY + records.FRAME_OVERHEAD)
        mac = records.decode(records.unframe(acked[0])[0]).get(records.K_MAC) if acked else None
        # On flash before any segment goes; with the MAC of record seq, which the
        # next record chains to even once every segment is gone.
        state_files.put(self._path(ACK), [seq, mac] if mac else [seq])
        self.ack_seq = seq
        self._ack_link = _mac_or_genesis(mac)
        self._trim()
        return seq

    def acked_link(self):
        """The MAC record ack_seq + 1 chains to: record ack_seq's (kept in the ack
        file, so known once its segment is gone), GENESIS if it was unsigned;
        None if nothing is acknowledged or the ack file is gone."""
        return self._ack_link if self.ack_seq else None

    def attested_head(self):
        """(link, att) of the acknowledged head, att = protocol.auth.link_mac
        (written out here: that module does not fit the device's heap beside the
        firmware); None without a key or a known link."""
        link = self.acked_link()
        if link is None or self.mac_key is None:
            return None
        return link, auth.link_mac(self.mac_key, self.device_id, self.epoch, self.ack_seq, link)

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

    def status(self):
        used = sum(self._sizes)
        return {
            "epoch": self.epoch,
            "first": self.first_seq,
            "head": self.head_seq,
            "ack": self.ack_seq,
            "used_bytes": used,
            "free_bytes": max(0, self.max_bytes - used),
            "dropped_pending": self._drop[0] if self._drop else 0,
            "lost": sum(self._lost.values()),
        }


def _mac_or_genesis(mac):
    # A record without a MAC (written before the key) is chained past with GENESIS.
    return mac if isinstance(mac, bytes) and len(mac) == len(auth.GENESIS) else auth.GENESIS


def new_epoch():
    """A random non-zero 31-bit epoch (the time if the port has no urandom)."""
    try:
        epoch = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF
    except (AttributeError, OSError, NotImplementedError):
        import time

        epoch = int(time.time() * 1000) & 0x7FFFFFFF
    return epoch or 1
