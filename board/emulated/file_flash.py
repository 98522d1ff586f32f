"""NOR flash in a file: a block device with the interface `vfs.VfsLfs2` mounts.

As on a NOR chip:
- an erase (ioctl 6) sets a whole block to 0xFF;
- a program can only clear bits: what lands is the old byte AND the new one.
  Programming a byte that is not erased with anything but 0xFF is a fault of the
  writer (the data is not what it meant); `program_faults` counts those bytes;
- a power cut (SIGKILL of the firmware) in a program leaves a prefix of it, the
  byte being written partly programmed: a program reaches the file in steps of
  `STEP` bytes, each step's last byte first with only some of its bits, then
  whole. A cut in an erase leaves the block partly erased (the file is set to
  0xFF in steps of `ERASE_STEP`).
Each step is one write to the file, so a SIGKILL leaves exactly the steps that
had completed. `writes`, `erases` and `bytes_written` count what the firmware
asked for; with a `wear_path` each block's erase count is kept in that file (a
little-endian u32 per block, counted as the erase begins: a cut erase wears
too), so wear adds up across power cuts and boots.
"""

import struct

from board.block_device import BlockDevice

STEP = 64  # bytes of a program that land together
ERASE_STEP = 256  # bytes of an erase that land together


class FileFlash(BlockDevice):
    def __init__(self, path, block_size, blocks, wear_path=None):
        self.block_size = block_size
        self.blocks = blocks
        self.writes = 0
        self.erases = 0
        self.bytes_written = 0
        self.program_faults = 0
        # Allocated once, and small: a board's flash driver takes none of its heap,
        # so the emulated one takes as little as it can.
        self._blank = b"\xff" * ERASE_STEP
        self._old = bytearray(STEP)  # what a program's step lands on
        self._wear = None
        if wear_path is not None:
            try:
                self._wear = open(wear_path, "r+b")
            except OSError:
                self._wear = open(wear_path, "w+b")
                self._wear.write(bytes(4 * blocks))
                self._wear.flush()
        try:
            self._file = open(path, "r+b")
        except OSError:
            self._file = open(path, "w+b")
            for _ in range(blocks * block_size // ERASE_STEP):
                self._file.write(self._blank)
            self._file.flush()

    def readblocks(self, block, buf, offset=0):
        self._file.seek(block * self.block_size + offset)
        got = self._file.readinto(buf)
        if got != len(buf):
            raise OSError(5)  # EIO: the image is shorter than the partition

    def writeblocks(self, block, buf, offset=0):
        n = len(buf)
        if offset + n > self.block_size:
            raise OSError(22)  # EINVAL: a program stays within its block
        start = block * self.block_size + offset
        data = memoryview(buf)
        for at in range(0, n, STEP):
            size = min(STEP, n - at)
            old = memoryview(self._old)[:size]
            self._file.seek(start + at)
            self._file.readinto(old)
            before = old[size - 1]
            if self._old.count(b"\xff", 0, size) == size:
                landing = data[at : at + size]
            else:  # over bytes not erased: NOR keeps old AND new
                for i in range(size):
                    if old[i] != 0xFF and data[at + i] != 0xFF:
                        self.program_faults += 1
                    old[i] &= data[at + i]
                landing = old
            last = landing[size - 1]
            self._file.seek(start + at)
            self._file.write(landing[: size - 1])
            self._file.write(bytes(((last | 0x0F) & before,)))  # some of its bits cleared
            self._file.seek(start + at + size - 1)
            self._file.write(bytes((last,)))
        self._file.flush()
        self.writes += 1
        self.bytes_written += n

    def erase(self, block):
        self.erases += 1
        if self._wear is not None:
            self._wear.seek(4 * block)
            count = struct.unpack("<I", self._wear.read(4))[0] + 1
            self._wear.seek(4 * block)
            self._wear.write(struct.pack("<I", count))
            self._wear.flush()
        self._file.seek(block * self.block_size)
        for _ in range(self.block_size // ERASE_STEP):
            self._file.write(self._blank)
        self._file.flush()


def read_wear(wear_path):
    """Erase counts per block from a wear file, as a list."""
    with open(wear_path, "rb") as f:
        data = f.read()
    return [struct.unpack_from("<I", data, 4 * i)[0] for i in range(len(data) // 4)]
