"""Device tests for firmware.storage.record_log: append, read, ack, reopen, epoch.

Runs on MicroPython (LittleFS on a RAM block device) and CPython (a temp
folder), see flash_fixture. Torn tails and the full log are in
test_store_recovery.py (one file would not compile in the 64 KB heap).
"""

# A RAM flash of its own, log_base.py beside the log, and the record schema's names
# (protocol/records.py): on the unix port a .mpy's bytecode and names are in the
# heap, which a board keeps in flash.
HEAP = "80k"

import flash_fixture as ff  # first: it takes its RAM flash while the heap is unfragmented
from firmware.storage.log_base import BeyondHead
from firmware.storage.record_log import RecordLog
from protocol import records

DEV = "em-test"


def _open(root, max_bytes=6000, segment_bytes=256):
    log = RecordLog(root, DEV, max_bytes, segment_bytes)
    return log, log.open()


def _fields(i):
    return {8: i, 9: 2 * i, 10: 0, 11: 3 * i}


def _usage(log, i):
    return log.append(records.USAGE, 1000 + i, _fields(i))


def _seqs(frames):
    return [records.decode(records.unframe(f)[0])[records.K_SEQ] for f in frames]


def _segments(root):
    return [n for n in ff.files(root) if n.endswith(".seg")]


def test_append_read_ack_round_trip():
    root = ff.fresh_dir()
    log, facts = _open(root)
    assert facts["new_epoch"] and facts["torn_bytes"] == 0 and facts["records"] == 0
    assert (log.first_seq, log.head_seq, log.ack_seq, log.device_id) == (1, 0, 0, DEV)
    assert log.read(1, 4096) == []
    assert [_usage(log, i) for i in range(1, 11)] == list(range(1, 11))
    frames = log.read(0, 4096)
    assert _seqs(frames) == list(range(1, 11))
    for i, frame in enumerate(frames, 1):
        assert frame == records.frame(records.body(records.USAGE, i, 1000 + i, _fields(i)))
    status = log.status()
    assert status["used_bytes"] == sum(len(f) for f in frames)
    assert status["free_bytes"] == 6000 - status["used_bytes"]
    assert (status["first"], status["head"], status["ack"], status["dropped_pending"]) == (1, 10, 0, 0)
    assert log.ack(10) == 10
    assert log.read(11, 4096) == [] and log.first_seq == 11 and log.status()["used_bytes"] == 0
    assert _usage(log, 11) == 11
    assert _seqs(log.read(1, 4096)) == [11]
    log.close()


def test_seq_strictly_increasing_across_reopen():
    root = ff.fresh_dir()
    log, _ = _open(root)
    epoch = log.epoch
    for i in range(1, 6):
        _usage(log, i)
    log.close()
    log, facts = _open(root)
    assert not facts["new_epoch"] and facts["records"] == 5 and facts["head"] == 5
    assert log.epoch == epoch and _usage(log, 6) == 6
    log.ack(6)  # every segment acknowledged and deleted: the head must survive
    assert _segments(root) == []
    log.close()
    log, facts = _open(root)
    assert (log.first_seq, log.head_seq, log.ack_seq, facts["records"]) == (7, 6, 6, 0)
    assert _usage(log, 7) == 7 and log.epoch == epoch
    log.close()


# Records of the read sweep: 4 segments of 256 bytes. At most 32 so that no list of
# them needs a 512-byte run of the 64 KB heap (40 made this suite's floor 62 KB).
N = 30


def test_read_batches_by_bytes_from_any_seq():
    root = ff.fresh_dir()
    log, _ = _open(root)
    for i in range(1, N + 1):
        _usage(log, i)
    assert len(_segments(root)) > 3  # rotated at 256 bytes
    sizes = [len(f) for f in log.read(1, 1 << 20)]
    assert len(sizes) == N
    for start in range(0, N + 3, 3):
        for budget in (0, sizes[0] - 1, sizes[0], 100, 257, 1000):
            frames = log.read(start, budget)
            first = max(start, 1)
            assert _seqs(frames) == list(range(first, first + len(frames)))
            total = sum(len(f) for f in frames)
            assert total <= budget
            nxt = first + len(frames)  # the read stopped only because the next frame would not fit
            assert nxt > N or total + sizes[nxt - 1] > budget
    log.ack(17)
    assert _seqs(log.read(18, 60))[0] == 18
    assert _seqs(log.read(1, 60))[0] == log.first_seq <= 18
    log.close()


def test_ack_idempotent_and_beyond_head_refused():
    root = ff.fresh_dir()
    log, _ = _open(root)
    for i in range(1, 21):
        _usage(log, i)
    assert log.ack(0) == 0
    assert log.ack(5) == 5 and log.ack(5) == 5 and log.ack(3) == 5
    try:
        log.ack(21)
        assert False, "ack beyond the head accepted"
    except BeyondHead as exc:
        assert isinstance(exc, ValueError)
    assert log.ack_seq == 5
    log.close()
    log, facts = _open(root)
    assert facts["ack"] == 5 and log.ack(4) == 5
    log.close()


def test_acknowledged_segments_deleted():
    root = ff.fresh_dir()
    log, _ = _open(root)
    for i in range(1, 31):
        _usage(log, i)
    names = _segments(root)
    firsts = [int(n[:8], 16) for n in names]
    assert firsts[0] == 1 and names == ["%08x.seg" % f for f in sorted(firsts)]
    log.ack(firsts[1] - 2)  # all of segment 0 but its last record: nothing goes
    assert _segments(root) == names
    log.ack(firsts[1] - 1)
    assert _segments(root) == names[1:] and log.first_seq == firsts[1]
    log.ack(firsts[2] + 1)  # into segment 2: segment 1 goes, 2 stays
    assert _segments(root) == names[2:] and log.first_seq == firsts[2]
    used = log.status()["used_bytes"]
    log.close()
    log, _ = _open(root)
    assert log.status()["used_bytes"] == used and log.first_seq == firsts[2]
    log.close()


def test_epoch_kept_across_reopen_new_when_wiped():
    root = ff.fresh_dir()
    log, facts = _open(root)
    epoch = log.epoch
    assert facts["new_epoch"] and 0 < epoch < 1 << 31
    _usage(log, 1)
    log.close()
    log, facts = _open(root)
    assert not facts["new_epoch"] and log.epoch == epoch
    log.close()
    ff.wipe(root)  # as after a reformat
    log, facts = _open(root)
    assert facts["new_epoch"] and log.epoch != epoch and log.head_seq == 0
    assert _usage(log, 1) == 1
    log.close()
    # Segments without their metadata cannot belong to any epoch: they go.
    import os

    os.remove(root + "/meta")
    log, facts = _open(root)
    assert facts["new_epoch"] and log.head_seq == 0 and _segments(root) == []
    log.close()


def test_device_id_kept_in_metadata():
    root = ff.fresh_dir()
    log, _ = _open(root)
    log.close()
    other = RecordLog(root, "em-other", 6000, 256)
    facts = other.open()
    assert facts.get("device_mismatch") and other.device_id == DEV
    other.close()


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
