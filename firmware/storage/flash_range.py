"""A run of blocks of a block device, as a block device of its own.

The board hands the firmware one flash partition (an `esp32.Partition`, an
`rp2.Flash`, the emulator's file); the layout in its board.json splits it into
ranges: LittleFS for the small state files, raw rings for the records and the
meter's checkpoints. Each range speaks the extended block-device interface
(`readblocks(block, buf, offset)`, `writeblocks(block, buf, offset)` without an
erase, `ioctl(6, block)` to erase) with its own block numbers from 0.

Some flash programs only whole pages: the RP2040's (pico-sdk flash_range_program:
256-byte aligned, a multiple of 256 bytes). With `program_bytes` > 1 a program is
widened to whole pages, the bytes around it 0xFF: on NOR flash programming 0xFF
changes nothing, so what was there stays.
"""

IOCTL_BLOCK_COUNT = 4
IOCTL_BLOCK_SIZE = 5
IOCTL_BLOCK_ERASE = 6


class FlashRange:
    def __init__(self, device, first, count, program_bytes=1):
        self._device = device
        self.first = first
        self.count = count
        self.program_bytes = program_bytes
        self.block_size = device.ioctl(IOCTL_BLOCK_SIZE, 0)

    def readblocks(self, block, buf, offset=0):
        self._device.readblocks(self.first + block, buf, offset)

    def writeblocks(self, block, buf, offset=0):
        page = self.program_bytes
        start = offset - offset % page
        end = -(-(offset + len(buf)) // page) * page
        if start != offset or end != offset + len(buf):
            pages = bytearray(b"\xff" * (end - start))
            pages[offset - start : offset - start + len(buf)] = buf
            buf, offset = pages, start
        self._device.writeblocks(self.first + block, buf, offset)

    def ioctl(self, op, arg):
        if op == IOCTL_BLOCK_COUNT:
            return self.count
        if op == IOCTL_BLOCK_ERASE:
            return self._device.ioctl(op, self.first + arg)
        return self._device.ioctl(op, arg)


def split(device, layout, program_bytes=1):
    """{name: FlashRange} of `layout`, [(name, blocks), ...] from block 0 on; a
    share of None takes what the others leave. ValueError if they do not fit."""
    total = device.ioctl(IOCTL_BLOCK_COUNT, 0)
    fixed = sum(blocks for _name, blocks in layout if blocks is not None)
    if fixed >= total:
        raise ValueError("flash layout needs %d blocks, the partition has %d" % (fixed + 1, total))
    ranges = {}
    first = 0
    for name, blocks in layout:
        count = total - fixed if blocks is None else blocks
        ranges[name] = FlashRange(device, first, count, program_bytes)
        first += count
    return ranges
