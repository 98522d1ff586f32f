"""The shared crypto contract of issue 8: proofs for SMP requests, a MAC chain over records.

A subscriber with a serial cable can speak SMP to the device as well as the
technician can. Without a secret, nothing stops them resetting counters,
silencing reminders or rewriting the evidence the claim rests on. So the
device and the technician's host share a 32-byte key (new_key()), and:

* a state-changing request carries "auth": request_proof(...), bound to a
  fresh challenge (nonce) from the device, so a captured proof is useless for
  any other request and for the same one later;
* every record carries record_mac(...), chained from the previous record's,
  so the host can tell whether the log it pulled is the one the device wrote.

Both rest on HMAC-SHA256 (RFC 2104), written here on hashlib.sha256 because
MicroPython has no hmac module; it gives CPython's hmac.new(key, msg,
"sha256").digest() byte for byte. The device heap is small: the message is fed
to the hash in pieces rather than concatenated, and one 64-byte pad serves as
the inner pad, then (XORed once more) as the outer one.

Randomness: os.urandom on both VMs. On the unix port it is the kernel's
getrandom(2); a board must provide it from its hardware generator. Never the
random module: its generator is predictable.
"""

import os
from hashlib import sha256

from protocol import cbor

KEY_SIZE = 32
MAC_SIZE = 16  # record MACs: HMAC-SHA256 truncated to 128 bits
GENESIS = bytes(MAC_SIZE)  # previous_mac of the first record of a log epoch

_REQUEST_DOMAIN = b"edgemeter-request-v1"
_RECORD_DOMAIN = b"edgemeter-record-v1"
_LINK_DOMAIN = b"edgemeter-link-v1"


def _hmac(key, parts):
    # HMAC-SHA256 of the concatenation of parts, without building it.
    if len(key) > 64:
        key = sha256(key).digest()
    pad = bytearray(64)
    pad[: len(key)] = key
    for i in range(64):
        pad[i] ^= 0x36
    h = sha256(pad)
    for part in parts:
        h.update(part)
    inner = h.digest()
    for i in range(64):
        pad[i] ^= 0x6A  # 0x36 ^ 0x5C: the inner pad becomes the outer pad
    h = sha256(pad)
    h.update(inner)
    return h.digest()


def hmac_sha256(key, message):
    """HMAC-SHA256 (RFC 2104, block size 64) of message under key: 32 bytes."""
    return _hmac(key, (message,))


def equal(a, b):
    """a == b for MACs, in a time that does not depend on where they differ.

    Every byte pair over the shorter length is XORed into one accumulator with
    no early exit; a length difference makes the result False, after the same
    loop. (The length itself is not secret: MACs have a fixed size.)
    """
    diff = len(a) ^ len(b)
    for i in range(min(len(a), len(b))):
        diff |= a[i] ^ b[i]
    return diff == 0


def request_proof(key, nonce, version, group, command, op, request_map):
    """The "auth" value of a state-changing SMP request: 32 bytes.

    HMAC-SHA256 under key of

        b"edgemeter-request-v1"             20 bytes, domain separation
        nonce                               the device's challenge, as it sent it
        version                             1 byte: SMP header version (0 or 1)
        op                                  1 byte: SMP op (2 = write)
        group                               2 bytes, big-endian
        command                             1 byte
        cbor.dumps(request_map - "auth")    canonical CBOR of the map without "auth"

    The nonce makes each proof single-use; the header fields stop a proof being
    moved to another command, op or SMP version (a downgrade); the canonical
    encoding makes it independent of how the client ordered the map's keys.
    The device verifies with its own nonce, whose length it chose, so the
    message splits into its fields one way only. A field out of its byte range
    raises ValueError or OverflowError instead of wrapping.
    """
    if "auth" in request_map:
        request_map = dict(request_map)
        del request_map["auth"]
    return _hmac(
        key,
        (
            _REQUEST_DOMAIN,
            nonce,
            bytes((version, op)),
            group.to_bytes(2, "big"),
            bytes((command,)),
            cbor.dumps(request_map),
        ),
    )


def record_mac(key, previous_mac, record_body):
    """MAC of a record body chained to the previous record's MAC: 16 bytes.

    The first 16 bytes of HMAC-SHA256 under key of
        b"edgemeter-record-v1" + previous_mac (16 bytes) + record_body
    where previous_mac is GENESIS for the first record of a log epoch.

    As each MAC covers the one before it, a host that recomputes the chain
    from GENESIS notices a record altered, reordered, dropped or inserted:
    the first MAC that differs points at it, and every later one differs too.

    128 bits rather than 256: the MAC is stored on flash and sent with every
    record, so each byte counts; a forger without the key still has to guess,
    and each guess can only be checked by the host (online), so 2**-128 per
    try is far beyond reach. Truncation of HMAC output is allowed by RFC 2104
    (section 5) down to half the hash length.
    """
    if len(previous_mac) != MAC_SIZE:
        raise ValueError("auth: previous_mac must be %d bytes" % MAC_SIZE)
    return _hmac(key, (_RECORD_DOMAIN, previous_mac, record_body))[:MAC_SIZE]


def link_mac(key, device, epoch, seq, link):
    """The device's MAC over its acknowledged head: 16 bytes.

    HMAC-SHA256(key, b"edgemeter-link-v1" + canonical CBOR [device, epoch, seq,
    link])[:16], `link` the MAC record seq + 1 chains to: a ledger that starts
    after seq checks its first record against it (protocol/record_chain.py).
    The domain keeps it apart from record MACs and request proofs, and the CBOR
    array splits into its fields one way only."""
    return _hmac(key, (_LINK_DOMAIN, cbor.dumps([device, epoch, seq, link])))[:MAC_SIZE]


def new_key():
    """A fresh 32-byte key from the system's cryptographic generator."""
    return os.urandom(KEY_SIZE)
