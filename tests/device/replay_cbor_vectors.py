"""Replay cbor2-made vectors against protocol.cbor on MicroPython (or CPython).

Usage: micropython replay_cbor_vectors.py VECTORS.jsonl

Each line of the file is a JSON object written by tests/host/test_cbor_vs_cbor2.py:
  "v": the value in a tagged form that does not need a CBOR decoder to rebuild:
       null, {"t": bool}, {"i": "decimal"}, {"f": "hex of the 8-byte double"},
       {"s": "hex of the UTF-8"}, {"b": "hex"}, {"y": "hex" (bytearray)},
       {"l": [...]}, {"u": [...] (tuple)}, {"m": [[k, v], ...]}
  "e": hex of cbor2.dumps(value, canonical=True)
  "n": hex of cbor2.dumps(value) (not canonical: doubles, unsorted keys), if different
For each vector it checks dumps(value) == e, and that loads(e), loads(memoryview(e))
and loads(n) give the value back (tuples as lists, bytearrays as bytes, NaN == NaN).
The file is streamed line by line so it fits a 64 KB heap. Prints "N passed, M failed"
last and exits non-zero on any failure. (Not named test_*: the host test runs it.)
"""

import json
import struct
import sys
from binascii import hexlify, unhexlify

from protocol.cbor import dumps, loads


def build(t, decoded):
    # The value from its tagged form; with decoded=True, as loads returns it.
    if t is None:
        return None
    for tag in t:
        x = t[tag]
        if tag == "t":
            return x
        if tag == "i":
            return int(x)
        if tag == "f":
            return struct.unpack(">d", unhexlify(x))[0]
        if tag == "s":
            return str(unhexlify(x), "utf-8")
        if tag == "b":
            return unhexlify(x)
        if tag == "y":
            return unhexlify(x) if decoded else bytearray(unhexlify(x))
        if tag == "l" or tag == "u":
            items = [build(v, decoded) for v in x]
            return tuple(items) if tag == "u" and not decoded else items
        if tag == "m":
            m = {}
            for k, v in x:
                m[build(k, decoded)] = build(v, decoded)
            return m
    raise ValueError("bad tagged value")


def same(a, b):
    # Equality that also tells NaN == NaN, -0.0 != 0.0, True != 1 and 1.0 != 1.
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return a != a and b != b or struct.pack(">d", a) == struct.pack(">d", b)
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return len(a) == len(b) and all(k in b and same(a[k], b[k]) for k in a)
    return a == b


def check(rec):
    value = build(rec["v"], False)
    want = build(rec["v"], True)
    enc = unhexlify(rec["e"])
    got = dumps(value)
    if got != enc:
        return "dumps gave " + str(hexlify(got), "ascii")
    if not same(loads(enc), want):
        return "loads(e) gave %r" % (loads(enc),)
    if not same(loads(memoryview(enc)), want):
        return "loads(memoryview(e)) differs"
    if "n" in rec and not same(loads(unhexlify(rec["n"]), 64), want):
        return "loads(n) gave %r" % (loads(unhexlify(rec["n"]), 64),)
    return None


def main(path):
    passed = failed = 0
    lineno = 0
    with open(path) as f:
        while True:
            line = f.readline()
            if not line:
                break
            lineno += 1
            try:
                why = check(json.loads(line))
            except Exception as exc:  # report it as this vector's failure, keep going
                why = "raised %r" % (exc,)
            if why is None:
                passed += 1
            else:
                failed += 1
                if failed <= 10:
                    print("FAIL line %d: %s" % (lineno, why))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main(sys.argv[1])
