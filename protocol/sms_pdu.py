"""SMS PDUs (3GPP TS 23.040, alphabets TS 23.038) for AT+CMGF=0, on MicroPython and CPython.

One codec for both sides of the modem: the firmware builds SMS-SUBMITs and reads
SMS-DELIVERs and SMS-STATUS-REPORTs; the simulated modem and carrier read the
SUBMITs and build the other two with the same code.

submit_pdus(number, text, ref, status_report=False, validity=0xA7)
    -> [(hex_pdu, tpdu_length), ...] one per part, for "AT+CMGS=<tpdu_length>"
    then hex_pdu. hex_pdu starts with "00" (use the SIM's SMSC); tpdu_length
    leaves that octet out. number: "+8613800138000" (international, TOA 0x91)
    or "10086" (TOA 0x81), digits only. TP-MR is 0 (the modem assigns it);
    validity is a relative TP-VP (0xA7: 24 hours).
decode_deliver(hex_pdu, length=None) -> {"from", "scts", "tz", "text", "concat"}
decode_submit(hex_pdu, length=None) -> {"ref", "to", "text", "concat", "status_report"}
decode_status_report(hex_pdu, length=None)
    -> {"ref", "to", "status", "delivered", "final", "scts", "discharge"}
deliver_pdu(sender, text, scts_epoch, tz_quarters=32, concat=None, smsc=CARRIER_SMSC) -> hex
status_report_pdu(ref, to, status, scts_epoch, discharge_epoch, tz_quarters=32, smsc=...) -> hex
split_text(text) -> [part, ...]: how submit_pdus cuts a long text.
tpdu_length(hex_pdu) -> int: the <length> of +CMGR/+CMT/+CDS for a PDU with SMSC info.

Decoders take the PDU as AT+CMGR, +CMT and +CDS show it: SMSC information first
(length octet, then the address). Given the <length> the modem printed with it
(length=), they check it, and also accept a PDU without the SMSC part (some
modems send +CDS that way). Numbers come back with "+" when international
(TON 1); alphanumeric senders (TON 5) as text. Times are UTC seconds since 1970
("scts", "discharge"), from the local time stamp and its zone; "tz" is that
zone in signed quarter hours. Two-digit years 70-99 are 19YY, 00-69 20YY.
"concat" is (ref, total, seq) from IE 0x00 (8-bit ref) or 0x08 (16-bit), or None.
"delivered": TP-ST 0x00-0x1F (transaction completed: received, forwarded or
replaced); "final": the SC has stopped trying (anything but 0x20-0x3F).
Anything malformed or truncated raises SMSError (a ValueError).

Text goes as GSM 7-bit (default alphabet plus the extension table, ESC 0x1B +
code, for \\f ^ { } \\ [ ] ~ | and the euro sign) when every character has a code,
else as UCS2 (UTF-16BE; characters outside the BMP take a surrogate pair).
One part holds 160 septets or 70 UCS2 units; longer texts go as concatenated
parts of 153 septets or 67 units, never cutting an escape pair or a surrogate
pair. Not supported: national language shift tables, compressed text (refused).

Texts are read and written as code points taken from their UTF-8
(`_code_points`, `_put_utf8`), never a character at a time: on MicroPython each
one-character string (iterating a str, indexing it, chr()) is interned as a
qstr for good, so every new character a carrier's message brings would grow the
heap for ever, and the interned-string pool grows by doubling, which needs one
large free block: on a full heap that is a MemoryError in the middle of a send.
"""

import binascii

from protocol import civil_time


class SMSError(ValueError):
    """A PDU is malformed, or a number or text cannot be put in one."""


MAX_PARTS = 255  # the concatenation IE counts parts in one octet
CARRIER_SMSC = "+8613800100500"  # the SMSC the simulated carrier stamps on what it delivers
ESC = 0x1B

# The GSM 7-bit default alphabet, indexed by septet (TS 23.038 6.2.1). 0x09 is
# capital C-cedilla as in the standard (Unicode's GSM0338.TXT says small).
_GSM7 = (
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\x1b\u00c6\u00e6\u00df\u00c9"
    " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
)
# The extension table (6.2.1.1): ESC then the code. On receipt, ESC before any
# other code means that code's default character, and a lone ESC a space.
_EXT_CHARS = "\f^{}\\[~]|\u20ac"
_EXT_CODES = b"\x0a\x14\x28\x29\x2f\x3c\x3d\x3e\x40\x65"
_DIGITS = "0123456789*#abcF"  # semi-octet values; F pads an odd number of digits

# ------------------------------------------------------------- septet packing
# Septets are laid end to end, least significant bit first (TS 23.038 6.1.2.1.1):
# septet i fills bits 7i..7i+6 of the user data read as one bit string whose
# bit k is bit k % 8 of octet k // 8. "hellohello" -> E8 32 9B FD 46 97 D9 EC 37:
# 'h' 0x68 fills bits 0-6 of octet 0 and the low bit of 'e' 0x65 its bit 7
# (0xE8); the other 6 bits of 'e' start octet 1 (0x32), and so on.
# After a user data header of H octets the text starts on the next septet
# boundary: fill = (7 - 8H % 7) % 7 zero bits (1 for the 6-octet concatenation
# header), and TP-UDL counts header and fill too: (8H + fill) / 7 + text septets.


def _pack7(septets, fill):
    out = bytearray()
    acc = 0
    bits = fill
    for s in septets:
        acc |= s << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc)
    return out


def _unpack7(data, count, fill):
    out = bytearray()
    for i in range(count):
        bit = fill + 7 * i
        k = bit >> 3
        pair = data[k] | (data[k + 1] << 8 if k + 1 < len(data) else 0)
        out.append((pair >> (bit & 7)) & 0x7F)
    return out


# ------------------------------------------------------------------ alphabets


def _code_points(text):
    """The code points of `text`, read from its UTF-8 (see the module docstring)."""
    data = text.encode()
    i = 0
    while i < len(data):
        b = data[i]
        size = 1 if b < 0x80 else 2 if b < 0xE0 else 3 if b < 0xF0 else 4
        c = b & (0x7F >> size if size > 1 else 0x7F)
        for k in range(i + 1, i + size):
            c = c << 6 | data[k] & 0x3F
        yield c
        i += size


def _utf8_size(c):
    return 1 if c < 0x80 else 2 if c < 0x800 else 3 if c < 0x10000 else 4


def _put_utf8(out, c):
    """Append code point `c` to bytearray `out` as UTF-8."""
    size = _utf8_size(c)
    if size == 1:
        out.append(c)
        return
    shift = 6 * (size - 1)
    out.append((0xF00 >> size) & 0xFF | c >> shift)
    while shift:
        shift -= 6
        out.append(0x80 | c >> shift & 0x3F)


def _index(table, c):
    try:
        return table.index(c)
    except ValueError:
        return -1


_GSM7_CODES = tuple(_code_points(_GSM7))  # code point of each septet
_EXT_POINTS = tuple(_code_points(_EXT_CHARS))


def _gsm7_septets(text):
    """The septets of text, escape pairs included, or None if a character has no code."""
    out = bytearray()
    for c in _code_points(text):
        i = _index(_GSM7_CODES, c)
        if i >= 0 and i != ESC:
            out.append(i)
            continue
        i = _index(_EXT_POINTS, c)
        if i < 0:
            return None
        out.append(ESC)
        out.append(_EXT_CODES[i])
    return out


# Decoders collect UTF-8 in a bytearray: a list of 160 one-character strings
# would take kilobytes of a 64 KB heap.


def _gsm7_text(septets):
    out = bytearray()
    i = 0
    while i < len(septets):
        s = septets[i]
        i += 1
        if s != ESC:
            _put_utf8(out, _GSM7_CODES[s])
        elif i == len(septets) or septets[i] == ESC:
            out += b" "
            i += 1
        else:
            k = _EXT_CODES.find(bytes((septets[i],)))
            _put_utf8(out, _EXT_POINTS[k] if k >= 0 else _GSM7_CODES[septets[i]])
            i += 1
    return str(out, "utf-8")


def _ucs2(text):
    out = bytearray()
    for c in _code_points(text):
        if c > 0xFFFF:
            c -= 0x10000
            out += bytes((0xD8 | c >> 18, c >> 10 & 0xFF, 0xDC | c >> 8 & 3, c & 0xFF))
        else:
            out += bytes((c >> 8, c & 0xFF))
    return out


def _ucs2_text(data):
    if len(data) & 1:
        raise SMSError("UCS2 text has an odd number of octets")
    out = bytearray()
    i = 0
    while i < len(data):
        u = data[i] << 8 | data[i + 1]
        i += 2
        if 0xD800 <= u < 0xDC00 and i < len(data) and 0xDC <= data[i] < 0xE0:
            u = 0x10000 + ((u - 0xD800) << 10) + ((data[i] << 8 | data[i + 1]) - 0xDC00)
            i += 2
        elif 0xD800 <= u < 0xE000:
            u = 0xFFFD  # a lone surrogate (a carrier cut a pair in two): replacement character
        _put_utf8(out, u)
    return str(out, "utf-8")


def _cost(c, gsm):
    # Septets or UTF-16 units: an escape pair or a surrogate pair costs 2.
    return 2 if (_index(_EXT_POINTS, c) >= 0 if gsm else c > 0xFFFF) else 1


def split_text(text):
    """The parts submit_pdus sends text in: one if it fits, else parts of 153 septets / 67 units."""
    gsm = _gsm7_septets(text) is not None
    if sum(_cost(c, gsm) for c in _code_points(text)) <= (160 if gsm else 70):
        return [text]
    limit = 153 if gsm else 67  # room left by the 6-octet concatenation header
    data = text.encode()
    parts, start, used, at = [], 0, 0, 0
    for c in _code_points(text):  # cut before the character that would not fit
        cost = _cost(c, gsm)
        if used + cost > limit:
            parts.append(str(data[start:at], "utf-8"))
            start, used = at, 0
        used += cost
        at += _utf8_size(c)
    parts.append(str(data[start:], "utf-8"))
    return parts


def _user_data(text, header, gsm):
    """(TP-DCS, TP-UDL, TP-UD) for text after header (UDHL included, or b"")."""
    if gsm:
        fill = (7 - len(header) * 8 % 7) % 7
        septets = _gsm7_septets(text)
        return 0x00, (len(header) * 8 + fill) // 7 + len(septets), header + _pack7(septets, fill)
    units = _ucs2(text)
    return 0x08, len(header) + len(units), header + units


# ----------------------------------------------------- addresses and times


def _semi_octets(digits):
    if len(digits) & 1:
        digits += "F"
    out = bytearray()
    for i in range(0, len(digits), 2):
        out.append(_DIGITS.find(digits[i + 1]) << 4 | _DIGITS.find(digits[i]))
    return out


def _is_number(s):
    digits = s[1:] if s.startswith("+") else s
    return 0 < len(digits) <= 20 and all("0" <= c <= "9" for c in digits)


def _address(number, alpha_ok=False):
    """Address length, type of address and value, as in TP-DA/OA/RA."""
    if isinstance(number, str) and _is_number(number):
        digits = number.lstrip("+")
        return bytes((len(digits), 0x91 if number[0] == "+" else 0x81)) + _semi_octets(digits)
    septets = _gsm7_septets(number) if alpha_ok and isinstance(number, str) else None
    if not septets or len(septets) > 11:
        raise SMSError("invalid number %r: expected digits, optionally after +" % (number,))
    return bytes(((len(septets) * 7 + 3) // 4, 0xD0)) + _pack7(septets, 0)  # alphanumeric


def _smsc_info(smsc):
    if not smsc:
        return b"\x00"
    address = _address(smsc)[1:]  # SMSC info counts octets, not digits
    return bytes((len(address),)) + address


def _time_stamp(epoch, tz):
    # TP-SCTS/TP-DT: local YY MM DD hh mm ss as swapped semi-octets, then the zone
    # in quarter hours, also swapped, with its sign in bit 3.
    if not -79 <= tz <= 79:
        raise SMSError("time zone %r is not -79..79 quarter hours" % (tz,))
    days, secs = divmod(int(epoch) + tz * 900, 86400)
    y, m, d = civil_time.civil_from_days(days)
    if not 1970 <= y <= 2069:
        raise SMSError("time stamp year %d is not 1970..2069" % y)
    out = _semi_octets("%02d%02d%02d" % (y % 100, m, d))
    out += _semi_octets("%02d%02d%02d" % (secs // 3600, secs // 60 % 60, secs % 60))
    q = -tz if tz < 0 else tz
    out.append((q % 10) << 4 | q // 10 | (8 if tz < 0 else 0))
    return out


# ------------------------------------------------------------------ decoding


class _Reader:
    def __init__(self, hex_pdu, length):
        try:
            self.data = binascii.unhexlify(hex_pdu.strip())
        except (AttributeError, TypeError, ValueError):
            raise SMSError("PDU is not a string of hex digit pairs: %r" % (hex_pdu,))
        self.pos = 0
        if length is None or len(self.data) != length:  # else: no SMSC information
            self.take(self.byte("SMSC information"), "SMSC information")
            size = len(self.data) - self.pos
            if length is not None and size != length:
                raise SMSError("TPDU is %d octets, not the %d announced" % (size, length))

    def take(self, n, what):
        if self.pos + n > len(self.data):
            raise SMSError("PDU truncated in %s" % what)
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def byte(self, what):
        return self.take(1, what)[0]

    def first_octet(self, mti, name):
        first = self.byte("first octet")
        if first & 3 != mti:
            raise SMSError("not an %s: message type indicator %d" % (name, first & 3))
        return first

    def address(self, what):
        n = self.byte(what)
        toa = self.byte(what)
        raw = self.take((n + 1) // 2, what)
        if toa & 0x70 == 0x50:  # alphanumeric: n counts the semi-octets used
            return _gsm7_text(_unpack7(raw, n * 4 // 7, 0))
        digits = "".join(_DIGITS[b & 15] + _DIGITS[b >> 4] for b in raw)[:n]
        if "F" in digits:
            raise SMSError("filler digit inside the %s" % what)
        return "+" + digits if toa & 0x70 == 0x10 else digits

    def time(self, what):
        raw = self.take(7, what)
        f = [(b & 15) * 10 + (b >> 4) for b in raw]
        if any(b & 15 > 9 or b >> 4 > 9 for b in raw[:6]) or raw[6] >> 4 > 9:
            raise SMSError("%s has a digit that is not decimal" % what)
        date = (f[0] + (1900 if f[0] >= 70 else 2000), f[1], f[2])
        days = civil_time.days_from_civil(*date)
        if civil_time.civil_from_days(days) != date or f[3] > 23 or f[4] > 59 or f[5] > 59:  # 30 February comes back as March
            raise SMSError("%s is not a valid date and time" % what)
        tz = (raw[6] & 7) * 10 + (raw[6] >> 4)
        tz = -tz if raw[6] & 8 else tz
        return days * 86400 + f[3] * 3600 + f[4] * 60 + f[5] - tz * 900, tz

    def user_data(self, first, dcs):
        """(text, concat) from TP-UDL and TP-UD, which must end the PDU."""
        if dcs < 0x80 and dcs & 0x20:
            raise SMSError("compressed text (TP-DCS 0x%02X) is not supported" % dcs)
        if dcs < 0x80:  # general data coding: alphabet in bits 3-2, reserved 11 = GSM 7-bit
            alphabet = (dcs >> 2 & 3) % 3
        else:  # 0xE_: MWI group in UCS2; 0xF_: bit 2 = 8-bit; all else GSM 7-bit
            alphabet = 2 if dcs >> 4 == 0xE else 1 if dcs >> 4 == 0xF and dcs & 4 else 0
        udl = self.byte("TP-UDL")
        size = (udl * 7 + 7) // 8 if alphabet == 0 else udl
        if size > 140:
            raise SMSError("TP-UDL %d is more than 140 octets of user data" % udl)
        ud = self.take(size, "user data")
        if self.pos != len(self.data):
            raise SMSError("%d octets after the user data" % (len(self.data) - self.pos))
        header, concat = 0, None
        if first & 0x40:  # TP-UDHI: a user data header comes first
            header = ud[0] + 1 if ud else 1
            if header > len(ud):
                raise SMSError("user data header longer than the user data")
            concat = _concat(ud[1:header])
        if alphabet == 1:  # 8-bit data, shown as latin-1
            return str(b"".join(chr(b).encode() for b in ud[header:]), "utf-8"), concat
        if alphabet == 2:
            return _ucs2_text(ud[header:]), concat
        skip = (header * 8 + 6) // 7
        if skip > udl:
            raise SMSError("user data header longer than the user data")
        return _gsm7_text(_unpack7(ud[header:], udl - skip, skip * 7 - header * 8)), concat


def _concat(udh):
    # Information elements: IEI, length, data. Unknown ones are skipped; a
    # concatenation IE with seq 0 or seq > total is ignored, as 23.040 says.
    i, concat = 0, None
    while i < len(udh):
        if i + 2 > len(udh) or i + 2 + udh[i + 1] > len(udh):
            raise SMSError("user data header element runs past the header")
        iei, body = udh[i], udh[i + 2 : i + 2 + udh[i + 1]]
        i += 2 + len(body)
        if iei == 0x00 and len(body) == 3:
            ref, total, seq = body[0], body[1], body[2]
        elif iei == 0x08 and len(body) == 4:
            ref, total, seq = body[0] << 8 | body[1], body[2], body[3]
        else:
            continue
        concat = (ref, total, seq) if 0 < seq <= total else None
    return concat


def tpdu_length(hex_pdu):
    r = _Reader(hex_pdu, None)
    return len(r.data) - r.pos


def decode_deliver(hex_pdu, length=None):
    r = _Reader(hex_pdu, length)
    first = r.first_octet(0, "SMS-DELIVER")
    sender = r.address("originating address")
    dcs = r.take(2, "TP-PID and TP-DCS")[1]
    scts, tz = r.time("TP-SCTS")
    text, concat = r.user_data(first, dcs)
    return {"from": sender, "scts": scts, "tz": tz, "text": text, "concat": concat}


def decode_submit(hex_pdu, length=None):
    r = _Reader(hex_pdu, length)
    first = r.first_octet(1, "SMS-SUBMIT")
    ref = r.byte("TP-MR")
    to = r.address("destination address")
    dcs = r.take(2, "TP-PID and TP-DCS")[1]
    r.take((0, 7, 1, 7)[first >> 3 & 3], "TP-VP")  # TP-VPF: none, enhanced, relative, absolute
    text, concat = r.user_data(first, dcs)
    return {"ref": ref, "to": to, "text": text, "concat": concat, "status_report": bool(first & 0x20)}


def decode_status_report(hex_pdu, length=None):
    r = _Reader(hex_pdu, length)
    r.first_octet(2, "SMS-STATUS-REPORT")
    ref = r.byte("TP-MR")
    to = r.address("recipient address")
    scts = r.time("TP-SCTS")[0]
    discharge = r.time("TP-DT")[0]
    st = r.byte("TP-ST")  # optional TP-PI, PID, DCS and user data may follow: not needed
    return {
        "ref": ref,
        "to": to,
        "status": st,
        "delivered": st < 0x20,
        "final": not 0x20 <= st < 0x40,
        "scts": scts,
        "discharge": discharge,
    }


# ------------------------------------------------------------------ encoding


def _hex(smsc_info, tpdu):
    return binascii.hexlify(smsc_info + tpdu).decode().upper()


def submit_pdus(number, text, ref, status_report=False, validity=0xA7):
    da = _address(number)
    gsm = _gsm7_septets(text) is not None
    parts = split_text(text)
    if len(parts) > MAX_PARTS:
        raise SMSError("text needs %d parts; at most %d can be concatenated" % (len(parts), MAX_PARTS))
    # First octet: SMS-SUBMIT (01), TP-VPF relative (10 in bits 4-3), TP-SRR bit 5, TP-UDHI bit 6.
    first = 0x11 | (0x20 if status_report else 0) | (0x40 if len(parts) > 1 else 0)
    out = []
    for seq, part in enumerate(parts, 1):
        header = bytes((5, 0x00, 3, ref & 0xFF, len(parts), seq)) if len(parts) > 1 else b""
        dcs, udl, ud = _user_data(part, header, gsm)
        tpdu = bytes((first, 0)) + da + bytes((0, dcs, validity, udl)) + ud
        out.append((_hex(b"\x00", tpdu), len(tpdu)))
    return out


def deliver_pdu(sender, text, scts_epoch, tz_quarters=32, concat=None, smsc=CARRIER_SMSC):
    """One SMS-DELIVER; concat=(ref, total, seq) makes it a part (ref > 255: 16-bit IE)."""
    header = b""
    if concat:
        ref, total, seq = concat
        if not 0 < seq <= total <= 255 or not 0 <= ref <= 0xFFFF:
            raise SMSError("invalid concat %r" % (concat,))
        ie = bytes((0x00, 3, ref)) if ref <= 0xFF else bytes((0x08, 4, ref >> 8, ref & 0xFF))
        header = bytes((len(ie) + 2,)) + ie + bytes((total, seq))
    dcs, udl, ud = _user_data(text, header, _gsm7_septets(text) is not None)
    if len(ud) > 140:
        raise SMSError("text does not fit one SMS: split it with split_text")
    tpdu = bytes((0x44 if header else 0x04,)) + _address(sender, True) + bytes((0, dcs))  # 0x04: TP-MMS
    return _hex(_smsc_info(smsc), tpdu + _time_stamp(scts_epoch, tz_quarters) + bytes((udl,)) + ud)


def status_report_pdu(ref, to, status, scts_epoch, discharge_epoch, tz_quarters=32, smsc=CARRIER_SMSC):
    tpdu = bytes((0x06, ref & 0xFF)) + _address(to)  # 0x06: SMS-STATUS-REPORT, TP-MMS
    tpdu += _time_stamp(scts_epoch, tz_quarters) + _time_stamp(discharge_epoch, tz_quarters)
    return _hex(_smsc_info(smsc), tpdu + bytes((status,)))
