"""A RAM flash for tests that is strict NOR (the ring and journal suites).

Apart from flash_fixture.py, which every file-using suite imports: its bytecode
would sit in their heaps (the unix port keeps it there) for nothing.
"""

from flash_fixture import RamFlash


class NorFlash(RamFlash):
    """A RAM flash that is strict NOR: a program over a byte not erased (with
    anything but 0xFF) or across a block's end fails the test; counts erases and
    the bytes programmed."""

    def __init__(self, block_size, blocks):
        self.erases = 0
        RamFlash.__init__(self, block_size, blocks)
        self.erases = 0  # the erases that made it blank are not the test's
        self.programmed = 0

    def erase(self, block):
        RamFlash.erase(self, block)
        self.erases += 1

    def writeblocks(self, block, buf, offset=0):
        start = block * self.block_size + offset
        assert offset + len(buf) <= self.block_size, "a program across a block's end"
        for i in range(len(buf)):
            assert self.data[start + i] == 0xFF or buf[i] == 0xFF, "program over a byte not erased at %d" % (start + i)
        RamFlash.writeblocks(self, block, buf, offset)
        self.programmed += len(buf)
