"""edgemeter subcommands on the host ledger: pull (device to ledger), log (what it
holds), reconcile (the carrier's bills against it), ledger check (integrity, gaps,
MAC chains) and ledger backup (a consistent copy). Only pull writes the ledger;
the others open it read-only (an archived ledger on read-only media reads)."""

import argparse
import asyncio
import json
import os
import sys

from host_tools.cli_common import CommandError, add_json, add_port, port_of
from host_tools.device import Device
from host_tools.ledger import Ledger, LedgerDamaged, LedgerError

# --- pull --------------------------------------------------------------------


def do_pull(args):
    from host_tools.pull import pull

    def device(port):
        return Device(port, framing=args.framing)

    result = asyncio.run(pull(port_of(args), args.ledger, device))
    try:
        with Ledger(args.ledger, readonly=True) as ledger:
            verdict = _verdict(ledger, result.device)
    except LedgerDamaged as damaged:
        raise CommandError("%s: the device still holds every record after seq %d; pull into a new ledger"
                           % (damaged, result.acked)) from None
    if args.json:
        print(json.dumps(dict(result.as_json(), evidence=verdict.summary())))
    else:
        rate = result.pulled / result.seconds if result.seconds else 0.0
        print(
            "%s epoch %d: pulled %d records (%d new, %d already in the ledger) up to seq %d, %.0f records/s"
            % (result.device, result.epoch, result.pulled, result.new, result.duplicates, result.head_seq, rate)
        )
        if result.linked_at is not None:
            print("this ledger's chain starts after seq %d, linked to the device's attested head "
                  "(records up to seq %d were acknowledged to another ledger)" % (result.linked_at, result.linked_at))
        print("checked: %s" % (", ".join("%d %s" % (n, status) for status, n in sorted(verdict.counts.items())) or "nothing"))
    _raise_if_flagged(verdict)


def _raise_if_flagged(verdict):
    for epoch, seq in verdict.forged_links[:20]:
        print("edgemeter: the attested head at seq %d of epoch %d does not check out with the device's key: "
              "forged on the way" % (seq, epoch), file=sys.stderr)
    flagged = verdict.flagged()
    if verdict.forged_links and not flagged:
        raise Tampered("an attested head of %s was forged: do not trust this ledger's chain starts" % verdict.device)
    if flagged:
        for epoch, seq, status in flagged[:20]:
            print("edgemeter: record %d of epoch %d is %s: altered, removed or forged on the way" % (seq, epoch, status),
                  file=sys.stderr)
        raise Tampered("%d records of %s failed their MAC check: do not use them as evidence"
                       % (len(flagged), verdict.device))


def _verdict(ledger, device):
    """The MAC check of every record of `device` in the ledger (host_tools/evidence_check.py)."""
    from host_tools.evidence_check import verdict
    from host_tools.keys import KeyFileError

    try:
        return verdict(ledger, device)
    except KeyFileError as exc:
        raise CommandError(str(exc)) from None


class Tampered(CommandError):
    """Records that failed their MAC check: exit status 3."""

    exit_status = 3


def _pull_parser(sub):
    p = sub.add_parser(
        "pull",
        help="copy the records a device has not had acknowledged into a ledger",
        epilog="example: edgemeter pull --port /dev/ttyUSB0 --ledger field.sqlite --json",
    )
    add_port(p)
    p.add_argument("--ledger", required=True, help="SQLite ledger file (created if missing)")
    p.add_argument(
        "--framing",
        choices=("console", "cobs"),
        default="console",
        help="SMP serial framing: base64 console lines (default) or COBS frames, a third faster",
    )
    p.add_argument("--json", action="store_true", help='print {"device", "pulled", "new", "duplicates", "head_seq"}')
    return p


# --- log ---------------------------------------------------------------------


def _field_summary(fields, longest=40):
    """`name=value ...` on one line: numbers bare, text quoted and cut at `longest`."""
    parts = []
    for name, value in fields.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            shown = str(value)
        else:
            if isinstance(value, str) and len(value) > longest:
                value = value[: longest - 1] + "…"
            shown = json.dumps(value, ensure_ascii=False)
        parts.append("%s=%s" % (name, shown))
    return " ".join(parts)


def _print_log(ledger, args):
    from protocol.record_names import TYPES

    records = ledger.records(device=args.device)
    if args.json:
        # One JSON array, written record by record: a big ledger never sits in memory.
        sep = "["
        for record in records:
            sys.stdout.write(sep + "\n" + json.dumps(record))
            sep = ","
        print("[]" if sep == "[" else "\n]")
        return
    logs = [log for log in ledger.devices() if args.device in (None, log[0])]
    if not logs:
        print("no records%s in %s" % (" of device %s" % args.device if args.device else "", args.ledger))
        return
    # Widths from the per-log summary, so rows print as they are read.
    widths = (
        max(len("device"), *(len(log[0]) for log in logs)),
        max(len("epoch"), *(len(str(log[1])) for log in logs)),
        max(len("seq"), *(len(str(log[4])) for log in logs)),
        len("2026-12-01T00:00:00Z"),
        max(len(name) for name, _names in TYPES.values()),
    )
    row = "%-*s  %*s  %*s  %-*s  %-*s  %s"
    print(row % (widths[0], "device", widths[1], "epoch", widths[2], "seq", widths[3], "time",
                 widths[4], "type", "fields"))
    for r in records:
        print((row % (widths[0], r["device"], widths[1], r["epoch"], widths[2], r["seq"], widths[3], r["time"],
                      widths[4], r["type"], _field_summary(r["fields"]))).rstrip())


def _damaged_hint(error):
    """A LedgerDamaged message with what to do: check it, pull into a new ledger."""
    return "%s: edgemeter ledger check %s says what; pull into a new ledger" % (error, error.path)


def do_log(args):
    if not os.path.exists(args.ledger):
        raise CommandError("no ledger at %s: pull records first with edgemeter pull" % args.ledger)
    try:
        with Ledger(args.ledger, readonly=True) as ledger:
            _print_log(ledger, args)
    except LedgerDamaged as exc:
        raise CommandError(_damaged_hint(exc)) from None
    except LedgerError as exc:
        raise CommandError(str(exc)) from None
    except BrokenPipeError:
        # `edgemeter log | head` stopped reading: end quietly, and keep Python's
        # final flush from failing on the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _log_parser(sub):
    p = sub.add_parser(
        "log",
        help="list the records in a ledger, oldest first per device",
        epilog="example: edgemeter log --ledger field.sqlite --device em-0123abcd --json",
    )
    p.add_argument("--ledger", required=True, help="SQLite ledger file written by edgemeter pull")
    p.add_argument("--device", help="only this device id")
    p.add_argument("--json", action="store_true", help="print one JSON array of records")
    return p


def _ledger_device(ledger, wanted):
    devices = sorted({row[0] for row in ledger.devices()})
    if wanted:
        if wanted not in devices:
            raise CommandError("no device %s in the ledger (it has: %s)" % (wanted, ", ".join(devices) or "none"))
        return wanted
    if len(devices) != 1:
        raise CommandError("the ledger holds %s: say which with --device" % (", ".join(devices) if devices else "no device"))
    return devices[0]


def _tolerances(pairs):
    tolerances = {}
    for pair in pairs or ():
        key, equals, value = pair.partition("=")
        if not equals or not value.isdigit():
            raise CommandError("--tolerance wants KEY=N (a whole number), got %r" % pair)
        tolerances[key] = int(value)
    return tolerances


def do_reconcile(args):
    import datetime

    from host_tools import claim, reconcile
    from host_tools.bill import BillError
    from host_tools.device_evidence import DeviceEvidence

    if not os.path.exists(args.ledger):
        raise CommandError("no ledger at %s: pull the device's records first with edgemeter pull" % args.ledger)
    try:
        today = datetime.date.fromisoformat(args.today) if args.today else datetime.date.today()
    except ValueError:
        raise CommandError("--today wants YYYY-MM-DD, got %r" % args.today) from None
    agreement = None
    if args.agreement:
        try:
            with open(args.agreement, encoding="utf-8") as f:
                agreement = json.load(f)
        except (OSError, ValueError) as error:
            raise CommandError("agreement %s: %s" % (args.agreement, error)) from None
    try:
        with Ledger(args.ledger, readonly=True) as ledger:
            device = _ledger_device(ledger, args.device)
            verdict = _verdict(ledger, device)
            # Only records whose MAC checks out are evidence (all of them if no key is held).
            trusted = (r for r in ledger.records(device=device) if verdict.trusted(r["epoch"], r["seq"]))
            evidence = DeviceEvidence(trusted)
        report = reconcile.reconcile(args.bill, evidence, args.account, today, agreement, _tolerances(args.tolerance))
        report["evidence"] = verdict.summary()
    except LedgerDamaged as error:
        raise CommandError(_damaged_hint(error)) from None
    except (BillError, reconcile.ReconcileError, LedgerError) as error:
        raise CommandError(str(error)) from None
    tz = datetime.timezone(datetime.timedelta(minutes=evidence.tz_minutes))
    filed = datetime.datetime.combine(today, datetime.datetime.now(tz).time().replace(microsecond=0), tz)
    claim.add_claim(report, filed, device)
    if args.csv:
        claim.write_csv(report, args.csv)
    if args.html:
        from host_tools import claim_html

        with open(args.html, "w", encoding="utf-8") as f:
            f.write(claim_html.render(report))
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(claim.table(report))


def _reconcile_parser(sub):
    p = sub.add_parser(
        "reconcile",
        help="check the carrier's itemised bills against the device's records: overcharges and double refunds",
        epilog="examples: edgemeter reconcile --ledger field.sqlite --bill bill-2026-11.csv --account prepaid\n"
        "          edgemeter reconcile --ledger field.sqlite --bill 11.csv --bill 10.csv --account postpaid \\\n"
        "              --agreement contract.json --html claim.html --csv findings.csv\n"
        "bill formats, the agreement file and the rules: docs/bill-formats.md, docs/reconcile.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--ledger", required=True, help="SQLite ledger file written by edgemeter pull")
    p.add_argument("--bill", required=True, action="append", help="an itemised bill (CSV, UTF-8 or GB18030); repeat for more months")
    p.add_argument("--account", required=True, choices=("prepaid", "postpaid"), help="how refunds are paid")
    p.add_argument("--device", help="device id, when the ledger holds several")
    p.add_argument("--agreement", help="JSON: agreed tariffs, plan fee, promised discounts (default: the carrier's standard prices)")
    p.add_argument("--today", help="YYYY-MM-DD the claim is made (default today): sets the 5-month bill window")
    p.add_argument("--tolerance", action="append", metavar="KEY=N", help="override a tolerance, e.g. data_relative_ppm=500")
    p.add_argument("--csv", metavar="FILE", help="also write the findings as CSV")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report with the claim text")
    add_json(p)
    return p


# --- ledger check, ledger backup ----------------------------------------------------


def _explained(gap, links):
    """Whether a gap (a, b) is records the device attested as acknowledged to another ledger."""
    return gap[1] in links


def _check_report(ledger):
    from host_tools.evidence_check import verdict as mac_verdict
    from host_tools.keys import KeyFile, KeyFileError

    report = {"ledger": ledger.path, "integrity": ledger.integrity(), "logs": [], "evidence": []}
    if report["integrity"] != ["ok"]:
        return report
    keys = KeyFile()
    for device, epoch, count, first, head in ledger.devices():
        links = sorted({seq for seq, _link, _att in ledger.links(device, epoch)})
        gaps = [{"from": a, "to": b, "linked": _explained((a, b), links)} for a, b in ledger.gaps(device, epoch)]
        report["logs"].append({"device": device, "epoch": epoch, "records": count, "first": first, "head": head,
                               "gaps": gaps, "links": links})
    for device in sorted({log["device"] for log in report["logs"]}):
        try:
            report["evidence"].append(mac_verdict(ledger, device, keys))
        except KeyFileError as exc:
            raise CommandError(str(exc)) from None
    return report


def do_ledger_check(args):
    if not os.path.exists(args.file):
        raise CommandError("no ledger at %s" % args.file)
    try:
        with Ledger(args.file, readonly=True) as ledger:
            report = _check_report(ledger)
    except LedgerDamaged as exc:
        report = {"ledger": args.file, "integrity": [exc.detail], "logs": [], "evidence": []}
    except LedgerError as exc:
        raise CommandError(str(exc)) from None
    verdicts = report.pop("evidence")
    report["evidence"] = [v.summary() for v in verdicts]
    if args.json:
        print(json.dumps(report))
    else:
        print("ledger %s: integrity %s" % (args.file, "; ".join(report["integrity"])))
        for log in report["logs"]:
            print("%s epoch %d: %d records, seq %d..%d" % (log["device"], log["epoch"], log["records"], log["first"],
                                                           log["head"]))
            for gap in log["gaps"]:
                if gap["linked"]:
                    print("  seq %d..%d: not in this ledger; the chain starts after seq %d, linked to the device's "
                          "attested head (acknowledged to another ledger)" % (gap["from"], gap["to"], gap["to"]))
                else:
                    print("  seq %d..%d: missing" % (gap["from"], gap["to"]))
        for v in verdicts:
            counts = ", ".join("%d %s" % (n, st) for st, n in sorted(v.counts.items())) or "nothing"
            print("%s MAC chain: %s%s" % (v.device, counts, "" if v.key_known else " (no key for it in the key file)"))
    if report["integrity"] != ["ok"]:
        raise CommandError("ledger %s is damaged (%s): copy it with edgemeter ledger backup only for the record; "
                           "pull into a new ledger (the device holds every record it was not acknowledged for)"
                           % (args.file, "; ".join(report["integrity"])))
    for v in verdicts:
        _raise_if_flagged(v)


def do_ledger_backup(args):
    if not os.path.exists(args.file):
        raise CommandError("no ledger at %s" % args.file)
    try:
        with Ledger(args.file, readonly=True) as ledger:
            copied = ledger.backup(args.dest)
    except LedgerDamaged as exc:
        raise CommandError("%s: no backup written; pull into a new ledger" % exc) from None
    except LedgerError as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        print(json.dumps({"ledger": args.file, "backup": args.dest, "records": copied}))
    else:
        print("backed up %d records from %s to %s (checked)" % (copied, args.file, args.dest))


def do_ledger(args):
    {"check": do_ledger_check, "backup": do_ledger_backup}[args.ledger_command](args)


def _ledger_parser(sub):
    p = sub.add_parser(
        "ledger",
        help="check a ledger (integrity, gaps, MAC chains) or back it up",
        epilog="examples: edgemeter ledger check field.sqlite\n"
        "          edgemeter ledger backup field.sqlite /media/usb/field-2026-12-01.sqlite",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="ledger_command", metavar="ACTION")
    actions.required = True
    check = actions.add_parser(
        "check",
        help="integrity (SQLite), gaps per device and epoch, MAC chains; read-only",
        epilog="exit status: 0 all good; 1 the file is damaged; 3 records failed their MAC check",
    )
    check.add_argument("file", metavar="FILE", help="the ledger file")
    add_json(check)
    backup = actions.add_parser(
        "backup",
        help="copy the ledger to a new file with SQLite's online backup (safe while a pull writes)",
    )
    backup.add_argument("file", metavar="FILE", help="the ledger file")
    backup.add_argument("dest", metavar="DEST", help="a new file for the copy")
    add_json(backup)
    return p
