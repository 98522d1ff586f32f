"""Write one of the emulated board's state files while the board is off, well framed
but of a shape the firmware does not expect: what a newer firmware, or a bit flipped
before the CRC was taken, leaves. Runs on the MicroPython VM, as the firmware does.

    micropython tests/integration/damaged_state_file.py FLASH_IMG NAME CBOR_HEX

NAME is a file of /flash/state ("texts" ...); CBOR_HEX its new content, encoded.
"""

import binascii
import json
import sys

import vfs

from board.emulated.file_flash import FileFlash
from firmware.storage import flash_range, state_files
from protocol import cbor


def main(path, name, content_hex):
    with open("board/emulated/board.json") as f:
        geometry = json.load(f)["flash"]
    flash = FileFlash(path, geometry["block_size"], geometry["blocks"], wear_path=path + ".wear")
    ranges = flash_range.split(flash, geometry["layout"])
    vfs.mount(vfs.VfsLfs2(ranges["state"]), "/flash")
    state_files.put("/flash/state/" + name, cbor.loads(binascii.unhexlify(content_hex)))
    vfs.umount("/flash")
    print("wrote", name)


main(*sys.argv[1:4])
