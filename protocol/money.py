"""Money as integer fen (1 yuan = 100 fen), never float: parse and print yuan.

Shared by the device (SMS texts, the carrier's messages), the emulated carrier
and the host (CLI arguments, itemised bills), so a yuan amount is read and
written the same way everywhere. Runs on MicroPython and CPython.
"""


def _digits(text):
    # Not str.isdigit: CPython counts "１" (full width) and "²" as digits.
    return text != "" and all("0" <= c <= "9" for c in text)


def fen_of_yuan(text):
    """'12', '12.5', '12.50', '-3.00', '+1' yuan as integer fen; ValueError otherwise."""
    text = text.strip()
    sign = -1 if text[:1] == "-" else 1
    digits = text[1:] if text[:1] in "+-" and text else text
    whole, dot, cents = digits.partition(".")
    if not _digits(whole) or (dot and not (_digits(cents) and len(cents) <= 2)):
        raise ValueError("not an amount in yuan with at most two decimals: %r" % text)
    return sign * (int(whole) * 100 + int((cents + "00")[:2]))


def yuan(fen, short=False):
    """Fen as yuan with two decimals ('12.50', '-0.05'); short: '12' for whole yuan."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    if short and not cents:
        return "%s%d" % (sign, whole)
    return "%s%d.%02d" % (sign, whole, cents)
