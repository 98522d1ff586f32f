"""protocol.cbor on both VMs: RFC 8949 Appendix A vectors, canonical form, refusals.

Runs under pytest on CPython and, via mpunit, on the MicroPython unix port in a 64 KB heap.
"""

# The vectors are text tables, one "python-literal hex" row per line, evaluated at run
# time: MicroPython compiles a source file into a parse tree first, and the same cases
# written as code would not compile in a 64 KB heap next to protocol/cbor.py.
# No dict in this file mixes str and bytes keys: MicroPython warns on stderr when it
# compares the two.

import struct
import time
from binascii import hexlify, unhexlify

from protocol.cbor import CBORDecodeError, CBOREncodeError, decode_prefix, dumps, loads

INF = float("inf")
NAN = float("nan")

# Both ways: dumps(value) == hex and loads(hex) == value (NaN-aware, exact types).
CANONICAL = r"""
# RFC 8949 Appendix A, every item of our type set whose RFC encoding is canonical
0 00
1 01
10 0a
23 17
24 1818
25 1819
100 1864
1000 1903e8
1000000 1a000f4240
1000000000000 1b000000e8d4a51000
18446744073709551615 1bffffffffffffffff
-18446744073709551616 3bffffffffffffffff
-1 20
-10 29
-100 3863
-1000 3903e7
0.0 f90000
-0.0 f98000
1.0 f93c00
1.1 fb3ff199999999999a
1.5 f93e00
65504.0 f97bff
100000.0 fa47c35000
3.4028234663852886e+38 fa7f7fffff
1.0e+300 fb7e37e43c8800759c
5.960464477539063e-8 f90001
0.00006103515625 f90400
-4.0 f9c400
-4.1 fbc010666666666666
INF f97c00
NAN f97e00
-INF f9fc00
False f4
True f5
None f6
b'' 40
b'\x01\x02\x03\x04' 4401020304
'' 60
'a' 6161
'IETF' 6449455446
'"\\' 62225c
'\u00fc' 62c3bc
'\u6c34' 63e6b0b4
'\U00010151' 64f0908591
[] 80
[1,2,3] 83010203
[1,[2,3],[4,5]] 8301820203820405
list(range(1,26)) 98190102030405060708090a0b0c0d0e0f101112131415161718181819
{} a0
{1:2,3:4} a201020304
{'a':1,'b':[2,3]} a26161016162820203
['a',{'b':'c'}] 826161a161626163
{'a':'A','b':'B','c':'C','d':'D','e':'E'} a56161614161626142616361436164614461656145
# int edges
-2**63 3b7fffffffffffffff
2**63 1b8000000000000000
-2**32-1 3b0000000100000000
2**32 1b0000000100000000
# floats: the shortest width that holds the value exactly
1023*2.0**-24 f903ff  # largest half subnormal (MicroPython's struct "e" packs it wrong)
-(2.0**-24) f98001
2.0**-14+2.0**-24 f90401
2.0**-25 fa33000000
2.0**-149 fa00000001
65505.0 fa477fe100
65536.0 fa47800000
2.0**-14+2.0**-25 fa38801000
2.0**-126 fa00800000
2.0**-127 fa00400000  # single subnormal
1e-320 fb00000000000007e8  # double subnormal
3.4028235677973366e38 fb47effffff0000000  # just above the single range
-3.4028234663852886e38 faff7fffff
# types are kept: bool is not int, 1.0 is not 1
[True,1,1.0,False,0,0.0,-0.0] 87f501f93c00f400f90000f98000
# map keys: shorter encodings first, then bytewise (RFC 7049 canonical, as cbor2)
{'aa':1,24:2,-1:3,100:5,10:6,'b':7,None:8,1.5:9,False:10} a90a062003f40af60818180218640561620762616101f93e0009
{b'xy':1,b'':2,0.5:3,b'z':4,-25:5} a54002381805417a0442787901f9380003
{'z':{3:0,2:0,1:0},'a':1} a2616101617aa3010002000300
{1:123456,2:1,3:1700000000,4:3,5:1048576,6:2097152} a6011a0001e2400201031a6553f1000403051a00100000061a00200000
# text at the edges of the Unicode range, Chinese text
'\U0010ffff' 64f48fbfbf
'\uffff' 63efbfbf
'\ue000' 63ee8080
'电表读数：流量 12.5 MB，余额不足！' 782fe794b5e8a1a8e8afbbe695b0efbc9ae6b581e9878f2031322e35204d42efbc8ce4bd99e9a29de4b88de8b6b3efbc81
{'名称':['边缘','计量'],'值':'千字节'} a263e580bc69e58d83e5ad97e88a8266e5908de7a7b08266e8beb9e7bc9866e8aea1e9878f
"""

# Decode only: well-formed but not canonical.
DECODE_ONLY = r"""
# RFC 8949 Appendix A floats that a shorter width holds exactly
INF fa7f800000
NAN fa7fc00000
-INF faff800000
INF fb7ff0000000000000
NAN fb7ff8000000000000
-INF fbfff0000000000000
# long heads, wider floats, other NaNs, unsorted and repeated keys (the last value wins)
0 1800
1 190001
1 1a00000001
1 1b0000000000000001
-1 3b0000000000000000
b'' 5800
'x' 79000178
[1] 9a0000000101
{1:2} b8010102
1.5 fa3fc00000
1.5 fb3ff8000000000000
NAN f97e01
NAN f9fe00
NAN fa7f800001
NAN fbfff8000000000000
{1:4,2:3} a202030104
{1:3} a201020103
"""

# Encode only: the canonical form of values that do not come back as themselves.
ENCODE_ONLY = r"""
(1,2) 820102
(1,(2,)) 82018102
bytearray(b'ab') 426162
{(1,2):3} a182010203
"""

# Malformed or refused input: one CBORDecodeError each.
MALFORMED = r"""
# RFC 8949 Appendix A items outside our type set, refused by design: bignums,
# undefined, simple values, tags 0/1/32, indefinite lengths
c249010000000000000000 c349010000000000000000 f7 f0 f8ff
c074323031332d30332d32315432303a30343a30305a c11a514b67b0
d82076687474703a2f2f7777772e6578616d706c652e636f6d
5f42010243030405ff 7f657374726561646d696e67ff 9fff 9f018202039f0405ffff
83018202039f0405ff bf61610161629f0203ffff bf6346756ef563416d7421ff
# trailing bytes after a complete item
0000 f6f6 82010203 a0ff 6000
# lying lengths, refused before allocating: 5 bytes claiming a 4 GB string,
# 64-bit lengths/counts, 2 map pairs in 3 bytes
5affffffff 7affffffff 5bffffffffffffffff 7bffffffffffffffff00 9affffffff00
9bffffffffffffffff baffffffff0000 bbffffffffffffffff a2010201
# invalid UTF-8: bad bytes, a character cut by the length, overlong forms,
# surrogates, above U+10FFFF, 5/6-byte forms
61ff 6180 62c328 63e6b0 62e6b0 63e6b041 62c080 63e08080 64f0808080
63eda080 63edbfbf 64f4908080 64f5808080 66fc8080808080 63616263ff
# break alone or where an item belongs, indefinite lengths
ff 81ff a101ff 5f4100ff 9f01ff
# unhashable keys, undefined, simple values, tags
a18000 a1a000 a20100810100 f7 f818 f820 e0 f3 c001 d9010201
"""


def _h(s):
    return unhexlify(s)


def _rows(text):
    # Lines of space-separated fields ("#" starts a comment); the first field is a
    # Python literal that may itself contain spaces.
    for line in text.split("\n"):
        line = line.split("  #")[0]
        if line and line[0] != "#":
            yield line.split(" ")


def _same(a, b):
    # Equality that also tells NaN == NaN, -0.0 != 0.0, True != 1 and 1.0 != 1.
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return a != a and b != b or struct.pack(">d", a) == struct.pack(">d", b)
    if type(a) is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return len(a) == len(b) and all(k in b and _same(a[k], b[k]) for k in a)
    return a == b


def _raises(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return
    raise AssertionError("%s not raised by %r" % (exc.__name__, args))


def _bad(hexstr, **kw):
    try:
        loads(_h(hexstr), **kw)
    except CBORDecodeError:
        return
    raise AssertionError("accepted malformed input " + hexstr)


def test_canonical_vectors():
    for row in _rows(CANONICAL):
        enc = _h(row.pop())
        value = eval(" ".join(row), globals())
        assert _same(loads(enc), value), (hexlify(enc), loads(enc))
        assert dumps(value) == enc, (value, hexlify(dumps(value)))


def test_decode_only_vectors():
    for row in _rows(DECODE_ONLY):
        enc = _h(row.pop())
        assert _same(loads(enc), eval(" ".join(row), globals())), hexlify(enc)
        assert dumps(loads(enc)) != enc


def test_encode_only_vectors():
    for row in _rows(ENCODE_ONLY):
        enc = _h(row.pop())
        assert dumps(eval(" ".join(row), globals())) == enc, row
    # Any NaN encodes as f97e00 (here a negative one with a payload).
    assert dumps(struct.unpack(">d", _h("fff8000000000001"))[0]) == _h("f97e00")


def test_malformed():
    for row in _rows(MALFORMED):
        for hexstr in row:
            _bad(hexstr)
    _bad("")
    # Reserved additional information 28..30 and indefinite (31) in every major type.
    for ib in range(256):
        if ib & 0x1F > 27:
            _bad("%02x" % ib + "00" * 9)


def test_all_halves_round_trip():
    # All 63488 finite half patterns: decoding then encoding gives back f9 + the pattern.
    for hbits in range(0x10000):
        if hbits & 0x7C00 != 0x7C00:
            enc = b"\xf9" + struct.pack(">H", hbits)
            assert dumps(loads(enc)) == enc, hexlify(enc)


def test_chinese_text_round_trip():
    for text in ("水", "中文" * 200, "混合 mixed ü 🚀"):
        assert loads(dumps(text)) == text
        assert dumps(text).endswith(text.encode())


def test_bytes_like_inputs_and_decode_prefix():
    value = {"k": [b"\x00\xff", "水", -5, 2.5]}
    enc = dumps(value)
    buf = bytearray(b"\xee" + enc + b"\xee")
    for data in (enc, bytearray(enc), memoryview(enc), memoryview(buf)[1 : 1 + len(enc)]):
        assert loads(data) == value and type(loads(data)["k"][0]) is bytes
    data = dumps([1, "a"]) + dumps({2: b"x"}) + b"\x00"
    assert decode_prefix(data) == ([1, "a"], 4)
    assert decode_prefix(data, 4) == ({2: b"x"}, 8)
    assert decode_prefix(memoryview(data), 8) == (0, 9)
    for offset in (9, -1, 99):
        _raises(CBORDecodeError, decode_prefix, data, offset)


def test_truncated_at_every_position():
    value = {1: [1, 2.5, b"xy", "水", {"k": -1000000, "z": [None, True, 1.1]}], 2: 100000.0, 3: [[[]]], "a": "电表"}
    enc = dumps(value)
    assert loads(enc) == value
    for cut in range(len(enc)):
        _raises(CBORDecodeError, loads, enc[:cut])
        _raises(CBORDecodeError, loads, memoryview(enc)[:cut])


def test_lying_lengths_fail_fast():
    # A 64 KB string, a 1000-item array, a 4 GB string claimed with fewer bytes present.
    # (Repeat counts are variables so the compiler cannot fold big constants.)
    n = 100
    t0 = time.time()
    _bad("5a00010000" + "00" * n)
    _bad("9903e8" + "00" * (10 * n - 1))
    _bad("5affffffff")
    assert time.time() - t0 < 5


def test_depth_limit():
    n = 16  # the default limit on nested arrays/maps
    _bad("81" * (n * 60) + "00")
    _bad("a1" + "01a1" * (n * 30) + "0000")
    assert loads(_h("81" * n + "00")) == _nest(n)
    _bad("81" * (n + 1) + "00")
    assert loads(_h("81" * (n + 1) + "00"), max_depth=n + 1) == _nest(n + 1)
    _bad("8100", max_depth=0)
    assert loads(_h("00"), max_depth=0) == 0
    assert loads(dumps(_nest(40)), max_depth=40) == _nest(40)


def _nest(n):
    v = 0
    for _ in range(n):
        v = [v]
    return v


class _Thing:
    pass


def test_a_memoryview_encodes_as_the_bytes_it_shows_and_dump_into_appends():
    from protocol.cbor import dump_into

    data = bytearray(b"xx" + bytes(range(40)) + b"yy")
    assert dumps(memoryview(data)[2:42]) == dumps(bytes(range(40)))
    assert dumps({"recs": memoryview(data)[2:2]}) == dumps({"recs": b""})
    out = bytearray(b"head")
    dump_into({"a": [1, memoryview(data)[:2]]}, out)
    assert out == b"head" + dumps({"a": [1, b"xx"]})


def test_encode_errors():
    for value in (2**64, -(2**64) - 1, [1, 2**70], {1: -(2**65)}):
        _raises(CBOREncodeError, dumps, value)
    for value in ({1, 2}, object(), _Thing(), [1, {2: {3}}], {"k": _Thing()}, range(3)):
        _raises(TypeError, dumps, value)
    assert issubclass(CBOREncodeError, ValueError) and issubclass(CBORDecodeError, ValueError)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
