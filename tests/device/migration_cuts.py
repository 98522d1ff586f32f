"""Power cuts in the move of a flash from the old layout, on the MicroPython VM (not a pytest file).

    micropython -X heapsize=8m tests/device/migration_cuts.py [--every | --sample K --seed S]

The old layout (tests/device/old_layout.py: one LittleFS over the partition, a
signed record log all acknowledged, state files, the meter's checkpoint file)
is moved once by a boot (firmware/storage/board_storage.py, migration.py) on a
RAM flash that records every program and erase. A power cut at write N is then
rebuilt, as powercut.py does: the old image, writes 1..N-1, then write N not
landed at all and torn (a prefix of a program lands, its next byte half
programmed; a torn erase leaves a prefix of the block erased). Each image is
booted once: it must come up in the board's layout ("migrated", or "mounted"
once the parcel's erase had begun), never "formatted" nor still old. A second
boot then checks that everything was kept (old_layout.check): every state file
byte for byte, the checkpoint in the journal, the log's epoch, head and MAC
link, and the ring goes on at the next seq. Prints "N passed, M failed";
exits 1 on a failure.
"""

import gc
import sys

import old_layout
import powercut
from firmware.storage import flash_mount
from flash_fixture import RamFlash

powercut.RING[0] = True  # a torn program leaves its next byte half programmed, as NOR does
SETTLED = (flash_mount.MIGRATED, flash_mount.MOUNTED)


def main(argv):
    flash = powercut.TraceFlash()
    assert (powercut.BLOCK_SIZE, powercut.BLOCKS) == (old_layout.BLOCK_SIZE, old_layout.BLOCKS)
    kept = old_layout.build(flash)
    initial = bytearray(flash.data)
    flash.trace = []
    mounted = old_layout.boot(flash)[0]
    old_layout.unmount()
    trace = flash.trace
    flash.trace = None
    assert mounted == flash_mount.MIGRATED, mounted
    erases = sum(1 for w in trace if w[2] is None)
    print("move: %d writes (%d erases, %d programs)" % (len(trace), erases, len(trace) - erases))

    seed = int(powercut.arg(argv, "--seed", "1"))
    cuts = powercut.choose_cuts(len(trace), "--every" in argv, int(powercut.arg(argv, "--sample", "100")), seed)
    board = RamFlash(old_layout.BLOCK_SIZE, old_layout.BLOCKS)
    image = bytearray(initial)  # writes 1..done applied
    done = 0
    passed = failed = 0
    came_up = {}
    for cut in cuts:
        while done < cut - 1:
            powercut.apply(image, trace[done], nor=True)
            done += 1
        torn = powercut.torn_length(trace[cut - 1], cut, seed)
        ok = True
        for keep in (0, torn) if torn else (0,):
            board.data[:] = image
            if keep:
                powercut.tear(board.data, trace[cut - 1], keep)
            try:
                how = old_layout.boot(board)[0]
                old_layout.unmount()
                came_up[how] = came_up.get(how, 0) + 1
                assert how in SETTLED, "the boot after the cut came up %s" % how
                old_layout.check(board, kept)
            except Exception as exc:
                old_layout.unmount()
                ok = False
                if failed < 10:
                    print("FAIL cut %d keep %d (write %s): %r" % (cut, keep, powercut.describe(trace[cut - 1]), exc))
        passed += ok
        failed += not ok
        gc.collect()
    print("cut points: %d of %d writes (%s), boots after a cut: %s"
          % (len(cuts), len(trace), "every" if "--every" in argv else "sample seed %d" % seed,
             ", ".join("%s %d" % kv for kv in sorted(came_up.items()))))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
