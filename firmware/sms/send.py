"""Send one SMS through the modem in PDU mode, part by part.

The text goes as GSM 7-bit or UCS2 and, when long, as concatenated parts sharing
the reference `ref` (protocol/sms_pdu.py); each part asks for a status report.
Returns the modem's message reference of every part, in order: the status
reports name them. A part the modem refuses raises ModemError (+CMS ERROR); the
caller decides when to try the whole message again (same `ref`, so a phone that
got some parts the first time puts the message together once).
"""

from firmware.modem.driver import ModemError
from protocol import sms_pdu


async def send(modem, number, text, ref):
    references = []
    for pdu, length in sms_pdu.submit_pdus(number, text, ref, status_report=True):
        lines = await modem.command_with_prompt("AT+CMGS=%d" % length, pdu)
        for line in lines:
            if line.startswith("+CMGS:"):
                references.append(int(line[6:].strip()))
                break
        else:
            raise ModemError("no message reference in %r" % (lines,), None, "AT+CMGS")
    return references
