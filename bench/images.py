"""Bench rows for the images a board runs (issue 17, host_tools/build/image_build.py).

Each board's image is built with MicroPython's own build (`invoke image`, from
the source in ../shared or MICROPY_SRC): its file, the flash it takes and the
static RAM it reserves, against the limits in its board.json "image". A board
whose port cannot be built here (ESP-IDF for the esp32) gets a row that says so.
"""

from bench.table import Row
from host_tools.build import board_build, image_build


def rows():
    out = []
    for board in board_build.boards():
        try:
            info = image_build.build_image(board, log=lambda line: None)
        except image_build.ImageError as exc:
            out.append(Row("image of %s" % board, None, "-", note="not built here: %s" % str(exc).split(":")[1].strip()[:80]))
            continue
        limits = board_build.definition(board).get("image") or {}
        out.append(Row("image file, %s" % board, info["image_bytes"], "bytes",
                       note="%d edgemeter modules frozen, MicroPython %s" % (info["frozen_modules"], info["micropython"])))
        for key, what in (("flash_bytes", "flash"), ("static_ram_bytes", "static RAM")):
            if key in info:
                out.append(Row("image %s, %s" % (what, board), info[key], "bytes", goal=limits.get(key), at_most=True))
    return out
