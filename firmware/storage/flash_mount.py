"""Mount the board's log partition as LittleFS (v2) at /flash.

A blank or unreadable partition is formatted: that is the first boot of a new
board, and the only time the record log starts a new epoch. Returns whether it
formatted, so the caller can say so.
"""

import vfs

MOUNT_POINT = "/flash"


def mount(block_device, mount_point=MOUNT_POINT):
    formatted = False
    try:
        filesystem = vfs.VfsLfs2(block_device)
    except OSError:
        vfs.VfsLfs2.mkfs(block_device)
        filesystem = vfs.VfsLfs2(block_device)
        formatted = True
    vfs.mount(filesystem, mount_point)
    return formatted
