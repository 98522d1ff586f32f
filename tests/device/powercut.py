"""Power-cut harness for firmware.storage.record_log on LittleFS, on the MicroPython VM (not a pytest file).

    micropython -X heapsize=32m tests/device/powercut.py [--every | --sample K --seed S]
                [--reorder] [--live K] [--ring]

--ring runs the workload on the storage of today's layout instead: the record
ring of raw flash sectors (firmware/storage/ring_log.py), its meta, ack and drop
files on LittleFS, and the meter's checkpoint journal (firmware/storage/journal.py),
each on its own range of the flash; a checkpoint of the running total is put
after every append, and after each cut the journal must hold the last one that
returned, or the one in flight: the meter never below its last durable
checkpoint, never above what was counted. A torn program then also leaves the
byte after its prefix partly programmed (some of its bits cleared), as NOR does.

A deterministic workload (WORKLOAD_RECORDS appends with segment rotation,
periodic host reads and acks that delete segments, an offline stretch that
fills the log and ends in a GAP record, clean reboots) runs ONCE on a RAM flash
that records every program and erase, and after each store operation what had
returned. A power cut at write N is then rebuilt instead of re-run: the initial
image, writes 1..N-1, then write N twice over: not landed at all, and torn (a
prefix of it lands; a torn erase leaves a prefix of the block erased). With
--reorder, the writes since the last sync (ioctl 3) reach the flash out of
order, as littlefs's own power-loss tests model it: on odd cut points the first
block erased since the sync keeps its old content (LFS_EMUBD_POWERLOSS_OOO), on
even ones each block written since the sync keeps all of those writes or none,
at random (a block-wise write-back cache). Programs then land as on NOR flash
(old AND new).

Each rebuilt image is mounted, RecordLog.open() recovers it, and check() asserts:
the epoch is kept; nothing committed is lost (every append that returned is
readable unless an ack that returned, or was in flight, covers it); nothing
acknowledged comes back (ack never below the last ack that returned; reads from
ack + 1 yield exactly ack + 1 .. head, strictly increasing, no gaps or
duplicates); every frame is byte for byte what was appended; a GAP record's
count and time span match the drops; the pending drop count is the committed
one (or includes the drop in flight); running totals never decrease; and the log
goes on: one more append gets head + 1 (head + 2 after a gap), it survives a
remount, and acking it empties the log.

--live K also re-runs the workload K times on PowerCutFlash, which really loses
power at write N (raises on every access afterwards), and checks that the image
it leaves is the rebuilt one. Mounts use mtime=False so that runs are
byte-for-byte repeatable. Prints "N passed, M failed" (cut points, both images
of one counted once, plus live runs); exits 1 on a failure.
"""

import gc
import sys

import vfs

from board.block_device import IOCTL_BLOCK_ERASE, IOCTL_SYNC
from firmware.storage import log_base, record_log
from firmware.storage.flash_range import FlashRange
from firmware.storage.journal import Journal
from firmware.storage.ring_log import RingLog
from flash_fixture import RamFlash
from protocol import records

BLOCK_SIZE = 512
BLOCKS = 64  # 32 KB of flash
SEGMENT_BYTES = 1024
MAX_BYTES = 8192
STATE_BLOCKS = 24  # --ring: LittleFS for the log's small files on blocks 0-23 ...
RING_BLOCKS = 16  # ... the ring on the next 16 (7.9 KB of frames: the offline stretch fills it) ...
JOURNAL_BLOCKS = 4  # ... and the checkpoint journal on the 4 after: some twenty laps of it
RING = [False]  # set by --ring
WORKLOAD_RECORDS = 1100
ACK_EVERY = 20  # the host pulls and acks every 20 appends ...
OFFLINE = (450, 800)  # ... except in this stretch, which fills the log
REBOOTS = (250, 900)  # clean reboots (close, remount, open) before these appends
READ_BYTES = 700  # the host's batch
EPOCH = 0x1234567
T0 = 1780000000
MOUNT = "/pc"
DEV = "em-powercut"

log_base.new_epoch = lambda: EPOCH  # the same bytes on flash in every run


class PowerLost(Exception):
    pass


class TraceFlash(RamFlash):
    """RAM flash recording every write: (block, offset, data), data None for an erase."""

    def __init__(self):
        RamFlash.__init__(self, BLOCK_SIZE, BLOCKS)
        self.trace = None
        self.syncs = []  # number of writes done at each sync

    def writeblocks(self, block, buf, offset=None):
        if self.trace is not None:
            self.trace.append((block, offset or 0, bytes(buf)))
        RamFlash.writeblocks(self, block, buf, offset)

    def ioctl(self, op, arg):
        if self.trace is not None:
            if op == IOCTL_BLOCK_ERASE:
                self.trace.append((arg, 0, None))
            elif op == IOCTL_SYNC and (not self.syncs or self.syncs[-1] != len(self.trace)):
                self.syncs.append(len(self.trace))
        return RamFlash.ioctl(self, op, arg)


class PowerCutFlash(RamFlash):
    """Loses power at its cut-th write: that write lands torn, then every access raises."""

    def __init__(self, cut, torn):
        RamFlash.__init__(self, BLOCK_SIZE, BLOCKS)
        self.cut = cut
        self.torn = torn
        self.writes = 0
        # Finalisers of files the dead run left open still call in, with the
        # heap locked: raising or allocating then only prints noise. They get
        # a scratch copy of the image, served byte by byte (no allocation).
        self.scratch = bytearray(len(self.data))

    def _dead(self):
        if self.writes < self.cut:
            return False
        if _finalising():
            return True
        raise PowerLost()

    def readblocks(self, block, buf, offset=0):
        if self._dead():
            _copy(buf, 0, self.scratch, block * BLOCK_SIZE + offset, len(buf))
        else:
            RamFlash.readblocks(self, block, buf, offset)

    def writeblocks(self, block, buf, offset=None):
        if self._dead():
            _copy(self.scratch, block * BLOCK_SIZE + (offset or 0), buf, 0, len(buf))
        else:
            self._write((block, offset or 0, bytes(buf)))

    def ioctl(self, op, arg):
        if op == IOCTL_BLOCK_ERASE:
            if self._dead():
                for i in range(BLOCK_SIZE):
                    self.scratch[arg * BLOCK_SIZE + i] = 0xFF
            else:
                self._write((arg, 0, None))
            return 0
        if op == IOCTL_SYNC:
            self._dead()
        return RamFlash.ioctl(self, op, arg)

    def _write(self, write):
        self.writes += 1
        if self.writes == self.cut:
            tear(self.data, write, self.torn)
            self.scratch[:] = self.data
            raise PowerLost()
        apply(self.data, write)


def _finalising():
    # Finalisers run with the heap locked: an allocation fails at once.
    try:
        bytearray(1)
    except MemoryError:
        return True
    return False


def _copy(dst, at, src, start, n):
    for i in range(n):
        dst[at + i] = src[start + i]


_BLANK = b"\xff" * BLOCK_SIZE


def apply(image, write, nor=False):
    block, offset, data = write
    start = block * BLOCK_SIZE + offset
    if data is None:
        image[start : start + BLOCK_SIZE] = _BLANK
    elif nor:  # programming only clears bits
        for i in range(len(data)):
            image[start + i] &= data[i]
    else:
        image[start : start + len(data)] = data


def tear(image, write, keep):
    """Only the first `keep` bytes of a write land (a program only clears bits);
    with --ring the byte after a torn program's prefix lands half (its high bits)."""
    block, offset, data = write
    start = block * BLOCK_SIZE + offset
    if data is None:
        image[start : start + keep] = _BLANK[:keep]
    else:
        for i in range(keep):
            image[start + i] &= data[i]
        if RING[0] and 0 < keep < len(data):
            image[start + keep] &= data[keep] | 0x0F


def torn_length(write, cut, seed):
    """How much of a torn write lands: 1 .. size - 1 bytes (0 is checked apart)."""
    size = BLOCK_SIZE if write[2] is None else len(write[2])
    return 1 + _mix(cut * 7919 + seed) % (size - 1) if size > 1 else 0


def choose_cuts(total, every, sample, seed):
    """The writes (1..total) to cut at: every one, or a sample of `sample` picked by `seed`."""
    if every:
        return list(range(1, total + 1))
    chosen = {}
    x = seed
    while len(chosen) < min(sample, total):
        x = _mix(x + 0x9E3779B9)
        chosen[x % total + 1] = True
    return sorted(chosen)


def _mix(x):
    x = (x ^ (x >> 16)) * 0x45D9F3B & 0xFFFFFFFF
    x = (x ^ (x >> 16)) * 0x45D9F3B & 0xFFFFFFFF
    return x ^ (x >> 16)


# ----------------------------------------------------------------- the workload


def _mount(flash):
    vfs.mount(vfs.VfsLfs2(FlashRange(flash, 0, STATE_BLOCKS) if RING[0] else flash, mtime=False), MOUNT)


def _umount():
    try:
        vfs.umount(MOUNT)
    except Exception:  # a dead flash, or not mounted
        pass


def _journal(flash):
    journal = Journal(FlashRange(flash, STATE_BLOCKS + RING_BLOCKS, JOURNAL_BLOCKS))
    journal.open()
    return journal


def _new_log(flash):
    if RING[0]:
        return RingLog(FlashRange(flash, STATE_BLOCKS, RING_BLOCKS), MOUNT + "/log", DEV)
    return record_log.RecordLog(MOUNT + "/log", DEV, MAX_BYTES, SEGMENT_BYTES)


def _content(i):
    # Record i of the workload: mostly usage samples with a running total,
    # sometimes a reminder with a text, so frames differ in length.
    t = T0 + 60 * i
    if i % 37 == 5:
        return records.REMINDER_SENT, t, {8: 1, 9: "+8613800138000", 10: i, 11: "x" * (i % 61)}
    up = _mix(i) % 5000
    down = _mix(i + 99999) % 50000
    return records.USAGE, t, {8: up, 9: down, 10: 0, 11: _total(i)}


def _total(i):
    return i * 30000 + _mix(i) % 1000  # increasing with i


class Model:
    """What the host and the device have seen, after each operation that returned."""

    def __init__(self):
        self.head = 0
        self.ack = 0
        self.pending = None  # [count, first_time, last_time] of the drop episode
        self.frames = {}  # seq -> the frame that append must have written
        self.total = 0  # running total of the last committed usage record
        self.checkpoint = 0  # the total of the last checkpoint put (--ring)
        self.host_max_total = [0]  # index seq: max total among frames the host holds up to seq

    def appended(self, rtype, time, fields, seq):
        if seq is None:
            p = self.pending
            if p:
                p[0] += 1
                p[1] = min(p[1], time)
                p[2] = max(p[2], time)
            else:
                self.pending = [1, time, time]
            return
        if self.pending:
            p = self.pending
            gap = self.head + 1
            self.frames[gap] = records.frame(records.body(records.GAP, gap, time, {8: p[0], 9: p[1], 10: p[2]}))
            self.head = gap
            self.pending = None
        assert seq == self.head + 1, (seq, self.head)
        self.frames[seq] = records.frame(records.body(rtype, seq, time, fields))
        self.head = seq
        if rtype == records.USAGE:
            self.total = fields[11]

    def state(self):
        p = self.pending
        return (self.head, self.ack, p[0] if p else 0, p[1] if p else 0, p[2] if p else 0, self.total, self.checkpoint)


def run_workload(flash, ops, logs=None):
    """Run the workload on a formatted flash, appending (writes_before, writes_after, state, append) to ops.

    `logs` gets every RecordLog opened, so that a dead run's files can be closed.
    """
    logs = [] if logs is None else logs
    writes = lambda: flash.writes if hasattr(flash, "writes") else len(flash.trace)  # noqa: E731
    model = Model()
    host = []  # seqs the host received, in order
    _mount(flash)
    log = _new_log(flash)
    logs.append(log)
    before = writes()
    log.open()
    journal = _journal(flash) if RING[0] else None
    ops.append((before, writes(), model.state(), None))
    for i in range(1, WORKLOAD_RECORDS + 1):
        if i in REBOOTS:
            log.close()
            _umount()
            _mount(flash)
            log = _new_log(flash)
            logs.append(log)
            before = writes()
            facts = log.open()
            assert facts["head"] == model.head and not facts["new_epoch"], facts
            if RING[0]:
                journal = _journal(flash)
                assert journal.get() == [model.checkpoint], journal.get()
            ops.append((before, writes(), model.state(), None))
        rtype, t, fields = _content(i)
        before = writes()
        seq = log.append(rtype, t, fields)
        model.appended(rtype, t, fields, seq)
        ops.append((before, writes(), model.state(), (rtype, t, fields, seq)))
        if journal is not None:  # the meter's count, saved as the firmware does (a put a record here)
            before = writes()
            journal.put([_total(i)])
            model.checkpoint = _total(i)
            ops.append((before, writes(), model.state(), None))
        if i % ACK_EVERY == 0 and not OFFLINE[0] <= i < OFFLINE[1]:
            start = host[-1] + 1 if host else 1
            while True:  # the host pulls everything, checks it, stores it, then acks
                frames = log.read(start, READ_BYTES)
                if not frames:
                    break
                for frame in frames:
                    assert frame == model.frames[start], start
                    model.host_max_total.append(max(model.host_max_total[-1], _frame_total(frame)))
                    host.append(start)
                    start += 1
            before = writes()
            model.ack = log.ack(host[-1])
            assert model.ack == host[-1] == model.head
            ops.append((before, writes(), model.state(), None))
    log.close()
    _umount()
    return model


def _frame_total(frame):
    record = records.decode(records.unframe(frame)[0])
    return record.get(11, 0) if record[0] == records.USAGE else 0


# ----------------------------------------------------------------- checks


def check(image, ops, cut, model):
    """Recover the image of a cut at write `cut`; raise AssertionError on any violation."""
    committed = None
    flight = None
    for op in ops:
        if op[1] < cut:
            committed = op
        else:
            if op[0] < cut:
                flight = op
            break
    flash = RamFlash(BLOCK_SIZE, 1)
    flash.blocks = BLOCKS
    flash.data = image
    _mount(flash)
    try:
        log = _new_log(flash)
        facts = log.open()
        if committed is None:  # the first open never returned: only "it works" is owed
            _goes_on(log, flash, (0, 0, 0, 0, 0, 0), None, facts)
            return facts
        head_c, ack_c, pend_c, first_c, last_c, total_c, checkpoint_c = committed[2]
        state_f = flight[2] if flight else committed[2]
        if RING[0]:
            saved = _journal(flash).get()
            saved = saved[0] if saved else 0
            assert checkpoint_c <= saved <= state_f[6], ("checkpoint", saved, checkpoint_c, state_f[6])
        assert log.epoch == EPOCH and not facts["new_epoch"], facts
        assert ack_c <= log.ack_seq <= state_f[1], ("ack", log.ack_seq, ack_c, state_f[1])
        assert head_c <= log.head_seq <= state_f[0], ("head", log.head_seq, head_c, state_f[0])
        pend = log.status()["dropped_pending"]
        if log.head_seq == head_c:
            assert pend in (pend_c, state_f[2] if state_f[0] == head_c else pend_c), ("pending", pend, pend_c)
        else:
            assert pend == state_f[2] == 0, ("pending after gap", pend)
        seq = log.ack_seq + 1
        best = model.host_max_total[min(log.ack_seq, len(model.host_max_total) - 1)]
        while True:
            frames = log.read(seq, READ_BYTES)
            if not frames:
                break
            for frame in frames:
                assert frame == model.frames.get(seq), ("frame", seq)
                best = max(best, _frame_total(frame))
                seq += 1
        assert seq == log.head_seq + 1, ("stored", log.ack_seq + 1, seq - 1, log.head_seq)
        assert best >= total_c, ("total went down", best, total_c)
        if log.first_seq <= log.head_seq:
            first = log.read(0, READ_BYTES)[0]
            assert first == model.frames[log.first_seq], ("first", log.first_seq)
        # A drop in flight counts if the drop file landed: its time is then in the span.
        span = (first_c, last_c) if pend == pend_c else (state_f[3], state_f[4])
        _goes_on(log, flash, (log.head_seq, log.ack_seq, pend, span[0], span[1], total_c), model, facts)
        return facts
    finally:
        _umount()


def _goes_on(log, flash, state, model, facts):
    # One more record after recovery: head + 1, or head + 2 behind a gap.
    head, ack, pend, first_t, last_t, total = state
    t = T0 + 60 * (WORKLOAD_RECORDS + 10)
    fields = {8: 1, 9: 1, 10: 0, 11: total + 1}
    seq = log.append(records.USAGE, t, fields)
    if seq is None:  # still full: one more drop counted
        assert log.status()["dropped_pending"] == pend + 1, "drop not counted"
        reserve = 0 if RING[0] else record_log.RESERVE
        assert log.status()["free_bytes"] < 40 + reserve, "dropped with room left"
        return
    if pend:
        assert seq == head + 2, ("seq after gap", seq, head)
        gap = log.read(head + 1, 100)[0]
        if model is not None:
            want = records.frame(records.body(records.GAP, head + 1, t, {8: pend, 9: first_t, 10: last_t}))
            assert gap == want, ("gap", records.decode(records.unframe(gap)[0]), pend, first_t, last_t)
    else:
        assert seq == head + 1, ("seq", seq, head)
    frame = records.frame(records.body(records.USAGE, seq, t, fields))
    assert log.read(seq, 100) == [frame], "new record not readable"
    log.close()
    _umount()
    _mount(flash)
    log = _new_log(flash)
    again = log.open()
    assert again["head"] == seq and again["torn_bytes"] == 0 and log.epoch == EPOCH
    assert log.read(seq, 100) == [frame]
    assert log.ack(seq) == seq and log.first_seq == seq + 1 and log.status()["used_bytes"] == 0
    try:
        log.ack(seq + 1)
        assert False, "ack beyond head accepted"
    except log_base.BeyondHead:
        pass
    log.close()


# ----------------------------------------------------------------- rebuilding cuts


def rebuild(base, trace, synced, cut, keep, seed, reorder):
    """Image of a power cut at write `cut` (1-based) of which `keep` bytes landed;
    `base` holds writes 1..cut-1.

    With reorder, `synced` is (image, writes) at the last sync before the cut:
    writes since then reach the flash block by block in any order, so whole
    blocks' worth of them are lost.
    """
    write = trace[cut - 1]
    if not reorder:
        image = bytearray(base)
        tear(image, write, keep)
        return image, "linear"
    image = bytearray(synced[0])
    window = trace[synced[1] : cut - 1]
    if cut & 1:  # littlefs OOO: the first block erased since the sync keeps its old content
        lost = [w[0] for w in window if w[2] is None][:1]
        kind = "ooo"
    else:  # every block written since the sync: kept or lost at random
        lost = [w[0] for w in window + [write] if _mix(cut * 31 + w[0] + seed) & 1]
        kind = "blocks"
    for w in window:
        if w[0] not in lost:
            apply(image, w, nor=True)
    if write[0] not in lost:
        tear(image, write, keep)
    return image, kind


def main(argv):
    every = "--every" in argv
    RING[0] = "--ring" in argv
    reorder = "--reorder" in argv
    sample = int(arg(argv, "--sample", "100"))
    seed = int(arg(argv, "--seed", "1"))
    live = int(arg(argv, "--live", "0"))

    flash = TraceFlash()
    vfs.VfsLfs2.mkfs(FlashRange(flash, 0, STATE_BLOCKS) if RING[0] else flash)
    initial = bytearray(flash.data)
    flash.trace = []
    ops = []
    model = run_workload(flash, ops)
    trace = flash.trace
    flash.trace = None
    gaps = sum(1 for f in model.frames.values() if records.decode(records.unframe(f)[0])[0] == records.GAP)
    print("workload: %d appends, %d records, head %d, %d gap(s), %d writes, %d syncs"
          % (WORKLOAD_RECORDS, len(model.frames), model.head, gaps, len(trace), len(flash.syncs)))
    assert gaps >= 1, "the workload never filled the log"

    total = len(trace)
    cuts = choose_cuts(total, every, sample, seed)

    passed = 0
    failed = 0
    torn_seen = 0
    sync_points = set(flash.syncs)
    image = bytearray(initial)  # writes 1..done applied
    synced = bytearray(initial) if reorder else None  # the image at the last sync
    synced_at = 0
    done = 0
    kinds = {}
    images = 0
    for cut in cuts:
        while done < cut - 1:
            apply(image, trace[done])
            done += 1
            if reorder and done in sync_points:
                synced[:] = image
                synced_at = done
        # Two images per cut: write N not landed at all, and a torn prefix of it.
        torn = torn_length(trace[cut - 1], cut, seed)
        ok = True
        for keep in (0, torn) if torn else (0,):
            cut_image, kind = rebuild(image, trace, (synced, synced_at), cut, keep, seed, reorder)
            images += 1
            try:
                facts = check(cut_image, ops, cut, model)
                torn_seen += facts["torn_bytes"] > 0
            except Exception as exc:
                ok = False
                if failed < 10:
                    print("FAIL cut %d keep %d (%s, write %s): %r" % (cut, keep, kind, describe(trace[cut - 1]), exc))
        kinds[kind] = kinds.get(kind, 0) + 1
        passed += ok
        failed += not ok
        gc.collect()

    for cut in cuts[:: max(1, len(cuts) // live)][:live] if live else ():
        try:
            _live(cut, trace, ops, model, initial, seed)
            passed += 1
        except Exception as exc:
            failed += 1
            print("FAIL live cut %d: %r" % (cut, exc))

    print("cut points: %d of %d writes (%s; %s), images checked: %d, live: %d, torn tails cut: %d"
          % (len(cuts), total, "every" if every else "sample seed %d" % seed,
             ", ".join("%s %d" % kv for kv in sorted(kinds.items())), images, min(live, len(cuts)), torn_seen))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)


def _live(cut, trace, ops, model, initial, seed):
    keep = torn_length(trace[cut - 1], cut, seed)
    flash = PowerCutFlash(cut, keep)
    flash.data[:] = initial
    live_ops = []
    logs = []
    try:
        run_workload(flash, live_ops, logs)
        assert False, "the power never went"
    except PowerLost:
        pass
    image = bytearray(flash.data)
    for log in logs:
        try:
            log.close()
        except PowerLost:
            pass
    gc.collect()  # finalisers of files the dead run left open (see PowerCutFlash.readblocks)
    _umount()
    assert live_ops == [op for op in ops if op[1] < cut], "live run diverged from the recorded one"
    expected = bytearray(initial)
    for w in trace[: cut - 1]:
        apply(expected, w)
    tear(expected, trace[cut - 1], keep)
    assert image == expected, "the live cut left another image than the rebuilt one"
    check(image, ops, cut, model)


def describe(write):
    block, offset, data = write
    return "erase %d" % block if data is None else "prog %d+%d len %d" % (block, offset, len(data))


def arg(argv, name, default):
    return argv[argv.index(name) + 1] if name in argv else default


if __name__ == "__main__":
    main(sys.argv[1:])
