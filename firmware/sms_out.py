"""Send an SMS through the modem in text mode with the UCS2 character set.

UCS2 is what carries Chinese in text mode: the number and the text are both
written as hex of their UTF-16 big-endian code units. Returns the modem's
message reference. (Multipart messages and delivery reports are issue 5.)
"""


def ucs2_hex(text):
    out = []
    for char in text:
        code = ord(char)
        if code > 0xFFFF:  # outside the BMP: a UTF-16 surrogate pair
            code -= 0x10000
            out.append("%04X%04X" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
        else:
            out.append("%04X" % code)
    return "".join(out)


async def send(modem, number, text):
    await modem.command('AT+CSCS="UCS2"')
    lines = await modem.command_with_prompt('AT+CMGS="%s"' % ucs2_hex(number), ucs2_hex(text))
    for line in lines:
        if line.startswith("+CMGS:"):
            return int(line[6:].strip())
    return None
