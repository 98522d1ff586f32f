"""Mounting the board's flash (firmware/storage/flash_mount.py) on MicroPython's LittleFS:
a blank flash formatted in the new layout, the new layout mounted as it is, and
the old layout (one LittleFS over the partition holding an edgemeter record log)
recognised and kept, but another file system over the partition not taken for it.
Runs on the MicroPython VM only (CPython has no vfs): there each test returns."""

HEAP = "96k"

import binascii

import flash_fixture as ff

MICROPYTHON = ff.MICROPYTHON


_WHOLE = ff.RamFlash(256, 48) if MICROPYTHON else None  # one for all: allocated while the heap is whole


def _flash():
    from firmware.storage.flash_range import split

    whole = _WHOLE
    for block in range(whole.blocks):
        whole.erase(block)
    return whole, split(whole, [["state", 16], ["checkpoints", 8], ["records", None]])


def _mounted(whole, ranges):
    import vfs

    from firmware.storage import flash_mount

    try:
        return flash_mount.mount(ranges, whole=whole, mount_point="/fm")
    finally:
        try:
            vfs.umount("/fm")
        except OSError:
            pass


def _old_file_system(whole, with_log):
    import vfs

    vfs.VfsLfs2.mkfs(whole)
    filesystem = vfs.VfsLfs2(whole)
    filesystem.mkdir("/log" if with_log else "/other")
    with filesystem.open("/log/meta" if with_log else "/other/file", "wb") as f:
        f.write(b"x")


def test_a_blank_flash_is_formatted_then_mounted():
    if not MICROPYTHON:
        return
    whole, state = _flash()
    assert _mounted(whole, state) == "formatted"
    assert _mounted(whole, state) == "mounted"


def test_the_old_layout_is_kept_and_another_file_system_is_not():
    if not MICROPYTHON:
        return
    whole, state = _flash()
    _old_file_system(whole, with_log=True)
    before = binascii.crc32(whole.data)
    assert _mounted(whole, state) == "old layout"
    assert binascii.crc32(whole.data) == before  # nothing of it touched
    _old_file_system(whole, with_log=False)
    assert _mounted(whole, state) == "formatted"


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
