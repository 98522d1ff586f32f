"""Counting what the file system does to the flash: programs, bytes programmed, erases.

Wraps the board's block device (an `esp32.Partition`, an `rp2.Flash`, the
emulator's file) with the same extended interface `vfs.VfsLfs2` mounts, so the
counts are the same on every board and reach the SMP statistics group (flash
wear between visits, without a probe on the chip). Counts start at 0 at boot.
"""

_IOCTL_BLOCK_ERASE = 6


class CountedFlash:
    def __init__(self, device):
        self._device = device
        self.programs = 0
        self.bytes_programmed = 0
        self.erases = 0

    def readblocks(self, block, buf, offset=0):
        self._device.readblocks(block, buf, offset)

    def writeblocks(self, block, buf, offset=0):
        self.programs += 1
        self.bytes_programmed += len(buf)
        self._device.writeblocks(block, buf, offset)

    def ioctl(self, op, arg):
        if op == _IOCTL_BLOCK_ERASE:
            self.erases += 1
        return self._device.ioctl(op, arg)
