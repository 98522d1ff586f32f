"""A board's flash in the old layout, and what its move to the board's layout must keep (not a test file).

The old layout: one LittleFS over the whole partition, as firmware before the
raw rings left it: the record log in segment files (firmware/storage/record_log.py),
signed, RECORDS records, the first `acked` of them acknowledged; small state
files; the meter's checkpoint in its file. `build` writes it and returns what a
move must keep; `boot` opens the storage as the firmware's boot does
(firmware/storage/board_storage.py); `check` asserts the moved flash kept it:
every file byte for byte, the checkpoint in the journal, the log's epoch, head
and MAC link, and the ring goes on at the next seq. MicroPython only (vfs).
"""

import os

import vfs

from firmware.storage import board_storage, flash_mount, state_files
from firmware.storage.record_log import RecordLog
from protocol import auth, records

BLOCK_SIZE = 512
BLOCKS = 64  # 32 KB
LAYOUT = [["state", 16], ["checkpoints", 8], ["records", None]]
DEVICE = "em-01d1ay0u7"
KEY = bytes(range(auth.KEY_SIZE))
RECORDS = 40
T0 = 1796083200  # 2026-12-01T00:00:00Z
CHECKPOINT = {"up": 3 << 20, "down": 40 << 20, "sent": 7, "received": 9, "ms": 0, "wall": T0 * 1000}
STATE = {"plan": {"quota": 60 << 20, "cycle_day": 1}, "outbox": [["+8613800138000", "x" * 70]], "auth": [KEY]}
MOUNT = flash_mount.MOUNT_POINT
JUNK = 12 * 1024


def build(flash, acked=RECORDS):
    """Write the old layout on `flash`; what a move must keep."""
    vfs.VfsLfs2.mkfs(flash)
    vfs.mount(vfs.VfsLfs2(flash, mtime=False), MOUNT)
    with open(MOUNT + "/gone", "wb") as f:  # a file written and removed: the log and state files
        f.write(bytes(JUNK))  # then land past the state range, where the records' range is
    os.remove(MOUNT + "/gone")
    log = RecordLog(board_storage.LOG_DIR, DEVICE, BLOCK_SIZE * BLOCKS * 3 // 8, 1024)
    log.open()
    log.sign_with(KEY)
    for i in range(1, RECORDS + 1):
        log.append(records.USAGE, T0 + 60 * i, {records.USAGE__UP_BYTES: i, records.USAGE__DOWN_BYTES: 10 * i,
                                                records.USAGE__SOURCE: records.SOURCE_MODEM_COUNTER})
    if acked:
        log.ack(acked)
    log.close()
    state_files.makedirs(board_storage.STATE_DIR)
    for name, value in STATE.items():
        state_files.put(board_storage.STATE_DIR + "/" + name, value)
    state_files.put(board_storage.OLD_CHECKPOINT, CHECKPOINT)
    with open(MOUNT + "/running", "wb"):
        pass
    kept = {"epoch": log.epoch, "head": log.head_seq, "link": log.acked_link(), "files": _files(MOUNT, "")}
    for path in list(kept["files"]):
        if path.startswith("/log/") and path.endswith(".seg") or path == board_storage.OLD_CHECKPOINT[len(MOUNT):]:
            del kept["files"][path]
    vfs.umount(MOUNT)
    return kept


def _files(root, folder):
    found = {}
    for entry in os.ilistdir(root + folder):
        path = folder + "/" + entry[0]
        if entry[1] == 0x4000:
            found.update(_files(root, path))
        else:
            with open(root + path, "rb") as f:
                found[path] = f.read()
    return found


def boot(flash):
    """Open the storage as a boot does: (how it was mounted, the log, the checkpoints' value);
    still mounted: unmount() after."""
    mounted, log, checkpoints, _ = board_storage.open_storage(flash, LAYOUT, 1, DEVICE)
    return mounted, log, checkpoints.open()


def unmount():
    try:
        vfs.umount(MOUNT)
    except OSError:
        pass


def check(flash, kept):
    """Boot the moved flash: everything kept, and the ring goes on from the old log."""
    mounted, log, checkpoint = boot(flash)
    try:
        assert mounted == flash_mount.MOUNTED, mounted
        assert _files(MOUNT, "") == kept["files"]
        assert checkpoint == CHECKPOINT, checkpoint
        assert (log.epoch, log.head_seq, log.ack_seq, log.acked_link()) == (kept["epoch"], kept["head"], kept["head"], kept["link"])
        log.sign_with(KEY)
        seq = log.append(records.BOOT, T0 + 9999, {records.BOOT__REASON: records.BOOT_POWER_ON, records.BOOT__FIRMWARE: "x"})
        assert seq == kept["head"] + 1
        body = records.decode(records.unframe(log.read(seq, 4096)[0])[0])
        assert body[records.K_MAC] == auth.record_mac(KEY, kept["link"], records.unsigned_body(body))  # chained on
    finally:
        unmount()
