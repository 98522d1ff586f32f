"""What every edgemeter subcommand shares: the errors it raises, settings checked
before sending, --port and --json.

A handler raises `CommandError` (or `DeviceError`, `LedgerError`) with one line for
the user: what went wrong and, where it can, what to do next. host_tools/cli.py
prints it as `edgemeter: <message>` and exits with `EXIT_ERROR`; a `BadValue`
(a value the device would refuse, caught before the port is opened) exits with
`EXIT_USAGE`, as argparse does for a bad option.
"""

import os

from host_tools.device import Device
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


def add_port(parser):
    parser.add_argument(
        "--port",
        default=os.environ.get("EDGEMETER_PORT"),
        help="serial device path or pyserial URL (default: $EDGEMETER_PORT)",
    )


def add_json(parser):
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def port_of(args):
    if not args.port:
        raise CommandError("no port given: pass --port PORT or set EDGEMETER_PORT")
    return args.port


async def device_state(port, request):
    """Send one request to the device on `port`; its response as a plain dict."""
    async with Device(port) as device:
        response = await device.request(request)
    return response.model_dump(exclude={"header", "version", "sequence", "smp_data"})


def reminder_status(entry):
    """One threshold of the device's plan state, [bytes left, status, reason], as a
    technician reads it: "delivered", "failed: +CMS ERROR: 1 (unassigned number)"."""
    _left, status, why = entry
    return "%s: %s" % (status, why) if why else status
