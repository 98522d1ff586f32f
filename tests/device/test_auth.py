"""protocol/auth.py on both VMs: HMAC-SHA256 vectors, equal(), the record MAC chain, request proofs.

The fixed proof and record vectors were computed on CPython with hmac and
cbor2.dumps(canonical=True), independently of protocol/auth.py
(tests/host/test_auth_vs_hmac.py checks the same on random inputs).
"""

from mpunit import refuses
from protocol.auth import GENESIS, equal, hmac_sha256, new_key, record_mac, request_proof

H = bytes.fromhex
KEY = bytes(range(32))
NONCE = H("00112233445566778899aabbccddeeff")
MAP = {"seq": 1234, "d": "剩余10MB", "on": False}
BODY = H("a400020107021a6955b900081a00010000")  # a usage record: {0: 2, 1: 7, 2: 1767225600, 8: 65536}

# RFC 4231 section 4, HMAC-SHA-256 (case 5 is a truncated output: not ours).
RFC4231 = (
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 20, b"\xdd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (bytes(range(1, 26)), b"\xcd" * 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    (
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        b"\xaa" * 131,
        b"This is a test using a larger than block-size key and a larger than block-size data."
        b" The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
)


def test_rfc4231_vectors():
    for key, data, mac in RFC4231:
        assert hmac_sha256(key, data) == H(mac), mac
        assert hmac_sha256(bytearray(key), memoryview(data)) == H(mac), mac


def test_key_length_edges():
    # From CPython's hmac: the empty key and message, a key of exactly one block, one byte more.
    assert hmac_sha256(b"", b"") == H("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    assert hmac_sha256(bytes(range(64)), b"edge") == H(
        "17ae91f4512e929b5783c352c0f381b9a6a38a7ac31bdcd198705c91f3b4f7e4"
    )
    assert hmac_sha256(bytes(range(65)), b"edge") == H(
        "24a27dacfa42f556614d0c682619106ca38664a5ff62da0db8c357d4d236f1f3"
    )


def test_equal():
    mac = hmac_sha256(KEY, b"x")
    assert equal(mac, bytes(mac)) and equal(b"", b"") and equal(bytearray(b"ab"), b"ab")
    for i in (0, 15, 31):
        for bit in (0x01, 0x80):
            other = bytearray(mac)
            other[i] ^= bit
            assert not equal(mac, other) and not equal(other, mac)
    assert not equal(mac, mac[:31]) and not equal(mac[:31], mac) and not equal(mac, mac + b"\x00")
    assert not equal(b"", b"\x00") and not equal(b"\x00", b"")


def test_record_mac_vectors_and_chain():
    assert GENESIS == bytes(16)
    first = record_mac(KEY, GENESIS, BODY)
    assert first == H("91abea2c37331a6a1dda8e44d8ed2cf6")
    assert record_mac(KEY, first, BODY) == H("4f5c179cf942688ca217232732c60e58")
    assert first == hmac_sha256(KEY, b"edgemeter-record-v1" + GENESIS + BODY)[:16]
    assert record_mac(new_key(), GENESIS, BODY) != first


def test_record_mac_covers_every_byte():
    prev = record_mac(KEY, GENESIS, b"previous")
    mac = record_mac(KEY, prev, BODY)
    seen = {mac}
    for i in range(len(BODY)):
        body = bytearray(BODY)
        body[i] ^= 0x01
        seen.add(record_mac(KEY, prev, body))
    for i in range(16):
        other = bytearray(prev)
        other[i] ^= 0x80
        seen.add(record_mac(KEY, other, BODY))
    seen.add(record_mac(KEY, prev, BODY + b"\x00"))
    seen.add(record_mac(KEY, prev, BODY[:-1]))
    assert len(seen) == 1 + len(BODY) + 16 + 2


def _chain_ok(key, bodies, macs):
    prev = GENESIS
    for body, mac in zip(bodies, macs):
        prev = record_mac(key, prev, body)
        if not equal(prev, mac):
            return False
    return len(bodies) == len(macs)


def test_record_chain_detects_tampering():
    bodies = [b"boot", b"usage 1", b"usage 2", b"reminder"]
    macs = []
    prev = GENESIS
    for body in bodies:
        prev = record_mac(KEY, prev, body)
        macs.append(prev)
    assert _chain_ok(KEY, bodies, macs)
    altered = bodies[:2] + [b"usage 0"] + bodies[3:]
    reordered = [bodies[0], bodies[2], bodies[1], bodies[3]]
    assert not _chain_ok(KEY, altered, macs)
    assert not _chain_ok(KEY, reordered, [macs[0], macs[2], macs[1], macs[3]])
    assert not _chain_ok(KEY, bodies[:1] + bodies[2:], macs[:1] + macs[2:])  # one dropped
    inserted = record_mac(KEY, macs[0], b"forged")
    assert not _chain_ok(KEY, bodies[:1] + [b"forged"] + bodies[1:], macs[:1] + [inserted] + macs[1:])
    assert not _chain_ok(b"another key", bodies, macs)


def test_record_mac_refuses_a_previous_mac_of_another_size():
    refuses(lambda prev: record_mac(KEY, prev, BODY), (b"", bytes(15), bytes(17), bytes(32)))


def test_request_proof_vector():
    proof = request_proof(KEY, NONCE, 1, 64, 3, 2, MAP)
    assert proof == H("3eba5c81196f7e9dceb1513a6a032d2d129d4ff239b989d8f2144587a3b358e4")
    # The same layout spelled out, on whichever VM runs this.
    header = b"\x01\x02\x00\x40\x03"  # version, op, group (2 bytes), command
    message = b"edgemeter-request-v1" + NONCE + header + H("a361646ae589a9e4bd9931304d42626f6ef4637365711904d2")
    assert proof == hmac_sha256(KEY, message)
    # Map keys in length-first (RFC 7049 canonical) order: -1 (20) before 24 (18 18).
    proof = request_proof(KEY, NONCE, 0, 0, 4, 2, {24: 0, -1: 0, "d": "x"})
    assert proof == H("804b3e676cb521b2e2a2da81996fc3c7b0d27c302091ca17f22e4cf03e32da19")


def test_request_proof_binds_every_input():
    base = request_proof(KEY, NONCE, 1, 64, 3, 2, MAP)
    variants = [
        request_proof(b"another key", NONCE, 1, 64, 3, 2, MAP),
        request_proof(KEY, NONCE[:-1] + b"\x00", 1, 64, 3, 2, MAP),
        request_proof(KEY, NONCE + b"\x00", 1, 64, 3, 2, MAP),
        request_proof(KEY, NONCE, 0, 64, 3, 2, MAP),  # SMP v1 instead of v2: a downgrade
        request_proof(KEY, NONCE, 1, 0, 3, 2, MAP),
        request_proof(KEY, NONCE, 1, 64 + 256, 3, 2, MAP),  # the group's high byte counts
        request_proof(KEY, NONCE, 1, 64, 4, 2, MAP),
        request_proof(KEY, NONCE, 1, 64, 3, 0, MAP),
        request_proof(KEY, NONCE, 1, 64, 3, 2, {"seq": 1235, "d": "剩余10MB", "on": False}),
        request_proof(KEY, NONCE, 1, 64, 3, 2, {"seq": 1234, "d": "剩余11MB", "on": False}),
        request_proof(KEY, NONCE, 1, 64, 3, 2, {"seq": 1234, "d": "剩余10MB", "on": True}),
        request_proof(KEY, NONCE, 1, 64, 3, 2, {"seq": 1234, "d": "剩余10MB"}),
        request_proof(KEY, NONCE, 1, 64, 3, 2, {"seq": 1234, "d": "剩余10MB", "on": False, "x": 0}),
        request_proof(KEY, NONCE, 1, 64, 3, 2, {"sEq": 1234, "d": "剩余10MB", "on": False}),
        request_proof(KEY, NONCE, 1, 64, 3, 2, {}),
    ]
    assert len(set(variants + [base])) == len(variants) + 1


def test_request_proof_ignores_auth_and_key_order():
    base = request_proof(KEY, NONCE, 1, 64, 3, 2, MAP)
    signed = {"on": False, "auth": base, "d": "剩余10MB", "seq": 1234}
    assert request_proof(KEY, NONCE, 1, 64, 3, 2, signed) == base
    assert request_proof(KEY, NONCE, 1, 64, 3, 2, dict(signed, auth=b"other")) == base
    assert "auth" in signed  # the caller's map is left as it was
    assert request_proof(KEY, NONCE, 1, 64, 3, 2, {"auth": b""}) == request_proof(KEY, NONCE, 1, 64, 3, 2, {})


def test_request_proof_refuses_fields_out_of_range():
    for args in ((256, 64, 3, 2), (-1, 64, 3, 2), (1, 65536, 3, 2), (1, -1, 3, 2), (1, 64, 256, 2), (1, 64, 3, 256)):
        version, group, command, op = args
        try:
            request_proof(KEY, NONCE, version, group, command, op, MAP)
        except (ValueError, OverflowError):
            continue
        raise AssertionError("accepted %r" % (args,))


def test_new_key():
    a, b = new_key(), new_key()
    assert type(a) is bytes and len(a) == 32 and a != b


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
