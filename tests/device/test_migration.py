"""A board's flash moved from the old layout (one LittleFS over the partition) onto
the board's layout (firmware/storage/migration.py, board_storage.py), on MicroPython's
LittleFS: kept as it is while a record is not acknowledged, moved at the boot after
the host has them all, with every state file, the checkpoint and the log's epoch,
seq and MAC chain; a second boot finds it moved. The power-cut sweep of the move
is tests/device/migration_cuts.py. MicroPython only (vfs): on CPython each test returns."""

HEAP = "160k"  # the 32 KB RAM flash and littlefs caches, beside the whole storage stack

import binascii

import flash_fixture as ff

MICROPYTHON = ff.MICROPYTHON
_FLASH = []  # one RAM flash for all, allocated while the heap is whole


def _flash():
    import old_layout

    if not _FLASH:
        _FLASH.append(ff.RamFlash(old_layout.BLOCK_SIZE, old_layout.BLOCKS))
    flash = _FLASH[0]
    for block in range(flash.blocks):
        flash.erase(block)
    return flash


def test_the_old_layout_is_kept_while_a_record_is_not_acknowledged():
    if not MICROPYTHON:
        return
    import old_layout
    from firmware.storage import flash_mount

    flash = _flash()
    kept = old_layout.build(flash, acked=old_layout.RECORDS - 1)
    before = binascii.crc32(flash.data)
    for _ in range(2):
        mounted, log, checkpoint = old_layout.boot(flash)
        old_layout.unmount()
        assert (mounted, log.head_seq, log.ack_seq) == (flash_mount.OLD_LAYOUT, kept["head"], kept["head"] - 1)
        assert checkpoint == old_layout.CHECKPOINT
    assert binascii.crc32(flash.data) == before  # not a byte written


def test_the_boot_after_every_record_is_acknowledged_moves_it_and_keeps_everything():
    if not MICROPYTHON:
        return
    import old_layout
    from firmware.storage import flash_mount, migration
    from firmware.storage.flash_range import split

    flash = _flash()
    kept = old_layout.build(flash)
    mounted, log, checkpoint = old_layout.boot(flash)
    old_layout.unmount()
    assert mounted == flash_mount.MIGRATED and checkpoint == old_layout.CHECKPOINT
    assert log.head_seq == kept["head"] and log.epoch == kept["epoch"]
    assert migration.find(split(flash, old_layout.LAYOUT)["records"]) is None  # the parcel is gone
    old_layout.check(flash, kept)  # and the next boot finds the board's layout


def test_a_state_too_large_for_one_block_keeps_the_old_layout():
    if not MICROPYTHON:
        return
    import os

    import old_layout
    import vfs
    from firmware.storage import board_storage, flash_mount, state_files

    flash = _flash()
    old_layout.build(flash)
    vfs.mount(vfs.VfsLfs2(flash, mtime=False), old_layout.MOUNT)
    state_files.put(board_storage.STATE_DIR + "/outbox", [["+8613800138000", "y" * 600]])
    vfs.umount(old_layout.MOUNT)
    for _ in range(2):
        mounted, log, _ = old_layout.boot(flash)
        free = os.statvfs(old_layout.MOUNT)[3]
        old_layout.unmount()
        assert mounted == flash_mount.OLD_LAYOUT and log.head_seq == old_layout.RECORDS
        assert free > 20  # no filler left behind


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
