"""The monthly services: the value-added services the line pays for, from 10086's own words.

Each service (by name) keeps: price (fen a month), ordered (an order request or
confirmation seen), confirmed, charge_notice (业务扣费提醒 seen before the first
deduction), cancelled, and its number in the last "0000" list. Together they are the
evidence reconciliation (issue 6) needs: was the order confirmed (二次确认)? was it
cancelled before the charge? was the charge announced?

"0000" through the device (seed facts §5): `query()` sends "0000" to 10086; the
reply (kind "services") replaces the list; `cancel(numbers)` replies with the
item numbers, and each 退订成功 marks a service cancelled. Times are UTC seconds.
"""

from firmware.storage import state_files

SERVICE_NUMBER = "10086"
MAX_SERVICES = 24  # the state file stays small


class Services:
    def __init__(self, outbox, path):
        self.outbox = outbox
        self.path = path
        saved = state_files.get(path) or {}
        self.services = saved.get("services", {})  # name -> fields
        self.listed = saved.get("listed")  # {"time", "items"} of the last 0000 reply
        self.requests = saved.get("requests", 0)

    def _save(self):
        state_files.put(self.path, {"services": self.services, "listed": self.listed, "requests": self.requests})

    def read(self):
        return {"services": self.services, "listed": self.listed, "requests": self.requests}

    def _service(self, name):
        if name not in self.services and len(self.services) >= MAX_SERVICES:
            oldest = min(self.services, key=lambda n: self.services[n].get("cancelled") or 1 << 40)
            del self.services[oldest]  # a cancelled one goes first
        return self.services.setdefault(name, {"price": None, "ordered": None, "confirmed": None,
                                               "charge_notice": None, "cancelled": None, "number": None})

    def on_message(self, kind, fields, sent_s):
        """A classified message from 10086 (sent_s: its time stamp)."""
        name = fields.get("service")
        if kind == "services":
            self.listed = {"time": sent_s, "items": fields["items"]}
            for number, service, price in fields["items"]:
                entry = self._service(service)
                entry["number"], entry["price"] = number, price if price is not None else entry["price"]
        elif kind in ("order_request", "order_confirmed", "charge_notice", "cancelled") and name:
            entry = self._service(name)
            if fields.get("price") is not None:
                entry["price"] = fields["price"]
            field = {"order_request": "ordered", "order_confirmed": "confirmed"}.get(kind, kind)
            entry[field] = sent_s
            if kind == "order_confirmed" and entry["ordered"] is None:
                entry["ordered"] = sent_s
        else:
            return False
        self._save()
        return True

    def query(self):
        self.requests += 1
        self.outbox.add(["0000", self.requests], "services_query", SERVICE_NUMBER, "0000")
        self._save()
        return self.requests

    def cancel(self, numbers):
        if not numbers or not all(isinstance(n, int) and 0 < n < 100 for n in numbers):
            raise ValueError("cancel needs the item numbers of the 0000 list")
        self.requests += 1
        text = " ".join(str(n) for n in numbers)
        self.outbox.add(["cancel", self.requests], "services_cancel", SERVICE_NUMBER, text)
        self._save()
        return self.requests
