"""protocol.cbor against cbor2, the host's reference: property tests and a replay on MicroPython.

* hypothesis values of our type set: dumps(v) == cbor2.dumps(v, canonical=True), and
  both decoders read each other's output back;
* random and mutated bytes: loads succeeds with cbor2's result or raises CBORDecodeError;
* >= 2000 seeded random vectors made by cbor2, replayed by tests/device/replay_cbor_vectors.py
  on the MicroPython unix port in a 64 KB heap.
"""

import collections
import enum
import json
import math
import os
import random
import re
import struct

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host_tools.build import micropython_vm
from protocol.cbor import CBORDecodeError, CBOREncodeError, decode_prefix, dumps, loads

DEVICE_DIR = os.path.join(micropython_vm.REPO, "tests", "device")
REPLAY = os.path.join(DEVICE_DIR, "replay_cbor_vectors.py")
DEEP = 64  # max_depth for decoding generated values, which may nest past the default 16

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def canonical(v):
    return cbor2.dumps(v, canonical=True)


def normal(v):
    """v as a decoder returns it: tuples as lists, bytearrays as bytes."""
    if isinstance(v, (list, tuple)):
        return [normal(x) for x in v]
    if isinstance(v, dict):
        return {k: normal(x) for k, x in v.items()}
    if isinstance(v, bytearray):
        return bytes(v)
    return v


_MISSING = object()


def same(a, b):
    """Structural equality: exact types, NaN == NaN, -0.0 != 0.0, map keys compared too."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return (math.isnan(a) and math.isnan(b)) or struct.pack(">d", a) == struct.pack(">d", b)
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        # Pair the keys with same(), not lookups: NaN keys never find themselves.
        if len(a) != len(b):
            return False
        for ka, va in a.items():
            kb = next((k for k in b if same(ka, k)), _MISSING)
            if kb is _MISSING or not same(va, b[kb]):
                return False
        return True
    return a == b


# ------------------------------------------------------------------ strategies

INT_EDGES = [0, 1, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1]
INT_EDGES += [-1 - x for x in INT_EDGES]


def _half(bits):
    return struct.unpack(">e", struct.pack(">H", bits))[0]


def _single(bits):
    return struct.unpack(">f", struct.pack(">I", bits))[0]


ints = st.one_of(
    st.integers(-(2**64), 2**64 - 1),
    st.sampled_from(INT_EDGES),
    st.integers(-30, 30),
)
floats_no_nan = st.one_of(
    st.floats(allow_nan=False),
    st.integers(0, 0xFFFF).map(_half).filter(lambda x: x == x),
    st.integers(0, 2**32 - 1).map(_single).filter(lambda x: x == x),
    st.sampled_from([0.0, -0.0, math.inf, -math.inf, 5e-324, 2.0**-24, 2.0**-25, 65504.0, 65505.0]),
)
floats = st.one_of(floats_no_nan, st.just(math.nan), st.integers(0, 2**64 - 1).map(
    lambda b: struct.unpack(">d", struct.pack(">Q", b))[0]))
chinese = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=20)
texts = st.one_of(st.text(max_size=30), chinese)
byte_strings = st.one_of(st.binary(max_size=40), st.binary(max_size=10).map(bytearray))
keys = st.one_of(st.none(), st.booleans(), ints, floats_no_nan, texts, st.binary(max_size=10))
scalars = st.one_of(st.none(), st.booleans(), ints, floats, texts, byte_strings)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.lists(inner, max_size=6).map(tuple),
        st.dictionaries(keys, inner, max_size=6),
    ),
    max_leaves=25,
)


# ------------------------------------------------------------------ properties


@SETTINGS
@given(values)
def test_dumps_is_cbor2_canonical(v):
    assert dumps(v) == canonical(v)


@SETTINGS
@given(values)
def test_loads_reads_cbor2(v):
    want = normal(v)
    assert same(loads(cbor2.dumps(v), max_depth=DEEP), want)  # cbor2's default form: doubles, unsorted keys
    assert same(loads(canonical(v), max_depth=DEEP), want)
    assert same(loads(memoryview(bytearray(canonical(v))), max_depth=DEEP), want)


@SETTINGS
@given(values)
def test_cbor2_reads_dumps(v):
    assert same(cbor2.loads(dumps(v)), normal(v))


def _check_against_cbor2(data):
    try:
        got = loads(data)
    except CBORDecodeError:
        return
    assert same(got, cbor2.loads(data)), data.hex()


@SETTINGS
@given(st.binary(max_size=64))
def test_random_bytes(data):
    _check_against_cbor2(data)


@SETTINGS
@given(values, st.data())
def test_mutated_encodings(v, data):
    enc = bytearray(canonical(v))
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["flip", "set", "cut", "insert", "delete"]))
        i = data.draw(st.integers(0, max(len(enc) - 1, 0)))
        if op == "flip" and enc:
            enc[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "set" and enc:
            enc[i] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del enc[i:]
        elif op == "insert":
            enc[i:i] = bytes([data.draw(st.integers(0, 255))])
        elif op == "delete" and enc:
            del enc[i]
    _check_against_cbor2(bytes(enc))


@SETTINGS
@given(values, st.binary(max_size=8))
def test_decode_prefix_stops_at_the_item(v, tail):
    enc = canonical(v)
    got, end = decode_prefix(enc + tail, 0, DEEP)
    assert end == len(enc) and same(got, normal(v))


# ------------------------------------------------------------------ examples


def test_nan_keys_keep_insertion_order_like_cbor2():
    n1, n2 = math.nan, struct.unpack(">d", bytes.fromhex("fff8000000000001"))[0]
    for d in ({n1: 1, n2: 2}, {n2: 2, n1: 1}, {n1: 1, 0: 0, n2: 2}):
        assert dumps(d) == canonical(d)


def test_subclasses_encode_as_their_base_type():
    class Colour(enum.IntEnum):
        RED = 1

    class Name(str):
        pass

    for v in (Colour.RED, Name("x"), collections.OrderedDict([(2, 0), (1, 0)]), [Colour.RED, {Name("k"): 1.5}]):
        assert dumps(v) == canonical(v)


def test_refused_where_cbor2_would_use_tags():
    for v in (2**64, -(2**64) - 1):
        assert canonical(v)[0] in (0xC2, 0xC3)  # a bignum tag
        with pytest.raises(CBOREncodeError, match="2\\*\\*64"):
            dumps(v)
    with pytest.raises(TypeError, match="set"):
        dumps({1, 2})
    with pytest.raises(CBOREncodeError):
        dumps("\ud800")  # a lone surrogate is not UTF-8


def test_lying_length_fails_fast_without_allocating():
    import time
    import tracemalloc

    tracemalloc.start()
    t0 = time.perf_counter()
    for data in (b"\x5a\xff\xff\xff\xff", b"\x7b" + b"\xff" * 8, b"\x9b" + b"\xff" * 8, b"\xbb" + b"\xff" * 8):
        with pytest.raises(CBORDecodeError):
            loads(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.perf_counter() - t0 < 0.5
    assert peak < 64 * 1024


# ------------------------------------------------------------------ replay on MicroPython

N_VECTORS = 2500
MAX_LINE = 3000


def _tagged(v):
    """v in the JSON form tests/device/replay_cbor_vectors.py rebuilds without a CBOR decoder."""
    if v is None:
        return None
    if isinstance(v, bool):
        return {"t": v}
    if isinstance(v, int):
        return {"i": str(v)}
    if isinstance(v, float):
        return {"f": struct.pack(">d", v).hex()}
    if isinstance(v, str):
        return {"s": v.encode().hex()}
    if isinstance(v, bytearray):
        return {"y": v.hex()}
    if isinstance(v, bytes):
        return {"b": v.hex()}
    if isinstance(v, tuple):
        return {"u": [_tagged(x) for x in v]}
    if isinstance(v, list):
        return {"l": [_tagged(x) for x in v]}
    if isinstance(v, dict):
        return {"m": [[_tagged(k), _tagged(x)] for k, x in v.items()]}
    raise TypeError(type(v))


def _random_value(r, depth=0):
    kind = r.random()
    if depth < 4 and kind < 0.25:
        n = r.randrange(7)
        if kind < 0.1:
            # No NaN keys: two NaNs are different keys but rebuild as a dict that
            # cannot be compared by lookup.
            return {_random_key(r): _random_value(r, depth + 1) for _ in range(n)}
        items = [_random_value(r, depth + 1) for _ in range(n)]
        return tuple(items) if kind < 0.13 else items
    return _random_scalar(r)


def _random_key(r):
    v = _random_scalar(r)
    while isinstance(v, bytearray) or v != v:  # unhashable, or NaN
        v = _random_scalar(r)
    return v


def _random_scalar(r):
    k = r.randrange(12)
    if k == 0:
        return r.choice([None, True, False])
    if k == 1:
        v = r.choice(INT_EDGES) + r.choice([0, 0, 1, -1])
        return max(-(2**64), min(2**64 - 1, v)) if r.random() < 0.5 else r.randrange(-30, 30)
    if k == 2:
        bits = r.choice([4, 8, 16, 32, 64])
        v = r.getrandbits(bits)
        return v if r.random() < 0.5 else -1 - v
    if k == 3:
        return _half(r.getrandbits(16))
    if k == 4:
        return _single(r.getrandbits(32))
    if k == 5:
        return struct.unpack(">d", struct.pack(">Q", r.getrandbits(64)))[0]
    if k == 6:
        return r.choice([0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, 1.1, 65504.0, 3.4028234663852886e38])
    if k == 7:
        return round(r.uniform(-1e6, 1e6), r.randrange(4))
    if k == 8:
        return "".join(chr(r.randrange(0x4E00, 0xA000)) for _ in range(r.randrange(12)))
    if k == 9:
        alphabet = "abcXYZ 0129\n\t\"\\é水电🚀\x00\x7f"
        return "".join(r.choice(alphabet) for _ in range(r.randrange(16)))
    if k == 10:
        return bytes(r.getrandbits(8) for _ in range(r.randrange(30)))
    return bytearray(r.getrandbits(8) for _ in range(r.randrange(8)))


def _write_vectors(path, n, seed=20240601):
    r = random.Random(seed)
    with open(path, "w") as f:
        written = 0
        while written < n:
            v = _random_value(r)
            rec = {"v": _tagged(v), "e": canonical(v).hex()}
            plain = cbor2.dumps(v).hex()
            if plain != rec["e"]:
                rec["n"] = plain
            line = json.dumps(rec)
            # The replay holds one line, its JSON tree and the value twice in a 64 KB
            # heap: skip the rare giants (encodings stay under ~400 bytes).
            if len(line) <= MAX_LINE:
                f.write(line + "\n")
                written += 1


def test_replay_vectors_on_micropython(tmp_path):
    path = tmp_path / "cbor_vectors.jsonl"
    _write_vectors(path, N_VECTORS)
    done = micropython_vm.run([REPLAY, str(path)], extra_paths=[DEVICE_DIR])
    # (stderr may hold MicroPython's "Comparison between bytes and str" warnings:
    # maps with both key types; they are noise.)
    report = done.stdout[-3000:] + "".join(
        line for line in done.stderr.splitlines(True)[-20:] if "Comparison between bytes and str" not in line
    )
    assert done.returncode == 0, report
    m = re.fullmatch(r"(\d+) passed, (\d+) failed", done.stdout.strip().splitlines()[-1])
    assert m and int(m.group(1)) >= 2000 and m.group(2) == "0", report


def test_replay_script_reports_failures(tmp_path):
    # The replay must catch a wrong expectation, not just run.
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"v": {"i": "1"}, "e": "02"}) + "\n" + json.dumps({"v": None, "e": "f6"}) + "\n")
    done = micropython_vm.run([REPLAY, str(path)], extra_paths=[DEVICE_DIR])
    assert done.returncode != 0
    assert done.stdout.strip().splitlines()[-1] == "1 passed, 1 failed"
