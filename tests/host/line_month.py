"""A month of one line for the reconciliation tests: the device's records and the carrier's bill.

November 2026 on a 100 MB plan: the device meters 10 MB a day, so the quota is
used up on the 10th and every later day costs 10 MB x 0.29 yuan = 2.90 yuan.
`records()` is what the ledger would hand to DeviceEvidence; `BillRows` writes
the matching bill (our CSV schema) which a test then changes to plant an error.
"""

import datetime

MB = 1024 * 1024
QUOTA = 100 * MB
DAILY = 10 * MB
FEN_PER_DAY_OUT = 290
TZ = datetime.timezone(datetime.timedelta(hours=8))
DEVICE = "em-0123456789ab"


def _utc(local):
    return local.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def records(daily=None, services=(), off=(), cuts=()):
    """Device records from Oct 30 to Dec 2 (local time). daily: {day: bytes} overrides 10 MB a day;
    services: (local time, kind, service, price) 10086 messages; off: (from, to) local power-off spans;
    cuts: local times of modem resets."""
    out = []

    def add(rtype, local, **fields):
        out.append({"type": rtype, "seq": len(out) + 1, "time": _utc(local), "fields": fields})

    add("boot", datetime.datetime(2026, 10, 30, 9, tzinfo=TZ), reason=0)
    add("config_changed", datetime.datetime(2026, 10, 30, 9, 1, tzinfo=TZ), key="plan", old=None,
        new={"quota": QUOTA, "cycle_day": 1, "tz": 480, "at_zero": "warn", "addons": [], "packs": []})
    events = []
    for n in range(1, 31):
        day = datetime.date(2026, 11, n).isoformat()
        used = (daily or {}).get(day, DAILY)
        if used:
            events.append((datetime.datetime(2026, 11, n, 12, tzinfo=TZ), "usage", {"up_bytes": used // 4, "down_bytes": used - used // 4, "source": 0, "total_bytes": 0}))
    for when, kind, service, price in services:
        events.append((when, "sms_received", {"from": "10086", "text": "", "kind": kind, "fields": {"service": service, "price": price}}))
    for start, end in off:
        events.append((start - datetime.timedelta(seconds=1), "usage", {"up_bytes": 0, "down_bytes": 0, "source": 0, "total_bytes": 0}))
        events.append((end, "boot", {"reason": 3}))
    for when in cuts:
        events.append((when, "modem_reset", {"reason": 0}))
    for when, rtype, fields in sorted(events, key=lambda e: e[0]):
        add(rtype, when, **fields)
    add("cycle_rollover", datetime.datetime(2026, 12, 1, 0, 0, 1, tzinfo=TZ), cycle_start=0, used_bytes=0, quota_bytes=QUOTA)
    add("usage", datetime.datetime(2026, 12, 2, 12, tzinfo=TZ), up_bytes=0, down_bytes=0, source=0, total_bytes=0)
    return out


HEADER = "type,start,location,network,duration_s,volume_kb,number,item,provider,discount_yuan,charge_yuan"


def yuan(fen):
    return "%s%d.%02d" % ("-" if fen < 0 else "", abs(fen) // 100, abs(fen) % 100)


class BillRows:
    """November's rows, one data row a day charged at the agreed tariff; edit `rows`, then write()."""

    def __init__(self):
        self.rows = []
        used = 0
        for n in range(1, 31):
            out = max(0, used + DAILY - max(QUOTA, used))
            used += DAILY
            self.data("2026-11-%02d 12:00:00" % n, DAILY // 1024, out * 29 // MB)

    def data(self, start, kb, charge_fen, network="4G", location="广州"):
        self.rows.append(["data", start, location, network, "", str(kb), "", "", "", "0.00", yuan(charge_fen)])

    def add(self, kind, start, charge_fen, item="", provider="", number="", seconds=""):
        self.rows.append([kind, start, "广州", "", str(seconds), "", number, item, provider, "0.00", yuan(charge_fen)])

    def write(self, path):
        path.write_text(HEADER + "\n" + "\n".join(",".join(r) for r in self.rows) + "\n", encoding="utf-8")
        return str(path)


def frames(recs):
    """The records as the device frames them, for Ledger.add."""
    from protocol import record_names, records as r

    by_name = {name: (number, {field: key for key, field in keys.items()}) for number, (name, keys) in record_names.TYPES.items()}
    out = []
    for rec in recs:
        number, keys = by_name[rec["type"]]
        seconds = int(datetime.datetime.strptime(rec["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp())
        out.append(r.frame(r.body(number, rec["seq"], seconds, {keys[k]: v for k, v in rec["fields"].items()})))
    return out
