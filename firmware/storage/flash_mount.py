"""Mount the board's flash: LittleFS (v2) at /flash on the layout's "state" range.

The layout (board.json, firmware/storage/flash_range.py) gives LittleFS only
the small state files; the records and the meter's checkpoints are on raw
ranges beside it. A blank or unreadable state range is formatted: that is the
first boot of a new board, and the only time the record log starts a new
epoch. Returns "mounted", "formatted", "old layout" or "migrated".

"old layout": the flash still holds the layout of firmware before the raw
rings, one LittleFS over the whole partition with a record log in it, records
and checkpoint in files.
It is mounted as it is and nothing of it is touched: the records not pulled yet
stay where they are, served as before, until the host has them all
(firmware/storage/migration.py packs it then).
"migrated": a parcel of the old layout's state was found and unpacked into this
layout (migration.py), before anything else.
"""

import vfs

from firmware.storage import migration

MOUNT_POINT = "/flash"
MOUNTED, FORMATTED, OLD_LAYOUT, MIGRATED = "mounted", "formatted", "old layout", "migrated"
OLD_LOG_META = "/log/meta"  # what marks the old layout's file system as edgemeter's


def mount(ranges, whole=None, mount_point=MOUNT_POINT):
    """Mount the state range of `ranges` (flash_range.split's); `whole`: the whole
    partition, looked at for an old layout before a state range that does not
    mount is formatted."""
    found = migration.find(ranges["records"])
    if found:
        migration.unpack(found, ranges, mount_point)
        return MIGRATED
    state_range = ranges["state"]
    try:
        filesystem = vfs.VfsLfs2(state_range)
        how = MOUNTED
    except OSError:
        filesystem, how = _old(whole), OLD_LAYOUT
        if filesystem is None:
            vfs.VfsLfs2.mkfs(state_range)
            filesystem, how = vfs.VfsLfs2(state_range), FORMATTED
    vfs.mount(filesystem, mount_point)
    return how


def _old(whole):
    # The whole partition as the old layout's file system: only if it mounts and
    # holds an edgemeter record log (any other file system there is not ours to keep).
    if whole is None:
        return None
    try:
        filesystem = vfs.VfsLfs2(whole)
        filesystem.stat(OLD_LOG_META)
        return filesystem
    except OSError:
        return None
