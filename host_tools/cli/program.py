"""The `edgemeter` program: its parser, the command table and `main`.

Each command family's `register(subparsers)` adds its commands, each parser's
`handler` set to its `do_<name>(args)`; they live by what they talk to:
device_commands.py (a device over SMP), ledger_commands.py (the host ledger and
bills), fleet_commands.py (every device a ledger holds), emulate.py (the emulated board), deploy.py (a board's firmware) and
field.py (ports, monitor, completion). `COMMANDS` is {name: handler}, in the
order --help lists them.
Commands with sub-actions nest them (`plan get|set`), each with only its own
options; --port/-p, --baud and --timeout may come before the command or after it.
Handlers raise `CommandError` (or `DeviceError`, `LedgerError`) with one line for
the user; `main` prints it as `edgemeter: <message>` and exits 1, and does the
same for a file the user named that cannot be used (an OSError with a file name).
Exit status: 0 done (also when a reader such as `head` closes the pipe early), 1
such an error, 2 a usage error (argparse, or a value the device would refuse), 3
records that failed their MAC check, 130 Ctrl-C (one line, never a traceback).
"""

import argparse
import logging
import os
import sys

from host_tools import __version__
from host_tools.cli import deploy, device_commands, emulate, field, fleet_commands, ledger_commands
from host_tools.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, CommandError, add_link, file_problem, subcommands
from host_tools.device.session import DeviceError
from host_tools.ledger.store import LedgerError

FAMILIES = (device_commands, ledger_commands, fleet_commands, emulate, deploy, field)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="edgemeter",
        description="Meter mobile data at the subscriber's edge.",
        epilog="exit status: 0 done; 1 an error, one line on stderr saying what to do next;\n"
        "2 a usage error (bad option); 3 pulled records that failed their MAC check (tampering);\n"
        "130 interrupted (Ctrl-C).\n"
        "--port may come from EDGEMETER_PORT. docs/technician.md has a troubleshooting table.\n"
        "examples: edgemeter ports\n"
        "          edgemeter status --port /dev/ttyUSB0\n"
        "          edgemeter -p /dev/ttyUSB0 plan set --quota-mb 100\n"
        "          source <(edgemeter completion bash)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version="edgemeter " + __version__)
    add_link(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for family in FAMILIES:
        family.register(sub)
    return parser


COMMANDS = {name: command.get_default("handler") for name, command in subcommands(build_parser()).items()}


def main(argv=None):
    args = build_parser().parse_args(argv)
    # smpclient logs every timeout at ERROR; the CLI reports failures itself, once.
    logging.getLogger("smpclient").setLevel(logging.CRITICAL)
    logging.getLogger("smp").setLevel(logging.CRITICAL)
    try:
        args.handler(args)
        sys.stdout.flush()
    except (CommandError, DeviceError, LedgerError) as exc:
        print("edgemeter: %s" % exc, file=sys.stderr)
        return getattr(exc, "exit_status", EXIT_ERROR)
    except BrokenPipeError:
        # `edgemeter status | head -2` stopped reading: what it wanted, it has.
        # Point stdout at /dev/null so Python's last flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as exc:
        if exc.filename is None:
            raise
        print("edgemeter: %s" % file_problem(exc), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("edgemeter: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0
