"""A session with an edgemeter device over SMP, on smpclient and pyserial.

`Device(port)` opens PORT — a device path such as /dev/ttyUSB0 or any pyserial
URL (loop://, socket://host:port, spy://...) — and talks SMP through smpclient's
standard serial transport. Failures become `DeviceError` with one line saying
what happened and what to try next; the CLI prints that line.
"""

import asyncio
import binascii
import errno

import pydantic
import serial
from smp import header as smpheader
from smpclient import SMPClient
from smp.exceptions import SMPException
from smpclient.exceptions import SMPBadSequence, SMPValidationException
from smpclient.generics import error, success
from smpclient.requests.os_management import MCUMgrParametersRead
from smpclient.transport import SMPTransportDisconnected
from smpclient.transport.serial import Cobs, SMPSerialRawTransport, SMPSerialTransport

from protocol import auth
from protocol import metering

DEFAULT_BAUD = 115200

# What a noisy line or a late answer does to a request: no answer at all, an
# answer to an earlier request, or a frame that fails base64, CRC, header or
# schema checks. Each means "this frame was lost"; asking again recovers.
_LOST_FRAME = (TimeoutError, SMPBadSequence, SMPValidationException, SMPException, binascii.Error, ValueError)
# pyserial reports an unplugged cable as SerialException or a bare EIO.
_UNPLUGGED = (SMPTransportDisconnected, serial.SerialException, OSError)
_MESSAGE_FIELDS = {"header", "version", "sequence", "smp_data"}
DEFAULT_TIMEOUT_S = 2.0
MAX_MESSAGE = 65535  # the COBS transport's own bound; the device's buf_size is what counts


class DeviceError(Exception):
    pass


class DeviceRefused(DeviceError):
    """The device answered with an SMP error: the link is fine, the request was not served."""


def needs_proof(request):
    """Whether the device wants a proof with this request: every write but echo and the key itself."""
    header = request.header
    if int(header.op) != int(smpheader.OP.WRITE):
        return False
    where = (int(header.group_id), int(header.command_id))
    return where not in ((0, 0), (metering.GROUP, metering.CMD_AUTH))


_AUTHED = {}


def signed(request, key, nonce):
    """A copy of `request` with its "auth" proof for the device's challenge `nonce`."""
    fields = request.model_dump(exclude_unset=True, exclude_none=True, exclude=_MESSAGE_FIELDS)
    header = request.header
    proof = auth.request_proof(key, nonce, int(header.version), int(header.group_id), int(header.command_id),
                               int(header.op), fields)
    cls = type(request)
    if cls not in _AUTHED:  # smp message models forbid unknown fields: a subclass with "auth"
        _AUTHED[cls] = pydantic.create_model(cls.__name__, __base__=cls, auth=(bytes, ...))
    return _AUTHED[cls](**fields, auth=proof, sequence=header.sequence)


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
        raise DeviceError("cannot open %s: %s" % (port, _open_hint(exc))) from None
    conn.reset_input_buffer()
    return conn


# Why pyserial could not open a port, in the technician's words, and what to do.
_LIST_PORTS = " (list the ports: edgemeter ports)"


def _open_hint(exc):
    """The hint for pyserial's SerialException `exc` on opening a port."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code == errno.ENOENT or "No such file" in text:
        return "no such port; is the cable plugged in?" + _LIST_PORTS
    if code == errno.EISDIR or "Is a directory" in text:
        return "is a folder, not a serial port" + _LIST_PORTS
    if code == errno.ENOTTY or "Inappropriate ioctl" in text:
        return "not a serial device (a plain file?)" + _LIST_PORTS
    if code in (errno.EBUSY, errno.EAGAIN) or "lock" in text.lower():
        return "port busy: another program (a serial monitor, another edgemeter) has it open"
    if code == errno.EACCES or "Permission denied" in text:
        return "permission denied: add your user to the 'dialout' group, then log in again"
    return text


class _PortOpening:
    """What our transports add to smpclient's: open through `open_port`, drop a broken answer."""

    async def connect(self, address, timeout_s):
        self._reset_state()
        self._conn = open_port(address, self._baudrate)

    async def discard_input(self, quiet_s=0.05, limit_s=3.0):
        """Throw away the rest of a broken answer: wait for a quiet line, then reset.

        After a garbled frame the rest of its lines (or a late answer) are still
        arriving; left in the queue they would each spoil one more request.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        quiet_since = loop.time()
        while loop.time() < deadline and loop.time() - quiet_since < quiet_s:
            if self._conn.read_all():
                quiet_since = loop.time()
            await asyncio.sleep(0.005)
        self._reset_state()


class _ConsoleTransport(_PortOpening, SMPSerialTransport):
    """The base64 console encoding: smpclient's standard serial transport."""

    def __init__(self, baudrate):
        super().__init__(baudrate=baudrate)
        self._baudrate = baudrate


class _CobsTransport(_PortOpening, SMPSerialRawTransport):
    """COBS frames: smpclient's raw serial transport with its Cobs() framing."""

    def __init__(self, baudrate):
        super().__init__(mtu=MAX_MESSAGE, framing=Cobs(), baudrate=baudrate)
        self._baudrate = baudrate


FRAMINGS = {"console": _ConsoleTransport, "cobs": _CobsTransport}


class Device:
    """Use as `async with Device(port) as device: await device.request(EchoWrite(d="hi"))`."""

    def __init__(self, port, baudrate=DEFAULT_BAUD, timeout_s=DEFAULT_TIMEOUT_S, retries=1, framing="console", keys=None):
        self.port = port
        self.keys = keys  # host_tools.device.keys.KeyFile for signed writes; the default file if None
        self.timeout_s = timeout_s
        self.retries = retries
        self.transport = FRAMINGS[framing](baudrate)
        self.client = SMPClient(self.transport, port, timeout_s=timeout_s)
        self.retried = 0

    async def __aenter__(self):
        # smpclient's own connect reads the MCUmgr parameters once and gives up on
        # a garbled answer; asking through `request` retries like everything else.
        await self.transport.connect(self.port, self.timeout_s)
        try:
            params = await self.request(MCUMgrParametersRead(), retries=self.retries)
        except BaseException:
            await self.client.disconnect()  # no SMP there: the port is free again for whoever comes next
            raise
        self.transport.initialize(params.buf_size)
        return self

    async def __aexit__(self, *exc_info):
        await self.client.disconnect()

    async def request(self, request, timeout_s=None, retries=0):
        """Send `request`; return its success response or raise DeviceError.

        `retries` re-sends an idempotent request after a timeout or a stale
        answer (a late response to an earlier request): a noisy line loses
        frames, and asking again is the whole recovery.
        """
        for attempt in range(retries + 1):
            try:
                sent = await self._signed(request) if needs_proof(request) else request
                response = await self.client.request(sent, timeout_s=timeout_s)
                break
            except _LOST_FRAME as exc:
                if attempt == retries:
                    raise DeviceError(self._lost_message(exc)) from None
                self.retried += 1
                try:
                    await self.transport.discard_input()
                except _UNPLUGGED as lost:
                    raise self._unplugged(lost) from None
                request = type(request)(**request.model_dump(exclude_unset=True, exclude=_MESSAGE_FIELDS))
            except _UNPLUGGED as exc:
                raise self._unplugged(exc) from None
        if success(response):
            return response
        if error(response):
            raise DeviceRefused("the device refused %s: %s" % (type(request).__name__, describe_error(response)))
        raise DeviceError("unexpected answer to %s: %r" % (type(request).__name__, response))

    async def _signed(self, request):
        """`request` with its "auth" proof over a fresh challenge (firmware/smp/auth_guard.py)."""
        from host_tools.device.keys import KeyFile, KeyFileError
        from host_tools.device.requests import AuthRead

        challenge = await self.request(AuthRead(), retries=self.retries)
        keys = self.keys or KeyFile()
        try:
            key = keys.get(challenge.dev)
        except KeyFileError as exc:
            raise DeviceError(str(exc)) from None
        if not challenge.provisioned:
            raise DeviceError("%s has no key (a new board, or its state was lost): give it one with "
                              "edgemeter provision --port %s" % (challenge.dev, self.port))
        if key is None:
            raise DeviceError("no key for %s in %s: this device was provisioned elsewhere; "
                              "add its key there (edgemeter deploy provisions new devices)" % (challenge.dev, keys.path))
        return signed(request, key, challenge.nonce)

    def _unplugged(self, exc):
        return DeviceError("lost %s: %s (was the cable unplugged?)" % (self.port, exc))

    def _lost_message(self, exc):
        if isinstance(exc, TimeoutError):
            return "no answer from %s: check the cable, the baud rate (%d) and that edgemeter firmware is running" % (
                self.port,
                self.transport._baudrate,
            )
        return "garbled answers from %s (%s): noise on the line? check the cable and the baud rate" % (
            self.port,
            type(exc).__name__,
        )


def describe_error(response):
    """'ENOTSUP (8)' for an SMP error response of either version."""
    err = getattr(response, "err", None)
    if err is not None:
        return "group %s error %s" % (int(err.group), getattr(err.rc, "name", err.rc))
    rc = response.rc
    name = getattr(rc, "name", str(rc))
    reason = getattr(response, "rsn", None)
    return "%s (%d)%s" % (name, int(rc), ": " + reason if reason else "")

