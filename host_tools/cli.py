"""The `edgemeter` command: one subcommand per job a technician does.

Each subcommand is a `do_<name>(args)` handler plus an argparse factory in
`COMMANDS`. Handlers raise `CommandError` (or `DeviceError`) with one line for the
user; `main` prints it as `edgemeter: <message>` and exits 1. Ctrl-C exits 130
with one line, never a traceback.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time

from host_tools import __version__
from host_tools.device import Device, DeviceError
from host_tools.ledger import LedgerError
from protocol import money

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    pass


def _add_port(parser):
    parser.add_argument(
        "--port",
        default=os.environ.get("EDGEMETER_PORT"),
        help="serial device path or pyserial URL (default: $EDGEMETER_PORT)",
    )


def _add_json(parser):
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _port(args):
    if not args.port:
        raise CommandError("no port given: pass --port PORT or set EDGEMETER_PORT")
    return args.port


# --- info --------------------------------------------------------------------


async def _info(port):
    from smpclient.requests.os_management import (
        DateTimeRead,
        MCUMgrParametersRead,
        MemoryPoolStatisticsRead,
        OSApplicationInfoRead,
    )

    async with Device(port) as device:
        fields = {}
        for letter in "snrvmpi":  # one field per request: some contain spaces
            fields[letter] = (await device.request(OSApplicationInfoRead(format=letter))).output
        params = await device.request(MCUMgrParametersRead())
        clock = await device.request(DateTimeRead())
        pools = await device.request(MemoryPoolStatisticsRead())
    heap = pools.model_extra.get("heap", {})
    return {
        "device": fields["n"],
        "firmware": fields["v"],
        "runtime": "%s %s" % (fields["s"], fields["r"]),
        "board": fields["i"],
        "mcu": fields["p"],
        "machine": fields["m"],
        "datetime": clock.datetime,
        "smp_buf_size": params.buf_size,
        "heap_bytes": heap.get("nblks", 0) * heap.get("blksize", 0),
        "heap_free_bytes": heap.get("nfree", 0) * heap.get("blksize", 0),
    }


def do_info(args):
    info = asyncio.run(_info(_port(args)))
    if args.json:
        print(json.dumps(info))
    else:
        width = max(len(k) for k in info)
        for key, value in info.items():
            print("%-*s  %s" % (width, key, value))


def _info_parser(sub):
    p = sub.add_parser(
        "info",
        help="show what a device is: id, firmware, board, clock",
        epilog="example: edgemeter info --port /dev/ttyUSB0 --json",
    )
    _add_port(p)
    _add_json(p)
    return p


# --- echo --------------------------------------------------------------------


async def _echo(port, text):
    from smpclient.requests.os_management import EchoWrite

    async with Device(port) as device:
        return (await device.request(EchoWrite(d=text))).r


def do_echo(args):
    print(asyncio.run(_echo(_port(args), args.text)))


def _echo_parser(sub):
    p = sub.add_parser(
        "echo",
        help="check the link: the device sends TEXT back",
        epilog="example: edgemeter echo --port /dev/ttyACM0 '剩余10MB'",
    )
    _add_port(p)
    p.add_argument("text")
    return p


# --- pull --------------------------------------------------------------------


def do_pull(args):
    from host_tools.pull import pull

    def device(port):
        return Device(port, framing=args.framing)

    result = asyncio.run(pull(_port(args), args.ledger, device))
    if args.json:
        print(json.dumps(result.as_json()))
    else:
        rate = result.pulled / result.seconds if result.seconds else 0.0
        print(
            "%s epoch %d: pulled %d records (%d new, %d already in the ledger) up to seq %d, %.0f records/s"
            % (result.device, result.epoch, result.pulled, result.new, result.duplicates, result.head_seq, rate)
        )


def _pull_parser(sub):
    p = sub.add_parser(
        "pull",
        help="copy the records a device has not had acknowledged into a ledger",
        epilog="example: edgemeter pull --port /dev/ttyUSB0 --ledger field.sqlite --json",
    )
    _add_port(p)
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


def do_log(args):
    from host_tools.ledger import Ledger, LedgerError

    if not os.path.exists(args.ledger):
        raise CommandError("no ledger at %s: pull records first with edgemeter pull" % args.ledger)
    try:
        with Ledger(args.ledger, create=False) as ledger:
            _print_log(ledger, args)
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


# --- plan and status ---------------------------------------------------------

MB = 1048576


async def _plan(port, request=None):
    from host_tools.metering_requests import PlanRead

    async with Device(port) as device:
        response = await device.request(request or PlanRead())
    return response.model_dump(exclude={"header", "version", "sequence", "smp_data"})


_THRESHOLD_STATES = ("armed", "reached, reminder pending", "reminder sent")


def _print_plan(state, as_json):
    if as_json:
        print(json.dumps(state))
        return
    plan = state.get("plan")
    print("subscriber  %s" % (state.get("subscriber") or "-"))
    if state.get("cc"):
        print("cc          %s" % ", ".join(state["cc"]))
    if not plan:
        print("plan        none set (edgemeter plan set --quota-mb N ...)")
        print("metered     %.2f MB in all" % (state["total"] / MB))
        return
    print("plan        %.0f MB a cycle from day %d, UTC%+03d:%02d, at zero: %s" % (
        plan["quota"] / MB, plan["cycle_day"], plan["tz"] // 60, abs(plan["tz"]) % 60, plan["at_zero"]))
    print("cycle       %s .. %s" % (_utc(state["cycle_start"]), _utc(state["cycle_end"])))
    print("quota       %.2f MB (add-ons and multi-month packs included)" % (state["quota"] / MB))
    print("used        %.2f MB" % (state["used"] / MB))
    print("remaining   %.2f MB" % (state["remaining"] / MB))
    if state.get("overage"):
        print("overage     %.2f MB past the quota (out-of-plan)" % (state["overage"] / MB))
    for threshold, status in state.get("thresholds") or ():
        print("reminder    %g MB left: %s" % (threshold / MB, _THRESHOLD_STATES[status]))
    data = "on" if state["data_on"] else "cut at 0 MB"
    print("data        %s%s" % (data, ", snoozed: runs past 0 MB this cycle" if state.get("snoozed") else ""))


def _utc(seconds):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def do_plan(args):
    from host_tools.metering_requests import PlanWrite

    write = {}
    if args.action == "set":
        if args.quota_mb is not None:
            write.update(quota=int(args.quota_mb * MB), cycle_day=args.cycle_day, tz=args.tz_minutes, at_zero=args.at_zero)
        if args.addon_mb is not None:
            write["addon"] = int(args.addon_mb * MB)
        if args.pack_mb is not None:
            write.update(pack=int(args.pack_mb * MB), months=args.months)
        if args.subscriber:
            write["subscriber"] = args.subscriber
        if args.cc is not None:
            write["cc"] = [number for number in args.cc if number]
        if args.thresholds_mb:
            write["thresholds"] = [int(float(mb) * MB) for mb in args.thresholds_mb.split(",")]
        if args.text:
            write["texts"] = _reminder_texts(args.text)
        if not write:
            raise CommandError("plan set needs --quota-mb, --addon-mb, --pack-mb, --subscriber, --cc, --thresholds-mb or --text")
    _print_plan(asyncio.run(_plan(_port(args), PlanWrite(**write) if write else None)), args.json)


def _reminder_texts(pairs):
    texts = {}
    for pair in pairs:
        mb, sep, text = pair.partition("=")
        try:
            texts[int(float(mb) * MB)] = text
        except ValueError:
            sep = ""
        if not sep or not text:
            raise CommandError("--text wants MB=TEXT, e.g. --text '10=还剩{mb}MB', got %r" % pair)
    return texts


def _plan_parser(sub):
    p = sub.add_parser(
        "plan",
        help="read or set the data plan the device meters against",
        epilog="examples: edgemeter plan get --port /dev/ttyUSB0\n"
        "          edgemeter plan set --port /dev/ttyUSB0 --quota-mb 100 --cycle-day 1 --at-zero cut",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=("get", "set"))
    _add_port(p)
    p.add_argument("--quota-mb", type=float, help="monthly quota in MB (1 MB = 1,048,576 bytes)")
    p.add_argument("--cycle-day", type=int, default=1, help="day of the month the quota renews (default 1)")
    p.add_argument("--tz-minutes", type=int, default=480, help="plan time zone, minutes east of UTC (default 480: +08:00)")
    p.add_argument("--at-zero", choices=("cut", "warn"), default="cut", help="cut data at 0 MB, or only warn")
    p.add_argument("--addon-mb", type=float, help="record an add-on pack bought now (valid this cycle)")
    p.add_argument("--pack-mb", type=float, help="record a multi-month pack bought now")
    p.add_argument("--months", type=int, default=3, help="cycles the --pack-mb pack lasts (default 3: quarterly)")
    p.add_argument("--subscriber", help="the number reminders are sent to")
    p.add_argument("--cc", action="append", metavar="NUMBER",
                   help="another number that gets every reminder (repeatable, at most 4; --cc '' clears)")
    p.add_argument("--thresholds-mb", help="reminders at these MB left, e.g. 20,10,5,0 (default 10,5,0)")
    p.add_argument("--text", action="append", metavar="MB=TEXT",
                   help="one's own reminder text for a threshold; {mb} is the MB left (repeatable)")
    _add_json(p)
    return p


def do_status(args):
    _print_plan(asyncio.run(_plan(_port(args))), args.json)


def _status_parser(sub):
    p = sub.add_parser(
        "status",
        help="plan, used, remaining, overage, reminders, data on/off",
        epilog="example: edgemeter status --port /dev/ttyUSB0 --json",
    )
    _add_port(p)
    _add_json(p)
    return p


def _fen_of_yuan(text):
    """'10' or '9.50' yuan as integer fen, exactly (no float)."""
    try:
        fen = money.fen_of_yuan(text)
    except ValueError:
        fen = -1
    if fen < 0:
        raise CommandError("--low-yuan wants an amount like 10 or 9.50, got %r" % text)
    return fen


def do_balance(args):
    from host_tools.metering_requests import BalanceRead, BalanceWrite

    request = BalanceWrite(low_fen=_fen_of_yuan(args.low_yuan)) if args.low_yuan else BalanceRead()
    state = asyncio.run(_plan(_port(args), request))
    if args.json:
        print(json.dumps(state))
        return
    fen = state.get("fen")
    print("balance     %s" % ("%d.%02d yuan" % divmod(fen, 100) if fen is not None else "not heard yet"))
    print("expires     %s" % (state.get("expires") or "-"))
    print("remind at   %d.%02d yuan%s" % (*divmod(state["low_fen"], 100), " (reminder sent)" if state["low_sent"] else ""))
    bill = state.get("bill")
    if bill:
        print("bill        month %d: %d.%02d yuan, %d.%02d unpaid, due %s%s" % (
            bill["month"], *divmod(bill["fen"], 100), *divmod(bill["unpaid"], 100), bill["due"],
            " (reminder sent)" if bill["sent"] else ""))


def _balance_parser(sub):
    p = sub.add_parser(
        "balance",
        help="the prepaid balance as the device last heard it from 10086; the low-balance threshold",
        epilog="examples: edgemeter balance --port /dev/ttyUSB0\n"
        "          edgemeter balance --port /dev/ttyUSB0 --low-yuan 10",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_port(p)
    p.add_argument("--low-yuan", help="remind when the balance falls to this amount")
    _add_json(p)
    return p


async def _services(port, numbers, timeout_s):
    """Ask 10086 through the device ("0000", or a cancel) and wait for its answer."""
    from host_tools.metering_requests import ServicesRead, ServicesWrite

    dump = {"exclude": {"header", "version", "sequence", "smp_data"}}
    async with Device(port) as device:
        before = (await device.request(ServicesRead())).model_dump(**dump)
        names = {}
        if numbers:
            items = (before.get("listed") or {}).get("items") or []
            names = {number: name for number, name, _price in items}
            unknown = [n for n in numbers if n not in names]
            if unknown:
                raise CommandError("no item %s in the last 0000 list: run edgemeter services first" % unknown)
        await device.request(ServicesWrite(cancel=numbers) if numbers else ServicesWrite(query=True))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            await asyncio.sleep(0.5)
            now = (await device.request(ServicesRead())).model_dump(**dump)
            if numbers and all(now["services"].get(names[n], {}).get("cancelled") for n in numbers):
                return now
            if not numbers and now.get("listed") and now["listed"] != before.get("listed"):
                return now
    raise CommandError("10086 has not answered within %g s: is the line registered? try again later" % timeout_s)


def do_services(args):
    numbers = args.numbers if args.action == "cancel" else None
    if args.action == "cancel" and not numbers:
        raise CommandError("services cancel needs the item numbers of the 0000 list, e.g. services cancel 1 3")
    state = asyncio.run(_services(_port(args), numbers, args.timeout))
    if args.json:
        print(json.dumps(state, ensure_ascii=False))
        return
    if numbers:
        for n in numbers:
            print("cancelled   %s" % dict((i[0], i[1]) for i in state["listed"]["items"])[n])
        return
    items = state["listed"]["items"]
    if not items:
        print("no monthly services")
    for number, name, price in items:
        print("%2d. %s  %s" % (number, name, "%d.%02d yuan/month" % divmod(price, 100) if price is not None else "-"))


def _services_parser(sub):
    p = sub.add_parser(
        "services",
        help='the monthly services 10086 lists for "0000", through the device; cancel some',
        epilog="examples: edgemeter services --port /dev/ttyUSB0\n"
        "          edgemeter services cancel --port /dev/ttyUSB0 1 3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", nargs="?", choices=("list", "cancel"), default="list")
    p.add_argument("numbers", nargs="*", type=int, help="item numbers of the last list to cancel")
    _add_port(p)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for 10086's answer (default 60)")
    _add_json(p)
    return p


def _sms_words(text):
    """'CXLL=data,YE=balance' as the device's sms_words map."""
    words = {}
    for pair in text.split(","):
        word, equals, what = pair.strip().partition("=")
        if not equals or not word or what not in ("data", "balance"):
            raise CommandError("sms_words wants WORD=data or WORD=balance, comma separated, got %r" % pair)
        words[word] = what
    return words


CONFIG_SETTINGS = {"sms_words": _sms_words}


def do_config(args):
    from host_tools.metering_requests import ConfigRead, ConfigWrite

    if args.action == "set":
        if args.key not in CONFIG_SETTINGS or args.value is None:
            raise CommandError("config set wants one of %s and a value" % ", ".join(CONFIG_SETTINGS))
        request = ConfigWrite(**{args.key: CONFIG_SETTINGS[args.key](args.value)})
    else:
        request = ConfigRead()
    state = asyncio.run(_plan(_port(args), request))
    if args.key and args.key not in state:
        raise CommandError("no setting %r; the device has %s" % (args.key, ", ".join(sorted(state))))
    shown = {args.key: state[args.key]} if args.key else state
    if args.json:
        print(json.dumps(shown, ensure_ascii=False))
        return
    for key, value in sorted(shown.items()):
        if key == "sms_words":
            value = ",".join("%s=%s" % pair for pair in sorted(value.items()))
        print("%-11s %s" % (key, value))


def _config_parser(sub):
    p = sub.add_parser(
        "config",
        help="read or change device settings (sms_words: what the subscriber may text the device)",
        epilog="examples: edgemeter config get --port /dev/ttyUSB0\n"
        "          edgemeter config set --port /dev/ttyUSB0 sms_words CXLL=data,CXYE=balance,LL=data",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=("get", "set"))
    p.add_argument("key", nargs="?", help="setting name: %s" % ", ".join(CONFIG_SETTINGS))
    p.add_argument("value", nargs="?", help="new value (set)")
    _add_port(p)
    _add_json(p)
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
    from host_tools.ledger import Ledger

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
        with Ledger(args.ledger, create=False) as ledger:
            device = _ledger_device(ledger, args.device)
            evidence = DeviceEvidence(ledger.records(device=device))
        report = reconcile.reconcile(args.bill, evidence, args.account, today, agreement, _tolerances(args.tolerance))
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
    _add_json(p)
    return p


def do_snooze(args):
    from host_tools.metering_requests import Snooze

    _print_plan(asyncio.run(_plan(_port(args), Snooze(on=not args.cancel))), args.json)


def _snooze_parser(sub):
    p = sub.add_parser(
        "snooze",
        help="let data run past 0 MB for the rest of this cycle (out-of-plan charges apply)",
        epilog="examples: edgemeter snooze --port /dev/ttyUSB0\n"
        "          edgemeter snooze --port /dev/ttyUSB0 --cancel   # cut at 0 MB again",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_port(p)
    p.add_argument("--cancel", action="store_true", help="stop snoozing: cut data at 0 MB again")
    _add_json(p)
    return p


# --- emulate -----------------------------------------------------------------


def _parse_start(text):
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError("--start %r is not an ISO date-time like 2026-12-01T08:00:00+08:00" % text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def _emulated_bill(args):
    import re

    from host_tools.emulator.bill_writer import BillWriter
    from host_tools.emulator.scenario import ScenarioError

    if not args.month or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.month):
        raise CommandError("emulate bill wants --month YYYY-MM, got %r" % args.month)
    try:
        writer = BillWriter(args.state)
    except ScenarioError as error:
        raise CommandError("%s: no emulated board ran there? (%s)" % (args.state, error)) from None
    if args.agreement:
        with open(args.agreement, "w", encoding="utf-8") as f:
            json.dump(writer.agreement(), f, ensure_ascii=False, indent=1)
    sys.stdout.write(writer.carrier_export(args.month) if args.format == "carrier" else writer.english_csv(args.month))


def do_emulate(args):
    if args.action == "bill":
        return _emulated_bill(args)
    from host_tools.emulator.board_runner import BoardRunner

    if args.speed <= 0:
        raise CommandError("--speed must be positive")
    start_ms = _parse_start(args.start) if args.start else None
    from host_tools.emulator.scenario import ScenarioError

    try:
        runner = BoardRunner(
            args.state,
            speed=args.speed,
            start_ms=start_ms,
            power_on_delay_s=args.power_on_delay,
            paced=args.paced,
            scenario=args.scenario,
        )
    except ScenarioError as exc:
        raise CommandError(str(exc)) from None

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        runner.start()
        print("serial: %s" % runner.link.host_path, flush=True)
        print("state: %s" % runner.state_dir, flush=True)
        print("speed: %gx; SIGKILL of the pid in firmware.pid is a power cut; Ctrl-C stops" % args.speed, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
        print("emulator stopped after %d boot(s)" % runner.boots, flush=True)


def _emulate_parser(sub):
    p = sub.add_parser(
        "emulate",
        help="run the firmware on the emulated board (MicroPython unix port); print its carrier's bill",
        epilog="examples: edgemeter emulate --state /tmp/board1 --speed 60 --scenario month.json\n"
        "          edgemeter emulate bill --state /tmp/board1 --month 2026-11 --agreement contract.json > bill.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", nargs="?", choices=("run", "bill"), default="run",
                   help="run the board (default), or print the simulated carrier's itemised bill for --month")
    p.add_argument("--state", required=True, help="directory for the board's flash image and files")
    p.add_argument("--speed", type=float, default=1.0, help="simulated time runs N times faster (default 1)")
    p.add_argument("--start", help="simulated start time, ISO 8601 (default: now)")
    p.add_argument("--scenario", help="JSON scenario: plan, traffic, faults (docs/scenario.md); default: 100 MB, 2 Mbit/s")
    p.add_argument("--paced", action="store_true", help="pace the host link like the board's real UART (115200 8N1)")
    p.add_argument(
        "--power-on-delay", type=float, default=1.0, help="seconds before power returns after a cut (default 1)"
    )
    p.add_argument("--month", help="bill: the month, YYYY-MM")
    p.add_argument("--format", choices=("carrier", "csv"), default="carrier",
                   help="bill: the carrier's export with Chinese headers (default) or our English CSV")
    p.add_argument("--agreement", help="bill: also write the agreed tariffs as JSON for edgemeter reconcile")
    return p


COMMANDS = {
    "info": (do_info, _info_parser),
    "echo": (do_echo, _echo_parser),
    "pull": (do_pull, _pull_parser),
    "plan": (do_plan, _plan_parser),
    "status": (do_status, _status_parser),
    "snooze": (do_snooze, _snooze_parser),
    "balance": (do_balance, _balance_parser),
    "services": (do_services, _services_parser),
    "config": (do_config, _config_parser),
    "log": (do_log, _log_parser),
    "reconcile": (do_reconcile, _reconcile_parser),
    "emulate": (do_emulate, _emulate_parser),
}


def build_parser():
    parser = argparse.ArgumentParser(prog="edgemeter", description="Meter mobile data at the subscriber's edge.")
    parser.add_argument("--version", action="version", version="edgemeter " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (_handler, factory) in COMMANDS.items():
        factory(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    # Item numbers may follow options ("services cancel --port P 1 3"), which
    # argparse alone does not take after its positionals are done.
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "numbers", None) is not None and all(w.isdigit() for w in extra):
        args.numbers = args.numbers + [int(w) for w in extra]
    elif extra:
        parser.error("unrecognized arguments: %s" % " ".join(extra))
    # smpclient logs every timeout at ERROR; the CLI reports failures itself, once.
    logging.getLogger("smpclient").setLevel(logging.CRITICAL)
    logging.getLogger("smp").setLevel(logging.CRITICAL)
    handler = COMMANDS[args.command][0]
    try:
        handler(args)
    except (CommandError, DeviceError, LedgerError) as exc:
        print("edgemeter: %s" % exc, file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("edgemeter: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
