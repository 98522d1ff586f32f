"""A reconciliation report as the technician and the subscriber read it: table, CSV, claim text.

The claim text is what the subscriber files with the carrier (10086, or in a
shop): each qualifying finding, the double refund it is owed under 收费误差,
双倍返还, how it is to be paid, and the 48-hour first-reply promise with its
deadline counted from the filing time. The HTML page is host_tools/billing/claim_html.py.
"""

import csv
import datetime
import io
import os

from host_tools.billing.reconcile import PAYMENT, REPLY_HOURS
from protocol.money import yuan


def add_claim(report, filed, device):
    """Put the device id and the claim (text, filed, reply_due) into the report; returns it."""
    due = filed + datetime.timedelta(hours=REPLY_HOURS)
    report["device"] = device
    report["claim"] = {"text": claim_text(report, device, filed, due), "filed": filed.isoformat(timespec="seconds"),
                       "reply_due": due.isoformat(timespec="seconds")}
    return report


def bill_names(bills):
    """{path: what the claim calls it}: the file name, or as many of its last folders as tell
    two bills of the same name apart; never the technician's absolute path."""
    parts = {path: os.path.normpath(os.path.abspath(path)).split(os.sep) for path in bills}
    names = {}
    for path, split in parts.items():
        for n in range(1, len(split)):
            name = "/".join(split[-n:])
            if not any(other != path and "/".join(o[-n:]) == name for other, o in parts.items()):
                break
        names[path] = name
    return names


def shown_line(where, names):
    """A bill line "PATH:LINE" as the claim shows it: "NAME:LINE"."""
    path, _colon, line = where.rpartition(":")
    return "%s:%s" % (names.get(path, os.path.basename(path)), line)


def claim_text(report, device, filed, due):
    qualifying = [f for f in report["findings"] if not f["excluded"] and f["overcharged_fen"]]
    names = bill_names(report["bills"])
    lines = [
        "致中国移动客户服务中心 / To China Mobile customer service:",
        "",
        "根据贵公司“收费误差，双倍返还”的服务承诺，本人对 %s 的话费清单提出以下收费误差，"
        "请按多收金额的两倍返还。" % "、".join(report["months"]),
        "Under your promise 'billing error, double refund', I claim the overcharges below on the itemised "
        "bills of %s and ask for twice each overcharge back." % ", ".join(report["months"]),
        "",
    ]
    # Numbered 1, 2, 3 ... here: the excluded findings are not claimed, so not counted.
    for number, f in enumerate(qualifying, 1):
        lines.append("%d. [%s] %s: %s" % (number, f["month"], f["item"], f["explanation"]))
        lines.append("   多收 overcharged %s 元, 返还 refund %s 元 (清单 bill lines: %s%s)" % (
            yuan(f["overcharged_fen"]), yuan(f["refund_fen"]),
            ", ".join(shown_line(where, names) for where in f["evidence"]["bill_lines"][:5]),
            " …" if len(f["evidence"]["bill_lines"]) > 5 or f["evidence"]["more_bill_lines"] else ""))
    if not qualifying:
        lines.append("No overcharge qualifies for a refund. / 未发现可返还的收费误差。")
    lines += [
        "",
        "合计 Total: 多收 overcharged %s 元, 应返还 refund %s 元。" % (yuan(report["total_overcharged_fen"]), yuan(report["total_refund_fen"])),
        "返还方式 Payment: %s; 如需现金仅限多收部分 %s 元，双倍部分不付现金 (cash only on request, never for the doubled part)."
        % (_payment(report), yuan(report["total_overcharged_fen"])),
        "证据 Evidence: edgemeter device %s, records as pulled into the ledger; bills %s." % (
            device, ", ".join(names[path] for path in report["bills"])),
    ] + ([evidence_line(report["evidence"])] if "evidence" in report else []) + [
        "",
        "提交时间 Filed: %s. 请于48小时内（%s 前）首次答复。" % (filed.isoformat(timespec="minutes"), due.isoformat(timespec="minutes")),
        "A first reply is due within %d hours, by %s." % (REPLY_HOURS, due.isoformat(timespec="minutes")),
    ]
    return "\n".join(lines)


def _payment(report):
    return "预付费: 充值到账户或等值充值卡" if report["account"] == "prepaid" else "后付费: 充值、充值卡或下月话费中抵扣"


def table(report):
    """Fixed-width text: one line per finding, then the totals."""
    header = ("#", "month", "item", "category", "excluded", "overcharged", "refund")
    rows = [header]
    for f in report["findings"]:
        rows.append((str(f["id"]), f["month"], f["item"], f["category"], f["excluded"] or "-",
                     yuan(f["overcharged_fen"]), yuan(f["refund_fen"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    out = ["  ".join(c.rjust(w) if i >= 5 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows]
    if not report["findings"]:
        out.append("no discrepancies")
    out += [
        "",
        "overcharged %s yuan, refund %s yuan (paid as %s); excluded %s yuan" % (
            yuan(report["total_overcharged_fen"]), yuan(report["total_refund_fen"]), PAYMENT[report["account"]],
            yuan(report["total_excluded_fen"])),
        "tolerances: " + ", ".join("%s=%s" % kv for kv in sorted(report["tolerances"].items())),
    ]
    if "evidence" in report:
        out.append(evidence_line(report["evidence"]))
    return "\n".join(out)


def evidence_line(evidence):
    """What the device's records are worth as evidence, in one line."""
    counts = ", ".join("%d %s" % (n, status) for status, n in evidence["records"].items())
    if not evidence["key_known"]:
        return "evidence: %s records, NOT verified: no key for %s on this host" % (counts or "no", evidence["device"])
    flagged = len(evidence["flagged"]) + evidence["more_flagged"]
    return "evidence: %s; only verified records counted%s" % (
        counts, "; %d records failed their MAC check and were left out" % flagged if flagged else "")


CSV_COLUMNS = ("id", "month", "item", "category", "excluded", "overcharged_fen", "refund_fen", "payment",
               "cash_max_fen", "bill_lines", "ledger_seqs", "explanation")


def csv_text(report):
    """The findings as CSV (a row per finding, then the totals)."""
    f = io.StringIO(newline="")
    writer = csv.writer(f)
    writer.writerow(CSV_COLUMNS)
    for finding in report["findings"]:
        evidence = finding["evidence"]
        row = dict(finding, bill_lines=" ".join(evidence["bill_lines"]),
                   ledger_seqs=" ".join(str(s) for s in evidence["ledger_seqs"]))
        writer.writerow([row[c] if row[c] is not None else "" for c in CSV_COLUMNS])
    writer.writerow(["total", "", "", "", "", report["total_overcharged_fen"], report["total_refund_fen"], "", "", "", "", ""])
    return f.getvalue()
