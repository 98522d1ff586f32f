"""Which of a device's records in the ledger are its own, unaltered: their MAC chain checked.

The device signs each record with its key (protocol/record_chain.py); the host
has the key in the technician's key file (host_tools/keys.py). `check(ledger,
device, key)` walks every log (epoch) of the device in seq order and returns a
`Verdict`: each seq's status and the counts. Without a key nothing can be
verified: every record is then "unverified", and says so. `verdict(ledger,
device)` looks the key up in the technician's key file first.
"""

from host_tools.keys import KeyFile
from protocol import record_chain, records

UNVERIFIED = "unverified"  # no key for this device on this host


class Verdict:
    def __init__(self, device, key_known):
        self.device = device
        self.key_known = key_known
        self.status = {}  # (epoch, seq) -> record_chain status, or UNVERIFIED
        self.counts = {}

    def add(self, epoch, seq, status):
        self.status[(epoch, seq)] = status
        self.counts[status] = self.counts.get(status, 0) + 1

    def trusted(self, epoch, seq):
        """Whether a record counts as evidence: verified, or (no key) taken as it is."""
        status = self.status.get((epoch, seq))
        return status == record_chain.OK or (not self.key_known and status is not None)

    def flagged(self):
        """(epoch, seq, status) of records that failed the check, in order."""
        return sorted((e, s, st) for (e, s), st in self.status.items() if st in (record_chain.BAD, record_chain.BROKEN))

    def summary(self):
        """For reports: counts by status, and whether a key was used."""
        flagged = self.flagged()
        return {"device": self.device, "key_known": self.key_known, "records": dict(sorted(self.counts.items())),
                "flagged": [{"epoch": e, "seq": s, "status": st} for e, s, st in flagged[:20]],
                "more_flagged": max(0, len(flagged) - 20)}


def check(ledger, device, key):
    verdict = Verdict(device, key is not None)
    for logged_device, epoch, _count, _first, _head in ledger.devices():
        if logged_device != device:
            continue
        pairs = []
        for frame in ledger.frames(device, epoch):
            body = records.unframe(frame)[0]
            pairs.append((records.decode(body)[records.K_SEQ], body))
        if key is None:
            for seq, _body in pairs:
                verdict.add(epoch, seq, UNVERIFIED)
            continue
        for seq, status in record_chain.check(pairs, key):
            verdict.add(epoch, seq, status)
    return verdict


def verdict(ledger, device, keys=None):
    """check() with the device's key from the key file (KeyFileError if it is unreadable)."""
    return check(ledger, device, (keys or KeyFile()).get(device))
