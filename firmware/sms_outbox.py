"""SMS that must reach the subscriber: queued on flash, sent, retried, tracked to delivery.

`add(key, kind, to, text)` queues a message (a reminder); `pump(now_ms)` sends
what is due; `report(status)` takes a status report (+CDS) from the SMS centre.
Each message goes through:

    queued --sent (all parts accepted)--> sent --report 0x00 for every part--> delivered
       ^  \\--+CMS ERROR: retry after BACKOFF_MS[tries-1]     |
       |                                                      | a part's report is final
       +------------------------------------------------------+ but not delivered: again

After len(BACKOFF_MS) failed tries the message is given up (recorded as failed,
final). A message is recorded as delivered only on a report that says so: a
temporary report (0x20-0x3F: the phone is off, out of coverage, memory full)
only waits, and no report at all leaves it "sent", never "delivered".

Records: REMINDER_SENT at each accepted try (the parts' message references),
REMINDER_FAILED at each failed try (error, tries, "final" when given up),
REMINDER_DELIVERED when the last part is confirmed. The queue is one small
file replaced atomically; `key` (e.g. the cycle and the threshold) makes `add`
idempotent, also for a message finished recently, so a power cut between
queueing and the caller noting it never sends a reminder twice.
"""

from firmware import sms_out, store_io
from firmware.modem import ModemError
from protocol import records, sms_pdu

BACKOFF_MS = (30000, 120000, 600000, 3600000, 6 * 3600000)
QUEUED = "queued"
SENT = "sent"
RECENT = 8  # keys of finished messages remembered against a repeated add
TEXT_KEPT = 160  # characters of the text in a REMINDER_SENT record (a record is at most 1 KB)


class Outbox:
    def __init__(self, modem, record, path):
        self.modem = modem
        self.record = record
        self.path = path
        saved = store_io.get(path) or {}
        self.messages = saved.get("messages", [])
        self.recent = saved.get("recent", [])
        self.next_ref = saved.get("ref", 0)

    def _save(self):
        store_io.put(self.path, {"messages": self.messages, "recent": self.recent, "ref": self.next_ref})

    def add(self, key, kind, to, text, now_ms):
        if key in self.recent or any(m["key"] == key for m in self.messages):
            return False
        self.next_ref = (self.next_ref + 1) % 256
        self.messages.append(
            {"key": key, "kind": kind, "to": to, "text": text, "ref": self.next_ref, "state": QUEUED,
             "tries": 0, "due": now_ms, "mrs": [], "done": []}
        )
        self._save()
        return True

    def withdraw(self, kind):
        """Drop the queued (not yet accepted) messages of `kind`: they are no longer
        true (a top-up came before the low-balance reminder could go). Returns how many."""
        gone = [m for m in self.messages if m["kind"] == kind and m["state"] == QUEUED]
        for message in gone:
            self.record(records.REMINDER_FAILED, {8: kind, 13: "withdrawn: no longer true", 14: message["tries"], 15: True})
            self._finish(message)
        return len(gone)

    def waiting(self):
        """Messages not finished yet (queued or awaiting reports)."""
        return len(self.messages)

    def next_due(self):
        due = [m["due"] for m in self.messages if m["state"] == QUEUED]
        return min(due) if due else None

    async def pump(self, now_ms):
        """Send every queued message that is due; ModemError on one does not stop the rest."""
        for message in [m for m in self.messages if m["state"] == QUEUED and m["due"] <= now_ms]:
            message["tries"] += 1
            try:
                mrs = await sms_out.send(self.modem, message["to"], message["text"], message["ref"])
            except ModemError as error:
                self._failed(message, error.text, now_ms)
                continue
            message.update(state=SENT, mrs=mrs, done=[])
            self._save()
            text = message["text"]  # a record keeps its first TEXT_KEPT characters
            self.record(records.REMINDER_SENT, {8: message["kind"], 9: message["to"], 10: mrs, 11: text[:TEXT_KEPT]})

    def take_reports(self, urc_lines, now_ms):
        """Feed every +CDS in a batch of URCs (Modem.take_urcs: "+CDS: <length>\\n<PDU>", whole)."""
        for urc in urc_lines:
            if urc.startswith("+CDS:"):
                head, _, pdu = urc.partition("\n")
                try:
                    self.report(sms_pdu.decode_status_report(pdu, int(head[5:])), now_ms)
                except (ValueError, sms_pdu.SMSError):
                    pass  # a damaged report: the message stays sent, without evidence

    def report(self, status, now_ms):
        """A decoded status report (sms_pdu.decode_status_report)."""
        for message in self.messages:
            if message["state"] != SENT or status["ref"] not in message["mrs"]:
                continue
            if status["delivered"]:
                if status["ref"] not in message["done"]:
                    message["done"].append(status["ref"])
                if len(message["done"]) == len(message["mrs"]):
                    self.record(records.REMINDER_DELIVERED, {8: message["kind"], 10: message["mrs"], 12: status["status"]})
                    self._finish(message)
                else:
                    self._save()
            elif status["final"]:
                self._failed(message, "status report 0x%02x" % status["status"], now_ms, status["ref"])
            return True
        return False  # not ours, or a report for a message given up already

    def _failed(self, message, error, now_ms, mr=None):
        final = message["tries"] >= len(BACKOFF_MS)
        fields = {8: message["kind"], 13: error, 14: message["tries"]}
        if mr is not None:
            fields[10] = mr
        if final:
            fields[15] = True
            self.record(records.REMINDER_FAILED, fields)
            return self._finish(message)
        self.record(records.REMINDER_FAILED, fields)
        message.update(state=QUEUED, due=now_ms + BACKOFF_MS[message["tries"] - 1], mrs=[], done=[])
        self._save()

    def _finish(self, message):
        self.messages.remove(message)
        self.recent = (self.recent + [message["key"]])[-RECENT:]
        self._save()
