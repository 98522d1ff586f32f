"""The SIMCom dialect of the modem driver (SIM7600, SIM7500, A76xx): what differs from Quectel.

What SIMCom lacks: a data counter. Neither the A76XX Series AT Command Manual
V1.09 (chapter 5 "Packet Domain", chapter 15 "TCP/IP") nor the SIM7500/SIM7600
manual's packet domain commands (CGREG, CEREG, CGATT, CGACT, CGDCONT, ...,
CGPADDR, CGAUTH, CPING) have a command like Quectel's `AT+QGDCNT`, which counts
every byte of the PDP context since the modem powered up. The only byte counts
SIMCom documents are per socket of the modem's own TCP/IP stack:

    AT+CIPOPEN?      -> +CIPOPEN: <link>[,"TCP"|"UDP",<ip>,<port>,<index>]  (links 0-9)
    AT+CIPACK=<link> -> +CIPACK: <sent>,<acked>,<received>   (TCP links only; an
                        unopened link answers "+IPERROR: <why>" and ERROR)

`data_counters()` here is built on those, the closest honest equivalent: the
bytes sent and received on the modem's TCP sockets. Its limits, which the meter
cannot see:

- it counts TCP payload only: no IP/TCP headers, no UDP, no DNS, and nothing
  that passes through the modem's USB or a PPP session (a router or PC using
  the modem as its link is invisible to it). On a SIMCom board the meter is
  right only for traffic the board itself carries over the modem's TCP stack;
- a socket's counts vanish when it closes: the bytes it moved between the
  last poll and its close are lost;
- a socket that closes and reopens on the same link to the same server
  between two polls looks unchanged: its first bytes, up to the old count,
  are missed;
- after a reset of the MCU alone, sockets still open are counted from the
  first reading on (what they moved before is not counted again, nor what
  they moved between the last checkpoint and that reading).

The driver keeps the sockets' counts added up (sockets come and go, the sum
only grows) since the modem's power-on, which is what the meter expects: they
start again from 0 when the modem restarts, like Quectel's counter.

The other differences: the unsolicited result codes of the TCP/IP stack
(`+CIPEVENT:`, `+IPCLOSE:`, `+CLIENT:`, chapter 15.4) are known as URCs here, so
that none is mistaken for part of a raw answer (an SMS body); and init() probes
longer, as a SIM7600 answers AT only about 15 s after its power key is pressed
(LilyGo's T-SIM7600 examples wait that long), where an EC2x boots in about 13 s.
"""

from firmware.modem.driver import Modem, ModemError, ModemTimeout, _fields

_LINKS = "+CIPOPEN:"
_ACK = "+CIPACK:"
_IP_ERROR = "+IPERROR:"  # the reason line before ERROR from the TCP/IP commands


def _refused(error):
    """Whether the modem answered with an error (not a timeout, nor a restart mid-command)."""
    return not isinstance(error, ModemTimeout) and (error.text == "ERROR" or error.code is not None)


class SimcomModem(Modem):
    URC_PREFIXES = Modem.URC_PREFIXES + ("+CIPEVENT:", "+IPCLOSE:", "+CLIENT:")
    init_attempts = 10  # one AT a 2 s (1 s to answer, 1 s apart): about 20 s

    def __init__(self, stream, power, sleep_ms, recover_after=3):
        Modem.__init__(self, stream, power, sleep_ms, recover_after)
        self._totals = [0, 0]  # sent, received: every socket's bytes since the modem's power-on
        self._sockets = None  # link -> (its +CIPOPEN line, (sent, received)) at the last reading
        self._counted_life = None  # the modem's answer_life the totals belong to

    async def data_counters(self):
        """(sent, received) bytes on the modem's TCP sockets since its power-on (see above)."""
        links = await self._tcp_links()
        if self.answer_life != self._counted_life:
            restarted = self._counted_life is not None
            self._counted_life = self.answer_life
            self._totals = [0, 0]
            # After a restart every socket is new: count it whole. On the first
            # reading they may predate us (a reset of the MCU alone): baseline only.
            self._sockets = {} if restarted else None
        sockets = {}
        for link, line in links.items():
            counts = await self._socket_counts(link)
            if counts is None:
                continue  # closed since AT+CIPOPEN? answered
            sockets[link] = (line, counts)
            if self._sockets is None:
                continue
            before = self._sockets.get(link)
            if before is None or before[0] != line or counts[0] < before[1][0] or counts[1] < before[1][1]:
                before = (line, (0, 0))  # a new socket on this link
            self._totals[0] += counts[0] - before[1][0]
            self._totals[1] += counts[1] - before[1][1]
        self._sockets = sockets
        return self._totals[0], self._totals[1]

    async def _tcp_links(self):
        """{link: its +CIPOPEN line} for the open TCP sockets; none while the socket service is closed."""
        try:
            lines = await self.command("AT+CIPOPEN?")
        except ModemError as error:
            if _refused(error):
                return {}
            raise
        links = {}
        for line in lines:
            fields = line[len(_LINKS) :].split(",")
            if len(fields) >= 2 and fields[1].strip().strip('"') == "TCP" and fields[0].strip().isdigit():
                links[int(fields[0])] = line
        return links

    async def _socket_counts(self, link):
        """(sent, received) of one TCP socket (AT+CIPACK), None if it is not open."""
        command = "AT+CIPACK=%d" % link
        try:
            lines = await self.command(command, prefix=(_ACK, _IP_ERROR))
        except ModemError as error:
            if _refused(error):
                return None
            raise
        fields = _fields(lines, _ACK, 3)
        try:
            return int(fields[0]), int(fields[2])
        except ValueError:
            raise ModemError("unexpected answer: " + ",".join(fields), None, command)
