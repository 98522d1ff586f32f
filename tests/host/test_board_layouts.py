"""Every board's flash layout (board.json "flash" "layout") names the ranges the firmware
opens, in order, and fits the partition where board.json gives its size: a typo here
would stop the firmware at boot (firmware/storage/flash_range.py refuses a layout
larger than the flash)."""

import glob
import json
import os

import pytest

from host_tools.build.micropython_vm import REPO

BOARDS = sorted(glob.glob(os.path.join(REPO, "board", "*", "board.json")))


@pytest.mark.parametrize("path", BOARDS, ids=lambda p: os.path.basename(os.path.dirname(p)))
def test_the_layout_names_state_checkpoints_records_and_fits(path):
    with open(path) as f:
        flash = json.load(f)["flash"]
    layout = flash["layout"]
    assert [name for name, _blocks in layout] == ["state", "checkpoints", "records"]
    assert layout[-1][1] is None and all(isinstance(blocks, int) and blocks >= 2 for _n, blocks in layout[:-1])
    blocks = flash.get("blocks") or (flash["len"] // 4096 if "len" in flash else None)
    if blocks is not None:  # an esp32.Partition's size is in the image's partition table, not here
        assert sum(b for _n, b in layout[:-1]) + 16 <= blocks, "the record ring needs room (16 blocks at least)"
    assert flash.get("program_bytes", 1) in (1, 256)
