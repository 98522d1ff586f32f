"""SMS the line receives: read from the SIM, put together, classified, recorded, deleted.

The modem stores each incoming part on the SIM and says so with `+CMTI: "SM",<i>`
(`take_urcs`); `sweep()` lists the whole storage (AT+CMGL=4), for what arrived
while the device was off. `pump()` reads each part (AT+CMGR), decodes it
(protocol/sms_pdu.py), and deletes it (AT+CMGD) once it is recorded or parked, so
the storage never fills up.

Parts of a concatenated message wait in a small file until all have come (or
PART_WAIT_MS has passed: then what there is counts as the message). A whole
message is classified (carrier_texts.py) and recorded as SMS_RECEIVED, its text in
chunks of CHUNK characters when long: nothing is dropped. Each recorded part's
key (sender, time stamp, CRC of its text, reference, number) is remembered for a while, so a
power cut between recording and deleting does not record it twice.
"""

import binascii

from firmware.sms import carrier_texts
from firmware.storage import state_files
from protocol import records, sms_pdu

PART_WAIT_MS = 24 * 3600 * 1000
CHUNK = 150  # characters of text in one record (3 bytes each in UTF-8: well under 1 KB)
RECENT = 32


class Inbox:
    def __init__(self, modem, record, path, on_message=None):
        self.modem = modem
        self.record = record
        self.path = path
        self.on_message = on_message  # called with (sender, text, kind, fields, sent_s) for each whole message
        saved = state_files.get(path) or {}
        self.partial = saved.get("partial", {})  # "sender ref total" -> {"seq": text, "t": first_ms}
        self.recent = saved.get("recent", [])
        self.waiting = []  # SIM indexes announced, not yet read

    def _save(self):
        state_files.put(self.path, {"partial": self.partial, "recent": self.recent})

    def take_urcs(self, lines):
        for line in lines:
            if line.startswith("+CMTI:"):
                index = line.rsplit(",", 1)[-1].strip()
                if index.isdigit() and int(index) not in self.waiting:
                    self.waiting.append(int(index))

    async def sweep(self, now_ms):
        """Read everything stored on the SIM (after a boot, or now and then)."""
        lines = await self.modem.command("AT+CMGL=4", expect_raw=True)
        for i, line in enumerate(lines):
            if line.startswith("+CMGL:") and i + 1 < len(lines):
                index = int(line[6:].split(",")[0])
                await self._take(index, lines[i + 1], now_ms)
        self._expire(now_ms)

    async def pump(self, now_ms):
        while self.waiting:
            index = self.waiting[0]
            lines = await self.modem.command("AT+CMGR=%d" % index, expect_raw=True)
            pdu = lines[1] if len(lines) >= 2 and lines[0].startswith("+CMGR:") else None
            await self._take(index, pdu, now_ms)
            self.waiting.pop(0)
        self._expire(now_ms)

    async def _take(self, index, pdu, now_ms):
        if pdu is not None:
            try:
                message = sms_pdu.decode_deliver(pdu)
            except sms_pdu.SMSError as error:
                self.record(records.SMS_RECEIVED, {records.SMS_RECEIVED__FROM: "", records.SMS_RECEIVED__TEXT: pdu[: CHUNK * 2],
                                                    records.SMS_RECEIVED__KIND: "undecodable",
                                                    records.SMS_RECEIVED__FIELDS: {"error": str(error)}})
            else:
                self._part(message, now_ms)
        await self.modem.command("AT+CMGD=%d" % index)

    def _part(self, message, now_ms):
        concat = message["concat"]
        # Two messages may share a sender and a second: the text tells them apart.
        key = [message["from"], message["scts"], binascii.crc32(message["text"].encode())] + (list(concat) if concat else [0, 1, 1])
        if key in self.recent:
            return  # recorded before a power cut came between recording and deleting
        self.recent = (self.recent + [key])[-RECENT:]
        if not concat:
            self._save()
            return self._whole(message["from"], message["text"], message["scts"])
        ref, total, seq = concat
        slot = "%s %d %d" % (message["from"], ref, total)
        parts = self.partial.setdefault(slot, {"t": now_ms, "scts": message["scts"]})
        parts[str(seq)] = message["text"]
        if len(parts) - 2 == total:
            del self.partial[slot]
            self._save()
            self._whole(message["from"], "".join(parts[str(i)] for i in range(1, total + 1)), parts["scts"])
        else:
            self._save()

    def _expire(self, now_ms):
        for slot in list(self.partial):
            parts = self.partial[slot]
            if now_ms - parts["t"] >= PART_WAIT_MS:
                del self.partial[slot]
                self._save()
                have = sorted(int(k) for k in parts if k not in ("t", "scts"))
                self._whole(slot.split(" ")[0], "".join(parts[str(i)] for i in have), parts["scts"], incomplete=True)

    def _whole(self, sender, text, scts, incomplete=False):
        kind, fields = carrier_texts.classify(sender, text)
        if incomplete:
            kind, fields = "raw", {"incomplete": True}
        chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
        for number, chunk in enumerate(chunks, 1):
            record = {records.SMS_RECEIVED__FROM: sender, records.SMS_RECEIVED__TEXT: chunk,
                      records.SMS_RECEIVED__KIND: kind, records.SMS_RECEIVED__SENT: scts}
            if len(chunks) > 1:
                record[records.SMS_RECEIVED__CHUNK], record[records.SMS_RECEIVED__CHUNKS] = number, len(chunks)
            if number == 1 and fields:
                record[records.SMS_RECEIVED__FIELDS] = fields
            self.record(records.SMS_RECEIVED, record)
        if self.on_message is not None:
            self.on_message(sender, text, kind, fields, scts)
