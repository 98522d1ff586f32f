"""Copy every record one ledger holds and another lacks: a technician's field ledger
into the operator's central one (`edgemeter ledger sync --from F --to URL`).

Each log (device, epoch) of the source goes over in chunks of seqs. For each chunk
the destination's bodies of that seq range are read first: a record it lacks is
added (through `add`, so it is checked as any batch is: CRC, body, seq, and read
back after a durable commit); a record it holds with the same bytes is skipped;
a record it holds with other bytes is a conflict: reported, never written. The
device's attested heads (links) and the pulls go over too.

Idempotent: a second run finds everything there and writes nothing. Resumable:
each chunk is its own transaction, so a dropped connection loses nothing that
was committed and the next run goes on from what the destination holds. Two
technicians' ledgers with overlapping pulls of one device converge on one
sequence, each record once.
"""

from host_tools.ledger.progress import Progress
from host_tools.ledger.store import LedgerConflict, LedgerError, LedgerUnreachable
from protocol import records as rec

CHUNK = 5000  # records per transaction: one fsync each, and a bounded read of the destination


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
    LedgerError (what was committed stays) if the destination fails on the way."""
    result = SyncResult(source.path, dest.path)
    logs = source.devices()
    progress = Progress("syncing", sum(count for _d, _e, count, _f, _h in logs), progress_stream)
    try:
        for device, epoch, _count, _first, _head in logs:
            result.logs += 1
            batch = []
            for seq, body in source.seq_bodies(device, epoch):
                batch.append((seq, body))
                if len(batch) == chunk:
                    _copy(dest, device, epoch, batch, result)
                    progress.update(result.records)
                    batch = []
            if batch:
                _copy(dest, device, epoch, batch, result)
                progress.update(result.records)
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
        progress.close()
    return result


def _copy(dest, device, epoch, batch, result):
    result.records += len(batch)
    held = dest.bodies(device, epoch, batch[0][0], batch[-1][0])
    missing = []
    for seq, body in batch:
        there = held.get(seq)
        if there is None:
            missing.append((seq, body))
        elif there == body:
            result.already += 1
        else:
            result.conflicts.append((device, epoch, seq))
    if not missing:
        return
    try:
        _add(dest, device, epoch, missing, result)
    except (LedgerConflict, LedgerUnreachable):
        raise
    except (LedgerError, rec.RecordError):
        # A record of the source that does not check out (a damaged or altered
        # source ledger): the others go over one by one, it is reported.
        for seq, body in missing:
            try:
                _add(dest, device, epoch, [(seq, body)], result)
            except (LedgerConflict, LedgerUnreachable):
                raise
            except (LedgerError, rec.RecordError) as error:
                result.refused.append((device, epoch, seq, str(error).split(": ", 1)[-1]))


def _add(dest, device, epoch, records, result):
    new, duplicates = dest.add(device, epoch, [rec.frame(body) for _seq, body in records])
    result.copied += new
    result.already += duplicates  # another sync stored them meanwhile
