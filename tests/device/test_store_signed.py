"""Signed record logs (firmware.storage.record_log with a key, protocol.record_chain) on both VMs:
every record chained to the one before, across reboots and an emptied log, and each
kind of tampering with the stored records caught."""

# A RAM flash of its own, log_base.py beside the log, and the record schema's names
# (protocol/records.py): on the unix port a .mpy's bytecode and names are in the
# heap, which a board keeps in flash.
HEAP = "80k"

import flash_fixture as ff  # first: it takes its RAM flash while the heap is unfragmented
from firmware.storage.record_log import RecordLog
from protocol import auth, cbor, record_chain, records

KEY = bytes(range(32))
DEV = "em-test"


def _open(root, key=KEY):
    log = RecordLog(root, DEV, 8000, 256)
    log.open()
    if key:
        log.sign_with(key)
    return log


def _pairs(frames):
    out = []
    for frame in frames:
        body = records.unframe(frame)[0]
        out.append((records.decode(body)[records.K_SEQ], body))
    return out


def _statuses(frames, key=KEY):
    return [status for _seq, status in record_chain.check(_pairs(frames), key)]


def _fill(log, n, base=0):
    for i in range(n):
        log.append(records.USAGE, 1000 + base + i, {8: i, 9: 0, 10: 0, 11: i})


def test_a_signed_log_checks_out_across_reboots_and_an_emptied_log():
    root = ff.fresh_dir()
    log = _open(root, key=None)
    _fill(log, 2)  # before the device had a key
    log.sign_with(KEY)
    _fill(log, 5)
    log.close()
    log = _open(root)  # a reboot: the chain goes on from the head's MAC
    _fill(log, 5, 100)
    everything = log.read(1, 8000)
    log.ack(log.head_seq)  # the host has it all: every segment goes
    log.close()
    log = _open(root)
    assert log.read(1, 8000) == []
    _fill(log, 3, 200)  # chains to the acknowledged head, known from the ack file
    everything += log.read(1, 8000)
    assert _statuses(everything) == ["unsigned"] * 2 + ["ok"] * 13
    assert _statuses(everything, bytes(32)) == ["unsigned"] * 2 + ["bad"] * 13  # another key


def _tampered(change):
    root = ff.fresh_dir()
    log = _open(root)
    _fill(log, 6)
    pairs = _pairs(log.read(1, 8000))
    return [status for _seq, status in record_chain.check(change(pairs), KEY)]


def _flip(pairs, index):
    seq, body = pairs[index]
    body = bytearray(body)
    body[-1] ^= 1  # a bit of the last field's value
    return pairs[:index] + [(seq, bytes(body))] + pairs[index + 1 :]


def test_each_kind_of_tampering_is_flagged():
    ok = ["ok"] * 6
    assert _tampered(lambda p: p) == ok
    assert _tampered(lambda p: _flip(p, 2)) == ["ok", "ok", "bad", "ok", "ok", "ok"]  # altered
    assert _tampered(lambda p: p[:3] + p[4:]) == ["ok", "ok", "ok", "broken", "ok"]  # removed
    assert _tampered(lambda p: [p[0], p[2], p[1]] + p[3:]) == ["ok", "broken", "broken", "broken", "ok", "ok"]  # reordered
    forged = records.body(records.USAGE, 7, 2000, {8: 0, 9: 0, 10: 0, 11: 0}, b"\x00" * 16)
    assert _tampered(lambda p: p + [(7, forged)]) == ok + ["bad"]  # inserted
    unsigned = records.body(records.USAGE, 4, 1003, {8: 3, 9: 0, 10: 0, 11: 3})
    assert _tampered(lambda p: p[:3] + [(4, unsigned)] + p[4:]) == ["ok", "ok", "ok", "bad", "bad", "ok"]


def test_the_acknowledged_head_is_attested_across_reboots():
    root = ff.fresh_dir()
    log = _open(root, key=None)
    _fill(log, 2)
    assert log.attested_head() is None  # no key, nothing acknowledged
    log.ack(2)  # an unsigned record: the next chains to GENESIS
    assert log.acked_link() == bytes(16) and log.attested_head() is None
    log.sign_with(KEY)
    assert log.attested_head()[0] == bytes(16)
    _fill(log, 10)
    macs = {}
    for seq, body in _pairs(log.read(1, 8000)):
        macs[seq] = records.decode(body)[records.K_MAC]
    log.ack(9)
    link, att = log.attested_head()
    assert link == macs[9]
    assert att == auth.hmac_sha256(KEY, b"edgemeter-link-v1" + cbor.dumps([DEV, log.epoch, 9, link]))[:16]  # SPEC.md
    log.close()
    log = _open(root)  # a reboot: from the ack file, whether or not its segment is gone
    assert log.attested_head() == (link, att)
    log.ack(12)
    log.close()
    log = _open(root)
    assert log.read(1, 8000) == []  # every segment gone: the ack file alone knows record 12's MAC
    link12, att12 = log.attested_head()
    assert link12 == macs[12]
    _fill(log, 2, 100)
    later = _pairs(log.read(13, 8000))
    good = record_chain.good_links(KEY, DEV, log.epoch, [(12, link12, att12)])
    assert [st for _s, st in record_chain.check(later, KEY, good)] == ["linked", "ok"]
    assert [st for _s, st in record_chain.check(later, KEY)] == ["broken", "ok"]  # no link: a break
    # a link the key did not attest, or attested for another seq or log, links nothing
    for forged in ((12, link12, bytes(16)), (11, link12, att12), (12, bytes(16), att12)):
        assert record_chain.good_links(KEY, DEV, log.epoch, [forged]) == {}
    assert record_chain.good_links(KEY, DEV, log.epoch + 1, [(12, link12, att12)]) == {}


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
