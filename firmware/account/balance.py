"""The account: a prepaid balance asked for on a schedule and reminded of before it
runs low or expires; a postpaid bill reminded of before the line is suspended.

The device asks 10086 for the balance (SMS "CXYE") FIRST_QUERY_MS after it is
installed, then every QUERY_MS, and again after a top-up notice without the new balance; the replies, top-up notices and the carrier's own warnings
come in through the inbox (`on_message`). From what it knows it sends the
carrier's own reminders (seed facts §2), each once:

- low balance: when the balance falls to `low_fen` or below; armed again when
  a top-up lifts it above;
- expiry: the carrier promises a reminder at least 24 hours before the balance
  expires (seed facts §2). 10086 gives a date ("有效期至3月8日"), not a time, so
  the earliest moment it can mean is taken: 00:00 of that day in the plan's time
  zone. The reminder must reach the phone PROMISE_MS (24 h) before that, and the
  SMS centre needs time to reach a phone that is off or out of coverage: it is
  queued REMIND_BEFORE_MS (PROMISE_MS + DELIVERY_MARGIN_MS: 48 h) before that
  moment, or at once if the date is learnt later than that; a top-up that moves
  the expiry arms it again;
- postpaid (a line that has had a bill: no balance reminders for it): "请您在本月
  ×日前交清费用" (pay before the day) means the line may be suspended from 00:00
  of the due day: the reminder is queued REMIND_BEFORE_MS before that; once per
  bill, not once paid.
The rule is in docs/reminders.md.

Money is integer fen. State lives in one small file (firmware/storage/state_files.py).
"""

from firmware.storage import state_files
from protocol import civil_time
from protocol import records
from protocol import settings
from protocol.money import yuan

QUERY_MS = 6 * 3600 * 1000
FIRST_QUERY_MS = 10 * 60 * 1000  # after installation: the line settles first
PROMISE_MS = 24 * 3600 * 1000  # the reminder reaches the phone at least this long before
# The validity period our SMS ask for (protocol/sms_pdu.py, TP-VP 0xA7: 24 h): the
# SMS centre keeps trying a phone that is off or out of coverage that long, so a
# reminder queued this much earlier still reaches a phone that comes back within
# it in time; a phone on gets it in seconds, and the outbox's first four retries
# of a refused send (30 s + 2 min + 10 min + 1 h) fit too.
DELIVERY_MARGIN_MS = 24 * 3600 * 1000
REMIND_BEFORE_MS = PROMISE_MS + DELIVERY_MARGIN_MS
SERVICE_NUMBER = "10086"
LOW_TEXT = "尊敬的客户,您的账户余额不足%s元,为不影响您的正常通信,请您尽快充值交费。谢谢。中国移动"
DUE_TEXT = "尊敬的客户:您%d月通信消费%s元,尚有%s元未缴。为不影响您的正常通信,请您在本月%d日前交清费用。谢谢。中国移动"
EXPIRY_TEXT = "尊敬的客户,您的账户余额将于%d月%d日到有效期,为不影响您的正常通信,请您尽快充值交费。谢谢。中国移动"


def _day_start_ms(date, tz_minutes):
    """Epoch ms of local midnight starting "YYYY-MM-DD"."""
    year, month, day = (int(x) for x in date.split("-"))
    return (civil_time.days_from_civil(year, month, day) * 86400 - tz_minutes * 60) * 1000


class Balance:
    def __init__(self, outbox, path, line, record=None):
        """`line()`: (the numbers reminders go to, the plan's UTC offset in minutes);
        `record(rtype, fields)` logs each balance the carrier tells (None: not logged)."""
        self.outbox = outbox
        self._record = record
        self.path = path
        self._line = line
        saved = state_files.get(path) or {}
        self.fen = saved.get("fen")  # last known balance, or None
        self.expires = saved.get("expires")  # "YYYY-MM-DD" or None
        self.low_fen = saved.get("low_fen", 1000)
        self.low_sent = saved.get("low_sent", False)
        self.expiry_sent = saved.get("expiry_sent")  # the expiry date reminded of
        self.asked_ms = saved.get("asked_ms")
        self.asks = saved.get("asks", 0)
        self.bill = saved.get("bill")  # {"month", "fen", "unpaid", "due", "sent"} of the last postpaid bill

    def _save(self):
        state_files.put(self.path, {
            "fen": self.fen, "expires": self.expires, "low_fen": self.low_fen, "low_sent": self.low_sent,
            "expiry_sent": self.expiry_sent, "asked_ms": self.asked_ms, "asks": self.asks, "bill": self.bill,
        })

    def read(self):
        return {"fen": self.fen, "expires": self.expires, "low_fen": self.low_fen,
                "low_sent": self.low_sent, "expiry_sent": self.expiry_sent, "bill": self.bill}

    def set_low(self, fen):
        """Remind at `fen` or below; ValueError (protocol/settings.py "low_fen") changes nothing."""
        self.low_fen = settings.check("low_fen", fen)
        self.low_sent = self.fen is not None and self.fen <= fen and self.low_sent
        self._save()

    def step(self, now_ms):
        """Ask when due; remind when due. Called from the SMS loop."""
        if self.asked_ms is None or self.asked_ms > now_ms:  # new, or the clock was set back
            self.asked_ms = now_ms - QUERY_MS + FIRST_QUERY_MS
        if now_ms - self.asked_ms >= QUERY_MS:
            self._ask(now_ms)
        self._remind(now_ms)

    def _ask(self, now_ms):
        self.asks += 1
        self.asked_ms = now_ms
        self.outbox.add(["cxye", self.asks], "balance_query", SERVICE_NUMBER, "CXYE")
        self._save()

    def on_message(self, sender, text, kind, fields):
        if kind == "bill" and fields.get("due") and fields.get("unpaid") is not None:
            if not self.bill or self.bill["due"] != fields["due"]:
                self.bill = {"month": fields.get("month") or 0, "fen": fields.get("fen") or 0,
                             "unpaid": fields["unpaid"], "due": fields["due"], "sent": False}
                self._save()
        elif kind == "payment" and self.bill and fields.get("unpaid") is not None:
            self.bill["unpaid"] = fields["unpaid"]
            self._save()
        if kind in ("balance", "topup"):
            fen = fields.get("balance") if kind == "topup" else fields.get("fen")
            if fen is not None:
                if fen > self.low_fen:
                    self.low_sent = False  # above the threshold again: armed
                    self.outbox.withdraw("balance_low")  # one still queued is no longer true
                self.fen = fen
            expires = fields.get("expires")
            if expires and expires != self.expires:
                self.expires = expires
            if kind == "topup" and fen is None:
                self.asked_ms = -QUERY_MS  # ask for the new balance at the next step
            self._save()
            if fen is not None and self._record is not None:
                self._log(fen, records.BALANCE_FROM_TOPUP if kind == "topup" else records.BALANCE_FROM_QUERY)

    def _log(self, fen, source):
        fields = {records.BALANCE__BALANCE_FEN: fen, records.BALANCE__SOURCE: source}
        if self.expires:
            fields[records.BALANCE__EXPIRES] = self.expires
        self._record(records.BALANCE, fields)

    def _send(self, key, kind, recipients, text, now_ms):
        for number in recipients:
            self.outbox.add(key + [number], kind, number, text)

    def _remind(self, now_ms):
        recipients, tz_minutes = self._line()
        if not recipients:
            return
        if self.fen is not None and self.fen <= self.low_fen and not self.low_sent and not self.bill:
            self._send(["low", self.asks, self.fen], "balance_low", recipients, LOW_TEXT % yuan(self.low_fen, short=True), now_ms)
            self.low_sent = True
            self._save()
        bill = self.bill
        if bill and not bill["sent"] and bill["unpaid"] > 0:
            if 0 < _day_start_ms(bill["due"], tz_minutes) - now_ms <= REMIND_BEFORE_MS:
                day = int(bill["due"][8:])
                text = DUE_TEXT % (bill["month"], yuan(bill["fen"], short=True), yuan(bill["unpaid"], short=True), day)
                self._send(["due", bill["due"]], "bill_due", recipients, text, now_ms)
                bill["sent"] = True
                self._save()
        if self.expires and self.expiry_sent != self.expires and not self.bill:
            month, day = int(self.expires[5:7]), int(self.expires[8:10])
            # The earliest the date can mean: its 00:00 in the plan's time zone.
            if 0 < _day_start_ms(self.expires, tz_minutes) - now_ms <= REMIND_BEFORE_MS:
                self._send(["expiry", self.expires], "balance_expiry", recipients, EXPIRY_TEXT % (month, day), now_ms)
                self.expiry_sent = self.expires
                self._save()
