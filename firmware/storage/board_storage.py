"""The board's storage as the firmware opens it at boot, whatever layout its flash holds.

The partition is split by the board's layout (flash_range.py) and mounted
(flash_mount.py); then the record log and the meter's checkpoints are opened:
- the board's layout: the record ring (ring_log.py) and the checkpoint journal
  (journal.py) on their raw ranges;
- the old layout (one LittleFS over the partition): the log in segment files
  (record_log.py), the checkpoint in a state file, until the host has every
  record in it; at that boot the state moves to the board's layout
  (migration.py) and it opens as above, "migrated".
"""

import vfs

from firmware.storage import flash_mount, flash_range, migration, state_files
from firmware.storage.journal import Journal
from firmware.storage.ring_log import RingLog

LOG_DIR = flash_mount.MOUNT_POINT + "/log"
STATE_DIR = flash_mount.MOUNT_POINT + "/state"
# On a flash of the old layout the log may use this share of the partition; the
# rest is littlefs's room to copy-on-write, plus the small state files.
OLD_LOG_SHARE = 0.75
OLD_CHECKPOINT = STATE_DIR + "/meter"  # the old layout's checkpoint file


def open_storage(flash, layout, program_bytes, device_id):
    """(how the flash was mounted, the record log, the checkpoints, what the log's
    open() found) of `flash`, the board's partition."""
    ranges = flash_range.split(flash, layout, program_bytes)
    mounted = flash_mount.mount(ranges, whole=flash)
    if mounted == flash_mount.OLD_LAYOUT:
        from firmware.storage.record_log import RecordLog  # only here: a board on its layout never loads it

        partition = flash.ioctl(4, 0) * flash.ioctl(5, 0)
        log = RecordLog(LOG_DIR, device_id, int(partition * OLD_LOG_SHARE))
        recovered = log.open()
        if not (migration.ready(log) and migration.pack(ranges["records"], flash_mount.MOUNT_POINT, OLD_CHECKPOINT)):
            return mounted, log, state_files.Value(OLD_CHECKPOINT), recovered
        vfs.umount(flash_mount.MOUNT_POINT)
        mounted = flash_mount.mount(ranges, whole=flash)
    log = RingLog(ranges["records"], LOG_DIR, device_id)
    return mounted, log, Journal(ranges["checkpoints"]), log.open()
