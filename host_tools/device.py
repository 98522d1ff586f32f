"""A session with an edgemeter device over SMP, on smpclient and pyserial.

`Device(port)` opens PORT — a device path such as /dev/ttyUSB0 or any pyserial
URL (loop://, socket://host:port, spy://...) — and talks SMP through smpclient's
standard serial transport. Failures become `DeviceError` with one line saying
what happened and what to try next; the CLI prints that line.
"""

import asyncio
import errno

import serial
from smpclient import SMPClient
from smpclient.generics import error, success
from smpclient.transport import SMPTransportDisconnected
from smpclient.transport.serial import SMPSerialTransport

DEFAULT_BAUD = 115200
DEFAULT_TIMEOUT_S = 2.0


class DeviceError(Exception):
    pass


def open_port(port, baudrate=DEFAULT_BAUD):
    """Open PORT with pyserial; raise DeviceError naming the likely cause."""
    is_url = "://" in port
    try:
        conn = serial.serial_for_url(port, baudrate=baudrate, timeout=0, do_not_open=True)
        if not is_url:
            conn.exclusive = True  # a second program on the same cable garbles both
        conn.open()
    except ValueError as exc:
        raise DeviceError("%s is not a usable port: %s" % (port, exc)) from None
    except serial.SerialException as exc:
        code = getattr(exc, "errno", None)
        text = str(exc)
        if code == errno.ENOENT or "No such file" in text:
            hint = "no such port; is the cable plugged in? (list ports: python -m serial.tools.list_ports)"
        elif code in (errno.EBUSY, errno.EAGAIN) or "lock" in text.lower():
            hint = "port busy: another program (a serial monitor, another edgemeter) has it open"
        elif code == errno.EACCES or "Permission denied" in text:
            hint = "permission denied: add your user to the 'dialout' group, then log in again"
        else:
            hint = text
        raise DeviceError("cannot open %s: %s" % (port, hint)) from None
    conn.reset_input_buffer()
    return conn


class _PortTransport(SMPSerialTransport):
    """smpclient's serial transport, opened through `open_port` (URLs, clear errors)."""

    def __init__(self, baudrate):
        super().__init__(baudrate=baudrate)
        self._baudrate = baudrate

    async def connect(self, address, timeout_s):
        self._reset_state()
        self._conn = open_port(address, self._baudrate)


class Device:
    """Use as `async with Device(port) as device: await device.request(EchoWrite(d="hi"))`."""

    def __init__(self, port, baudrate=DEFAULT_BAUD, timeout_s=DEFAULT_TIMEOUT_S):
        self.port = port
        self.timeout_s = timeout_s
        self.transport = _PortTransport(baudrate)
        self.client = SMPClient(self.transport, port, timeout_s=timeout_s)

    async def __aenter__(self):
        await self.client.connect()
        return self

    async def __aexit__(self, *exc_info):
        await self.client.disconnect()

    async def request(self, request, timeout_s=None):
        """Send `request`; return its success response or raise DeviceError."""
        try:
            response = await self.client.request(request, timeout_s=timeout_s)
        except TimeoutError:
            raise DeviceError(
                "no answer from %s: check the cable, the baud rate (%d) and that edgemeter firmware is running"
                % (self.port, self.transport._baudrate)
            ) from None
        except SMPTransportDisconnected as exc:
            raise DeviceError("lost %s: %s (was the cable unplugged?)" % (self.port, exc)) from None
        if success(response):
            return response
        if error(response):
            raise DeviceError("the device refused %s: %s" % (type(request).__name__, describe_error(response)))
        raise DeviceError("unexpected answer to %s: %r" % (type(request).__name__, response))


def describe_error(response):
    """'ENOTSUP (8)' for an SMP error response of either version."""
    err = getattr(response, "err", None)
    if err is not None:
        return "group %s error %s" % (int(err.group), getattr(err.rc, "name", err.rc))
    rc = response.rc
    name = getattr(rc, "name", str(rc))
    reason = getattr(response, "rsn", None)
    return "%s (%d)%s" % (name, int(rc), ": " + reason if reason else "")

