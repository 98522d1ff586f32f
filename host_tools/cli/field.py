"""edgemeter subcommands for the technician at the board: ports, monitor, completion.

- `ports`: the serial ports pyserial sees, with what is likely on each (a board
  running MicroPython, a USB-serial bridge, the LTE modem's own USB port), and
  the serial links of the emulators running, marked "emulated board";
- `monitor`: a live view of one device, redrawn in place on a terminal (one
  block per refresh when piped, one JSON object per refresh with --json);
- `completion`: a bash (and zsh, through bashcompinit) completion script made
  from the parser itself, so it never falls behind the commands.
"""

import argparse
import asyncio
import json
import sys
import time

from host_tools.cli.common import CommandError, add_json, add_link, link_of, reminder_status, subcommands
from host_tools.ledger.store import named_fields
from protocol import record_names, records
from protocol.units import MB

# USB vendor:product ids a technician meets, and what they are.
KNOWN_USB = {
    (0x303A, None): "Espressif ESP32-S2/S3 native USB (MicroPython board)",
    (0x2E8A, 0x0005): "Raspberry Pi RP2040 (MicroPython board)",
    (0x10C4, 0xEA60): "CP210x USB-serial bridge (a board's UART)",
    (0x1A86, 0x7523): "CH340 USB-serial bridge (a board's UART)",
    (0x1A86, 0x55D4): "CH9102 USB-serial bridge (a board's UART)",
    (0x0403, 0x6001): "FTDI USB-serial bridge",
    (0x1E0E, 0x9001): "SIMCom SIM7600 modem's own USB: not the board's link",
    (0x2C7C, 0x0125): "Quectel EC25 modem's own USB: not the board's link",
    (0x2C7C, 0x0700): "Quectel BG95 modem's own USB: not the board's link",
}


def port_kind(vid, pid):
    """What a USB serial port with these ids probably is ("" if unknown or not USB)."""
    if vid is None:
        return ""
    return KNOWN_USB.get((vid, pid)) or KNOWN_USB.get((vid, None)) or ""


def emulated_ports():
    """The serial links of the emulators running (`edgemeter emulate` registers each in
    $XDG_RUNTIME_DIR/edgemeter/emulators, or /tmp/edgemeter-UID/emulators:
    host_tools/emulator/state_folder.py), as `ports` lists them."""
    from host_tools.emulator import state_folder

    found = []
    for entry in state_folder.running():
        what = "MicroPython REPL" if entry.get("mode") == "repl" else "board's host link"
        found.append({"port": entry.get("serial"), "description": "edgemeter emulator, pid %s" % entry["pid"],
                      "hwid": "emulated", "vid": None, "pid": None, "serial_number": None,
                      "likely": "emulated board (%s, state %s)" % (what, entry.get("state")),
                      "emulated": True, "emulator_pid": entry["pid"], "state": entry.get("state")})
    return found


def do_ports(args):
    from serial.tools import list_ports

    found = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        found.append({"port": port.device, "description": port.description, "hwid": port.hwid,
                      "vid": port.vid, "pid": port.pid, "serial_number": port.serial_number,
                      "likely": port_kind(port.vid, port.pid)})
    listed = {port["port"] for port in found}
    found += [port for port in emulated_ports() if port["port"] not in listed]
    if args.json:
        print(json.dumps(found))
        return
    if not found:
        print("no serial ports found: is the board plugged in (and its USB cable a data cable)?")
        return
    for port in found:
        print("%-16s %s%s" % (port["port"], port["description"], "  <- " + port["likely"] if port["likely"] else ""))


def _ports_parser(sub):
    p = sub.add_parser(
        "ports",
        help="list serial ports (pyserial) and what is likely on each, and the running emulators' links",
        epilog="examples: edgemeter ports\n          edgemeter ports --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_json(p)
    p.set_defaults(handler=do_ports)


# --- monitor -------------------------------------------------------------------

EVENTS = 8


async def _snapshot(device):
    """Plan state, log status and the last EVENTS records, read in one session."""
    from host_tools.device.requests import LogStatus, PlanRead, RecordsRead

    dump = {"exclude": {"header", "version", "sequence", "smp_data"}}
    plan = (await device.request(PlanRead())).model_dump(**dump)
    log = await device.request(LogStatus())
    events = []
    if log.head:
        recs = (await device.request(RecordsRead(start=max(log.first, log.head - EVENTS + 1)))).recs
        offset = 0
        while offset < len(recs):
            body, offset = records.unframe(recs, offset)
            record = records.decode(body)
            events.append({"seq": record[records.K_SEQ], "time": record[records.K_TIME],
                           "type": record_names.TYPES.get(record[records.K_TYPE], (str(record[records.K_TYPE]),))[0],
                           "fields": named_fields(record)})
    return {"plan": plan, "log": {"head": log.head, "ack": log.ack, "used": log.used, "free": log.free}, "events": events[-EVENTS:]}


def _view(snap, rate):
    plan = snap["plan"]
    lines = []
    if plan.get("plan") is None:
        lines.append("no plan set: edgemeter plan set --port PORT --quota-mb N")
    else:
        lines.append("used %8.2f MB   remaining %8.2f MB   quota %8.2f MB%s" % (
            plan["used"] / MB, plan["remaining"] / MB, plan["quota"] / MB,
            "   overage %.2f MB" % (plan["overage"] / MB) if plan.get("overage") else ""))
        lines.append("rate %8.1f kB/s   data %s%s" % (
            rate / 1000 if rate is not None else 0.0, "on" if plan["data_on"] else "CUT at 0 MB",
            "   (snoozed)" if plan.get("snoozed") else ""))
        lines.append("reminders " + "  ".join("%g MB: %s" % (entry[0] / MB, reminder_status(entry)) for entry in plan["thresholds"]))
    log = snap["log"]
    lines.append("log head %d, acknowledged %d, %d KB used, %d KB free" % (log["head"], log["ack"], log["used"] // 1024, log["free"] // 1024))
    lines.append("last events:")
    for event in reversed(snap["events"]):
        fields = " ".join("%s=%s" % (k, json.dumps(v, ensure_ascii=False)) for k, v in event["fields"].items())
        stamp = time.strftime("%m-%d %H:%M:%S", time.gmtime(event["time"]))
        lines.append("  %6d %s %-18s %s" % (event["seq"], stamp, event["type"], fields[:80]))
    return "\n".join(lines)


async def _monitor(link, interval, count, as_json, out):
    live = out.isatty() and not as_json
    shown = 0
    previous = None
    async with link.device() as device:
        while count is None or shown < count:
            snap = await _snapshot(device)
            now = time.monotonic()
            rate = None
            if previous is not None and snap["plan"].get("total") is not None:
                rate = (snap["plan"]["total"] - previous[1]) / max(now - previous[0], 1e-6)
            previous = (now, snap["plan"].get("total") or 0)
            if as_json:
                out.write(json.dumps(dict(snap, rate_bytes_per_s=rate)) + "\n")
            elif live:
                out.write("\x1b[H\x1b[J" + "edgemeter monitor %s  (Ctrl-C to stop)\n\n" % link.port + _view(snap, rate) + "\n")
            else:
                out.write(_view(snap, rate) + "\n\n")
            out.flush()
            shown += 1
            if count is None or shown < count:
                await asyncio.sleep(interval)


def do_monitor(args):
    if args.interval <= 0:
        raise CommandError("--interval must be positive")
    asyncio.run(_monitor(link_of(args), args.interval, args.count, args.json, sys.stdout))


def _monitor_parser(sub):
    p = sub.add_parser(
        "monitor",
        help="live view of a device: usage, rate, remaining data, reminders, last events",
        epilog="examples: edgemeter monitor --port /dev/ttyUSB0\n"
        "          edgemeter monitor --port /dev/ttyUSB0 --interval 5 --count 12 --json > hour.jsonl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_link(p)
    p.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes (default 2)")
    p.add_argument("--count", type=int, help="stop after this many refreshes (default: until Ctrl-C)")
    add_json(p)
    p.set_defaults(handler=do_monitor)


# --- completion ----------------------------------------------------------------

_BASH = """# bash completion for edgemeter (zsh: autoload -U bashcompinit && bashcompinit first)
_edgemeter() {
    local cur=${COMP_WORDS[COMP_CWORD]} command=${COMP_WORDS[1]}
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "%(commands)s" -- "$cur"))
        return
    fi
    case "${COMP_WORDS[COMP_CWORD-1]}" in
        --port|-p|--check-port) COMPREPLY=($(compgen -f -- "${cur:-/dev/tty}")); return ;;
        --ledger|--bill|--csv|--html|--agreement|--scenario|--state) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    if [ "$COMP_CWORD" -eq 2 ]; then
        case "$command" in
%(actions)s
        esac
    fi
    case "$command/${COMP_WORDS[2]}" in
%(cases)s
    esac
}
complete -F _edgemeter edgemeter
"""


def _words(parser):
    """What may follow a command or sub-action: its options and choices."""
    words = []
    for action in parser._actions:
        words += [s for s in action.option_strings if s.startswith("--")]
        if not action.option_strings and action.choices and not isinstance(action, argparse._SubParsersAction):
            words += list(action.choices)
    return words


def completion_script(parser):
    """A bash completion script for `parser`'s subcommands, their sub-actions, words and options."""
    commands = subcommands(parser)
    actions, cases = [], []
    for name, sub in sorted(commands.items()):
        nested = subcommands(sub)
        if nested:
            actions.append('            %s) COMPREPLY=($(compgen -W "%s" -- "$cur")); return ;;' % (name, " ".join(nested)))
            cases += ['        %s/%s) COMPREPLY=($(compgen -W "%s" -- "$cur")) ;;' % (name, action, " ".join(_words(p)))
                      for action, p in nested.items()]
        else:
            cases.append('        %s/*) COMPREPLY=($(compgen -W "%s" -- "$cur")) ;;' % (name, " ".join(_words(sub))))
    return _BASH % {"commands": " ".join(sorted(commands)), "actions": "\n".join(actions), "cases": "\n".join(cases)}


def do_completion(args):
    # Imported here: the program imports this module to build its parser.
    from host_tools.cli.program import build_parser

    print(completion_script(build_parser()), end="")


def _completion_parser(sub):
    p = sub.add_parser(
        "completion",
        help="print a shell completion script",
        epilog="examples: source <(edgemeter completion bash)\n"
        "          edgemeter completion bash > /etc/bash_completion.d/edgemeter",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("shell", choices=("bash", "zsh"), help="zsh uses the bash script through bashcompinit")
    p.set_defaults(handler=do_completion)


def register(subparsers):
    """Add ports, monitor and completion to `subparsers`."""
    _ports_parser(subparsers)
    _monitor_parser(subparsers)
    _completion_parser(subparsers)
