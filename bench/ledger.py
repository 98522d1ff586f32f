"""Bench rows for the host ledger: insert rate with durable commits, file size per record.

100,000 usage and boot records of 5 devices go in through `Ledger.add` in batches
of 20, the way `edgemeter pull` stores what one READ brings: every batch is one
transaction committed with an fsync before add returns. Frames are built
beforehand, so only the ledger is timed (checks, dedupe lookups, inserts,
commits). The file lives under build/, on the repository's disk: a tmpfs /tmp
would make fsync free and the rate meaningless.
"""

import os
import tempfile
import time

from bench.table import Row
from host_tools.ledger.store import open_ledger
from protocol import records as rec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORDS = 100_000
BATCH = 20
DEVICES = 5
T0 = 1796083200  # 2026-12-01T00:00:00Z


def _frame(seq):
    if seq % 500 == 1:
        return rec.frame(rec.body(rec.BOOT, seq, T0 + 60 * seq, {8: rec.BOOT_POWER_LOSS, 9: "0.1.0", 10: seq // 500}))
    up, down = 1_000 * seq, 25_000 * seq  # counters grow: later records need wider ints, as in the field
    return rec.frame(rec.body(rec.USAGE, seq, T0 + 60 * seq, {8: up, 9: down, 10: rec.SOURCE_MODEM_COUNTER,
                                                                  11: up + down}))


def _batches():
    per_device = RECORDS // DEVICES
    frames = [_frame(seq) for seq in range(1, per_device + 1)]
    for start in range(0, per_device, BATCH):
        for device in range(DEVICES):  # devices interleave, as when several are pulled in turn
            yield "em-%012x" % (0xA0B0C0D00000 + device), 1, frames[start : start + BATCH]


def rows():
    build = os.path.join(ROOT, "build")
    os.makedirs(build, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=build) as folder:
        path = os.path.join(folder, "bench.sqlite")
        batches = list(_batches())
        stored = 0
        with open_ledger(path) as ledger:
            start = time.perf_counter()
            for device, epoch, frames in batches:
                stored += ledger.add(device, epoch, frames)[0]
            seconds = time.perf_counter() - start
        if stored != RECORDS:
            raise RuntimeError("bench stored %d of %d records" % (stored, RECORDS))
        size = os.path.getsize(path)  # after close: the WAL is folded back into the one file
        body_bytes = sum(len(frame) - rec.FRAME_OVERHEAD for _d, _e, frames in batches for frame in frames)
    return [
        Row("ledger records/s stored (batches of %d, fsync per batch)" % BATCH, RECORDS / seconds, "1/s",
            note="%d records, %d devices, WAL + synchronous=FULL" % (RECORDS, DEVICES)),
        Row("ledger file bytes per record", size / RECORDS, "bytes",
            note="CBOR body alone %.0f bytes; + key, CRC, columns, JSON fields" % (body_bytes / RECORDS)),
    ]


if __name__ == "__main__":
    from bench.table import render

    print(render(rows()))
