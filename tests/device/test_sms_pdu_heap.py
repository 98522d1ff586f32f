"""The SMS codec (protocol/sms_pdu.py) keeps no trace of the texts it handled, on both VMs.

On MicroPython a one-character string is interned for good: a codec that went a
character at a time would keep every character a carrier ever sent, and the
interned-string pool grows by doubling into one large block, which a full heap
cannot give: a MemoryError in the middle of sending a reminder.
"""

import gc

from protocol import sms_pdu
from protocol.sms_pdu import decode_submit, submit_pdus


def _cjk_text(first, count):
    """`count` distinct CJK characters from U+`first`, built from UTF-8 bytes (chr()
    would intern each one on MicroPython, the very thing the test looks for)."""
    data = bytearray()
    for c in range(first, first + count):
        data += bytes((0xE0 | c >> 12, 0x80 | c >> 6 & 0x3F, 0x80 | c & 0x3F))
    return str(data, "utf-8")


def test_texts_of_new_characters_leave_nothing_behind_in_the_heap():
    text = _cjk_text(0x5000, 400)
    pdus = submit_pdus("+8613800138000", text, 9)  # warm up: the code's own allocations
    assert "".join(decode_submit(pdu, length)["text"] for pdu, length in pdus) == text
    del pdus
    text = _cjk_text(0x6000, 400)  # 400 characters this process has not seen
    gc.collect()
    before = gc.mem_alloc() if hasattr(gc, "mem_alloc") else None
    pdus = submit_pdus("+8613800138000", text, 9)
    back = "".join(decode_submit(pdu, length)["text"] for pdu, length in pdus)
    deliver = sms_pdu.decode_deliver(sms_pdu.deliver_pdu("10086", text[:70], 1796000000))["text"]
    assert back == text and deliver == text[:70] and len(pdus) == 6
    del pdus, back, deliver
    gc.collect()
    if before is not None:  # MicroPython: 400 interned characters would be several KB
        assert gc.mem_alloc() - before < 512, gc.mem_alloc() - before


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
