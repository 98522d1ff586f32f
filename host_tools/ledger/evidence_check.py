"""Which of a device's records in the ledger are its own, unaltered: their MAC chain checked.

The device signs each record with its key (protocol/record_chain.py); the host
has the key in the technician's key file (host_tools/device/keys.py). `check(ledger,
device, key)` walks every log (epoch) of the device in seq order and returns a
`Verdict`: each seq's status and the counts. Without a key nothing can be
verified: every record is then "unverified", and says so. `verdict(ledger,
device)` looks the key up in the technician's key file first.

A log this ledger holds from the middle (an earlier pull into another ledger
acknowledged what came before) starts at a record checked against the link the
device attested at that pull (Ledger.links): "linked", not "broken". The
Verdict lists those starts, and the links whose attestation did not check out.
"""

from host_tools.device.keys import KeyFile
from protocol import record_chain, records

UNVERIFIED = "unverified"  # no key for this device on this host


class Verdict:
    def __init__(self, device, key_known):
        self.device = device
        self.key_known = key_known
        self.status = {}  # (epoch, seq) -> record_chain status, or UNVERIFIED
        self.counts = {}
        self.forged_links = []  # (epoch, seq) of links whose attestation is wrong

    def add(self, epoch, seq, status):
        self.status[(epoch, seq)] = status
        self.counts[status] = self.counts.get(status, 0) + 1

    def trusted(self, epoch, seq):
        """Whether a record counts as evidence: verified, or (no key) taken as it is."""
        status = self.status.get((epoch, seq))
        return status in (record_chain.OK, record_chain.LINKED) or (not self.key_known and status is not None)

    def flagged(self):
        """(epoch, seq, status) of records that failed the check, in order."""
        return sorted((e, s, st) for (e, s), st in self.status.items() if st in (record_chain.BAD, record_chain.BROKEN))

    def starts(self):
        """(epoch, seq) of records where a chain starts, linked to the device's attested head."""
        return sorted(k for k, st in self.status.items() if st == record_chain.LINKED)

    def summary(self):
        """For reports: counts by status, and whether a key was used."""
        flagged = self.flagged()
        return {"device": self.device, "key_known": self.key_known, "records": dict(sorted(self.counts.items())),
                "flagged": [{"epoch": e, "seq": s, "status": st} for e, s, st in flagged[:20]],
                "more_flagged": max(0, len(flagged) - 20),
                "linked_starts": [{"epoch": e, "seq": s} for e, s in self.starts()],
                "forged_links": [{"epoch": e, "seq": s} for e, s in self.forged_links]}


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
        links = ledger.links(device, epoch)
        good = record_chain.good_links(key, device, epoch, links)
        verdict.forged_links += sorted({(epoch, seq) for seq, link, _att in links if link not in good.get(seq, ())})
        for seq, status in record_chain.check(pairs, key, good):
            verdict.add(epoch, seq, status)
    return verdict


def verdict(ledger, device, keys=None):
    """check() with the device's key from the key file (KeyFileError if it is unreadable)."""
    return check(ledger, device, (keys or KeyFile()).get(device))
