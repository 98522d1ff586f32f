"""Bench rows for reconciliation: 1,000,000 bill rows in ≤ 5 s, memory flat in the rows.

A synthetic line: five months (July to November 2026) of a device metering
~2 GB a month, and bills for the same months, one per month, of mostly data rows
(plus voice, SMS and services), with a few planted overcharges. Each size runs in
a fresh Python process (`python -m bench.reconcile ROWS DIR`), which reports its
own wall time and how far its resident memory rose while reconciling (Linux's
VmHWM, reset just before): the time row is the 1M-row run, the memory row the
ratio of that rise at 1M rows to 100k rows (1.0 = flat).
"""

import datetime
import json
import os
import gc
import subprocess
import sys
import tempfile
import time

from bench.table import Row

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MONTHS = ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
TODAY = datetime.date(2026, 12, 10)
TZ = datetime.timezone(datetime.timedelta(hours=8))
MB = 1048576
QUOTA = 2048 * MB
HEADER = "type,start,location,network,duration_s,volume_kb,number,item,provider,discount_yuan,charge_yuan\n"


def _records():
    """The device's records: plan, and each day's usage in 24 hourly USAGE records."""
    out = []

    def add(rtype, local, **fields):
        out.append({"type": rtype, "seq": len(out) + 1, "fields": fields,
                    "time": local.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})

    day = datetime.datetime(2026, 6, 30, 12, tzinfo=TZ)
    add("boot", day, reason=0)
    add("config_changed", day, key="plan", old=None, new={"quota": QUOTA, "cycle_day": 1, "tz": 480})
    while day.date() < datetime.date(2026, 12, 2):
        day += datetime.timedelta(days=1)
        for hour in range(24):
            add("usage", day.replace(hour=hour), up_bytes=MB, down_bytes=2 * MB, source=0, total_bytes=0)
    return out


def _write_bill(path, month, rows):
    """`rows` rows over the month: data rows of 3 MB/24 each hour's share, some others."""
    year, mon = int(month[:4]), int(month[5:])
    days = (datetime.date(year + mon // 12, mon % 12 + 1, 1) - datetime.date(year, mon, 1)).days
    per_day = max(rows // days, 1)
    data_per_day = per_day - 4
    kb_each = 72 * 1024 // data_per_day  # the device's 72 MB a day, spread over the rows
    written = 0
    used = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(HEADER)
        for d in range(1, days + 1):
            for i in range(data_per_day):
                second = i * 86400 // data_per_day
                start = "%s-%02d %02d:%02d:%02d" % (month, d, second // 3600, second // 60 % 60, second % 60)
                kb = kb_each + (i < 72 * 1024 - kb_each * data_per_day)
                over = max(0, used + kb * 1024 - max(QUOTA, used))
                used += kb * 1024
                charge = -(-over * 29 // MB)
                if d == 15 and i == 0:
                    charge += 100  # a planted tariff error
                f.write("data,%s,广州,4G,,%d,,,,0.00,%d.%02d\n" % (start, kb, charge // 100, charge % 100))
            f.write("voice,%s-%02d 10:00:00,广州,,61,,13900000000,,,0.00,0.38\n" % (month, d))
            f.write("sms,%s-%02d 11:00:00,广州,,,,10086,短信,,0.00,0.00\n" % (month, d))
            f.write("mms,%s-%02d 11:30:00,广州,,,,10086,彩信,,0.00,0.00\n" % (month, d))
            f.write("plan,%s-%02d 00:00:00,,,,,,套餐月费,,0.00,%s\n" % (month, d, "58.00" if d == 1 else "0.00"))
            written += per_day
    return written


def _status_kb(name):
    """A figure from /proc/self/status (kB): VmRSS now, VmHWM the peak since clear_refs."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s in /proc/self/status" % name)


def _worker(rows, folder):
    """Run in a fresh process: write the bills, reconcile them, print the figures as JSON."""
    from host_tools.billing.device_evidence import DeviceEvidence
    from host_tools.billing.reconcile import reconcile

    paths, written = [], 0
    for month in MONTHS:
        path = os.path.join(folder, "bill-%s.csv" % month)
        written += _write_bill(path, month, rows // len(MONTHS))
        paths.append(path)
    evidence = DeviceEvidence(_records())
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # start the peak (VmHWM) again from here: writing the bills is not measured
    base_rss = _status_kb("VmRSS")
    started = time.perf_counter()
    report = reconcile(paths, evidence, "prepaid", TODAY, {"plan_fee_yuan": "58.00"})
    seconds = time.perf_counter() - started
    peak = _status_kb("VmHWM")
    print(json.dumps({"rows": written, "seconds": seconds, "peak_kb": peak, "base_kb": base_rss,
                      "findings": len(report["findings"]), "refund_fen": report["total_refund_fen"]}))


def _run(rows, folder):
    out = subprocess.run([sys.executable, "-m", "bench.reconcile", str(rows), folder], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def rows():
    with tempfile.TemporaryDirectory() as folder:
        small = _run(100_000, folder)
        big = _run(1_000_000, folder)
    growth = (big["peak_kb"] - big["base_kb"]) / max(small["peak_kb"] - small["base_kb"], 1)
    note = "%d rows in 5 monthly bills, %d findings, refund %d fen" % (big["rows"], big["findings"], big["refund_fen"])
    return [
        Row("bill rows reconciled in (1M rows, 5 months)", round(big["seconds"], 2), "s", 5, at_most=True, note=note),
        Row("bill rows reconciled per second", int(big["rows"] / big["seconds"]), "1/s"),
        Row("reconcile memory growth, 1M rows / 100k rows", round(growth, 2), "ratio", 1.5, at_most=True,
            note="peak RSS above start: %d KB at 100k, %d KB at 1M" % (small["peak_kb"] - small["base_kb"], big["peak_kb"] - big["base_kb"])),
    ]


if __name__ == "__main__":
    _worker(int(sys.argv[1]), sys.argv[2])
