"""What every edgemeter subcommand shares: the error it raises, --port and --json.

A handler raises `CommandError` (or `DeviceError`, `LedgerError`) with one line for
the user: what went wrong and, where it can, what to do next. host_tools/cli.py
prints it as `edgemeter: <message>` and exits with `EXIT_ERROR`.
"""

import os

from host_tools.device import Device

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    pass


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

