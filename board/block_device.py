"""The block-device protocol `vfs.VfsLfs2` mounts, shared by every flash emulation.

A subclass has `blocks`, `block_size`, `readblocks`, `writeblocks` and
`erase(block)`; `ioctl` answers littlefs's questions from those. (On hardware the
port's own flash partition object plays this part.)
"""

IOCTL_SYNC = 3
IOCTL_BLOCK_COUNT = 4
IOCTL_BLOCK_SIZE = 5
IOCTL_BLOCK_ERASE = 6


class BlockDevice:
    def ioctl(self, op, arg):
        if op == IOCTL_BLOCK_COUNT:
            return self.blocks
        if op == IOCTL_BLOCK_SIZE:
            return self.block_size
        if op == IOCTL_BLOCK_ERASE:
            self.erase(arg)
        return 0  # init, deinit, sync: nothing to do in these emulations
