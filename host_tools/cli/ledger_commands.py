"""edgemeter subcommands on the host ledger: pull (device to ledger), log (what it
holds), reconcile (the carrier's bills against it), ledger init (create or migrate),
ledger check (integrity, gaps, MAC chains), ledger backup (a consistent copy) and
ledger sync (one ledger's records into another). Only pull, init and sync write a
ledger; the others open it read-only (an archived ledger on read-only media reads).
Every --ledger is an SQLite file or a PostgreSQL URL (host_tools/ledger/store.py)."""

import argparse
import asyncio
import json
import os
import sys

from host_tools.cli.common import CommandError, add_actions, add_json, add_link, file_problem, link_of, write_file
from host_tools.ledger.store import LedgerDamaged, LedgerError, is_url, open_ledger, shown_target
from protocol.units import KB, MB

# --- pull --------------------------------------------------------------------


def do_pull(args):
    from host_tools.ledger.pull import pull

    link = link_of(args)
    result = asyncio.run(pull(link.port, args.ledger, lambda _port: link.device(framing=args.framing)))
    try:
        with open_ledger(args.ledger, readonly=True) as ledger:
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
    """The MAC check of every record of `device` in the ledger (host_tools/ledger/evidence_check.py)."""
    from host_tools.device.keys import KeyFileError
    from host_tools.ledger.evidence_check import verdict

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
    add_link(p)
    p.add_argument("--ledger", required=True, help=LEDGER_HELP + "; a file is created if missing, a database by ledger init")
    p.add_argument(
        "--framing",
        choices=("console", "cobs"),
        default="console",
        help="SMP serial framing: base64 console lines (default) or COBS frames, a third faster",
    )
    p.add_argument("--json", action="store_true", help='print {"device", "pulled", "new", "duplicates", "head_seq"}')
    p.set_defaults(handler=do_pull)


# --- log ---------------------------------------------------------------------




def _size(n):
    """Bytes as a technician reads them (1 MB = 1,048,576 bytes, 1 KB = 1024, as the carrier counts)."""
    if abs(n) >= MB:
        return "%.2f MB" % (n / MB)
    if abs(n) >= KB:
        return "%.1f KB" % (n / KB)
    return "%d B" % n


def _yuan(fen):
    return "%s%d.%02d yuan" % ("-" if fen < 0 else "", abs(fen) // 100, abs(fen) % 100)


def _shown(name, value, longest=40):
    """(name, text) as the table shows a field: byte counts in MB/KB, fen in yuan, the unit
    dropped from the name, a plan's quota too; other numbers bare, text quoted and cut at
    `longest`. Raw numbers stay in --json."""
    number = isinstance(value, int) and not isinstance(value, bool)
    if number and name.endswith("_bytes"):
        return name[: -len("_bytes")], _size(value)
    if number and name.endswith("_fen"):
        return name[: -len("_fen")], _yuan(value)
    if number and name in ("quota", "bytes"):
        return name, _size(value)
    if isinstance(value, dict):
        return name, "{%s}" % ", ".join("%s: %s" % _shown(k, v, longest) for k, v in value.items())
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return name, "[%s]" % ", ".join(_shown("", v, longest)[1] for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return name, str(value)
    if isinstance(value, str) and len(value) > longest:
        value = value[: longest - 1] + "…"
    return name, json.dumps(value, ensure_ascii=False)


def _field_summary(fields, longest=40):
    """`name=value ...` on one line (see _shown)."""
    return " ".join("%s=%s" % _shown(name, value, longest) for name, value in fields.items())


def _record_type(text):
    """--type: record type names, comma-separated (boot,usage)."""
    from protocol.record_names import TYPES

    known = [name for name, _keys in TYPES.values()]
    wanted = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in known]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError("unknown record type %s; the types: %s"
                                         % (", ".join(repr(u) for u in unknown) or repr(text), ", ".join(known)))
    return wanted


def _moment(text, end_of_day=False):
    """A date or date-time as the ledger's UTC text (YYYY-MM-DDTHH:MM:SSZ), for comparing.
    No offset means UTC, as the table prints times; a bare date is its 00:00 UTC, or with
    `end_of_day` (--until) the whole day."""
    import datetime

    cleaned = text.strip().replace(" ", "T")
    try:
        if len(cleaned) == 10:
            day = datetime.date.fromisoformat(cleaned)
            moment = datetime.datetime.combine(day, datetime.time(), datetime.timezone.utc)
            if end_of_day:
                moment += datetime.timedelta(days=1, seconds=-1)
        else:
            moment = datetime.datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a date like 2026-12-01 or a time like 2026-12-01T08:00 "
                                         "(UTC unless it says +08:00)" % text) from None
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _until(text):
    return _moment(text, end_of_day=True)


def _count(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("--last wants a number of records like 20, got %r" % text)
    return int(text)


def _selected(ledger, args):
    """The records the filters let through, oldest first; with --last only the last N
    (a bounded queue: a big ledger never sits in memory)."""
    import collections

    types = {name for names in args.type or () for name in names}
    records = (r for r in ledger.records(device=args.device)
               if (not types or r["type"] in types)
               and (args.since is None or r["time"] >= args.since)
               and (args.until is None or r["time"] <= args.until))
    if args.last:
        return iter(collections.deque(records, maxlen=args.last))
    return records


def _print_log(ledger, args):
    from protocol.record_names import TYPES

    if args.device is not None and not ledger.has_device(args.device):
        raise CommandError("no device %s in the ledger (it has: %s)" % (args.device, _some(ledger.device_ids())))
    records = _selected(ledger, args)
    if args.json:
        # One JSON array, written record by record: a big ledger never sits in memory.
        sep = "["
        for record in records:
            sys.stdout.write(sep + "\n" + json.dumps(record))
            sep = ","
        print("[]" if sep == "[" else "\n]")
        return
    logs = [log for log in ledger.devices() if args.device in (None, log[0])]
    # Widths from the per-log summary, so rows print as they are read.
    widths = (
        max(len("device"), *(len(log[0]) for log in logs)) if logs else len("device"),
        max(len("epoch"), *(len(str(log[1])) for log in logs)) if logs else len("epoch"),
        max(len("seq"), *(len(str(log[4])) for log in logs)) if logs else len("seq"),
        len("2026-12-01T00:00:00Z"),
        max(len(name) for name, _names in TYPES.values()),
    )
    row = "%-*s  %*s  %*s  %-*s  %-*s  %s"
    printed = 0
    for r in records:
        if not printed:
            print(row % (widths[0], "device", widths[1], "epoch", widths[2], "seq", widths[3], "time",
                         widths[4], "type", "fields"))
        printed += 1
        print((row % (widths[0], r["device"], widths[1], r["epoch"], widths[2], r["seq"], widths[3], r["time"],
                      widths[4], r["type"], _field_summary(r["fields"]))).rstrip())
    if not printed:
        filtered = args.type or args.since or args.until
        print("no records%s%s in %s" % (" of device %s" % args.device if args.device else "",
                                        " match the filters" if filtered else "", args.ledger))


LEDGER_HELP = "SQLite ledger file, or a PostgreSQL ledger's URL (postgresql://user@host/db)"


def reading(target, missing):
    """The ledger at `target` opened read-only; CommandError `missing` if it is a file not there."""
    if not is_url(target) and not os.path.exists(target):
        raise CommandError(missing)
    return open_ledger(target, readonly=True)


def _damaged_hint(error):
    """A LedgerDamaged message with what to do: check it, pull into a new ledger."""
    return "%s: edgemeter ledger check %s says what; pull into a new ledger" % (error, error.path)


def do_log(args):
    try:
        with reading(args.ledger, "no ledger at %s: pull records first with edgemeter pull" % args.ledger) as ledger:
            _print_log(ledger, args)
    except LedgerDamaged as exc:
        raise CommandError(_damaged_hint(exc)) from None
    except LedgerError as exc:
        raise CommandError(str(exc)) from None


def _log_parser(sub):
    p = sub.add_parser(
        "log",
        help="list the records in a ledger, oldest first per device",
        epilog="examples: edgemeter log --ledger field.sqlite --device em-0123abcd --json\n"
        "          edgemeter log --ledger field.sqlite --type reminder_sent,reminder_delivered --since 2026-12-01 --last 20",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--ledger", required=True, help=LEDGER_HELP + ", written by edgemeter pull")
    p.add_argument("--device", help="only this device id (exit 1, listing the ledger's devices, if it holds none such)")
    p.add_argument("--type", action="append", type=_record_type, metavar="TYPE[,TYPE]",
                   help="only records of these types (boot, usage, reminder_sent ...); repeat or separate with commas")
    p.add_argument("--since", type=_moment, metavar="WHEN",
                   help="only records from then on: 2026-12-01 or 2026-12-01T08:00 (UTC, or with +08:00)")
    p.add_argument("--until", type=_until, metavar="WHEN", help="only records up to then (a bare date: to its end)")
    p.add_argument("--last", type=_count, metavar="N", help="only the last N records (after the other filters)")
    p.add_argument("--json", action="store_true", help="print one JSON array of records (raw numbers: bytes, fen)")
    p.set_defaults(handler=do_log)


def _some(devices, most=10):
    """Device ids for a message: at most `most`, then how many more."""
    shown = ", ".join(devices[:most]) or "none"
    return shown + (" and %d more" % (len(devices) - most) if len(devices) > most else "")


def _ledger_device(ledger, wanted, bills):
    """The device to reconcile: --device, the ledger's only one, or the one whose
    subscriber number is the bills' phone number (a fleet's ledger)."""
    from host_tools.billing.bill import bill_phone
    from host_tools.billing.device_evidence import phone_number

    if wanted:
        if not ledger.has_device(wanted):
            raise CommandError("no device %s in the ledger (it has: %s)" % (wanted, _some(ledger.device_ids())))
        return wanted
    devices = ledger.device_ids()
    if len(devices) == 1:
        return devices[0]
    if not devices:
        raise CommandError("the ledger holds no device: pull its records first with edgemeter pull")
    phones = sorted({phone_number(phone) for phone in map(bill_phone, bills) if phone})
    if not phones:
        raise CommandError("the ledger holds %s and the bill names no phone number: say which with --device"
                           % _some(devices))
    matched = sorted({device for device, _time, fields in ledger.subscriber_changes()
                      if phone_number(fields.get("new")) in phones})
    if len(matched) == 1:
        return matched[0]
    if not matched:
        raise CommandError("no device in the ledger has had subscriber %s (the bill's phone number): say which "
                           "with --device" % " or ".join(phones))
    raise CommandError("devices %s have all had subscriber %s: say which with --device" % (_some(matched),
                                                                                              " or ".join(phones)))


def _whole_mb(text):
    if not text.isdigit():
        raise argparse.ArgumentTypeError("--plan-quota-mb wants a whole number of MB like 100, got %r" % text)
    return int(text)


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

    from host_tools.billing import claim, reconcile
    from host_tools.billing.bill import BillError
    from host_tools.billing.device_evidence import DeviceEvidence

    missing = "no ledger at %s: pull the device's records first with edgemeter pull" % args.ledger
    if not is_url(args.ledger) and not os.path.exists(args.ledger):
        raise CommandError(missing)
    try:
        today = datetime.date.fromisoformat(args.today) if args.today else datetime.date.today()
    except ValueError:
        raise CommandError("--today wants YYYY-MM-DD, got %r" % args.today) from None
    agreement = None
    if args.agreement:
        try:
            with open(args.agreement, encoding="utf-8") as f:
                agreement = json.load(f)
        except OSError as error:
            raise CommandError("--agreement %s" % file_problem(error)) from None
        except ValueError as error:
            raise CommandError("--agreement %s: not JSON: %s" % (args.agreement, error)) from None
        if not isinstance(agreement, dict):
            raise CommandError("agreement %s: expected a JSON object of prices and promises" % args.agreement)
    if args.plan_quota_mb is not None:
        agreement = dict(agreement or {}, plan_quota_mb=args.plan_quota_mb)
    try:
        with reading(args.ledger, missing) as ledger:
            device = _ledger_device(ledger, args.device, args.bill)
            verdict = _verdict(ledger, device)
            # Only records whose MAC checks out are evidence (all of them if no key is held).
            trusted = (r for r in ledger.records(device=device) if verdict.trusted(r["epoch"], r["seq"]))
            evidence = DeviceEvidence(trusted)
        report = reconcile.reconcile(args.bill, evidence, args.account, today, agreement, _tolerances(args.tolerance),
                                     device_named=args.device is not None)
        report["evidence"] = verdict.summary()
    except LedgerDamaged as error:
        raise CommandError(_damaged_hint(error)) from None
    except (BillError, reconcile.ReconcileError, LedgerError) as error:
        raise CommandError(str(error)) from None
    tz = datetime.timezone(datetime.timedelta(minutes=evidence.tz_minutes))
    filed = datetime.datetime.combine(today, datetime.datetime.now(tz).time().replace(microsecond=0), tz)
    claim.add_claim(report, filed, device)
    for check in report["phone_checks"]:
        if check["match"] is False:
            print("edgemeter: note: %s is the bill of %s, not of %s's subscriber (%s): reconciled because --device "
                  "names it" % (check["bill"], check["phone"], device, " or ".join(check["subscribers"])), file=sys.stderr)
    if args.csv:
        write_file(args.csv, "--csv", claim.csv_text(report))
    if args.html:
        from host_tools.billing import claim_html

        write_file(args.html, "--html", claim_html.render(report))
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
    p.add_argument("--ledger", required=True, help=LEDGER_HELP + ", written by edgemeter pull")
    p.add_argument("--bill", required=True, action="append", help="an itemised bill (CSV, UTF-8 or GB18030); repeat for more months")
    p.add_argument("--account", required=True, choices=("prepaid", "postpaid"), help="how refunds are paid")
    p.add_argument("--device", help="device id, when the ledger holds several (default: the one whose subscriber "
                   "number is the bill's 手机号码)")
    p.add_argument("--agreement", help="JSON: agreed tariffs, plan fee, promised discounts (default: the carrier's standard prices)")
    p.add_argument("--today", help="YYYY-MM-DD the claim is made (default today): sets the 5-month bill window")
    p.add_argument("--plan-quota-mb", type=_whole_mb, metavar="N",
                   help="the monthly data quota for months the device knew no plan (as plan_quota_mb in the agreement)")
    p.add_argument("--tolerance", action="append", metavar="KEY=N", help="override a tolerance, e.g. data_relative_ppm=500")
    p.add_argument("--csv", metavar="FILE", help="also write the findings as CSV")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report with the claim text")
    add_json(p)
    p.set_defaults(handler=do_reconcile)


# --- ledger init, check, backup, sync -------------------------------------------------


def _check_report(ledger):
    from host_tools.device.keys import KeyFile, KeyFileError
    from host_tools.ledger.evidence_check import verdict as mac_verdict
    from host_tools.ledger.fleet import log_gaps

    report = {"ledger": ledger.path, "integrity": ledger.integrity(), "logs": [], "evidence": []}
    if report["integrity"] != ["ok"]:
        return report
    keys = KeyFile()
    for device, epoch, count, first, head in ledger.devices():
        links = sorted({seq for seq, _link, _att in ledger.links(device, epoch)})
        gaps = log_gaps(ledger, device, epoch)
        report["logs"].append({"device": device, "epoch": epoch, "records": count, "first": first, "head": head,
                               "gaps": gaps, "links": links})
    for device in sorted({log["device"] for log in report["logs"]}):
        try:
            report["evidence"].append(mac_verdict(ledger, device, keys))
        except KeyFileError as exc:
            raise CommandError(str(exc)) from None
    return report


def do_ledger_check(args):
    try:
        with reading(args.file, "no ledger at %s" % args.file) as ledger:
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
    try:
        with reading(args.file, "no ledger at %s" % args.file) as ledger:
            copied = ledger.backup(args.dest)
    except LedgerDamaged as exc:
        raise CommandError("%s: no backup written; pull into a new ledger" % exc) from None
    except LedgerError as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        print(json.dumps({"ledger": args.file, "backup": args.dest, "records": copied}))
    else:
        print("backed up %d records from %s to %s (checked)" % (copied, args.file, args.dest))


def do_ledger_init(args):
    from host_tools.ledger.store import init_ledger

    found, now = init_ledger(args.file)
    what = "created" if found == 0 else ("up to date" if found == now else "migrated from schema %d" % found)
    if args.json:
        print(json.dumps({"ledger": shown_target(args.file), "schema_found": found, "schema": now}))
    else:
        print("ledger %s: schema %d, %s" % (shown_target(args.file), now, what))


class Conflicting(CommandError):
    """The two ledgers hold other bytes for one record: exit status 3, as records failing their MAC."""

    exit_status = 3


def do_ledger_sync(args):
    from host_tools.ledger.sync import sync

    if args.source == args.dest:
        raise CommandError("--from and --to name the same ledger %s" % args.source)
    with reading(args.source, "no ledger at %s" % args.source) as source:
        if not is_url(args.dest):
            from host_tools.ledger.store import check_target

            check_target(args.dest)
        with open_ledger(args.dest) as dest:
            result = sync(source, dest)
    if args.json:
        print(json.dumps(result.as_json()))
    else:
        print("synced %s into %s: %d logs, %d records read, %d copied, %d already there, %d links, %d pulls"
              % (result.source, result.dest, result.logs, result.records, result.copied, result.already,
                 result.links, result.pulls))
    for device, epoch, seq, why in result.refused[:20]:
        print("edgemeter: %s epoch %d seq %d in %s does not check out (%s): not copied"
              % (device, epoch, seq, result.source, why), file=sys.stderr)
    for device, epoch, seq in result.conflicts[:20]:
        print("edgemeter: %s epoch %d seq %d: %s holds other bytes than %s; it keeps its own"
              % (device, epoch, seq, result.dest, result.source), file=sys.stderr)
    if result.conflicts or result.refused:
        raise Conflicting("%d records conflict and %d do not check out: the evidence differs, find out why before "
                          "using either ledger's copy" % (len(result.conflicts), len(result.refused)))


def do_ledger(args):
    {"check": do_ledger_check, "backup": do_ledger_backup, "init": do_ledger_init,
     "sync": do_ledger_sync}[args.action](args)


def _ledger_parser(sub):
    p = sub.add_parser(
        "ledger",
        help="create, check, back up or sync a ledger (integrity, gaps, MAC chains)",
        epilog="examples: edgemeter ledger check field.sqlite\n"
        "          edgemeter ledger backup field.sqlite /media/usb/field-2026-12-01.sqlite\n"
        "          edgemeter ledger init postgresql://ops@db.example/fleet\n"
        "          edgemeter ledger sync --from field.sqlite --to postgresql://ops@db.example/fleet",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = add_actions(p)
    check = actions.add_parser(
        "check",
        help="integrity (SQLite), gaps per device and epoch, MAC chains; read-only",
        epilog="exit status: 0 all good; 1 the file is damaged; 3 records failed their MAC check",
    )
    check.add_argument("file", metavar="LEDGER", help=LEDGER_HELP)
    add_json(check)
    backup = actions.add_parser(
        "backup",
        help="copy the ledger to a new SQLite file (SQLite's online backup: safe while a pull writes; "
        "a PostgreSQL ledger's records by sync), checked",
    )
    backup.add_argument("file", metavar="LEDGER", help=LEDGER_HELP)
    backup.add_argument("dest", metavar="DEST", help="a new file for the copy")
    add_json(backup)
    init = actions.add_parser(
        "init",
        help="create a ledger, or migrate it to this edgemeter's schema (the one way a PostgreSQL ledger is made)",
    )
    init.add_argument("file", metavar="LEDGER", help=LEDGER_HELP)
    add_json(init)
    sync = actions.add_parser(
        "sync",
        help="copy every record one ledger holds and another lacks (idempotent; run again after a dropped connection)",
        epilog="exit status: 0 all copied; 1 a ledger could not be used; 3 records conflict (kept, not overwritten)",
    )
    sync.add_argument("--from", dest="source", required=True, metavar="LEDGER", help="the ledger to copy from: "
                      + LEDGER_HELP)
    sync.add_argument("--to", dest="dest", required=True, metavar="LEDGER", help="the ledger to copy into")
    add_json(sync)
    p.set_defaults(handler=do_ledger)


def register(subparsers):
    """Add pull, log, reconcile and ledger to `subparsers`."""
    _pull_parser(subparsers)
    _log_parser(subparsers)
    _reconcile_parser(subparsers)
    _ledger_parser(subparsers)
