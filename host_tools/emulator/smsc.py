"""The carrier's SMS centre and the subscriber's phone, on simulated time.

The SMSC takes each submitted part (an SMS-SUBMIT the modem sent), stores it and
forwards it to the recipient's phone when the phone is reachable. The phone puts
the parts of a concatenated message together and shows the whole text: that is
one line of `sms.jsonl` (`{"time", "from", "to", "text", "parts"}`), written only
when the last part arrives.

A part that asked for a status report gets one per state change, as an SMSC
sends them (TP-ST, 3GPP TS 23.040 9.2.3.15):
- 0x00 delivered;
- 0x21 "SME busy": temporary, the SMSC keeps trying (the phone is off, out of
  coverage, or its memory is full);
- 0x46 "validity period expired": permanent, the SMSC gave up (the phone stayed
  unreachable for the part's validity period, 24 h unless the PDU says).

The phone is unreachable in the scenario's `phone_off` windows. Reports wait in
`reports` until the modem takes them (`take_reports`).

Messages the carrier itself sends (`from_carrier`: 10086's notices and replies)
to the line's own number also go, part by part, to the SIM in the modem
(`for_sim`): the modem stores them while it has room and announces them with
+CMTI; while it is off or full they wait here, as an SMS centre keeps them.
"""

from protocol import sms_pdu

import json

SERVICE_NUMBERS = ("10086",)  # the carrier answers what is sent here
ST_DELIVERED = 0x00
ST_BUSY = 0x21
ST_EXPIRED = 0x46
DEFAULT_VALIDITY_MS = 24 * 3600 * 1000


class Part:
    def __init__(self, sender, to, mr, text, concat, report, submitted_ms, validity_ms):
        self.sender = sender
        self.to = to
        self.mr = mr
        self.text = text
        self.concat = concat  # (ref, total, seq) or None
        self.report = report
        self.submitted_ms = submitted_ms
        self.expires_ms = submitted_ms + validity_ms
        self.busy_reported = False
        self.damaged = False


class SMSC:
    def __init__(self, sms_path, iso, unreachable=(), sim_number=None):
        self.sms_path = sms_path
        self.sim_number = sim_number
        self.for_sim = []  # parts of carrier messages for the modem's SIM, oldest first
        self.on_service = None  # on_service(sender, text, now_ms): a whole message to a service number
        self._carrier_ref = 0
        self.iso = iso  # epoch ms -> the time written in sms.jsonl
        self.unreachable = tuple(unreachable)  # (from_ms, until_ms) windows of the subscriber's phone
        self.stored = []  # parts not yet delivered
        self.reports = []  # (sender, mr, to, status, submitted_ms, at_ms) for the modem
        self.delivered = 0  # whole messages shown on phones
        self._assembling = {}  # (sender, to, ref) -> {seq: text}

    def reachable(self, number, at_ms):
        return not any(start <= at_ms < end for start, end in self.unreachable)

    def submit(self, part):
        """Store a part; it goes out at the next `advance` the phone is reachable."""
        self.stored.append(part)

    def advance(self, now_ms):
        """Deliver what can be delivered at `now_ms`, report, expire. True if anything changed."""
        changed = False
        for part in list(self.stored):
            if self.reachable(part.to, now_ms):
                self.stored.remove(part)
                self._arrive(part, now_ms)
                self._report(part, ST_DELIVERED, now_ms)
                changed = True
            elif now_ms >= part.expires_ms:
                self.stored.remove(part)
                self._report(part, ST_EXPIRED, now_ms)
                changed = True
            elif not part.busy_reported:
                part.busy_reported = True
                self._report(part, ST_BUSY, now_ms)
                changed = True
        return changed

    def from_carrier(self, sender, to, text, now_ms, damaged=False):
        """The carrier sends `text` (cut into concatenated parts if long); `damaged`
        parts reach the SIM with their end cut off."""
        pieces = sms_pdu.split_text(text)
        self._carrier_ref = (self._carrier_ref + 1) % 256
        for seq, piece in enumerate(pieces, 1):
            concat = (self._carrier_ref, len(pieces), seq) if len(pieces) > 1 else None
            part = Part(sender, to, 0, piece, concat, False, now_ms, DEFAULT_VALIDITY_MS)
            part.damaged = damaged
            if to == self.sim_number:
                self.for_sim.append(part)
            self.submit(part)

    def take_reports(self, sender):
        """Status reports for `sender`'s messages, oldest first; they leave the queue."""
        mine = [r for r in self.reports if r[0] == sender]
        self.reports = [r for r in self.reports if r[0] != sender]
        return mine

    def _report(self, part, status, at_ms):
        if part.report:
            self.reports.append((part.sender, part.mr, part.to, status, part.submitted_ms, at_ms))

    def _arrive(self, part, now_ms):
        if part.concat is None:
            return self._show(part.sender, part.to, part.text, 1, now_ms)
        ref, total, seq = part.concat
        key = (part.sender, part.to, ref)
        pieces = self._assembling.setdefault(key, {})
        pieces[seq] = part.text
        if len(pieces) == total:
            del self._assembling[key]
            self._show(part.sender, part.to, "".join(pieces[i] for i in sorted(pieces)), total, now_ms)

    def _show(self, sender, to, text, parts, now_ms):
        if self.on_service is not None and to in SERVICE_NUMBERS:
            self.on_service(sender, text, now_ms)
        record = {"time": self.iso(now_ms), "from": sender, "to": to, "text": text, "parts": parts}
        with open(self.sms_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.delivered += 1
