"""protocol/auth.py against CPython's hmac and cbor2: the device's HMAC is the standard one.

* hmac_sha256 == hmac.new(key, message, "sha256").digest() for keys of 0..200 bytes
  (below, at and above the 64-byte block) and random messages;
* request_proof and record_mac equal the layouts of their docstrings built here
  independently, with hmac and cbor2.dumps(canonical=True): a client in any
  language that follows protocol/SPEC.md gets the device's bytes;
* equal agrees with ==.
"""

import hmac

import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.auth import equal, hmac_sha256, record_mac, request_proof

SETTINGS = settings(max_examples=400, deadline=None)


def reference_proof(key, nonce, version, group, command, op, request_map):
    unsigned = {k: v for k, v in request_map.items() if k != "auth"}
    message = (
        b"edgemeter-request-v1"
        + nonce
        + bytes([version, op])
        + group.to_bytes(2, "big")
        + bytes([command])
        + cbor2.dumps(unsigned, canonical=True)
    )
    return hmac.new(key, message, "sha256").digest()


keys = st.one_of(st.binary(max_size=200), st.integers(60, 70).map(lambda n: bytes(range(n))))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.binary(max_size=20),
)
map_keys = st.one_of(st.sampled_from(["auth", "seq", "d", "on", "quota_mb"]), st.text(max_size=8), st.integers(-30, 30))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(map_keys, inner, max_size=4)),
    max_leaves=12,
)
request_maps = st.dictionaries(map_keys, values, max_size=6)


@SETTINGS
@given(keys, st.binary(max_size=300))
def test_hmac_sha256_is_hmac(key, message):
    assert hmac_sha256(key, message) == hmac.new(key, message, "sha256").digest()


@SETTINGS
@given(
    keys,
    st.binary(min_size=1, max_size=32),
    st.integers(0, 1),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFF),
    st.integers(0, 7),
    request_maps,
    st.one_of(st.none(), st.binary(max_size=32)),
)
def test_request_proof_is_the_documented_layout(key, nonce, version, group, command, op, request_map, auth):
    if auth is not None:
        request_map["auth"] = auth
    assert request_proof(key, nonce, version, group, command, op, request_map) == reference_proof(
        key, nonce, version, group, command, op, request_map
    )


def test_request_proof_uses_length_first_key_order():
    # Keys -1 (20) and 24 (18 18): RFC 7049 canonical order, as cbor2 canonical=True and
    # protocol.cbor write it, puts -1 first; RFC 8949's bytewise order would put 24 first.
    key, nonce, m = b"k" * 32, b"n" * 16, {24: 0, -1: 0}
    proof = request_proof(key, nonce, 1, 64, 3, 2, m)
    assert proof == reference_proof(key, nonce, 1, 64, 3, 2, m)
    bytewise = b"edgemeter-request-v1" + nonce + bytes([1, 2, 0, 64, 3]) + bytes.fromhex("a2181800" + "2000")
    assert proof != hmac.new(key, bytewise, "sha256").digest()


@SETTINGS
@given(keys, st.binary(min_size=16, max_size=16), st.binary(max_size=1024))
def test_record_mac_is_the_documented_layout(key, previous_mac, body):
    want = hmac.new(key, b"edgemeter-record-v1" + previous_mac + body, "sha256").digest()[:16]
    assert record_mac(key, previous_mac, body) == want


@SETTINGS
@given(st.binary(max_size=40), st.binary(max_size=40))
def test_equal_is_eq(a, b):
    assert equal(a, b) == (a == b)
    assert equal(a, a)
