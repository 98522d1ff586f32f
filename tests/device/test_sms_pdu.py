"""protocol.sms_pdu on both VMs: published PDUs, round trips, splitting, refusals.

Runs under pytest on CPython and, via mpunit, on the MicroPython unix port in a 64 KB heap.
"""

# Published vectors (third-party pages, checked by hand against TS 23.040):
# - SUBMIT "hellohello" to +46708251358, TP-VP 0xAA, and the DELIVER below: dreamfabric.com
#   "SMS messages and the PDU format" (mirrored at turbocontrol.com). The DELIVER's sender
#   has type of address 0xC8 (TON 4, subscriber number), so it decodes without "+".
# - STATUS-REPORT for +20121875612, status 0: amro.blogspot.com 2007/09 (shown without SMSC
#   information: "00" is prepended here).
# - "Hello world" after the 6-octet concatenation header, 1 fill bit, UDL 18:
#   en.wikipedia.org "Concatenated SMS".
# - National number 13421839693 -> 0B813124819396F3, "hello" in UCS2: Neoway N11 AT manual.
# The malformed PDUs are a text table, not code: the file has to compile in a 64 KB heap
# next to protocol/sms_pdu.py.

import sys

from protocol import sms_pdu
from protocol.sms_pdu import (
    SMSError,
    _pack7,
    _unpack7,
    decode_deliver,
    decode_status_report,
    decode_submit,
    deliver_pdu,
    split_text,
    status_report_pdu,
    submit_pdus,
    tpdu_length,
)

DELIVER = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
REPORT = "0006000B910221815716F2709021510121807090215101718000"
T0 = 1700000000  # 2023-11-14 22:13:20 UTC

# SMSC | first octet | address | PID DCS | SCTS | UDL | UD   (spaces are for reading)
MALFORMED = """
00 07 0BC8 7238880900F1 0000 99309251619580 0A E8329BFD4697D9EC37 | message type 3
08 917283010010F5 04 0BC8 7238880900F1 0000 99309251619580 0A E8329BFD4697D9EC37 | SMSC length
00 04 0BC8 F238880900F1 0000 99309251619580 0A E8329BFD4697D9EC37 | filler inside the number
00 04 0BC8 7238880900F1 0000 99309251619580 0B E8329BFD4697D9EC37 | UDL one septet too many
00 04 0BC8 7238880900F1 0000 99309251619580 FF E8329BFD4697D9EC37 | UDL over 140 octets
00 04 0BC8 7238880900F1 0000 99309251619580 0A E8329BFD4697D9EC3700 | an octet after the UD
00 04 0BC8 7238880900F1 0008 99309251619580 03 004100 | odd UCS2
00 04 0BC8 7238880900F1 0020 99309251619580 0A E8329BFD4697D9EC37 | compressed
00 04 0BC8 7238880900F1 0000 99 30 92 51 0A 95 80 0A E8329BFD4697D9EC37 | minute digit A
00 04 0BC8 7238880900F1 0000 99 30 92 51 61 95 A0 0A E8329BFD4697D9EC37 | zone digit A
00 04 0BC8 7238880900F1 0000 99 31 22 51 61 95 80 0A E8329BFD4697D9EC37 | month 13
00 04 0BC8 7238880900F1 0000 99 20 03 51 61 95 80 0A E8329BFD4697D9EC37 | 30 February
00 04 0BC8 7238880900F1 0000 99 30 92 42 61 95 80 0A E8329BFD4697D9EC37 | hour 24
00 44 0BC8 7238880900F1 0000 99309251619580 0A 10329BFD4697D9EC37 | UDHL past the UD
00 44 0BC8 7238880900F1 0000 99309251619580 0A 08329BFD4697D9EC37 | UDH past UDL septets
00 44 0BC8 7238880900F1 0000 99309251619580 00 | UDHI without user data
00 44 0BC8 7238880900F1 0008 99309251619580 08 05 000507 0201 0041 | IE past the UDH
"""


def raises(fn, *args):
    try:
        fn(*args)
    except SMSError:
        return True
    return False


def expect_error(pdu, *args):
    for fn in (decode_deliver, decode_status_report, decode_submit):
        assert raises(fn, pdu, *args), (fn, pdu)


def septets(text):
    return bytes(ord(c) for c in text)  # ASCII letters have the same codes in GSM 7-bit


def texts(pdus):
    return [decode_submit(pdu, n)["text"] for pdu, n in pdus]


def test_septet_packing_published():
    assert bytes(_pack7(septets("hellohello"), 0)) == bytes.fromhex("E8329BFD4697D9EC37")
    assert bytes(_pack7(septets("Hello"), 0)) == bytes.fromhex("C8329BFD06")
    assert bytes(_pack7(septets("Hello world"), 1)) == bytes.fromhex("906536FB0DBABFE56C32")
    for fill in range(7):
        for n in (0, 1, 7, 8, 9, 160):
            data = bytes(i * 37 % 128 for i in range(n))
            packed = _pack7(data, fill)
            assert len(packed) == (fill + 7 * n + 7) // 8
            assert bytes(_unpack7(packed, n, fill)) == data


def test_submit_published():
    pdus = submit_pdus("+46708251358", "hellohello", 0, validity=0xAA)
    assert pdus == [("0011000B916407281553F80000AA0AE8329BFD4697D9EC37", 23)], pdus
    pdu, n = submit_pdus("13421839693", "你好", 7)[0]
    assert pdu == "0011000B813124819396F30008A7044F60597D", pdu
    assert n == 18 == tpdu_length(pdu)
    msg = decode_submit("0001000B813124819396F300080A00680065006C006C006F")
    assert msg == {"ref": 0, "to": "13421839693", "text": "hello", "concat": None, "status_report": False}


def test_submit_first_octet():
    assert submit_pdus("10086", "x", 1)[0][0][2:4] == "11"  # SUBMIT, relative TP-VP
    assert submit_pdus("10086", "x", 1, True)[0][0][2:4] == "31"  # + TP-SRR
    pdus = submit_pdus("10086", "x" * 161, 1, True)
    assert [pdu[2:4] for pdu, _ in pdus] == ["71", "71"]  # + TP-UDHI
    assert decode_submit(pdus[0][0])["status_report"] is True


def test_deliver_published():
    msg = decode_deliver(DELIVER)
    assert msg == {"from": "27838890001", "scts": 922713419, "tz": 8, "text": "hellohello", "concat": None}, msg
    assert decode_deliver(DELIVER, 28) == msg == decode_deliver(DELIVER[16:], 28)  # without SMSC
    assert tpdu_length(DELIVER) == 28


def test_status_report_published():
    rep = decode_status_report(REPORT)
    want = {"ref": 0, "to": "+20121875612", "status": 0, "delivered": True, "final": True}
    want["scts"], want["discharge"] = 1189602612, 1189602617  # 07-09-12 15:10:12 and :17, +2h
    assert rep == want, rep
    assert decode_status_report(REPORT, 25) == want == decode_status_report(REPORT[2:], 25)


def test_status_report_round_trip():
    for st, delivered, final in ((0, 1, 1), (2, 1, 1), (0x21, 0, 0), (0x3F, 0, 0), (0x41, 0, 1), (0x60, 0, 1)):
        rep = decode_status_report(status_report_pdu(300 + st, "+8613800138000", st, T0, T0 + 95))
        assert rep["ref"] == (300 + st) & 0xFF and rep["to"] == "+8613800138000"
        assert (rep["status"], rep["delivered"], rep["final"]) == (st, bool(delivered), bool(final))
        assert (rep["scts"], rep["discharge"]) == (T0, T0 + 95)


def test_fill_bits_after_header_published():
    pdu = deliver_pdu("+1", "Hello world", T0, concat=(0xCC, 2, 1))
    assert pdu.endswith("12050003CC0201906536FB0DBABFE56C32"), pdu
    assert decode_deliver(pdu)["concat"] == (0xCC, 2, 1)


def round_trip(sender, text, when=T0, tz=32, concat=None):
    msg = decode_deliver(deliver_pdu(sender, text, when, tz, concat))
    assert msg == {"from": sender, "scts": when, "tz": tz, "text": text, "concat": concat}, (msg, text)


def test_deliver_round_trips():
    every_gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà"
    round_trip("+8613800138000", every_gsm7)
    assert len(split_text(every_gsm7 * 2)) == 1  # so it went as GSM 7-bit, not UCS2
    round_trip("10086", "^{}\\[~]|€\f and text")
    round_trip("10086", "尊敬的客户，您本月套餐内剩余流量为10MB")
    round_trip("+8613800138000", "流量😀用完了🎉")  # surrogate pairs
    round_trip("CMCC", "balance 12.50", tz=-14)  # alphanumeric sender, zone -3:30
    round_trip("10655", "", T0, 0)
    round_trip("10086", "x" * 153, concat=(255, 3, 3))
    round_trip("10086", "中" * 66, concat=(0x1234, 2, 1))  # 16-bit reference
    for when in (0, 951782400, 951868799, 1735689599, 3155759999):  # 1970 .. 2069, 2000-02-29
        round_trip("1", "t", when, 0)
        round_trip("1", "t", when + 43200, -48)
    round_trip("1", "t", T0, 79)
    round_trip("1", "t", T0, -79)


def test_deliver_refusals():
    assert not raises(deliver_pdu, "1", "a" * 160, T0) and raises(deliver_pdu, "1", "a" * 161, T0)
    assert not raises(deliver_pdu, "1", "中" * 67, T0, 32, (1, 2, 1))
    assert raises(deliver_pdu, "1", "中" * 68, T0, 32, (1, 2, 1))
    assert raises(deliver_pdu, "1", "x", T0, 32, (1, 2, 3))
    assert raises(deliver_pdu, "1", "x", T0, 80)
    assert raises(deliver_pdu, "ABCDEFGHIJKL", "x", T0)  # alphanumeric addresses hold 11


def test_split_boundaries():
    assert len(split_text("a" * 160)) == 1 and len(split_text("a" * 161)) == 2
    assert len(split_text("€" * 80)) == 1 and len(split_text("€" * 80 + "a")) == 2
    assert len(split_text("中" * 70)) == 1 and len(split_text("中" * 71)) == 2
    assert [len(p) for p in split_text("a" * 400)] == [153, 153, 94]
    assert [len(p) for p in split_text("中" * 71)] == [67, 4]
    assert len(split_text("😀" * 35)) == 1 and split_text("😀" * 36) == ["😀" * 33, "😀" * 3]


def test_multipart_gsm7():
    text = "a" * 152 + "€" + "b" * 10  # the escape pair would straddle septets 153 and 154
    pdus = submit_pdus("+8613800138000", text, 0x1FF)
    assert texts(pdus) == ["a" * 152, "€" + "b" * 10]
    assert [decode_submit(pdu)["concat"] for pdu, _ in pdus] == [(0xFF, 2, 1), (0xFF, 2, 2)]
    pdus = submit_pdus("10086", "z" * 161, 9)
    assert pdus[0][0][22:38] == "A0050003090201F4", pdus[0]  # UDL 160, header, fill bit
    assert [n for _, n in pdus] == [151, 25]


def test_multipart_ucs2():
    text = ("尊敬的客户您本月套餐内剩余流量" * 27)[:400]
    pdus = submit_pdus("+8613800138000", text, 42)
    assert [decode_submit(pdu)["concat"] for pdu, _ in pdus] == [(42, 6, seq) for seq in range(1, 7)]
    assert "".join(texts(pdus)) == text and max(len(t) for t in texts(pdus)) == 67
    assert max(n for _, n in pdus) == 15 + 140
    pdus = submit_pdus("10086", "中" * 66 + "😀" + "中" * 3, 1)
    assert texts(pdus) == ["中" * 66, "😀中中中"]  # the surrogate pair is not cut


def test_too_many_parts():
    sms_pdu.MAX_PARTS = 3  # the real 255 needs a 17 KB text: too much for a 64 KB heap
    try:
        assert len(submit_pdus("10086", "a" * 459, 1)) == 3
        assert raises(submit_pdus, "10086", "a" * 460, 1)
    finally:
        sms_pdu.MAX_PARTS = 255
    if sys.implementation.name != "micropython":
        assert len(submit_pdus("10086", "中" + "a" * (67 * 255 - 1), 1)) == 255
        assert raises(submit_pdus, "10086", "中" + "a" * (67 * 255), 1)


def test_bad_numbers():
    for number in ("", "+", "12a", "+86 138", "++86", "1" * 21, None, 10086):
        assert raises(submit_pdus, number, "x", 1), number
    assert not raises(submit_pdus, "1" * 20, "x", 1)


def test_data_coding_schemes():
    head, scts = "00040BC87238880900F100", "99309251619580"
    assert decode_deliver(head + "F4" + scts + "03E9FF41")["text"] == "\xe9\xffA"  # 8-bit, class 0
    assert decode_deliver(head + "18" + scts + "044F60597D")["text"] == "你好"  # UCS2, class 0
    assert decode_deliver(head + "E0" + scts + "024F60")["text"] == "你"  # MWI group, UCS2
    assert decode_deliver(head + "C0" + scts + DELIVER[-20:])["text"] == "hellohello"
    assert decode_deliver(head + "08" + scts + "04D83D0041")["text"] == "\ufffdA"  # lone surrogate
    esc = bytes(_pack7(bytes((0x1B, 0x41, 0x42, 0x1B)), 0)).hex()
    assert decode_deliver(head + "00" + scts + "04" + esc)["text"] == "AB "  # ESC + unknown, lone ESC
    west = decode_deliver(head + "00" + "993092516195" + "4A" + DELIVER[-20:])  # -24 quarters
    assert (west["tz"], west["scts"]) == (-24, 922713419 + 32 * 900)


def test_malformed_table():
    for line in MALFORMED.strip().split("\n"):
        pdu, why = line.split(" | ")
        assert raises(decode_deliver, pdu.replace(" ", "")), why


def test_malformed_hex_and_lengths():
    for pdu in ("", "0", "0G", DELIVER + "1", "  ", None, 5, "尊敬"):
        expect_error(pdu)
    assert raises(decode_deliver, DELIVER, 27) and raises(decode_deliver, DELIVER, 29)
    assert raises(decode_deliver, DELIVER[16:], 27) and raises(decode_status_report, REPORT, 24)


def test_truncated_anywhere():
    multi = deliver_pdu("CMCC", "尊敬的客户", T0, concat=(0x1234, 2, 1))
    for pdu in (DELIVER, multi, REPORT):
        for end in range(0, len(pdu) - 1, 2):
            expect_error(pdu[:end])


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
