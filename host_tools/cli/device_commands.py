"""edgemeter subcommands that talk to a device: info, echo, plan, status, snooze,
balance, services, config, clock. Each is a `do_<name>(args)` handler and a
`_<name>_parser` that adds its parser with that handler; `register` adds them all
(host_tools/cli/program.py calls it)."""

import argparse
import asyncio
import json

from host_tools.cli.common import (
    CommandError,
    add_actions,
    add_json,
    add_link,
    bad_value,
    checked,
    device_state,
    link_of,
    reminder_status,
)
from protocol import money, settings
from protocol.units import MB

# --- info --------------------------------------------------------------------


async def _info(link):
    from smpclient.requests.os_management import (
        DateTimeRead,
        MCUMgrParametersRead,
        MemoryPoolStatisticsRead,
        OSApplicationInfoRead,
    )

    from host_tools.device.requests import LogStatus

    async with link.device() as device:
        fields = {}
        for letter in "snrvmpi":  # one field per request: some contain spaces
            fields[letter] = (await device.request(OSApplicationInfoRead(format=letter))).output
        params = await device.request(MCUMgrParametersRead())
        clock = await device.request(DateTimeRead())
        pools = await device.request(MemoryPoolStatisticsRead())
        log = await device.request(LogStatus())
        statistics = await _statistics(device)
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
        # None, or why the board runs in safe mode: metering and SMS stopped (docs/technician.md)
        "safe_mode": log.safe,
        "statistics": statistics,
    }


async def _statistics(device):
    """{group: {counter: value}} from the SMP statistics group; None from a firmware
    that does not serve it."""
    from smpclient.requests.statistics_management import GroupData, ListOfGroups

    from host_tools.device.session import DeviceRefused

    try:
        names = (await device.request(ListOfGroups())).stat_list
    except DeviceRefused:
        return None
    return {name: (await device.request(GroupData(name=name))).fields for name in names}


def _info_lines(info):
    """The info table: one line a fact, then one line for each group of counters."""
    shown = {key: value for key, value in info.items() if key not in ("statistics", "safe_mode")}
    safe = info["safe_mode"]
    shown["safe_mode"] = "no" if safe is None else (
        "YES: metering and SMS stopped after %d early crashes; last: %s at %s (edgemeter reset leaves it)"
        % (safe.get("crashes"), safe.get("crash"), safe.get("where") or "?"))
    statistics = info["statistics"]
    width = max(len(key) for key in list(shown) + ["statistics"])
    lines = ["%-*s  %s" % (width, key, value) for key, value in shown.items()]
    if statistics is None:
        return lines + ["%-*s  not served by this firmware" % (width, "statistics")]
    for number, (name, counters) in enumerate(statistics.items()):
        counted = " ".join("%s=%s" % item for item in counters.items())
        lines.append("%-*s  %s: %s" % (width, "statistics" if number == 0 else "", name, counted))
    return lines


def do_info(args):
    info = asyncio.run(_info(link_of(args)))
    if args.json:
        print(json.dumps(info))
    else:
        print("\n".join(_info_lines(info)))


def _info_parser(sub):
    p = sub.add_parser(
        "info",
        help="show what a device is: id, firmware, board, clock, and its counters",
        epilog="example: edgemeter info --port /dev/ttyUSB0 --json",
    )
    add_link(p)
    add_json(p)
    p.set_defaults(handler=do_info)


# --- echo --------------------------------------------------------------------


async def _echo(link, text):
    from smpclient.requests.os_management import EchoWrite

    async with link.device() as device:
        return (await device.request(EchoWrite(d=text))).r


def do_echo(args):
    print(asyncio.run(_echo(link_of(args), args.text)))


def _echo_parser(sub):
    p = sub.add_parser(
        "echo",
        help="check the link: the device sends TEXT back",
        epilog="example: edgemeter echo --port /dev/ttyACM0 '剩余10MB'",
    )
    add_link(p)
    p.add_argument("text")
    p.set_defaults(handler=do_echo)


# --- reset -------------------------------------------------------------------


async def reset_device(link, maintenance=False):
    """The signed SMP reset; `maintenance`: the next boot stays at the REPL (boot_mode 1)."""
    from smpclient.requests.os_management import ResetWrite

    async with link.device() as device:
        await device.request(ResetWrite(boot_mode=1) if maintenance else ResetWrite())


def do_reset(args):
    asyncio.run(reset_device(link_of(args), args.maintenance))
    if args.maintenance:
        print("reset: the device boots to the MicroPython REPL, firmware and watchdog not started, until the next reset")
    else:
        print("reset: the device restarts (a board in safe mode leaves it and boots normally)")


def _reset_parser(sub):
    p = sub.add_parser(
        "reset",
        help="restart the device (signed); a board in safe mode leaves it",
        epilog="example: edgemeter reset --port /dev/ttyUSB0",
    )
    add_link(p)
    p.add_argument("--maintenance", action="store_true",
                   help="boot to the MicroPython REPL without the firmware (and its watchdog), as deploy does first")
    p.set_defaults(handler=do_reset)


# --- plan and status ---------------------------------------------------------



async def _plan(link, request=None):
    from host_tools.device.requests import PlanRead

    return await device_state(link, request or PlanRead())


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
    for entry in state.get("thresholds") or ():
        print("reminder    %g MB left: %s" % (entry[0] / MB, reminder_status(entry)))
    data = "on" if state["data_on"] else "cut at 0 MB"
    print("data        %s%s" % (data, ", snoozed: runs past 0 MB this cycle" if state.get("snoozed") else ""))


def _utc(seconds):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# The plan write's fields (protocol/settings.py) and the options of `plan set` that give them.
PLAN_OPTIONS = {"quota": "--quota-mb", "cycle_day": "--cycle-day", "tz": "--tz-minutes", "at_zero": "--at-zero",
                "addon": "--addon-mb", "pack": "--pack-mb", "months": "--months", "subscriber": "--subscriber",
                "cc": "--cc", "thresholds": "--thresholds-mb", "texts": "--text"}


def _bytes_of_mb(text):
    """'100' or '0.5' MB as whole bytes; None if it is no number."""
    try:
        return int(float(text) * MB)
    except (ValueError, OverflowError):
        return None


def _plan_write(args):
    """What `plan set` writes, every value checked (protocol/settings.py) before the port is opened."""
    write = {}
    for field, typed in (("quota", args.quota_mb), ("addon", args.addon_mb), ("pack", args.pack_mb)):
        if typed is not None:
            write[field] = checked(field, _bytes_of_mb(typed), PLAN_OPTIONS[field], typed)
    plan = {}  # the plan's other settings, sent with a quota
    for field, typed in (("cycle_day", args.cycle_day), ("tz", args.tz_minutes), ("at_zero", args.at_zero)):
        if typed is not None:
            plan[field] = checked(field, typed, PLAN_OPTIONS[field], typed)
    months = checked("months", args.months, "--months", args.months)
    if "pack" in write:
        write["months"] = months
    if args.subscriber:
        write["subscriber"] = checked("subscriber", args.subscriber, "--subscriber", args.subscriber)
    if args.cc is not None:
        numbers = [number for number in args.cc if number]
        for number in numbers:
            checked("cc", [number], "--cc", number)
        write["cc"] = checked("cc", numbers, "--cc", " --cc ".join(args.cc))
    if args.thresholds_mb:
        amounts = [_bytes_of_mb(mb) for mb in args.thresholds_mb.split(",")]
        if None in amounts:
            raise bad_value("--thresholds-mb", args.thresholds_mb, "must be MB amounts separated by commas, e.g. 20,10,5,0")
        write["thresholds"] = checked("thresholds", amounts, "--thresholds-mb", args.thresholds_mb)
    if args.text:
        in_use = {"thresholds": write["thresholds"]} if "thresholds" in write else None  # else the device checks
        write["texts"] = {}
        for pair in args.text:
            mb, equals, text = pair.partition("=")
            threshold = _bytes_of_mb(mb)
            if not equals or threshold is None:
                raise bad_value("--text", pair, "must be MB=TEXT, e.g. --text '10=还剩{mb}MB'")
            write["texts"].update(checked("texts", {threshold: text}, "--text", pair, in_use))
    if not write:
        raise CommandError("plan set needs --quota-mb, --addon-mb, --pack-mb, --subscriber, --cc, --thresholds-mb or --text")
    if "quota" in write:
        if len(plan) < len(settings.PLAN_DEFAULTS):
            current = asyncio.run(_plan(link_of(args))).get("plan") or settings.PLAN_DEFAULTS
            # A new quota keeps the plan's other settings unless they are given.
            plan = {key: plan.get(key, current[key]) for key in settings.PLAN_DEFAULTS}
        write.update(plan)
    return write


def do_plan(args):
    from host_tools.device.requests import PlanWrite

    write = _plan_write(args) if args.action == "set" else None
    _print_plan(asyncio.run(_plan(link_of(args), PlanWrite(**write) if write else None)), args.json)


def _plan_parser(sub):
    p = sub.add_parser(
        "plan",
        help="read or set the data plan the device meters against",
        epilog="examples: edgemeter plan get --port /dev/ttyUSB0\n"
        "          edgemeter plan set --port /dev/ttyUSB0 --quota-mb 100 --cycle-day 1 --at-zero cut",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = add_actions(p)
    get = actions.add_parser("get", help="the plan, used, remaining and the reminders (as status)")
    add_link(get)
    add_json(get)
    put = actions.add_parser(
        "set",
        help="set the quota, cycle, reminders and their numbers; record an add-on or pack bought",
        epilog="example: edgemeter plan set --port /dev/ttyUSB0 --quota-mb 100 --thresholds-mb 20,10,5,0",
    )
    add_link(put)
    put.add_argument("--quota-mb", help="monthly quota in MB (1 MB = 1,048,576 bytes)")
    put.add_argument("--cycle-day", type=int, help="day of the month the quota renews (default: as now, else %d)" % settings.PLAN_DEFAULTS["cycle_day"])
    put.add_argument("--tz-minutes", type=int, help="plan time zone, minutes east of UTC (default: as now, else %d: +%02d:%02d)" % (
        settings.PLAN_DEFAULTS["tz"], settings.PLAN_DEFAULTS["tz"] // 60, settings.PLAN_DEFAULTS["tz"] % 60))
    put.add_argument("--at-zero", choices=("cut", "warn"), help="cut data at 0 MB, or only warn (default: as now, else %s)" % settings.PLAN_DEFAULTS["at_zero"])
    put.add_argument("--addon-mb", help="record an add-on pack bought now (valid this cycle)")
    put.add_argument("--pack-mb", help="record a multi-month pack bought now")
    put.add_argument("--months", type=int, default=3, help="cycles the --pack-mb pack lasts (default 3: quarterly)")
    put.add_argument("--subscriber", help="the number reminders are sent to")
    put.add_argument("--cc", action="append", metavar="NUMBER",
                     help="another number that gets every reminder (repeatable, at most 4; --cc '' clears)")
    put.add_argument("--thresholds-mb", help="reminders at these MB left, e.g. 20,10,5,0 (default 10,5,0)")
    put.add_argument("--text", action="append", metavar="MB=TEXT",
                     help="one's own reminder text for a threshold; {mb} is the MB left (repeatable)")
    add_json(put)
    p.set_defaults(handler=do_plan)


def do_status(args):
    _print_plan(asyncio.run(_plan(link_of(args))), args.json)


def _status_parser(sub):
    p = sub.add_parser(
        "status",
        help="plan, used, remaining, overage, reminders, data on/off",
        epilog="example: edgemeter status --port /dev/ttyUSB0 --json",
    )
    add_link(p)
    add_json(p)
    p.set_defaults(handler=do_status)


def _low_fen(text):
    """--low-yuan '10' or '9.50' as integer fen, exactly (no float), checked as the device's low_fen."""
    try:
        fen = money.fen_of_yuan(text)
    except ValueError:
        raise bad_value("--low-yuan", text, "must be an amount like 10 or 9.50") from None
    return checked("low_fen", fen, "--low-yuan", text)


def do_balance(args):
    from host_tools.device.requests import BalanceRead, BalanceWrite

    request = BalanceWrite(low_fen=_low_fen(args.low_yuan)) if args.low_yuan else BalanceRead()
    state = asyncio.run(device_state(link_of(args), request))
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
    add_link(p)
    p.add_argument("--low-yuan", help="remind when the balance falls to this amount")
    add_json(p)
    p.set_defaults(handler=do_balance)


async def _services(link, numbers, wait_s):
    """Ask 10086 through the device ("0000", or a cancel) and wait for its answer."""
    from host_tools.device.requests import ServicesRead, ServicesWrite

    dump = {"exclude": {"header", "version", "sequence", "smp_data"}}
    async with link.device() as device:
        before = (await device.request(ServicesRead())).model_dump(**dump)
        names = {}
        if numbers:
            items = (before.get("listed") or {}).get("items") or []
            names = {number: name for number, name, _price in items}
            unknown = [n for n in numbers if n not in names]
            if unknown:
                raise CommandError("no item %s in the last 0000 list: run edgemeter services list first" % unknown)
        await device.request(ServicesWrite(cancel=numbers) if numbers else ServicesWrite(query=True))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while loop.time() < deadline:
            await asyncio.sleep(0.5)
            now = (await device.request(ServicesRead())).model_dump(**dump)
            if numbers and all(now["services"].get(names[n], {}).get("cancelled") for n in numbers):
                return now
            if not numbers and now.get("listed") and now["listed"] != before.get("listed"):
                return now
    raise CommandError("10086 has not answered within %g s: is the line registered? try again later, "
                       "or wait longer with --wait" % wait_s)


def do_services(args):
    numbers = args.numbers if args.action == "cancel" else None
    state = asyncio.run(_services(link_of(args), numbers, args.wait))
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
        epilog="examples: edgemeter services list --port /dev/ttyUSB0\n"
        "          edgemeter services cancel --port /dev/ttyUSB0 1 3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = add_actions(p)
    listing = actions.add_parser("list", help='ask 10086 for the list ("0000") and print it')
    cancel = actions.add_parser("cancel", help="cancel these items of the last list")
    cancel.add_argument("numbers", nargs="+", type=int, metavar="N", help="item numbers of the last list")
    for action in (listing, cancel):
        add_link(action)
        action.add_argument("--wait", type=float, default=60.0, metavar="S",
                            help="seconds to wait for 10086's answer by SMS (default 60)")
        add_json(action)
    p.set_defaults(handler=do_services)


def _sms_words(text):
    """'CXLL=data,YE=balance' as the device's sms_words map, checked as the device would."""
    pairs = [pair.strip().partition("=") for pair in text.split(",")]
    if not all(equals for _word, equals, _what in pairs):
        raise bad_value("sms_words", text, "must be WORD=data or WORD=balance, comma separated")
    words = {word: what for word, _equals, what in pairs}
    return checked("sms_words", words if len(words) == len(pairs) else None, "sms_words", text)


CONFIG_SETTINGS = {"sms_words": _sms_words}


def do_config(args):
    from host_tools.device.requests import ConfigRead, ConfigWrite

    if args.action == "set":
        request = ConfigWrite(**{args.key: CONFIG_SETTINGS[args.key](args.value)})
    else:
        request = ConfigRead()
    state = asyncio.run(device_state(link_of(args), request))
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
    actions = add_actions(p)
    get = actions.add_parser("get", help="the device's settings, or one of them")
    get.add_argument("key", nargs="?", metavar="KEY", help="one setting's name (default: all)")
    put = actions.add_parser("set", help="change one setting")
    put.add_argument("key", choices=sorted(CONFIG_SETTINGS), metavar="KEY", help="setting name: %s" % ", ".join(CONFIG_SETTINGS))
    put.add_argument("value", metavar="VALUE", help="its new value, e.g. CXLL=data,CXYE=balance")
    for action in (get, put):
        add_link(action)
        add_json(action)
    p.set_defaults(handler=do_config)


def do_snooze(args):
    from host_tools.device.requests import Snooze

    _print_plan(asyncio.run(_plan(link_of(args), Snooze(on=not args.cancel))), args.json)


def _snooze_parser(sub):
    p = sub.add_parser(
        "snooze",
        help="let data run past 0 MB for the rest of this cycle (out-of-plan charges apply)",
        epilog="examples: edgemeter snooze --port /dev/ttyUSB0\n"
        "          edgemeter snooze --port /dev/ttyUSB0 --cancel   # cut at 0 MB again",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_link(p)
    p.add_argument("--cancel", action="store_true", help="stop snoozing: cut data at 0 MB again")
    add_json(p)
    p.set_defaults(handler=do_snooze)


# --- clock ---------------------------------------------------------------------


def do_clock(args):
    """Read the device's clock, or set it (from the laptop's by default): cycles and reminders run on it."""
    import datetime

    from smpclient.requests.os_management import DateTimeRead, DateTimeWrite

    if args.action == "set":
        if args.to:
            try:
                moment = datetime.datetime.fromisoformat(args.to)
            except ValueError:
                raise CommandError("--to wants an ISO date-time like 2026-12-01T08:00:00+08:00, got %r" % args.to) from None
            if moment.tzinfo is None:
                raise CommandError("--to needs its time zone, e.g. +08:00 or Z")
        else:
            moment = datetime.datetime.now(datetime.timezone.utc)
        stamp = moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        asyncio.run(device_state(link_of(args), DateTimeWrite(datetime=stamp)))
    state = asyncio.run(device_state(link_of(args), DateTimeRead()))
    if args.json:
        print(json.dumps({"datetime": state["datetime"]}))
    else:
        print("device clock %s" % state["datetime"])


def _clock_parser(sub):
    p = sub.add_parser(
        "clock",
        help="read the device's clock, or set it (billing cycles and reminders run on it)",
        epilog="examples: edgemeter clock get --port /dev/ttyUSB0\n"
        "          edgemeter clock set --port /dev/ttyUSB0                 # from this laptop's clock\n"
        "          edgemeter clock set --port /dev/ttyUSB0 --to 2026-12-01T08:00:00+08:00",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = add_actions(p)
    get = actions.add_parser("get", help="the device's clock (UTC)")
    put = actions.add_parser("set", help="set it from this laptop's clock, or to --to")
    put.add_argument("--to", help="this ISO 8601 time with its zone (default: now, from this laptop)")
    for action in (get, put):
        add_link(action)
        add_json(action)
    p.set_defaults(handler=do_clock)


# --- provision ---------------------------------------------------------------


async def provision_link(link):
    """Provision the device on `link` (host_tools/device/provisioning.py); its id."""
    from host_tools.device.provisioning import provision

    async with link.device() as device:
        return await provision(device)


def do_provision(args):
    from host_tools.device.keys import KeyFile

    device = asyncio.run(provision_link(link_of(args)))
    print("%s: provisioned; its key is in %s" % (device, KeyFile().path))


def _provision_parser(sub):
    p = sub.add_parser(
        "provision",
        help="give a device without a key its key: the one the key file holds for it, or a new one",
        epilog="A device takes a key once, at installation (edgemeter deploy does this). One whose\n"
        "state was lost (damaged or reformatted) has none again: this gives it back the key the\n"
        "key file holds for it, so its records are signed with it again.\n"
        "example: edgemeter provision --port /dev/ttyUSB0",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_link(p)
    p.set_defaults(handler=do_provision)


def register(subparsers):
    """Add info, echo, reset, plan, status, snooze, balance, services, config, clock and provision to `subparsers`."""
    _info_parser(subparsers)
    _echo_parser(subparsers)
    _reset_parser(subparsers)
    _plan_parser(subparsers)
    _status_parser(subparsers)
    _snooze_parser(subparsers)
    _balance_parser(subparsers)
    _services_parser(subparsers)
    _config_parser(subparsers)
    _clock_parser(subparsers)
    _provision_parser(subparsers)
