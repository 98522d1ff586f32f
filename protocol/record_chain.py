"""Check a log's chained record MACs: which records are the device's own, unaltered.

A provisioned device signs each record: K_MAC = auth.record_mac(key, MAC of the
record before, body without K_MAC). The record before an epoch's first signed
record counts as GENESIS (seq 1, or after unsigned records). Walking a log's
records in seq order with the key tells, for each:

- OK: its MAC is right: the device wrote it, as it is, after the one before;
- BAD: wrong MAC: altered, forged, or made with another key;
- BROKEN: the record before it is missing (a gap), so it cannot be checked;
  the walk goes on from its MAC, so one removed record flags one record;
- UNSIGNED: no MAC: written before the device had a key. Once a log has a
  signed record, a later unsigned one is BAD: a signing device never stops.

Runs on the host (pull, reconcile) and in the device tests.
"""

from protocol import auth, records

OK = "ok"
BAD = "bad"
BROKEN = "broken"
UNSIGNED = "unsigned"


def check(pairs, key):
    """Yield (seq, status) for (seq, body) pairs of one log (device, epoch) in seq order."""
    previous_seq = None
    previous_mac = None  # None: unknown (the walk starts after a gap)
    signed = False
    for seq, body in pairs:
        record = records.decode(body)
        if previous_seq is None:
            previous_mac = auth.GENESIS if seq == 1 else None
        elif seq != previous_seq + 1:
            previous_mac = None
        previous_seq = seq
        mac = record.get(records.K_MAC)
        if mac is None:
            previous_mac = auth.GENESIS
            yield seq, BAD if signed else UNSIGNED
            continue
        signed = True
        if previous_mac is None:
            status = BROKEN
        elif auth.equal(mac, auth.record_mac(key, previous_mac, records.unsigned_body(record))):
            status = OK
        else:
            status = BAD
        previous_mac = mac if isinstance(mac, bytes) and len(mac) == len(auth.GENESIS) else None
        yield seq, status
