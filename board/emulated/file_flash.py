"""Flash in a file: a block device with the interface `vfs.VfsLfs2` mounts.

Like NOR flash, an erased block reads 0xFF; littlefs erases (ioctl 6) before it
programs. Every program and erase goes to the file at once (write + flush), so a
SIGKILL of the firmware — the emulated power cut — leaves exactly the writes that
had completed, as on a real chip. `writes`, `erases` and `bytes_written` count the
wear for the bench; with a `wear_path` each block's erase count is also kept in
that file (a u32 per block, updated at every erase), so wear adds up across
power cuts and boots.
"""

import struct

from board.block_device import BlockDevice


class FileFlash(BlockDevice):
    def __init__(self, path, block_size, blocks, wear_path=None):
        self.block_size = block_size
        self.blocks = blocks
        self.writes = 0
        self.erases = 0
        self.bytes_written = 0
        self._blank = b"\xff" * block_size  # allocated once: an erase must not need the heap
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
            for _ in range(blocks):
                self._file.write(self._blank)
            self._file.flush()

    def readblocks(self, block, buf, offset=0):
        self._file.seek(block * self.block_size + offset)
        got = self._file.readinto(buf)
        if got != len(buf):
            raise OSError(5)  # EIO: the image is shorter than the partition

    def writeblocks(self, block, buf, offset=None):
        self._file.seek(block * self.block_size + (offset or 0))
        self._file.write(buf)
        self._file.flush()
        self.writes += 1
        self.bytes_written += len(buf)

    def erase(self, block):
        self._file.seek(block * self.block_size)
        self._file.write(self._blank)
        self._file.flush()
        self.erases += 1
        if self._wear is not None:
            self._wear.seek(4 * block)
            count = struct.unpack("<I", self._wear.read(4))[0] + 1
            self._wear.seek(4 * block)
            self._wear.write(struct.pack("<I", count))
            self._wear.flush()


def read_wear(wear_path):
    """Erase counts per block from a wear file, as a list."""
    with open(wear_path, "rb") as f:
        data = f.read()
    return [struct.unpack_from("<I", data, 4 * i)[0] for i in range(len(data) // 4)]
