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
- LINKED: the first record after a start or a gap, whose MAC is right against
  a link the device attested (below): the chain starts here, tied to the
  device's own word about what came before (held by another ledger).

A link: the device's acknowledged head, `seq` of the log and the MAC record
seq + 1 chains to, with att = link_mac(key, device, epoch, seq, link), the
device's MAC over all four. Only a link whose att checks out with the key is
used, so a man in the middle cannot make a forged record look like a chain
start: he would need the key for the att, and again for the record's MAC.

Runs on the host (pull, reconcile), on the device (link_mac, in the metering
group's status) and in the device tests.
"""

from protocol import auth, records

OK = "ok"
BAD = "bad"
BROKEN = "broken"
UNSIGNED = "unsigned"
LINKED = "linked"

def good_links(key, device, epoch, links):
    """{seq: link} of the (seq, link, att) triples whose att checks out."""
    good = {}
    for seq, link, att in links:
        if (isinstance(link, bytes) and len(link) == auth.MAC_SIZE and isinstance(att, bytes)
                and auth.equal(att, auth.link_mac(key, device, epoch, seq, link))):
            good.setdefault(seq, []).append(link)
    return good


def check(pairs, key, links=None):
    """Yield (seq, status) for (seq, body) pairs of one log (device, epoch) in seq order.

    links: {seq: [link, ...]} checked with good_links(): a record right after a
    start or a gap, at seq + 1 of a link, is checked against it (LINKED or BAD)."""
    links = links or {}
    previous_seq = None
    previous_mac = None  # None: unknown (the walk starts after a gap)
    signed = False
    for seq, body in pairs:
        record = records.decode(body)
        linked = None
        if previous_seq is None:
            previous_mac = auth.GENESIS if seq == 1 else None
        elif seq != previous_seq + 1:
            previous_mac = None
        if previous_mac is None:
            linked = links.get(seq - 1)
        previous_seq = seq
        mac = record.get(records.K_MAC)
        if mac is None:
            previous_mac = auth.GENESIS
            yield seq, BAD if signed else UNSIGNED
            continue
        signed = True
        if linked:
            unsigned = records.unsigned_body(record)
            status = BAD
            for link in linked:
                if auth.equal(mac, auth.record_mac(key, link, unsigned)):
                    status = LINKED
        elif previous_mac is None:
            status = BROKEN
        elif auth.equal(mac, auth.record_mac(key, previous_mac, records.unsigned_body(record))):
            status = OK
        else:
            status = BAD
        previous_mac = mac if isinstance(mac, bytes) and len(mac) == len(auth.GENESIS) else None
        yield seq, status
