"""Bench of the record log on the emulated board's flash: micropython bench_store.py IMAGE [RECORDS [signed]]

Formats a LittleFS file flash (board/emulated/file_flash.FileFlash, the board's
geometry from board.json) at IMAGE, opens the record log as the firmware does
(75% of the partition) and appends RECORDS usage records back to back. Prints
one JSON line: the time, and the flash wear the appends caused. With "signed" the
log chains a MAC into each record, as a provisioned device does.
"""

import json
import sys
import time

import vfs

from board.emulated.file_flash import FileFlash
from firmware.storage.record_log import RecordLog
from protocol import records

MOUNT = "/flash"


def main(argv):
    image = argv[0]
    count = int(argv[1]) if len(argv) > 1 else 2000
    with open(_board_json()) as f:
        geometry = json.load(f)["flash"]
    flash = FileFlash(image, geometry["block_size"], geometry["blocks"])
    vfs.VfsLfs2.mkfs(flash)
    vfs.mount(vfs.VfsLfs2(flash), MOUNT)
    partition = geometry["block_size"] * geometry["blocks"]
    log = RecordLog(MOUNT + "/log", "em-bench", partition * 3 // 4)
    log.open()
    if len(argv) > 2 and argv[2] == "signed":
        log.sign_with(bytes(range(32)))
    writes, erases, written = flash.writes, flash.erases, flash.bytes_written
    total = 0
    start = time.ticks_us()
    for i in range(count):
        up = 1000 + i % 700
        down = 20000 + i % 9000
        total += up + down
        if log.append(records.USAGE, 1780000000 + 60 * i, {8: up, 9: down, 10: 0, 11: total}) is None:
            raise SystemExit("log full after %d records" % i)
    elapsed = time.ticks_diff(time.ticks_us(), start) / 1e6
    status = log.status()
    log.close()
    vfs.umount(MOUNT)
    print(json.dumps({
        "records": count,
        "seconds": elapsed,
        "appends_per_s": count / elapsed,
        "writes": flash.writes - writes,
        "erases": flash.erases - erases,
        "bytes_written": flash.bytes_written - written,
        "log_bytes": status["used_bytes"],
        "block_size": geometry["block_size"],
        "blocks": geometry["blocks"],
    }))


def _board_json():
    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    return here + "/../../board/emulated/board.json"


if __name__ == "__main__":
    main(sys.argv[1:])
