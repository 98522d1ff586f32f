"""A scripted LTE modem behind an in-memory duplex stream, for the modem driver's tests.

Runs on both VMs. On MicroPython, asyncio's StreamReader/StreamWriter poll their
stream through the stream protocol: a Python subclass of `io.IOBase` that
defines `ioctl(req, arg)` is polled like a UART, `ioctl(3, flags)`
(MP_STREAM_POLL) returning which of POLLIN (1) / POLLOUT (4) are ready, and its
`read`/`readinto`/`write` methods are what the streams call. (A pipe or a pty
pair cannot be made from MicroPython's `os`, so this is the way to fake a UART
there.) On CPython the driver polls `read()` itself, so a plain object will do.

The modem answers synchronously inside `write()`: each command line (ended by
CR) is looked up in `answers` (command -> text; a callable gets the command;
None means say nothing; commands not listed answer ERROR). An answer ending in
"> " puts it in text-input mode, whose text up to Ctrl-Z lands in `payloads`
and is answered with `after_payload[command]`. Like a real modem it echoes
commands until ATE0, says nothing while `dead` or powered off, and boots with
echo on and "RDY" when powered on.

`run(body)` below is the harness of test_modem*.py: a fresh fake and driver per
test, on a board clock 100 times faster than real time (a 5 s command timeout
costs 50 ms, a whole power-cycle recovery a few tens). On MicroPython asyncio
runs on a virtual clock (virtual_clock.py): those milliseconds pass at once. The
driver's reading task wakes only when the fake has bytes for it: the fake says it
has no file descriptor (it said 0, so poll() watched stdin instead: with stdin at
end of file the task woke, found nothing and polled again as fast as the machine
went, so how much a run allocated varied; with stdin a quiet pipe it never woke).
"""

import asyncio
import io
import sys

import virtual_clock
from firmware.modem.driver import Modem

virtual_clock.install()

_Base = io.IOBase if sys.implementation.name == "micropython" else object

_POLL = 3  # MP_STREAM_POLL
_GET_FILENO = 10  # MP_STREAM_GET_FILENO: -1, no file descriptor (0 made poll() watch stdin)
_POLLIN = 1
_POLLOUT = 4

OK = "\r\nOK\r\n"


class FakeModemStream(_Base):
    def __init__(self):
        self.rx = bytearray()  # what the driver has still to read
        self.wire = bytearray()  # everything the driver wrote
        self.commands = []  # command lines received, in order
        self.payloads = []  # texts typed after a "> " prompt
        self.power_log = []  # every power(on) call
        self.powered = True
        self.echo = False
        self.dead = False  # hung: says nothing until the next power cycle
        self.answers = {"AT": OK, "ATE0": OK, "ATE1": OK, "AT+CMEE=1": OK, "AT+CMGF=0": OK, "AT+CNMI=2,1,0,1,0": OK}
        self.after_payload = {}
        self.fallback = None  # callable(line) -> answer, for commands not in `answers`
        self.payload_answer = OK  # after a payload whose command is not in `after_payload` (callable: gets the payload)
        self._line = bytearray()
        self._typing_for = None  # the command whose text follows its prompt

    # -- the stream the driver sees ------------------------------------------

    def ioctl(self, req, arg):
        if req == _POLL:
            ready = _POLLOUT
            if self.rx:
                ready |= _POLLIN
            return ready & arg
        if req == _GET_FILENO:
            return -1
        return 0

    def read(self, n=-1):
        if not self.rx:
            return None  # nothing yet: the poller waits again
        if n < 0 or n > len(self.rx):
            n = len(self.rx)
        data = bytes(self.rx[:n])
        self.rx = self.rx[n:]
        return data

    def readinto(self, buf):
        data = self.read(len(buf))
        if data is None:
            return None
        buf[: len(data)] = data
        return len(data)

    def write(self, buf):
        data = bytes(buf)
        self.wire += data
        if self.powered:
            for b in data:
                self._byte(b)
        return len(data)

    # -- the modem --------------------------------------------------------------

    def power(self, on):
        """The board's modem power pin."""
        self.power_log.append(on)
        if on and not self.powered:
            self.powered = True
            self.dead = False
            self.echo = True
            self.rx += b"\r\nRDY\r\n"
        elif not on:
            self.powered = False
            self.rx = bytearray()
            self._line = bytearray()
            self._typing_for = None

    def inject(self, text):
        """Bytes the modem sends on its own (URCs, garbage)."""
        self.rx += text.encode() if isinstance(text, str) else text

    def _byte(self, b):
        if self._typing_for is not None:
            if b == 0x1A:
                command = self._typing_for
                payload = bytes(self._line)
                self.payloads.append(payload)
                self._line = bytearray()
                self._typing_for = None
                answer = self.after_payload.get(command, self.payload_answer)
                self._say(answer(payload) if callable(answer) else answer)
            elif b == 0x1B:
                self._line = bytearray()
                self._typing_for = None
            else:
                self._line.append(b)
        elif b == 13:
            line = bytes(self._line).decode()
            self._line = bytearray()
            self._command(line)
        elif b != 10 and b != 0x1B:  # ESC outside text input changes nothing
            self._line.append(b)

    def _command(self, line):
        self.commands.append(line)
        if self.dead:
            return
        if self.echo:
            self.rx += line.encode() + b"\r"
        if line == "ATE0":
            self.echo = False
        elif line == "ATE1":
            self.echo = True
        answer = self.answers.get(line)
        if answer is None and line not in self.answers:
            answer = self.fallback if self.fallback is not None else "\r\nERROR\r\n"
        if callable(answer):
            answer = answer(line)
        self._say(answer)
        if answer is not None and answer.endswith("> "):
            self._typing_for = line

    def _say(self, answer):
        if answer is not None:
            self.rx += answer.encode()


# -- the harness ------------------------------------------------------------------

SPEED = 100
INIT = ["AT", "ATE0", "AT+CMEE=1", "AT+CMGF=0", "AT+CNMI=2,1,0,1,0"]


async def fast_sleep(ms):
    await asyncio.sleep(ms / 1000 / SPEED)


async def settle():
    await asyncio.sleep(0.02)  # real time for the driver to read what the fake sent


def run(body, init=True, driver=Modem):
    """Run `await body(modem, fake)` with a `driver` (a Modem class); with init, after
    init() and with its traffic forgotten."""

    async def main():
        fake = FakeModemStream()
        modem = driver(fake, fake.power, fast_sleep)
        modem.probe_timeout_ms = modem.timeout_ms  # 50 ms: slack for a loaded test machine
        try:
            if init:
                await modem.init()
                fake.wire = bytearray()
                fake.commands = []
            await body(modem, fake)
        finally:
            modem.stop()
            await asyncio.sleep(0)  # let the reading task end before the next test's loop

    asyncio.run(main())


async def raises(cls, awaitable):
    try:
        await awaitable
    except cls as exc:
        return exc
    raise AssertionError("no " + cls.__name__)
