"""The simulated carrier's itemised bill (话费清单) for one month, from what it carried.

    edgemeter emulate bill --state DIR --month 2026-11 [--format carrier|csv] [--agreement FILE]

Rows come from the carrier's session records (cdr.jsonl): one data row per
session and local day, rounded up to a whole KB; the plan fee on the 1st; the
monthly value-added services in force. Charges follow the scenario's `billing`
(the agreement): data beyond the month's quota at the agreed price per MB,
rounded up to the fen per row, the plan fee less any promised discount. Then
the scenario's billing errors are planted (scenario.BILLING_ERRORS), so a test
or the demo knows exactly what reconciliation must find.

Formats: the carrier's sectioned export with Chinese headers (host_tools/billing/bill.py
reads it back), or our English CSV. docs/bill-formats.md documents both.
"""

import csv
import io
import json
import os

from host_tools.emulator.scenario import iso_ms, load_scenario
from host_tools.emulator.state_folder import SCENARIO_COPY
from protocol.money import yuan
from protocol.units import KB, MB



def _ceil_div(a, b):
    return -(-a // b)


class BillWriter:
    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.scenario = load_scenario(os.path.join(state_dir, SCENARIO_COPY))  # what the board ran
        self.billing = self.scenario.billing

    def agreement(self):
        """What reconcile needs to know of the contract (edgemeter reconcile --agreement)."""
        return {
            "plan_fee_yuan": yuan(self.billing.plan_fee_fen),
            "data_yuan_per_mb": yuan(self.billing.fen_per_mb),
            "discounts": [{"item": "plan", "from": a, "to": b, "percent": p} for a, b, p in self.billing.discounts],
            "force_majeure": list(self.billing.force_majeure),
        }

    def _sessions(self, month):
        """[start "YYYY-MM-DD HH:MM:SS", bytes] per session and local day of the month."""
        rows = []
        try:
            with open(os.path.join(self.state_dir, "cdr.jsonl"), encoding="utf-8") as f:
                records = [json.loads(line) for line in f]
        except FileNotFoundError:
            records = []
        for record in records:
            start = record["start"][:19].replace("T", " ")
            for day, n in record.get("days", {}).items():
                if day[:7] == month and n > 0:
                    rows.append([max(start, day + " 00:00:00"), _ceil_div(n, KB) * KB])
        return sorted(rows)

    def rows(self, month):
        """The month's rows as (kind, start, fields) in bill order, errors planted."""
        errors = self.billing.errors
        data = self._sessions(month)
        for kind, day, amount in errors:
            if day and day[:7] != month or kind not in ("extra_data", "phantom_data"):
                continue
            todays = [r for r in data if r[0][:10] == day]
            if kind == "extra_data" and todays:
                todays[0][1] += _ceil_div(amount, KB) * KB
            else:
                data.append([day + " 12:00:00", _ceil_div(amount, KB) * KB])
        data.sort()
        quota = self.scenario.plan.quota_bytes + sum(a.bytes for a in self.scenario.plan.addons if iso_ms(a.at_ms, self.scenario.plan.tz)[:7] == month)
        out = [self._plan_row(month)]
        used = 0
        for start, n in data:
            over = max(0, used + n - max(quota, used))
            used += n
            price = self.billing.fen_per_mb
            for kind, day, amount in errors:
                if kind == "data_price" and day == start[:10]:
                    price = amount
            charge = _ceil_div(over * price, MB)
            listed = _ceil_div(n * self.billing.fen_per_mb, MB)
            out.append(("data", start, {"kb": n // KB, "discount": max(0, listed - charge), "charge": charge}))
            for kind, day, amount in errors:
                if kind == "reversed_charge" and day == start[:10] and not any(r[1] == start and r[0] == "data-reversal" for r in out):
                    out[-1][2]["charge"] += amount
                    out.append(("data-reversal", start, {"kb": 0, "discount": 0, "charge": -amount}))
        for kind, day, amount in errors:
            if kind == "roaming_day_pack" and day[:7] == month:
                out.append(("data-roaming", day + " 20:00:00", {"kb": 0, "discount": 0, "charge": amount}))
            elif kind == "backcharge":
                out.append(("voice", day + " 10:00:00", {"seconds": 60, "number": "13900000000", "charge": amount}))
        for name, fen in self.scenario.services:
            out.append(("service", month + "-01 00:00:00", {"item": name, "charge": fen}))
        return out

    def _plan_row(self, month):
        fee = self.billing.plan_fee_fen
        percent = sum(p for a, b, p in self.billing.discounts if a <= month <= b)
        if any(kind == "plan_discount_missing" for kind, _d, _a in self.billing.errors):
            percent = 0
        charge = fee * (100 - percent) // 100
        return ("plan", month + "-01 00:00:00", {"item": "套餐月费", "discount": fee - charge, "charge": charge})

    def carrier_export(self, month):
        """The bill as the carrier's own export: sections with Chinese headers."""
        rows = self.rows(month)
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["手机号码", self.scenario.subscriber])
        w.writerow(["账期", "%s年%d月" % (month[:4], int(month[5:]))])
        w.writerow([])
        w.writerow(["套餐及固定费详单"])
        w.writerow(["起始时间", "费用名称", "套餐优惠", "通信费"])
        for kind, start, f in rows:
            if kind == "plan":
                w.writerow([start, f["item"], yuan(f["discount"]), yuan(f["charge"])])
        w.writerow([])
        w.writerow(["上网详单"])
        w.writerow(["起始时间", "通信地点", "上网方式", "上网时长", "总流量", "套餐优惠", "通信费"])
        for kind, start, f in rows:
            if kind.startswith("data"):
                place, network = ("香港", "国际漫游") if kind == "data-roaming" else ("广州", "4G网络")
                w.writerow([start, place, network, "", "%dKB" % f["kb"], yuan(f["discount"]), yuan(f["charge"])])
        calls = [(start, f) for kind, start, f in rows if kind == "voice"]
        if calls:
            w.writerow([])
            w.writerow(["通话详单"])
            w.writerow(["起始时间", "通信地点", "通信方式", "对方号码", "通信时长", "套餐优惠", "通信费"])
            for start, f in calls:
                w.writerow([start, "广州", "主叫", f["number"], "%d秒" % f["seconds"], "0.00", yuan(f["charge"])])
        services = [(start, f) for kind, start, f in rows if kind == "service"]
        if services:
            w.writerow([])
            w.writerow(["增值业务详单"])
            w.writerow(["起始时间", "业务名称", "服务提供商", "套餐优惠", "通信费"])
            for start, f in services:
                w.writerow([start, f["item"], "中国移动", "0.00", yuan(f["charge"])])
        return out.getvalue()

    def english_csv(self, month):
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["type", "start", "location", "network", "duration_s", "volume_kb", "number", "item", "provider",
                    "discount_yuan", "charge_yuan"])
        for kind, start, f in self.rows(month):
            volume = str(f["kb"]) if kind.startswith("data") else ""
            network = "roaming" if kind == "data-roaming" else "4G" if volume else ""
            w.writerow([kind.split("-")[0], start, "广州" if volume else "", network, f.get("seconds", ""), volume,
                        f.get("number", ""), f.get("item", ""), "中国移动" if kind == "service" else "",
                        yuan(f.get("discount", 0)), yuan(f["charge"])])
        return out.getvalue()
