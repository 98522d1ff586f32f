"""edgemeter fleet: every device a ledger holds, in one table (host_tools/ledger/fleet.py),
and the devices not pulled for N days. Read-only, on either engine."""

import datetime
import json
import time

from host_tools.cli.common import CommandError
from host_tools.cli.ledger_commands import LEDGER_HELP, reading

STALE_DAYS = 30  # a device visited less often than monthly is worth a call


def _days(text):
    if not text.isdigit() or int(text) < 1:
        raise CommandError("--days wants a whole number of days from 1, like 30, got %r" % text)
    return int(text)


def _now(args):
    if not args.today:
        return time.time()
    try:
        day = datetime.date.fromisoformat(args.today)
    except ValueError:
        raise CommandError("--today wants YYYY-MM-DD, got %r" % args.today) from None
    return datetime.datetime.combine(day, datetime.time(), datetime.timezone.utc).timestamp()


def do_fleet(args):
    from host_tools.device.keys import KeyFile, KeyFileError
    from host_tools.ledger.fleet import fleet_view

    days = _days(args.days)
    try:
        keys = KeyFile()
        with reading(args.ledger, "no ledger at %s" % args.ledger) as ledger:
            view = fleet_view(ledger, _now(args), days, keys)
    except KeyFileError as error:
        raise CommandError(str(error)) from None
    if args.json:
        print(json.dumps(view))
        return
    if not view["devices"]:
        print("no records in %s" % args.ledger)
        return
    header = ("device", "records", "first record", "last record", "last pull", "missing", "MAC failed")
    rows = [(d["device"], "%d" % d["records"], d["first_record"], d["last_record"], d["last_pull"] or "never",
             "%d" % d["missing"], "no key" if d["mac_failed"] is None else "%d" % d["mac_failed"])
            for d in view["devices"]]
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(cell.ljust(width) if i in (0, 2, 3, 4) else cell.rjust(width)
                        for i, (cell, width) in enumerate(zip(row, widths))).rstrip())
    print("%d devices, %d records" % (len(view["devices"]), view["records"]))
    if view["stale"]:
        print("not pulled for %d days: %s" % (days, ", ".join(
            "%s (%s)" % (s["device"], "never" if s["last_pull"] is None else "last " + s["last_pull"][:10])
            for s in view["stale"])))


def register(subparsers):
    p = subparsers.add_parser(
        "fleet",
        help="every device in a ledger: records, first and last, last pull, gaps, MAC failures, who was not pulled",
        epilog="example: edgemeter fleet --ledger postgresql://ops@db.example/fleet --days 14 --json",
    )
    p.add_argument("--ledger", required=True, help=LEDGER_HELP)
    p.add_argument("--days", default=str(STALE_DAYS), metavar="N",
                   help="list the devices not pulled for N days (default %d)" % STALE_DAYS)
    p.add_argument("--today", help="YYYY-MM-DD to count the days from (default now)")
    p.add_argument("--json", action="store_true", help="print one JSON object: devices, stale, records")
    p.set_defaults(handler=do_fleet)
