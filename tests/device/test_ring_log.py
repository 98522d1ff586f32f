"""The record log on a raw flash ring (firmware/storage/ring_log.py), on both VMs: append,
read, ack, reopen, laps of the ring with an erase only per sector, the full log
and its gap record, torn programs and erases, a new epoch.

The ring is on a RAM flash that is strict NOR (tests/device/nor_flash.py): programming
a byte that is not erased with anything but 0xFF fails the test (the ring must
only program erased flash). Its small files (meta, ack, drop) are on LittleFS, see flash_fixture.
"""

# The log, its LittleFS files and both flashes: the unix port keeps their bytecode in the heap.
HEAP = "128k"

import flash_fixture as ff  # first: it takes its RAM flash while the heap is unfragmented
from nor_flash import NorFlash
from firmware.storage.log_base import BeyondHead
from firmware.storage.ring_log import RingLog
from firmware.storage.sector_ring import HEADER
from protocol import records

DEV = "em-ring"
SECTOR = 512
SECTORS = 6


def _log(flash=None, root=None):
    flash = flash or NorFlash(SECTOR, SECTORS)
    root = root or ff.fresh_dir()
    log = RingLog(flash, root, DEV)
    return log, log.open(), flash, root


def _usage(log, i):
    return log.append(records.USAGE, 1000 + i, {8: i, 9: 2 * i, 10: 0, 11: 3 * i})


def _seqs(frames):
    return [records.decode(records.unframe(f)[0])[records.K_SEQ] for f in frames]


def _all(log):
    return log.read(0, 1 << 20)


def test_append_read_ack_round_trip():
    log, facts, flash, _root = _log()
    assert facts["new_epoch"] and facts["records"] == 0 and (log.first_seq, log.head_seq, log.ack_seq) == (1, 0, 0)
    assert [_usage(log, i) for i in range(1, 31)] == list(range(1, 31))  # over several sectors
    frames = _all(log)
    assert _seqs(frames) == list(range(1, 31))
    for i, frame in enumerate(frames, 1):
        assert frame == records.frame(records.body(records.USAGE, i, 1000 + i, {8: i, 9: 2 * i, 10: 0, 11: 3 * i}))
    assert _seqs(log.read(17, 1 << 20)) == list(range(17, 31))
    assert _seqs(log.read(5, 3 * len(frames[0]))) == [5, 6, 7]
    assert log.ack(20) == 20 and log.first_seq == 21 and _seqs(_all(log)) == list(range(21, 31))
    status = log.status()
    assert (status["first"], status["head"], status["ack"], status["lost"]) == (21, 30, 20, 0)
    assert 0 < status["used_bytes"] <= 2 * (SECTOR - HEADER) and status["free_bytes"] == log.capacity - status["used_bytes"]
    try:
        log.ack(31)
    except BeyondHead:
        pass
    else:
        raise AssertionError("ack beyond the head was taken")
    assert log.ack(30) == 30 and _all(log) == [] and _usage(log, 31) == 31
    assert flash.programmed == sum(len(f) for f in frames) + len(log.read(31, 999)[0]) + HEADER * flash.erases


def test_a_reopen_finds_the_same_log_and_goes_on():
    log, _facts, flash, root = _log()
    for i in range(1, 26):
        _usage(log, i)
    log.ack(9)
    before = _all(log)
    again, facts, _flash, _root = _log(flash, root)
    assert not facts["new_epoch"] and facts["torn_bytes"] == 0
    assert (facts["head"], facts["ack"], facts["records"], again.epoch) == (25, 9, 16, log.epoch)
    assert _all(again) == before
    assert _usage(again, 26) == 26 and _seqs(_all(again))[-2:] == [25, 26]


def test_laps_of_the_ring_erase_a_sector_once_a_lap_and_only_what_is_acknowledged():
    log, _facts, flash, root = _log()
    for i in range(1, 601):  # about 14 records a sector: some seven laps of six sectors
        assert _usage(log, i) == i
        if i % 10 == 0:
            log.ack(i - 5)  # the host is always a little behind
    longest = len(log.read(600, 999)[0])
    framed = flash.programmed - HEADER * flash.erases  # the records' bytes, each programmed once
    # An erase for each sector filled: the physical bound, less what a frame that did not fit left over.
    assert -(-framed // (SECTOR - HEADER)) <= flash.erases <= -(-framed // (SECTOR - HEADER - longest))
    assert _seqs(_all(log)) == list(range(596, 601))
    again, facts, _flash, _root = _log(flash, root)
    assert (facts["head"], facts["ack"]) == (600, 595) and _seqs(_all(again)) == list(range(596, 601))


def test_a_full_log_drops_then_writes_one_gap_record_once_acknowledged():
    log, _facts, flash, root = _log()
    seqs = []
    for i in range(1, 200):
        seqs.append(_usage(log, i))
    written = [s for s in seqs if s is not None]
    assert written == list(range(1, len(written) + 1)) and None in seqs
    dropped = len(seqs) - len(written)
    assert log.status()["dropped_pending"] == dropped and log.dropped == dropped
    again, facts, _flash, _root = _log(flash, root)  # the drop count is on flash
    assert facts["dropped_pending"] == dropped
    again.ack(len(written))
    assert _usage(again, 500) == len(written) + 2
    gap, record = [records.decode(records.unframe(f)[0]) for f in _all(again)]
    assert gap[records.K_TYPE] == records.GAP and gap[records.GAP__DROPPED] == dropped
    assert (gap[records.GAP__FIRST_TIME], gap[records.GAP__LAST_TIME]) == (1000 + len(written) + 1, 1000 + 199)
    assert record[records.K_SEQ] == len(written) + 2 and again.status()["dropped_pending"] == 0


def test_a_torn_frame_seals_the_head_sector_and_the_next_record_starts_a_new_one():
    log, _facts, flash, root = _log()
    for i in range(1, 4):
        _usage(log, i)
    torn = records.frame(records.body(records.USAGE, 4, 1004, {8: 4}))
    flash.writeblocks(log._ring.index(log._base + len(log._firsts) - 1), torn[:7], log._offset)  # power lost mid-program
    again, facts, _flash, _root = _log(flash, root)
    assert facts["torn_bytes"] == 7 and facts["head"] == 3
    assert _usage(again, 4) == 4 and _seqs(_all(again)) == [1, 2, 3, 4]
    third, facts, _flash, _root = _log(flash, root)
    assert facts["torn_bytes"] == 0 and _seqs(_all(third)) == [1, 2, 3, 4]


def test_a_cut_erase_or_header_leaves_the_sector_out():
    log, _facts, flash, root = _log()
    per_sector = 0
    while log.head_seq < 2 or len(log._firsts) == 1:
        _usage(log, log.head_seq + 1)
        per_sector += 1
    # The next sector was being started when power went: its header half programmed.
    index = log._ring.index(log._base + len(log._firsts))
    flash.erase(index)
    flash.writeblocks(index, b"EMr1\x00\x00", 0)
    again, facts, _flash, _root = _log(flash, root)
    assert facts["head"] == log.head_seq and _seqs(_all(again)) == list(range(1, log.head_seq + 1))
    for i in range(log.head_seq + 1, log.head_seq + 3 * per_sector):
        assert _usage(again, i) == i  # the ring erases it again and goes on
    assert _seqs(_all(again)) == list(range(1, log.head_seq + 3 * per_sector))


def test_without_its_small_files_the_log_goes_on_in_the_epoch_its_sectors_name():
    log, _facts, flash, root = _log()
    for i in range(1, 20):
        _usage(log, i)
    log.ack(12)
    before = _all(log)
    ff.wipe(root)  # the state file system lost: meta, ack and all
    again, facts, _flash, _root = _log(flash, root)
    assert facts.get("epoch_recovered") and not facts["new_epoch"] and again.epoch == log.epoch
    assert (facts["head"], facts["ack"]) == (19, 0)
    assert _all(again)[-len(before):] == before and _seqs(_all(again))[-1] == 19  # what was held, served again
    assert _usage(again, 20) == 20
    third, facts, _flash, _root = _log(flash, root)
    assert not facts.get("epoch_recovered") and third.epoch == log.epoch and third.head_seq == 20


def test_without_its_meta_file_sectors_of_two_epochs_start_a_new_one():
    log, _facts, flash, root = _log()
    for i in range(1, 20):
        _usage(log, i)
    assert log._ring.in_use(log.epoch)[1] < SECTORS - 1  # the last sector is one this log never wrote
    log._ring.start(SECTORS - 1, log.epoch ^ 1)  # a sector of another epoch there: which is newer cannot be told
    ff.wipe(root)
    again, facts, _flash, _root = _log(flash, root)
    assert facts["new_epoch"] and again.epoch not in (log.epoch, log.epoch ^ 1) and facts["head"] == 0
    assert _usage(again, 1) == 1 and _seqs(_all(again)) == [1]


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
