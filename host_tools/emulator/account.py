"""The subscriber's account at the carrier: prepaid balance or postpaid bill, and 10086.

Money is integer fen. Prepaid: the balance falls by the scenario's daily fee at
every local midnight (not below zero), rises at each top-up, whose notice 10086
sends at once; a top-up also moves the expiry to at least TOPUP_VALIDITY_DAYS
after it. An SMS "CXYE" (查询余额) to 10086 gets the balance and expiry back.
Postpaid: 10086 sends the bill (month, total, unpaid, due date) at `bill_at`,
and a notice for each payment. All in the carrier's wording, which the
device's reader (firmware/sms/carrier_texts.py) knows.
"""

from datetime import datetime, timedelta

from protocol.money import yuan

SERVICE_NUMBER = "10086"
TOPUP_VALIDITY_DAYS = 90
DAY_MS = 86400 * 1000


class Account:
    def __init__(self, spec, tz, now_ms, send):
        """`spec`: scenario.Account; `send(text, at_ms)`: 10086 sends the SIM an SMS."""
        self.tz = tz
        self.send = send
        self.postpaid = spec.kind == "postpaid"
        self.balance = spec.balance_fen
        self.expires_ms = spec.expires_ms
        self.daily_fee = spec.daily_fee_fen
        self._topups = sorted(spec.topups)
        self._next_fee_ms = self._midnight_after(now_ms)
        self.bill = spec.bill  # (month, fen, due_ms, bill_at_ms) or None
        self.unpaid = spec.bill[1] if spec.bill else 0
        self._bill_sent = False

    def _local(self, ms):
        return datetime.fromtimestamp(ms / 1000, self.tz)

    def _midnight_after(self, ms):
        local = self._local(ms)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        return int(midnight.timestamp() * 1000)

    def _date(self, ms):
        local = self._local(ms)
        return "%d年%d月%d日" % (local.year, local.month, local.day)

    def next_event(self, after_ms):
        times = [self._next_fee_ms] if self.daily_fee else []
        if self.bill and not self._bill_sent:
            times.append(max(self.bill[3], after_ms + 1))
        times += [at for at, _fen in self._topups if at > after_ms]
        return min(times, default=None)

    def advance(self, now_ms):
        """Apply fees and top-ups due by `now_ms`; True if the balance changed."""
        changed = False
        while self.daily_fee and self._next_fee_ms <= now_ms:
            self.balance = max(0, self.balance - self.daily_fee)
            self._next_fee_ms += DAY_MS
            changed = True
        if self.bill and not self._bill_sent and self.bill[3] <= now_ms:
            self._bill_sent = True
            at = self.bill[3]
            self.send(self._bill_text(), at)
            changed = True
        while self._topups and self._topups[0][0] <= now_ms:
            at, fen = self._topups.pop(0)
            if self.postpaid:
                self.unpaid = max(0, self.unpaid - fen)
                self.send("您已成功缴费%s元，尚有%s元未缴。中国移动" % (yuan(fen), yuan(self.unpaid)), at)
                changed = True
                continue
            self.balance += fen
            self.expires_ms = max(self.expires_ms, at + TOPUP_VALIDITY_DAYS * DAY_MS)
            self.send("您已成功充值%s元，当前余额%s元，有效期至%s。中国移动" % (yuan(fen), yuan(self.balance), self._date(self.expires_ms)), at)
            changed = True
        return changed

    def service_request(self, text, now_ms):
        """An SMS from the SIM to 10086."""
        if text.strip().upper() == "CXYE" and self.postpaid:
            if self._bill_sent:
                self.send(self._bill_text(), now_ms)
        elif text.strip().upper() == "CXYE":
            self.send("尊敬的客户，您的账户余额为%s元，有效期至%s。中国移动" % (yuan(self.balance), self._date(self.expires_ms)), now_ms)

    def _bill_text(self):
        month, fen, due_ms, _at = self.bill
        return "尊敬的客户，您%d月通信消费%s元，尚有%s元未缴，缴费截止日期为%s。中国移动" % (month, yuan(fen), yuan(self.unpaid), self._date(due_ms))

    def snapshot(self):
        if self.postpaid:
            return {"type": "postpaid", "unpaid_fen": self.unpaid}
        return {"type": "prepaid", "balance_fen": self.balance, "expires": self._local(self.expires_ms).isoformat(timespec="seconds")}
