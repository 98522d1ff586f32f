"""Asking the device by SMS: the subscriber texts a query word, the device answers.

Only the subscriber's own number is answered (anyone else's message is only
recorded, by the inbox). Query words are configurable (SMP CONFIG "sms_words",
kept in a small state file); by default the carrier's own: "CXLL" (查询流量,
data left) and "CXYE" (查询余额, balance). A word in any case, surrounded by
blanks, counts.
"""

from firmware.storage import state_files
from protocol import civil_time
from protocol import records, settings
from protocol.units import MB

DEFAULT_WORDS = {"CXLL": "data", "CXYE": "balance"}


def _mb(n):
    return "%d.%02d" % (n // MB, n % MB * 100 // MB)


def _date(seconds):
    _y, month, day = civil_time.civil_from_days(seconds // 86400)
    return "%d月%d日" % (month, day)


class Queries:
    def __init__(self, outbox, usage, balance, path):
        self.outbox = outbox
        self.usage = usage
        self.balance = balance
        self.path = path
        self.words = state_files.get(path) or DEFAULT_WORDS
        self.answered = 0

    def set_words(self, words):
        """Replace the query words (protocol/settings.py "sms_words": stored upper case);
        the words as they are already change nothing and write no record."""
        words = settings.check("sms_words", words)
        if words == self.words:
            return
        old, self.words = self.words, words
        state_files.put(self.path, self.words)
        self.usage.record(records.CONFIG_CHANGED, records.config_change("sms_words", old, self.words))

    def on_message(self, sender, text, kind, fields, now_ms):
        subscriber, tz_minutes = self.usage.line()
        what = self.words.get(text.strip().upper())
        if not what or not subscriber or sender != subscriber:
            return False
        self.answered += 1
        self.outbox.add(["query", now_ms, self.answered], "query_" + what, subscriber, self._reply(what, tz_minutes))
        return True

    def _reply(self, what, tz_minutes):
        if what == "balance":
            heard = self.balance.read()
            if heard["fen"] is None:
                return "尚未查到账户余额，请稍后再试。【edgemeter】"
            text = "您的账户余额为%d.%02d元" % (heard["fen"] // 100, heard["fen"] % 100)
            return text + ("，有效期至%s。【edgemeter】" % heard["expires"] if heard["expires"] else "。【edgemeter】")
        state = self.usage.read()
        if state.get("plan") is None:
            return "尚未设置套餐。【edgemeter】"
        # The cycle ends at local midnight: the last day is the one before, local time.
        last_day = _date(state["cycle_end"] + tz_minutes * 60 - 1)
        text = "您本月套餐剩余流量%sMB，已用%sMB" % (_mb(state["remaining"]), _mb(state["used"]))
        if state["overage"]:
            text += "，套餐外%sMB" % _mb(state["overage"])
        return text + "，本周期至%s。【edgemeter】" % last_day
