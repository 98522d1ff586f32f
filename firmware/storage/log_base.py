"""What every record log shares, whatever holds its frames: seqs, signing, drops and acks.

A log keeps three small files in its folder on LittleFS (firmware/storage/state_files.py,
each replaced atomically):

    meta   [epoch, device_id]                  written once, when the folder is new
    ack    [ack_seq, ? mac]                    replaced on every ack (mac: record ack_seq's)
    drop   [count, first_time, last_time, head]  only while records are dropped

A subclass holds the frames (record_log.py: segment files on LittleFS; ring_log.py:
a ring of raw flash sectors) and provides `_has_room(frame)` (whether a detail
record may go in now; a GAP record may always try), `_write(frame)` (durable,
updates head_seq; False when there is no room), `_read(seq, max_bytes)` (frames
from a seq it holds) and `_read_into(seq, buf)` (the same into a buffer: their
byte count), `_trim()` (after an ack), `_used_bytes()`, `first_seq` and
`capacity`.

- append: the record exists once append returns its seq. While the log is full a
  record is counted, not written: the count is on flash (drop) before append
  returns None, and the GAP record that reports it is written before the drop
  file goes; a cut between is seen at open (head has passed the drop file's
  head), so a gap is never written twice.
- ack: on flash, with the MAC of record ack_seq (which the next record chains
  to even once that record is gone), before any frame is freed. The head is
  max(ack, last stored seq), so emptying the log never restarts the seqs.
"""

import os

from firmware.storage import state_files
from protocol import auth, records

META = "meta"
ACK = "ack"
DROP = "drop"


class BeyondHead(ValueError):
    """ack() of a seq the log has not written."""


class LogBase:
    def __init__(self, root, device_id):
        self.root = root.rstrip("/")
        self.device_id = device_id
        self.mac_key = None  # set by sign_with(): records then carry chained MACs
        self.appended = 0  # records written since boot (gap records too)
        self.dropped = 0  # records the full log had no room for, since boot
        self._reset()

    def _reset(self):
        self.epoch = 0
        self.head_seq = 0
        self.ack_seq = 0
        self._drop = None  # [count, first_time, last_time, head] while dropping
        self._lost = {}  # where read() found frames unreadable -> seqs skipped
        self._last_mac = auth.GENESIS  # the head record's MAC (GENESIS: none, or unsigned)
        self._ack_link = None  # what record ack_seq + 1 chains to; None: nothing acked, or not known

    def _path(self, name):
        return self.root + "/" + name

    # ------------------------------------------------------------ boot

    def _open_meta(self, epoch_on_flash=None):
        """The epoch from the meta file; without one, the epoch `epoch_on_flash()`
        finds the frames under (they are kept, with the ack file if it is
        there), or a new one (then True: whatever frames are found belong to no
        epoch and must go)."""
        meta = state_files.get(self._path(META))
        if not (isinstance(meta, list) and len(meta) == 2 and isinstance(meta[0], int)):
            found = epoch_on_flash() if epoch_on_flash else None
            self.epoch = found or new_epoch()
            state_files.put(self._path(META), [self.epoch, self.device_id])
            return not found, {"epoch_recovered": True} if found else {}
        self.epoch = meta[0]
        if meta[1] != self.device_id:  # the records were written under the stored id
            self.device_id = meta[1]
            return False, {"device_mismatch": True}
        return False, {}

    def _open_ack(self):
        """The ack file as stored (None if there is none)."""
        ack = state_files.get(self._path(ACK))
        if isinstance(ack, list) and ack and isinstance(ack[0], int):
            self.ack_seq = ack[0]
            self._ack_link = _mac_or_genesis(ack[1] if len(ack) > 1 else None)
            return ack
        return None

    def _open_rest(self, ack, facts):
        """After the frames are recovered: the head's MAC, the pending drops, the facts."""
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
        frames = self._read_any(self.head_seq) if self.head_seq else []
        if frames:
            mac = records.decode(records.unframe(frames[0])[0]).get(records.K_MAC)
        else:
            mac = ack[1] if isinstance(ack, list) and len(ack) > 1 and ack[0] == self.head_seq else None
        return mac if isinstance(mac, bytes) and len(mac) == len(auth.GENESIS) else auth.GENESIS

    def _read_any(self, seq):
        """[frame of seq] even if it is acknowledged, while it is still stored; [] if not."""
        return self.read(seq, records.MAX_BODY + records.FRAME_OVERHEAD)

    def sign_with(self, key):
        """From now on each record carries a MAC made with `key`, chained to the last one's."""
        self.mac_key = key

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
        if not self._has_room(frame):
            return self._dropped(time)
        d = self._drop
        if d:
            gap, gap_mac = self._signed(records.GAP, seq, time, {records.GAP__DROPPED: d[0], records.GAP__FIRST_TIME: d[1],
                                                                  records.GAP__LAST_TIME: d[2]})
            if not self._write(gap):
                return self._dropped(time)
            self.appended += 1
            self._last_mac = gap_mac
            self._drop = None  # the gap is on flash: only now forget the drops
            state_files.remove(self._path(DROP))
            seq += 1
            frame, mac = self._signed(rtype, seq, time, fields)
        if not self._write(frame):
            return self._dropped(time)
        self.appended += 1
        self._last_mac = mac
        return seq

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
        return [] if seq > self.head_seq else self._read(seq, max_bytes)

    def read_into(self, from_seq, buf):
        """The frames read() would give for len(buf) bytes, back to back in the bytearray
        `buf` from its start; how many bytes they fill. The ring reads them straight in."""
        seq = max(from_seq, self.first_seq)
        return 0 if seq > self.head_seq else self._read_into(seq, buf)

    def ack(self, seq):
        """The host has everything up to seq: returns the acknowledged position."""
        if seq <= self.ack_seq:
            return self.ack_seq
        if seq > self.head_seq:
            raise BeyondHead("ack %d beyond head %d" % (seq, self.head_seq))
        acked = self.read(seq, records.MAX_BODY + records.FRAME_OVERHEAD)
        mac = records.decode(records.unframe(acked[0])[0]).get(records.K_MAC) if acked else None
        # On flash before any frame goes; with the MAC of record seq, which the
        # next record chains to even once every frame of it is gone.
        state_files.put(self._path(ACK), [seq, mac] if mac else [seq])
        self.ack_seq = seq
        self._ack_link = _mac_or_genesis(mac)
        self._trim()
        return seq

    def acked_link(self):
        """The MAC record ack_seq + 1 chains to: record ack_seq's (kept in the ack
        file, so known once its frame is gone), GENESIS if it was unsigned;
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

    def status(self):
        used = self._used_bytes()
        return {
            "epoch": self.epoch,
            "first": self.first_seq,
            "head": self.head_seq,
            "ack": self.ack_seq,
            "used_bytes": used,
            "free_bytes": max(0, self.capacity - used),
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
