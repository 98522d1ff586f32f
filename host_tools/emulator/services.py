"""The line's monthly value-added services at the carrier, and 10086's "0000" flow.

An SMS "0000" to 10086 gets the list of services in force, numbered; a reply
of item numbers (e.g. "1 3") within LIST_VALID_MS cancels those, each confirmed
by its own message. The wording is the carrier's, as the device's reader
(firmware/sms/carrier_texts.py) knows it. Prices are integer fen.
"""

from protocol.money import yuan

LIST_VALID_MS = 24 * 3600 * 1000


class Services:
    def __init__(self, services, send):
        """`services`: [(name, fen a month)]; `send(text, at_ms)`: 10086 sends the SIM an SMS."""
        self.active = list(services)
        self.cancelled = []
        self.send = send
        self._listed = None  # (at_ms, [names]) of the last list sent

    def service_request(self, text, now_ms):
        """An SMS from the line to 10086; True if it was for this flow."""
        words = text.split()
        if text.strip() == "0000":
            names = [name for name, _fen in self.active]
            self._listed = (now_ms, names)
            if not names:
                self.send("您目前没有订购包月业务。回复0000查询。中国移动", now_ms)
                return True
            lines = ["%d.%s %s元/月" % (i, name, yuan(fen)) for i, (name, fen) in enumerate(self.active, 1)]
            self.send("您已订购的包月业务：\n%s\n回复序号退订，回复0000查询。中国移动" % "\n".join(lines), now_ms)
            return True
        if words and all(w.isdigit() for w in words) and self._listed and now_ms - self._listed[0] <= LIST_VALID_MS:
            names = self._listed[1]
            for word in words:
                number = int(word)
                if 1 <= number <= len(names):
                    name = names[number - 1]
                    for entry in [e for e in self.active if e[0] == name]:
                        self.active.remove(entry)
                        self.cancelled.append(name)
                        self.send("您已成功退订【%s】业务。中国移动" % name, now_ms)
            return True
        return False

    def snapshot(self):
        return {"active": [name for name, _fen in self.active], "cancelled": list(self.cancelled)}
