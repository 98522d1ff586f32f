"""Bench of the record log on the emulated board's flash: micropython bench_store.py IMAGE [RECORDS [signed]]

Splits a NOR file flash (board/emulated/file_flash.FileFlash) by the board's
layout (board.json), formats the state range, opens the record ring as the
firmware does (firmware/storage/ring_log.py) and appends RECORDS usage records
back to back. Prints one JSON line: the time, and what the appends programmed
and erased. With "signed" the log chains a MAC into each record, as a
provisioned device does.
"""

import json
import sys
import time

import vfs

from board.emulated.file_flash import FileFlash
from firmware.storage import flash_range
from firmware.storage.ring_log import RingLog
from protocol import records

MOUNT = "/flash"


def main(argv):
    image = argv[0]
    count = int(argv[1]) if len(argv) > 1 else 2000
    flash, ranges, geometry = emulated_flash(image)
    log = RingLog(ranges["records"], MOUNT + "/log", "em-bench")
    log.open()
    if len(argv) > 2 and argv[2] == "signed":
        log.sign_with(bytes(range(32)))
    writes, erases, written, faults = flash.writes, flash.erases, flash.bytes_written, flash.program_faults
    total = 0
    framed = 0
    start = time.ticks_us()
    for i in range(count):
        up = 1000 + i % 700
        down = 20000 + i % 9000
        total += up + down
        if log.append(records.USAGE, 1780000000 + 60 * i, {8: up, 9: down, 10: 0, 11: total}) is None:
            raise SystemExit("log full after %d records" % i)
        if i % 500 == 499 and i + 1 < count:
            log.ack(log.head_seq)  # a pull now and then: the ring goes round (the last records stay, to be measured)
    elapsed = time.ticks_diff(time.ticks_us(), start) / 1e6
    for frame in log.read(0, 1 << 30):
        framed += len(frame)
    status = log.status()
    vfs.umount(MOUNT)
    print(json.dumps({
        "records": count,
        "seconds": elapsed,
        "appends_per_s": count / elapsed,
        "writes": flash.writes - writes,
        "erases": flash.erases - erases,
        "bytes_written": flash.bytes_written - written,
        "program_faults": flash.program_faults - faults,
        "frame_bytes": framed / max(status["head"] - status["ack"], 1),
        "block_size": geometry["block_size"],
        "ring_blocks": log.sectors,
    }))


def emulated_flash(image, wear_path=None):
    """(flash, its ranges, the geometry) of a new NOR file flash at `image` with the
    emulated board's geometry and layout (board.json), the state range formatted
    and mounted at /flash."""
    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    with open(here + "/../../board/emulated/board.json") as f:
        geometry = json.load(f)["flash"]
    flash = FileFlash(image, geometry["block_size"], geometry["blocks"], wear_path=wear_path)
    ranges = flash_range.split(flash, geometry["layout"])
    vfs.VfsLfs2.mkfs(ranges["state"])
    vfs.mount(vfs.VfsLfs2(ranges["state"]), MOUNT)
    return flash, ranges, geometry


if __name__ == "__main__":
    main(sys.argv[1:])
