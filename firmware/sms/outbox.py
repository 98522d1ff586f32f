"""SMS that must reach the subscriber: queued on flash, sent, retried, tracked to delivery.

`add(key, kind, to, text)` queues a message (a reminder), due at once; `pump(now_ms)`
sends what is due; `report(status)` takes a status report (+CDS) from the SMS
centre. Times are the board's monotonic clock (Clock.monotonic_ms): a clock
correction never holds a retry back or lets them all go at once. It restarts at
each boot, so a message queued before the boot is due again at once.
Each message goes through:

    queued --sent (all parts accepted)--> sent --report 0x00 for every part--> delivered
       ^  \\--+CMS ERROR: retry after BACKOFF_MS[tries-1]     |
       |                                                      | a part's report is final
       +------------------------------------------------------+ but not delivered: again

Each wait of BACKOFF_MS is used once: the try after the last one that fails
gives the message up (recorded as failed, final). A refusal that no retry can mend is final at once, and the queue moves
on: a number the SMS codec cannot encode, or a +CMS ERROR that is about the
message or its number (PERMANENT_CMS: unassigned, barred or unknown numbers, a
malformed PDU; 3GPP TS 24.011 E.2 and TS 27.005 3.2.5), not about the network or
the modem. Any other fault in sending one message counts as a failed try, so no
message can block the others. A message is recorded as delivered only on a report that says so: a
temporary report (0x20-0x3F: the phone is off, out of coverage, memory full)
only waits, and no report at all leaves it "sent", never "delivered".

Records: REMINDER_SENT at each accepted try (the parts' message references),
REMINDER_FAILED at each failed try (error, tries, "final" when given up),
REMINDER_DELIVERED when the last part is confirmed. The queue is one small
file replaced atomically; `key` (e.g. the cycle and the threshold) makes `add`
idempotent, also for a message finished recently, so a power cut between
queueing and the caller noting it never sends a reminder twice. `on_finish(message,
outcome, why)`, if set, hears how each message ended: "delivered", or "failed"
with the reason (given up, refused for good, withdrawn).
"""

from firmware.modem.driver import ModemError
from firmware.sms import send
from firmware.storage import state_files
from protocol import records, sms_pdu

BACKOFF_MS = (30000, 120000, 600000, 3600000, 6 * 3600000)
QUEUED = "queued"
SENT = "sent"
RECENT = 8  # keys of finished messages remembered against a repeated add
TEXT_KEPT = 160  # characters of the text in a REMINDER_SENT record (a record is at most 1 KB)
DELIVERED = "delivered"
FAILED = "failed"
# +CMS ERROR codes that refuse the message itself: sending it again cannot help.
PERMANENT_CMS = {
    1: "unassigned number", 8: "operator determined barring", 10: "call barred",
    21: "short message transfer rejected", 28: "unidentified subscriber", 29: "facility rejected",
    30: "unknown subscriber", 50: "requested facility not subscribed", 96: "invalid mandatory information",
    195: "invalid SME address", 196: "destination SME barred", 304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
}  # fmt: skip


class Outbox:
    def __init__(self, modem, record, path):
        self.modem = modem
        self.record = record
        self.path = path
        saved = state_files.get(path) or {}
        self.messages = saved.get("messages", [])
        for message in self.messages:
            message["due"] = 0  # monotonic times of the last boot mean nothing now
        self.recent = saved.get("recent", [])
        self.next_ref = saved.get("ref", 0)
        self.on_finish = None
        self.failures = 0  # tries that failed, since boot (each a REMINDER_FAILED record)
        self.given_up = 0  # messages given up, since boot

    def _save(self):
        state_files.put(self.path, {"messages": self.messages, "recent": self.recent, "ref": self.next_ref})

    def add(self, key, kind, to, text):
        if key in self.recent or self.find(key) is not None:
            return False
        self.next_ref = (self.next_ref + 1) % 256
        self.messages.append(
            {"key": key, "kind": kind, "to": to, "text": text, "ref": self.next_ref, "state": QUEUED,
             "tries": 0, "due": 0, "mrs": [], "done": [], "why": None}
        )
        self._save()
        return True

    def find(self, key):
        """The unfinished message with `key` (its "state" queued or sent, "why" the last
        failed try's reason), or None."""
        for message in self.messages:
            if message["key"] == key:
                return message
        return None

    def withdraw(self, kind):
        """Drop the queued (not yet accepted) messages of `kind`: they are no longer
        true (a top-up came before the low-balance reminder could go). Returns how many."""
        gone = [m for m in self.messages if m["kind"] == kind and m["state"] == QUEUED]
        for message in gone:
            self._give_up(message, "withdrawn: no longer true")
        return len(gone)

    def withdraw_key(self, key, why):
        """Drop the unfinished message with `key` (queued, or sent but not delivered):
        it went to a wrong number. Returns whether there was one."""
        message = self.find(key)
        if message is not None:
            self._give_up(message, "withdrawn: " + why)
        return message is not None

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
                mrs = await send.send(self.modem, message["to"], message["text"], message["ref"])
            except sms_pdu.SMSError as error:  # a number or text the codec refuses: for good
                self._give_up(message, "cannot encode: %s" % error)
                continue
            except ModemError as error:
                if error.code in PERMANENT_CMS and error.text.startswith("+CMS ERROR"):
                    self._give_up(message, "%s (%s)" % (error.text, PERMANENT_CMS[error.code]))
                else:
                    self._failed(message, error.text, now_ms)
                continue
            except Exception as error:  # a fault with this one message must not block the rest
                self._failed(message, repr(error), now_ms)
                continue
            message.update(state=SENT, mrs=mrs, done=[])
            self._save()
            text = message["text"]  # a record keeps its first TEXT_KEPT characters
            self.record(records.REMINDER_SENT, {records.REMINDER_SENT__KIND: message["kind"], records.REMINDER_SENT__TO: message["to"],
                                                records.REMINDER_SENT__MESSAGE_REF: mrs, records.REMINDER_SENT__TEXT: text[:TEXT_KEPT]})

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
                    self.record(records.REMINDER_DELIVERED, {records.REMINDER_DELIVERED__KIND: message["kind"],
                                                                     records.REMINDER_DELIVERED__MESSAGE_REF: message["mrs"],
                                                                     records.REMINDER_DELIVERED__STATUS: status["status"]})
                    self._finish(message, DELIVERED, None)
                else:
                    self._save()
            elif status["final"]:
                self._failed(message, "status report 0x%02x" % status["status"], now_ms, status["ref"])
            return True
        return False  # not ours, or a report for a message given up already

    def _failed(self, message, error, now_ms, mr=None):
        """A try failed: again after the backoff, or given up after the last one."""
        if message["tries"] > len(BACKOFF_MS):
            return self._give_up(message, error, mr)
        self._record_failure(message, error, mr, final=False)
        message.update(state=QUEUED, due=now_ms + BACKOFF_MS[message["tries"] - 1], mrs=[], done=[], why=error)
        self._save()

    def _give_up(self, message, why, mr=None):
        self._record_failure(message, why, mr, final=True)
        self._finish(message, FAILED, why)

    def _record_failure(self, message, error, mr, final):
        fields = {records.REMINDER_FAILED__KIND: message["kind"], records.REMINDER_FAILED__ERROR: error,
                  records.REMINDER_FAILED__ATTEMPTS: message["tries"]}
        if mr is not None:
            fields[records.REMINDER_FAILED__MESSAGE_REF] = mr
        if final:
            fields[records.REMINDER_FAILED__FINAL] = True
            self.given_up += 1
        else:
            self.failures += 1
        self.record(records.REMINDER_FAILED, fields)

    def _finish(self, message, outcome, why):
        self.messages.remove(message)
        self.recent = (self.recent + [message["key"]])[-RECENT:]
        self._save()
        if self.on_finish is not None:
            self.on_finish(message, outcome, why)
