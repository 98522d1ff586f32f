"""What a ledger knows of each device it holds: the fleet view (`edgemeter fleet`).

    view = fleet_view(ledger, now=time.time(), stale_days=30)

Per device: records held, the first and last record's device time, the last
pull, and per epoch the records missing between seq 1 and the head (each gap
marked when the device attested it as acknowledged to another ledger, as
`ledger check` does), the records failing their MAC check (only for devices
whose key the key file holds: without a key nothing can be verified), and
whether it was not pulled for `stale_days` (or never, by this ledger).

One aggregate query gives the counts; the gaps are looked up only for the logs
that have any (head above the count), so a big, whole ledger costs one scan.
"""

from host_tools.ledger.evidence_check import verdict
from host_tools.ledger.store import iso_time

DAY = 86400


def log_gaps(ledger, device, epoch):
    """[{"from", "to", "linked"}] of one log's missing seqs: linked if the device attested
    the records up to `to` as acknowledged to another ledger (a link row)."""
    linked = {seq for seq, _link, _att in ledger.links(device, epoch)}
    return [{"from": a, "to": b, "linked": b in linked} for a, b in ledger.gaps(device, epoch)]


def fleet_view(ledger, now, stale_days, keys):
    """{"devices": [...], "stale": [...], "stale_days", "records"} of the ledger (see the module)."""
    last_pulls = ledger.last_pulls()
    devices = {}
    for device, epoch, count, first, head, first_time, last_time in ledger.logs():
        entry = devices.setdefault(device, {"device": device, "records": 0, "first_time": first_time,
                                            "last_time": last_time, "epochs": []})
        entry["records"] += count
        entry["first_time"] = min(entry["first_time"], first_time)
        entry["last_time"] = max(entry["last_time"], last_time)
        gaps = log_gaps(ledger, device, epoch) if head > count else []
        entry["epochs"].append({"epoch": epoch, "records": count, "first": first, "head": head,
                                "missing": sum(g["to"] - g["from"] + 1 for g in gaps if not g["linked"]),
                                "gaps": gaps})
    stale_before = now - stale_days * DAY
    shown, stale = [], []
    for device in sorted(devices):
        entry = devices[device]
        pulled = last_pulls.get(device)
        entry["first_record"] = iso_time(entry.pop("first_time"))
        entry["last_record"] = iso_time(entry.pop("last_time"))
        entry["last_pull"] = iso_time(pulled) if pulled is not None else None
        entry["missing"] = sum(e["missing"] for e in entry["epochs"])
        entry["mac_failed"] = None  # no key: not verifiable
        if keys.get(device) is not None:
            entry["mac_failed"] = len(verdict(ledger, device, keys).flagged())
        entry["stale"] = pulled is None or pulled < stale_before
        if entry["stale"]:
            stale.append({"device": device, "last_pull": entry["last_pull"]})
        shown.append(entry)
    return {"devices": shown, "stale": stale, "stale_days": stale_days,
            "records": sum(e["records"] for e in shown)}
