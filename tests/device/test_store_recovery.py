"""Device tests for firmware.storage.record_log: torn tails cut at open, the full log, gap records.

Runs on MicroPython (LittleFS on a RAM block device) and CPython (a temp
folder), see flash_fixture. The basic API is tested in test_store.py.
"""

# A RAM flash of its own, log_base.py beside the log, and the record schema's names
# (protocol/records.py): on the unix port a .mpy's bytecode and names are in the
# heap, which a board keeps in flash.
HEAP = "80k"

import flash_fixture as ff  # first: it takes its RAM flash while the heap is unfragmented
import os
from firmware.storage.record_log import RESERVE, RecordLog
from protocol import records

DEV = "em-test"


def _open(root, max_bytes=6000, segment_bytes=256):
    log = RecordLog(root, DEV, max_bytes, segment_bytes)
    return log, log.open()


def _usage(log, i):
    return log.append(records.USAGE, 1000 + i, {8: i, 9: 2 * i, 10: 0, 11: 3 * i})


def _records(log, start=1):
    return [records.decode(records.unframe(f)[0]) for f in log.read(start, 1 << 16)]


def _seqs(log, start=1):
    # Seqs of everything stored, read in small batches (a 64 KB heap).
    out = []
    while True:
        frames = log.read(start, 256)
        if not frames:
            return out
        for f in frames:
            out.append(records.decode(records.unframe(f)[0])[1])
        start = out[-1] + 1


def _last_segment(root):
    return root + "/" + [n for n in ff.files(root) if n.endswith(".seg")][-1]


def _add_to(path, data):
    with open(path, "ab") as f:
        f.write(data)


def test_torn_tail_cut_at_every_length():
    root = ff.fresh_dir()
    log, _ = _open(root)
    for i in range(1, 4):
        _usage(log, i)
    log.close()
    seg = _last_segment(root)
    size = os.stat(seg)[6]
    whole = records.frame(records.body(records.USAGE, 4, 1004, {8: 4, 9: 8, 10: 0, 11: 12}))
    bad_crc = whole[:-1] + bytes([whole[-1] ^ 1])
    tails = [whole[:n] for n in range(1, len(whole))]
    tails += [bad_crc, b"\x00\x00" + whole[2:], b"\xff\xff" + whole[2:], b"\xff" * 40]
    for tail in tails:
        _add_to(seg, tail)
        log, facts = _open(root)
        assert facts["torn_bytes"] == len(tail), (len(tail), facts)
        assert facts["head"] == 3 and log.head_seq == 3 and os.stat(seg)[6] == size
        log.close()
    log, facts = _open(root)
    assert facts["torn_bytes"] == 0 and _seqs(log) == [1, 2, 3]
    assert not [n for n in ff.files(root) if n.endswith(".tmp")]
    assert _usage(log, 4) == 4 and log.read(4, 100) == [whole]
    log.close()


def test_torn_frame_alone_in_a_new_segment():
    root = ff.fresh_dir()
    log, _ = _open(root, segment_bytes=40)  # one record per segment
    for i in range(1, 4):
        _usage(log, i)
    log.close()
    whole = records.frame(records.body(records.USAGE, 4, 1004, {8: 4}))
    _add_to(root + "/00000004.seg", whole[:7])  # created, then the power went
    log, facts = _open(root, segment_bytes=40)
    assert facts["torn_bytes"] == 7 and log.head_seq == 3
    assert "00000004.seg" not in ff.files(root)
    assert _usage(log, 4) == 4 and _seqs(log) == [1, 2, 3, 4]
    log.close()


def test_bad_frame_in_an_older_segment_is_skipped():
    # Never on littlefs; elsewhere read() must not crash, nor return the bad bytes.
    root = ff.fresh_dir()
    log, _ = _open(root, segment_bytes=100)
    for i in range(1, 13):
        _usage(log, i)
    log.close()
    names = [n for n in ff.files(root) if n.endswith(".seg")]
    second = int(names[1][:8], 16)
    with open(root + "/" + names[0], "rb") as f:
        data = bytearray(f.read())
    data[len(records.frame(records.body(records.USAGE, 1, 1001, {8: 1, 9: 2, 10: 0, 11: 3}))) + 5] ^= 0xFF
    with open(root + "/" + names[0], "wb") as f:
        f.write(data)
    log, facts = _open(root, segment_bytes=100)
    assert facts["torn_bytes"] == 0 and log.head_seq == 12
    assert _seqs(log) == [1] + list(range(second, 13))
    assert log.status()["lost"] == second - 2
    log.ack(second - 1)  # the host acks past the hole; the segment goes
    assert log.status()["lost"] == 0 and _usage(log, 13) == 13
    log.close()


def _fill(log, start):
    # Append until the first drop; returns the next record number.
    i = start
    while _usage(log, i) is not None:
        i += 1
    return i + 1


def test_full_log_drops_counts_then_writes_gap_first():
    root = ff.fresh_dir()
    log, _ = _open(root, max_bytes=700, segment_bytes=200)
    i = _fill(log, 1)
    head = log.head_seq
    kept = log.read(1, 1 << 16)
    status = log.status()
    assert status["used_bytes"] + 40 > 700 - RESERVE and status["dropped_pending"] == 1
    for j in range(i, i + 4):
        assert _usage(log, j) is None
    log.close()
    log, facts = _open(root, max_bytes=700, segment_bytes=200)  # the count is on flash
    assert facts["dropped_pending"] == 5 and log.head_seq == head
    assert log.read(1, 1 << 16) == kept  # nothing unacknowledged overwritten
    assert log.ack(2) == 2 and _usage(log, 99) is None  # no segment freed: still full
    assert log.status()["dropped_pending"] == 6
    firsts = sorted(int(n[:8], 16) for n in ff.files(root) if n.endswith(".seg"))
    log.ack(firsts[1] - 1)  # segment 0 goes
    assert _usage(log, 100) == head + 2
    gap, rec = _records(log, head + 1)
    assert gap[0] == records.GAP and gap[1] == head + 1 and gap[2] == 1100
    assert (gap[8], gap[9], gap[10]) == (6, 1000 + i - 1, 1099)
    assert rec[0] == records.USAGE and rec[1] == head + 2 and rec[8] == 100
    assert log.status()["dropped_pending"] == 0 and "drop" not in ff.files(root)
    log.close()
    log, facts = _open(root, max_bytes=700, segment_bytes=200)
    assert facts["dropped_pending"] == 0 and _usage(log, 101) == head + 3  # no second gap
    log.close()


def test_gap_written_but_drop_file_left_by_a_cut():
    root = ff.fresh_dir()
    log, _ = _open(root, max_bytes=700, segment_bytes=200)
    _fill(log, 1)
    with open(root + "/drop", "rb") as f:
        drop = f.read()
    log.ack(log.head_seq)
    assert _usage(log, 200) is not None  # gap + record
    with open(root + "/drop", "wb") as f:  # as if the power went before the drop file went
        f.write(drop)
    log.close()
    log, facts = _open(root, max_bytes=700, segment_bytes=200)
    assert facts["dropped_pending"] == 0 and "drop" not in ff.files(root)
    log.close()


def test_file_system_full_is_treated_as_log_full():
    # A budget larger than the flash: littlefs itself runs out (ENOSPC).
    if not ff.MICROPYTHON:
        return  # a host temp folder does not fill up
    root = ff.fresh_dir()
    log, _ = _open(root, max_bytes=1 << 20, segment_bytes=256)
    i = _fill(log, 1)
    head = log.head_seq
    assert head > 50 and log.status()["dropped_pending"] == 1
    assert _seqs(log) == list(range(1, head + 1))
    log.close()
    log, facts = _open(root, max_bytes=1 << 20, segment_bytes=256)
    assert facts["head"] == head and facts["torn_bytes"] == 0
    log.ack(head)
    assert _usage(log, i) == head + 2 and _records(log, head + 1)[0][8] == 1
    log.close()


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
