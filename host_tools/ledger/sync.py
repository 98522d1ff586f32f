"""Copy every record one ledger holds and another lacks: a technician's field ledger
into the operator's central one (`edgemeter ledger sync --from F --to URL`).

Each log (device, epoch) of the source goes over in chunks of seqs. Every record
is checked as `add` checks a batch (its body against the CRC-32 the source holds,
then body and seq); one that fails (a damaged or altered source) is reported and
not copied. For each chunk the destination's bodies of that seq range are read
first: a record it lacks is stored (durable and read back before the next); a record it holds with the same bytes is skipped;
a record it holds with other bytes is a conflict: reported, never written. The
device's attested heads (links) and the pulls go over too.

Idempotent: a second run finds everything there and writes nothing. Resumable:
each chunk is its own transaction, so a dropped connection loses nothing that
was committed and the next run goes on from what the destination holds. Two
technicians' ledgers with overlapping pulls of one device converge on one
sequence, each record once.
"""

import concurrent.futures
import sys

from host_tools.ledger.progress import Progress
from host_tools.ledger.store import LedgerConflict, LedgerError, checked_rows

CHUNK = 5000  # records per transaction: one fsync each, and a bounded read of the destination
SWITCH_S = 0.0005


class SyncResult:
    def __init__(self, source, dest):
        self.source = source
        self.dest = dest
        self.logs = 0
        self.records = 0  # read from the source
        self.copied = 0  # new in the destination
        self.already = 0  # there with the same bytes
        self.conflicts = []  # (device, epoch, seq): there with other bytes, kept as it was
        self.refused = []  # (device, epoch, seq, why): a source record that does not check out
        self.links = 0
        self.pulls = 0

    def as_json(self):
        return {"from": self.source, "to": self.dest, "logs": self.logs, "records": self.records,
                "copied": self.copied, "already": self.already, "conflicts": len(self.conflicts),
                "conflicting": [{"device": d, "epoch": e, "seq": s} for d, e, s in self.conflicts[:20]],
                "refused": [{"device": d, "epoch": e, "seq": s, "why": w} for d, e, s, w in self.refused[:20]],
                "links": self.links, "pulls": self.pulls}


def sync(source, dest, chunk=CHUNK, progress_stream=None):
    """Copy what `dest` lacks from `source` (open ledgers); a SyncResult.
    LedgerError (what was committed stays) if the destination fails on the way.

    Two threads: this one reads and checks the source's next chunk while a worker
    stores the last one (the worker alone uses `dest`), so checking and the
    destination's commits overlap. While it runs, the interpreter switches threads
    every SWITCH_S instead of every 5 ms: the worker's many short steps (each
    answer of the server) then do not wait a whole interval for the checking thread."""
    result = SyncResult(source.path, dest.path)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_S)
    logs = source.devices()
    progress = Progress("syncing", sum(count for _d, _e, count, _f, _h in logs), progress_stream)
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as worker:
            pending = None
            for device, epoch, _count, _first, _head in logs:
                result.logs += 1
                for batch in _chunks(source.stored_frames(device, epoch), chunk):
                    rows = _checked(device, epoch, batch, result)
                    if pending is not None:
                        pending.result()
                        progress.update(result.records)
                    pending = worker.submit(_store, dest, device, epoch, rows, result)
            if pending is not None:
                pending.result()
        for device, epoch, seq, link, att in source.all_links():
            dest.add_link(device, epoch, seq, link, att)
            result.links += 1
        for device, epoch, at, head, records in source.pulls():
            dest.add_pull(device, epoch, at, head, records)
            result.pulls += 1
    except LedgerError as error:
        error.args = ("%s (%d records copied before it)" % (error, result.copied),)
        raise
    finally:
        sys.setswitchinterval(interval)
        progress.close()
    return result


def _chunks(pairs, size):
    batch = []
    for pair in pairs:
        batch.append(pair)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _checked(device, epoch, batch, result):
    """{seq: row} of a chunk of the source, each record checked as `add` checks it; a
    record that does not check out (a damaged or altered source) is noted, not copied."""
    result.records += len(batch)
    try:
        return checked_rows(device, epoch, [frame for _seq, frame in batch])[0]
    except LedgerError:
        rows = {}
        for seq, frame in batch:
            try:
                rows.update(checked_rows(device, epoch, [frame])[0])
            except LedgerError as error:
                result.refused.append((device, epoch, seq, str(error).split(": ", 1)[-1]))
        return rows


def _store(dest, device, epoch, rows, result):
    """Store the rows `dest` lacks; count those it holds, the same or (conflicts) not."""
    if not rows:
        return
    held = dest.bodies(device, epoch, min(rows), max(rows))
    missing = {}
    for seq, row in rows.items():
        there = held.get(seq)
        if there is None:
            missing[seq] = row
        elif there == row[5]:
            result.already += 1
        else:
            result.conflicts.append((device, epoch, seq))
    new = conflicted = 0
    try:
        new = dest.add_rows(device, epoch, missing)
    except LedgerConflict:
        # Another writer stored some of them meanwhile, with other bytes: find which.
        for seq, row in missing.items():
            try:
                new += dest.add_rows(device, epoch, {seq: row})
            except LedgerConflict:
                result.conflicts.append((device, epoch, seq))
                conflicted += 1
    result.copied += new
    result.already += len(missing) - new - conflicted  # another writer stored them meanwhile
