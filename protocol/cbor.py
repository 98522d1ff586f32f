"""CBOR (RFC 8949) for MicroPython and CPython: canonical dumps, strict loads.

dumps(obj) -> bytes: int (-2**64 .. 2**64-1), bool, None, float, str, bytes,
bytearray, memoryview (as bytes), list, tuple (as array), dict; exactly the bytes of
cbor2.dumps(obj, canonical=True). Shortest int/length heads; floats in the
shortest exact width (half, single, double; NaN f97e00); map keys sorted by
encoded length first, then bytewise (RFC 7049 canonical, as cbor2 does; not
RFC 8949's plain bytewise order). Raises CBOREncodeError (ValueError) for an
int out of range or an unencodable str, TypeError for other types.

loads(data, max_depth=16) -> object: one definite-length item filling data
(bytes, bytearray, memoryview); long forms and all float widths accepted.
dump_into(obj, out): the same bytes appended to a bytearray.
decode_prefix(data, offset=0, max_depth=16) -> (object, end): the item at
offset and the offset after it. Malformed or refused input raises
CBORDecodeError (ValueError): see the notes below for what is refused.
"""

# Encoding notes
# - Length-first key order: -1 (20) comes before 24 (18 18) because it is
#   shorter, while plain bytewise order would put 18 18 first.
# - Map keys whose encodings are equal (only distinct NaN objects) keep the
#   dict's iteration order: insertion order on CPython, like cbor2; MicroPython
#   dicts iterate in hash-table order.
# - An int outside 64 bits is refused: cbor2 would write a bignum tag.
# - Subclasses of the supported types encode as their base type. Other types
#   (set, memoryview, objects) raise TypeError. Cycles are not detected: they
#   end in the VM's recursion error.
#
# Decoding: everything below raises CBORDecodeError, never IndexError,
# KeyError, UnicodeError or a MemoryError caused by a lying length.
# - truncated input; bytes after the item (loads only);
# - reserved additional information 28..30;
# - refused by design, as nothing in our type set maps to them:
#   indefinite lengths and the break byte (ai 31), tags (major type 6),
#   undefined (f7) and simple values other than false/true/null;
# - invalid UTF-8 in a text string, including overlong forms, surrogates and
#   code points above U+10FFFF (which MicroPython's own decoder lets through);
# - a map key that is an array or a map (unhashable); a repeated key is not
#   an error: the last value wins, as in cbor2;
# - more than max_depth nested arrays/maps;
# - a string length greater than the bytes left, an array count greater than
#   them, or a map count with 2 * count greater (every item takes at least a
#   byte): checked before allocating, so 5 bytes claiming a 4 GB string fail
#   at once.


from struct import pack, unpack, unpack_from


class CBOREncodeError(ValueError):
    """A value of a supported type cannot be encoded (int out of range, bad str)."""


class CBORDecodeError(ValueError):
    """The input is not a well-formed CBOR item of the supported subset."""


_UINT64_MAX = 0xFFFFFFFFFFFFFFFF
_FLT_MAX = 3.4028234663852886e38
_INF = float("inf")


# ---------------------------------------------------------------- encoding


def _head(out, mt, n):
    # Major type `mt` (already shifted into the top 3 bits) with argument n,
    # in the shortest form. Callers guarantee 0 <= n <= 2**64-1: MicroPython's
    # struct silently truncates larger values for "Q".
    if n < 24:
        out.append(mt | n)
    elif n < 0x100:
        out.append(mt | 24)
        out.append(n)
    elif n < 0x10000:
        out += pack(">BH", mt | 25, n)
    elif n < 0x100000000:
        out += pack(">BI", mt | 26, n)
    else:
        out += pack(">BQ", mt | 27, n)


def _enc_int(x, out):
    if x >= 0:
        mt = 0x00
    else:
        mt = 0x20
        x = -1 - x
    if x > _UINT64_MAX:
        raise CBOREncodeError("cbor: int outside -2**64 .. 2**64-1 (bignums are not supported)")
    _head(out, mt, x)


def _enc_bool(x, out):
    out.append(0xF5 if x else 0xF4)


def _enc_none(x, out):
    out.append(0xF6)


def _enc_float(x, out):
    # Shortest exact width: a width is used only if unpacking the packed value
    # gives x back.
    if x != x:
        out += b"\xf9\x7e\x00"  # every NaN, whatever its sign or payload
        return
    a = abs(x)
    if a <= 65504.0 or a == _INF:
        if 0 < a < 6.103515625e-05:
            # Half subnormal k * 2**-24, checked by hand: MicroPython's struct
            # "e" packs 0x0200..0x03ff subnormals wrongly (0x03ff as 0x03fe).
            k = a * 16777216.0
            if k == int(k):
                out += pack(">BH", 0xF9, (0x8000 if x < 0 else 0) | int(k))
                return
        else:
            # Never packed above 65504: MicroPython's "e" does not overflow
            # to inf there but returns garbage, CPython raises.
            h = pack(">e", x)
            if unpack(">e", h)[0] == x:
                out.append(0xF9)
                out += h
                return
    if a <= _FLT_MAX:
        # (On a board whose float is single precision this always holds.)
        h = pack(">f", x)
        if unpack(">f", h)[0] == x:
            out.append(0xFA)
            out += h
            return
    out += pack(">Bd", 0xFB, x)


def _enc_bytes(x, out):
    _head(out, 0x40, len(x))
    out += x


def _enc_str(x, out):
    try:
        b = x.encode()
    except UnicodeError:
        raise CBOREncodeError("cbor: str is not encodable as UTF-8")
    _head(out, 0x60, len(b))
    out += b


def _enc_list(x, out):
    _head(out, 0x80, len(x))
    for v in x:
        _enc(v, out)


def _enc_dict(x, out):
    n = len(x)
    _head(out, 0xA0, n)
    if n == 1:
        for k, v in x.items():
            _enc(k, out)
            _enc(v, out)
        return
    # Encode each key on its own, then sort by (length, bytes). The index
    # makes every tuple unique: the sort never compares values, and equal
    # key encodings keep the dict's order even with MicroPython's unstable
    # sort.
    items = []
    i = 0
    for k, v in x.items():
        kb = bytearray()
        _enc(k, kb)
        items.append((len(kb), kb, i, v))
        i += 1
    items.sort()
    for item in items:
        out += item[1]
        _enc(item[3], out)


# Dispatch on the exact type (micropython-lib style). bool is looked up
# before any isinstance test could see it as an int.
_ENCODERS = {
    int: _enc_int,
    bool: _enc_bool,
    type(None): _enc_none,
    float: _enc_float,
    str: _enc_str,
    bytes: _enc_bytes,
    bytearray: _enc_bytes,
    memoryview: _enc_bytes,
    list: _enc_list,
    tuple: _enc_list,
    dict: _enc_dict,
}


def _enc(x, out):
    f = _ENCODERS.get(type(x))
    if f is None:
        # Subclasses (IntEnum, OrderedDict...) encode as their base type.
        for t in (int, float, str, bytes, bytearray, memoryview, list, tuple, dict):
            if isinstance(x, t):
                f = _ENCODERS[t]
                break
        else:
            raise TypeError("cbor: cannot encode type %s" % type(x).__name__)
    f(x, out)


def dumps(obj):
    """Canonical CBOR encoding of obj (identical to cbor2's canonical=True)."""
    out = bytearray()
    _enc(obj, out)
    return bytes(out)


def dump_into(obj, out):
    """Append the encoding of obj to the bytearray `out`: a buffer kept with its
    room reserved takes a large answer without a new block (firmware/smp/server.py)."""
    _enc(obj, out)


# ---------------------------------------------------------------- decoding

_ARG_FMT = (">B", ">H", ">I", ">Q")  # additional information 24..27
_FLOAT_FMT = (">e", ">f", ">d")  # 25..27 in major type 7
_SIMPLE = (False, True, None)  # simple values 20..22


def _strict_utf8(b):
    # MicroPython's str() checks the UTF-8 structure only (lead and
    # continuation bytes) and lets through overlong forms (C0/C1 leads,
    # E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points above
    # U+10FFFF (F4 90..BF, F5..F7 leads). Work on the bytes: iterating the str
    # would intern every distinct non-ASCII character as a qstr for good.
    for x in (b"\xc0", b"\xc1", b"\xf5", b"\xf6", b"\xf7"):
        if x in b:
            return False
    if not (b"\xe0" in b or b"\xed" in b or b"\xf0" in b or b"\xf4" in b):
        return True
    p = 0
    for c in b:
        if (p == 0xE0 and c < 0xA0 or p == 0xED and c > 0x9F
                or p == 0xF0 and c < 0x90 or p == 0xF4 and c > 0x8F):
            return False
        p = c
    return True


try:
    str(b"\xed\xa0\x80", "utf-8")  # a surrogate: only a lax decoder accepts it
    _LAX_UTF8 = True
except UnicodeError:
    _LAX_UTF8 = False


def _err(msg, i):
    return CBORDecodeError("cbor: %s at offset %d" % (msg, i))


def _dec(data, i, end, depth):
    # Decode the item at data[i] (the input ends at `end`); return (value,
    # offset past it). `depth` is how many more arrays/maps may nest.
    if i >= end:
        raise _err("truncated input", i)
    ib = data[i]
    mt = ib >> 5
    ai = ib & 0x1F
    i += 1
    if ai < 24:
        n = ai
    elif ai < 28:
        k = 1 << (ai - 24)  # 1, 2, 4 or 8 argument bytes follow
        if i + k > end:
            raise _err("truncated input", i)
        if mt == 7:
            if ai == 24:
                raise _err("unsupported simple value", i - 1)
            return unpack_from(_FLOAT_FMT[ai - 25], data, i)[0], i + k
        n = unpack_from(_ARG_FMT[ai - 24], data, i)[0]
        i += k
    elif ai == 31:
        raise _err("indefinite length or break not supported", i - 1)
    else:
        raise _err("reserved additional information", i - 1)
    if mt < 2:
        return (-1 - n if mt else n), i
    if mt == 7:
        # false, true, null; undefined and other simple values are refused.
        if 20 <= n <= 22:
            return _SIMPLE[n - 20], i
        raise _err("unsupported simple value", i - 1)
    if mt == 6:
        raise _err("tags not supported", i - 1)
    # Strings and containers: refuse a count the remaining bytes cannot hold
    # before allocating anything for it.
    left = end - i
    if mt < 4:
        if n > left:
            raise _err("string longer than input", i)
        j = i + n
        b = bytes(data[i:j])
        if mt == 2:
            return b, j
        try:
            s = str(b, "utf-8")
        except UnicodeError:
            s = None
        if s is None or _LAX_UTF8 and len(s) != n and not _strict_utf8(b):
            raise _err("invalid UTF-8", i)
        return s, j
    if depth <= 0:
        raise _err("nesting too deep", i - 1)
    depth -= 1
    if mt == 4:
        if n > left:
            raise _err("array count exceeds input", i)
        a = []
        for _ in range(n):
            v, i = _dec(data, i, end, depth)
            a.append(v)
        return a, i
    if n > left >> 1:
        raise _err("map count exceeds input", i)
    m = {}
    for _ in range(n):
        # Inline: a key or value that is an unsigned int below 24 is its one byte
        # (every record key, most small fields); saves a call per item.
        if i < end and data[i] < 24:
            k = data[i]
            j = i + 1
        else:
            k, j = _dec(data, i, end, depth)
            if type(k) is list or type(k) is dict:
                raise _err("unhashable map key", i)
        ib = data[j] if j < end else 255
        if ib < 24:
            m[k] = ib
            i = j + 1
        elif 24 <= ib < 28 and j + 1 + (1 << (ib - 24)) <= end:  # an unsigned int with 1-8 argument bytes
            m[k] = unpack_from(_ARG_FMT[ib - 24], data, j + 1)[0]
            i = j + 1 + (1 << (ib - 24))
        else:
            v, i = _dec(data, j, end, depth)
            m[k] = v
    return m, i


def decode_prefix(data, offset=0, max_depth=16):
    """Decode the item at data[offset:]; return (value, offset just past it)."""
    if type(data) is not bytes:
        data = memoryview(data)  # slices then copy once, into bytes()
    if offset < 0 or offset > len(data):
        raise _err("offset out of range", offset)
    return _dec(data, offset, len(data), max_depth)


def loads(data, max_depth=16):
    """Decode one CBOR item filling all of data (bytes, bytearray, memoryview)."""
    if type(data) is not bytes:
        data = memoryview(data)
    v, i = _dec(data, 0, len(data), max_depth)
    if i != len(data):
        raise _err("trailing bytes", i)
    return v
