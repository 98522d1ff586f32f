"""The `edgemeter` command: one subcommand per job a technician does.

Each subcommand is a `do_<name>(args)` handler plus an argparse factory, listed in
`COMMANDS`; they live by what they talk to: cli_device.py (a device over SMP),
cli_ledger.py (the host ledger and bills), cli_emulate.py (the emulated board).
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
from host_tools import cli_deploy as deploy
from host_tools import cli_device as dev
from host_tools import cli_emulate as emu
from host_tools import cli_field as field
from host_tools import cli_ledger as led
from host_tools.cli_common import EXIT_ERROR, EXIT_INTERRUPTED, CommandError, add_link, file_problem
from host_tools.device.session import DeviceError
from host_tools.ledger.store import LedgerError

COMMANDS = {
    "info": (dev.do_info, dev._info_parser),
    "echo": (dev.do_echo, dev._echo_parser),
    "pull": (led.do_pull, led._pull_parser),
    "plan": (dev.do_plan, dev._plan_parser),
    "status": (dev.do_status, dev._status_parser),
    "snooze": (dev.do_snooze, dev._snooze_parser),
    "balance": (dev.do_balance, dev._balance_parser),
    "services": (dev.do_services, dev._services_parser),
    "config": (dev.do_config, dev._config_parser),
    "clock": (dev.do_clock, dev._clock_parser),
    "log": (led.do_log, led._log_parser),
    "reconcile": (led.do_reconcile, led._reconcile_parser),
    "ledger": (led.do_ledger, led._ledger_parser),
    "emulate": (emu.do_emulate, emu._emulate_parser),
    "deploy": (deploy.do_deploy, deploy.deploy_parser),
    "ports": (field.do_ports, field.ports_parser),
    "monitor": (field.do_monitor, field.monitor_parser),
    "completion": (lambda args: print(field.completion_script(build_parser()), end=""), field.completion_parser),
}


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
    for name, (_handler, factory) in COMMANDS.items():
        factory(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    # smpclient logs every timeout at ERROR; the CLI reports failures itself, once.
    logging.getLogger("smpclient").setLevel(logging.CRITICAL)
    logging.getLogger("smp").setLevel(logging.CRITICAL)
    handler = COMMANDS[args.command][0]
    try:
        handler(args)
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


if __name__ == "__main__":
    sys.exit(main())
