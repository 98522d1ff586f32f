"""Write the flash image of a board of the old layout, as firmware before the raw rings left it.

    micropython tests/integration/old_layout_image.py FLASH_IMG DEVICE_ID RECORDS UP DOWN

One LittleFS over the whole partition (the emulated board's geometry, board.json):
the record log in segment files (firmware/storage/record_log.py) holding RECORDS
usage records not pulled yet, and the meter's checkpoint in /flash/state/meter
(UP and DOWN bytes). Runs on the MicroPython VM, as the old firmware did.
"""

import json
import sys

import vfs

from board.emulated.file_flash import FileFlash
from firmware.storage import state_files
from firmware.storage.record_log import RecordLog
from protocol import records

T0 = 1796083200  # 2026-12-01T00:00:00Z


def main(path, device_id, count, up, down):
    with open("board/emulated/board.json") as f:
        geometry = json.load(f)["flash"]
    flash = FileFlash(path, geometry["block_size"], geometry["blocks"], wear_path=path + ".wear")
    vfs.VfsLfs2.mkfs(flash)
    vfs.mount(vfs.VfsLfs2(flash), "/flash")
    log = RecordLog("/flash/log", device_id, geometry["block_size"] * geometry["blocks"] * 3 // 4)
    log.open()
    for i in range(1, count + 1):
        log.append(records.USAGE, T0 + 60 * i, {records.USAGE__UP_BYTES: i, records.USAGE__DOWN_BYTES: 10 * i,
                                                records.USAGE__SOURCE: records.SOURCE_MODEM_COUNTER,
                                                records.USAGE__TOTAL_BYTES: 11 * i * (i + 1) // 2})
    log.close()
    state_files.makedirs("/flash/state")
    state_files.put("/flash/state/meter", {"up": up, "down": down, "sent": 0, "received": 0, "ms": 0, "wall": T0 * 1000})
    vfs.umount("/flash")
    print("epoch", log.epoch, "head", log.head_seq)


main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
