"""The subscriber's prepaid account at the carrier: balance, expiry, top-ups, 10086.

Money is integer fen. The balance falls by the scenario's daily fee at every
local midnight (not below zero), rises at each top-up, whose notice 10086 sends
at once; a top-up also moves the expiry to at least TOPUP_VALIDITY_DAYS after it.
An SMS "CXYE" (查询余额) to 10086 gets the balance and expiry back, in the
carrier's wording, which the device's reader (firmware/carrier_sms.py) knows.
"""

from datetime import datetime, timedelta

SERVICE_NUMBER = "10086"
TOPUP_VALIDITY_DAYS = 90
DAY_MS = 86400 * 1000


def yuan(fen):
    return "%d.%02d" % (fen // 100, fen % 100)


class Account:
    def __init__(self, spec, tz, now_ms, send):
        """`spec`: scenario.Account; `send(text, at_ms)`: 10086 sends the SIM an SMS."""
        self.tz = tz
        self.send = send
        self.balance = spec.balance_fen
        self.expires_ms = spec.expires_ms
        self.daily_fee = spec.daily_fee_fen
        self._topups = sorted(spec.topups)
        self._next_fee_ms = self._midnight_after(now_ms)

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
        times += [at for at, _fen in self._topups if at > after_ms]
        return min(times, default=None)

    def advance(self, now_ms):
        """Apply fees and top-ups due by `now_ms`; True if the balance changed."""
        changed = False
        while self.daily_fee and self._next_fee_ms <= now_ms:
            self.balance = max(0, self.balance - self.daily_fee)
            self._next_fee_ms += DAY_MS
            changed = True
        while self._topups and self._topups[0][0] <= now_ms:
            at, fen = self._topups.pop(0)
            self.balance += fen
            self.expires_ms = max(self.expires_ms, at + TOPUP_VALIDITY_DAYS * DAY_MS)
            self.send("您已成功充值%s元，当前余额%s元，有效期至%s。中国移动" % (yuan(fen), yuan(self.balance), self._date(self.expires_ms)), at)
            changed = True
        return changed

    def service_request(self, text, now_ms):
        """An SMS from the SIM to 10086."""
        if text.strip().upper() == "CXYE":
            self.send("尊敬的客户，您的账户余额为%s元，有效期至%s。中国移动" % (yuan(self.balance), self._date(self.expires_ms)), now_ms)

    def snapshot(self):
        return {"balance_fen": self.balance, "expires": self._local(self.expires_ms).isoformat(timespec="seconds")}
