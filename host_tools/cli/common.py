"""What every edgemeter subcommand shares: the errors it raises, settings checked
before sending, the link options (--port/-p, --baud, --timeout) and --json.

A handler raises `CommandError` (or `DeviceError`, `LedgerError`) with one line for
the user: what went wrong and, where it can, what to do next. host_tools/cli/program.py
prints it as `edgemeter: <message>` and exits with `EXIT_ERROR`; a `BadValue`
(a value the device would refuse, caught before the port is opened) exits with
`EXIT_USAGE`, as argparse does for a bad option.
"""

import argparse
import errno
import os

from host_tools.device.session import DEFAULT_BAUD, DEFAULT_TIMEOUT_S, Device
from protocol import settings

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    pass


class BadValue(CommandError):
    exit_status = EXIT_USAGE


def bad_value(option, typed, why):
    """BadValue saying `option typed: why`, e.g. "--tz-minutes 99999: must be between -720 and 840"."""
    return BadValue("%s %s: %s" % (option, typed, why))


def checked(field, value, option, typed, current=None):
    """`value` (what the user typed as `typed` for `option`) as the device takes the
    write's `field`, checked by protocol/settings.py (`current`: as check_write); a
    value the device would refuse raises BadValue with the setting's rule."""
    try:
        return settings.check_write({field: value}, (field,), current)[field]
    except ValueError:
        raise bad_value(option, typed, settings.rule(field)) from None


def add_link(parser, top=False):
    """The options that say how to reach a device: --port/-p, --baud, --timeout.

    The top-level parser holds their defaults; each command that talks to a device
    takes them again with no default of its own, so `edgemeter -p P status` and
    `edgemeter status -p P` are the same, and the one typed last wins."""

    def default(value):
        return value if top else argparse.SUPPRESS

    parser.add_argument("-p", "--port", default=default(os.environ.get("EDGEMETER_PORT")),
                        help="serial device path or pyserial URL (default: $EDGEMETER_PORT; list them: edgemeter ports)")
    parser.add_argument("--baud", type=int, default=default(DEFAULT_BAUD), metavar="N",
                        help="the link's baud rate (default %d)" % DEFAULT_BAUD)
    parser.add_argument("--timeout", type=float, default=default(DEFAULT_TIMEOUT_S), metavar="S",
                        help="seconds to wait for each answer from the device (default %g)" % DEFAULT_TIMEOUT_S)


def add_actions(parser):
    """The sub-actions of a command (`plan get|set`), each a parser with its own options;
    the one typed is `args.action`."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    return actions


def add_json(parser):
    parser.add_argument("--json", action="store_true", help="print one JSON object")


class Link:
    """How to reach a device: its port, the baud rate and the answer timeout."""

    def __init__(self, port, baud=DEFAULT_BAUD, timeout_s=DEFAULT_TIMEOUT_S):
        self.port = port
        self.baud = baud
        self.timeout_s = timeout_s

    def device(self, **options):
        """A `Device` session on this link (options: framing, keys, retries)."""
        return Device(self.port, baudrate=self.baud, timeout_s=self.timeout_s, **options)


def link_of(args):
    """The link the user named with --port, --baud and --timeout, checked."""
    if not args.port:
        raise CommandError("no port given: pass --port PORT or set EDGEMETER_PORT (list them: edgemeter ports)")
    if args.baud <= 0:
        raise bad_value("--baud", args.baud, "must be a positive number of bits per second, e.g. 115200")
    if not args.timeout > 0:
        raise bad_value("--timeout", args.timeout, "must be a positive number of seconds")
    return Link(args.port, args.baud, args.timeout)


def file_problem(error):
    """An OSError on a file the user named, in words: "no such folder: out", "is a folder"."""
    name = error.filename
    if error.errno == errno.ENOENT:
        folder = os.path.dirname(os.fspath(name)) if name is not None else ""
        if folder and not os.path.isdir(folder):
            return "%s: no such folder: %s" % (name, folder)
        return "%s: no such file" % name
    if error.errno == errno.EISDIR:
        return "%s is a folder, not a file" % name
    if error.errno in (errno.EACCES, errno.EPERM):
        return "%s: permission denied" % name
    if error.errno == errno.EROFS:
        return "%s: the medium is read-only" % name
    if error.errno == errno.ENOSPC:
        return "%s: the disk is full" % name
    return "%s: %s" % (name, error.strerror or error)


def write_file(path, option, text):
    """Write `text` to the file the user named with `option` (UTF-8, line ends as
    they are in `text`); a CommandError naming the option and the problem if it
    cannot be written."""
    try:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    except OSError as error:
        raise CommandError("%s %s" % (option, file_problem(error))) from None


async def device_state(link, request):
    """Send one request to the device on `link`; its response as a plain dict."""
    async with link.device() as device:
        response = await device.request(request)
    return response.model_dump(exclude={"header", "version", "sequence", "smp_data"})


def reminder_status(entry):
    """One threshold of the device's plan state, [bytes left, status, reason], as a
    technician reads it: "delivered", "failed: +CMS ERROR: 1 (unassigned number)"."""
    _left, status, why = entry
    return "%s: %s" % (status, why) if why else status


def subcommands(parser):
    """The {name: parser} of `parser`'s subcommands (or sub-actions); {} if it has none."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}
