"""Ranges of a flash (firmware/storage/flash_range.py) on both VMs: the layout's split,
block numbers of their own, erases in place, and programs widened to whole pages
for a flash that programs only pages (the RP2040's), what was there kept."""

import flash_fixture as ff
from firmware.storage.flash_range import split


class PageFlash(ff.RamFlash):
    """Programs only whole, aligned 16-byte pages, and only clears bits, as NOR does."""

    def __init__(self):
        ff.RamFlash.__init__(self, 64, 8)
        self.programs = []

    def writeblocks(self, block, buf, offset=0):
        assert offset % 16 == 0 and len(buf) % 16 == 0, (offset, len(buf))
        self.programs.append((block, offset, len(buf)))
        start = block * 64 + offset
        for i in range(len(buf)):
            self.data[start + i] &= buf[i]


def test_the_layout_splits_the_blocks_in_order_the_last_taking_the_rest():
    flash = PageFlash()
    ranges = split(flash, [["state", 2], ["checkpoints", 1], ["records", None]])
    assert [(r.first, r.ioctl(4, 0), r.ioctl(5, 0)) for r in (ranges["state"], ranges["checkpoints"], ranges["records"])] == [
        (0, 2, 64), (2, 1, 64), (3, 5, 64)]
    try:
        split(flash, [["state", 6], ["checkpoints", 2], ["records", None]])
    except ValueError as error:
        assert "needs 9 blocks, the partition has 8" in str(error)
    else:
        raise AssertionError("a layout larger than the flash was taken")


def test_a_range_erases_and_programs_its_own_blocks():
    flash = PageFlash()
    records = split(flash, [["state", 3], ["records", None]], program_bytes=16)["records"]
    records.writeblocks(1, b"\x00" * 16, 16)
    assert flash.data[4 * 64 + 16 : 4 * 64 + 32] == b"\x00" * 16
    records.ioctl(6, 1)
    assert flash.data[4 * 64 : 5 * 64] == b"\xff" * 64


def test_a_program_is_widened_to_whole_pages_and_keeps_what_was_there():
    flash = PageFlash()
    ring = split(flash, [["ring", None]], program_bytes=16)["ring"]
    ring.writeblocks(0, b"\x11" * 10, 3)  # bytes 3-12: page 0
    ring.writeblocks(0, b"\x22" * 10, 13)  # bytes 13-22: pages 0 and 1
    got = bytearray(24)
    ring.readblocks(0, got, 0)
    assert got == b"\xff" * 3 + b"\x11" * 10 + b"\x22" * 10 + b"\xff"
    assert flash.programs == [(0, 0, 16), (0, 0, 32)]


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
