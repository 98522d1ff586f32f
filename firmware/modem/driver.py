"""AT-command driver for the LTE modem on a UART, on asyncio (MicroPython and CPython).

The meter learns everything about mobile data from the modem, so this driver
has to survive what modems do in the field: answer late or never, interleave
unsolicited result codes (URCs) with a command's answer, echo commands back,
spit garbage while booting, and reboot on their own (which zeroes their data
counters). It is handed:

- `stream`: the modem UART, what `asyncio.StreamReader(stream)` and
  `StreamWriter(stream, {})` accept on MicroPython (`machine.UART` on hardware,
  a raw pty file on the emulated board, any `io.IOBase` with `ioctl` polling in
  tests). CPython's asyncio streams cannot wrap such an object, so there the
  driver polls `stream.read(n)` instead (it must not block: it returns None or
  b"" when nothing has arrived).
- `power(on)`: the board's modem power pin, for the power-cycle recovery
  (None: the board cannot cut the modem's power; recovery then only re-inits).
- `sleep_ms`: the board clock's sleep coroutine function. Every timeout and
  delay goes through it, so the emulated board's faster clock holds here too.

One command is in flight at a time (an asyncio.Lock). A background task (the
pump, started on first use) reads lines all the time, so URCs are never lost
while no command runs. While a command runs, its information lines are only
the lines that start with its own prefix (`+QGDCNT:` for `AT+QGDCNT?`), plus,
with `expect_raw=True`, bare lines that are not known URCs (`AT+CGSN`, `ATI`,
an SMS body after `+CMGR:`). Every other line is a URC: it goes to the
handlers registered with `on_urc(handler)` and to a bounded queue
(`urc_queue_len` entries; when full, the oldest goes and `urcs_dropped` counts
it) read with `await next_urc()` or `take_urcs()`. A URC whose prefix equals
the running command's (a `+CEREG:` URC during `AT+CEREG?`) cannot be told
apart from the answer and is taken as an information line.

A URC whose PDU comes on the next line (`PDU_URCS`: `+CDS: <length>`, a
status report, and `+CMT: ...`, a message shown directly) is handed out whole,
as one string: the header line and the PDU line joined by "\\n"
("+CDS: 25\\n0791..."), to the handlers and in the queue alike. The header
waits in the driver until its PDU line has come, in the same read or a later
one, so no reader ever gets half of one. If the next line is not a PDU (not
hex digits: the modem restarted in between, say), the header is dropped
(`lines_dropped`) and that line is taken as it comes.

Recovery policy:

- `init()` probes with `AT` up to `init_attempts` times (a modem that just
  booted is slow to answer), then sends `INIT_COMMANDS` (echo off, numeric
  `+CME ERROR` codes, SMS PDU mode, how messages are announced). The first
  command runs it if nobody did.
- `recover_after` (3) commands in a row that get no final result at all
  (`ModemTimeout`) make the driver power-cycle the modem with `recover()`:
  power off, wait `power_off_ms`, power on, wait up to `rdy_timeout_ms` for
  `RDY`, then `init()` again. The command that hit the limit still raises its
  ModemTimeout once the recovery is done; the caller decides whether to retry.
  `resets` counts recoveries. An answer of any kind (OK or an error) resets the
  count of timeouts in a row.
- A `RDY` nobody asked for means the modem restarted by itself: `reboots_seen`
  goes up (the meter must treat the data counters as zeroed), a command in
  flight fails at once with ModemError, and the next command runs `init()`
  first.

The helpers at the end speak the Quectel dialect (BG9x, EC2x, EG9x: the
`AT+QGDCNT` data counter). A board with another modem family picks a subclass
that overrides them (and `URC_PREFIXES`/`URC_LINES`/`INIT_COMMANDS` if needed).
"""

import asyncio
import sys

_MICROPYTHON = sys.implementation.name == "micropython"

MAX_LINE = 512  # longest line kept; a longer one is garbage (or an unbounded dump) and is dropped
_CHUNK = 128
_CTRL_Z = b"\x1a"  # ends the text typed after the "> " prompt
_ESC = b"\x1b"  # abandons it (sent when the prompt never came, so a late one eats nothing)
_HEX = "0123456789ABCDEFabcdef"  # what a PDU line is made of

# Final results besides OK; all of them end the command as a ModemError.
_ERROR_FINALS = ("ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE")
_CODED_FINALS = ("+CME ERROR:", "+CMS ERROR:")


class ModemError(Exception):
    """The modem answered with an error final result (or restarted during the command).

    `text` is the final line (`ERROR`, `+CME ERROR: 30`, ...), `code` the number of a
    `+CME ERROR`/`+CMS ERROR` (None otherwise, or if the modem answered in words),
    `command` the AT command it answered.
    """

    def __init__(self, text, code=None, command=None):
        super().__init__(text if command is None else "%s: %s" % (command, text))
        self.text = text
        self.code = code
        self.command = command


class ModemTimeout(ModemError):
    """No final result arrived in time."""


class _Waiter:
    """Something a coroutine waits for with a timeout on the board clock."""

    def __init__(self):
        self.event = asyncio.Event()
        self.done = False  # set by the pump: what we waited for happened
        self.expired = False  # set by the timer

    def finish(self):
        self.done = True
        self.event.set()


class _Pending(_Waiter):
    """The command in flight: what the pump needs to sort the lines it reads."""

    def __init__(self, command, prefix, raw, want_prompt):
        _Waiter.__init__(self)
        self.command = command
        self.prefix = prefix
        self.raw = raw
        self.want_prompt = want_prompt
        self.prompt = False
        self.lines = []
        self.error = None

    def fail(self, error):
        self.error = error
        self.finish()


def _prefix(command):
    """'AT+QGDCNT?' -> '+QGDCNT:'; None for basic commands (AT, ATE0, ATI) that have none."""
    c = command.upper()
    if len(c) < 3 or c[:2] != "AT" or c[2] not in "+^#$%*":
        return None
    end = len(c)
    for stop in "=?":
        i = c.find(stop)
        if 0 <= i < end:
            end = i
    return c[2:end] + ":"


def _is_final(line):
    return line == "OK" or line in _ERROR_FINALS or line.startswith(_CODED_FINALS)


def _line_end(data, start):
    """Index of the first CR or LF at or after start, -1 if none (a lone CR ends a line too)."""
    cr = data.find(b"\r", start)
    lf = data.find(b"\n", start)
    if cr < 0:
        return lf
    if lf < 0:
        return cr
    return cr if cr < lf else lf


async def _idle():
    # The stream had nothing (a pty with VMIN=0 wakes the poller without data; on
    # CPython we poll). A real-time pause, not the board clock: this is I/O pacing.
    if _MICROPYTHON:
        await asyncio.sleep_ms(10)
    else:
        await asyncio.sleep(0.001)


class Modem:
    URC_PREFIXES = (
        "+CMTI:", "+CMT:", "+CDS:", "+CDSI:", "+CBM:", "+CUSD:",
        "+CREG:", "+CGREG:", "+CEREG:", "+C5GREG:", "+CGEV:",
        "+CPIN:", "+CFUN:", "+CTZV:", "+CTZE:", "+CRING:", "+CLIP:",
        "+QIURC:", "+QIND:", "+QUSIM:", "+QSTK:",
    )  # fmt: skip
    URC_LINES = (
        "RDY", "RING", "POWERED DOWN", "NORMAL POWER DOWN",
        "UNDER-VOLTAGE POWER DOWN", "UNDER-VOLTAGE WARNING",
        "OVER-VOLTAGE POWER DOWN", "OVER-VOLTAGE WARNING",
        "SMS DONE", "PB DONE", "Call Ready", "SMS Ready",
    )  # fmt: skip
    # ATE0: no echo; CMEE=1: numeric error codes; CMGF=0: SMS in PDU mode (multipart,
    # any alphabet); CNMI: new messages announced as +CMTI, status reports as +CDS.
    INIT_COMMANDS = ("ATE0", "AT+CMEE=1", "AT+CMGF=0", "AT+CNMI=2,1,0,1,0")
    # URCs whose PDU comes on the next line (PDU mode): queued together, "header\nPDU".
    PDU_URCS = ("+CDS:", "+CMT:")

    # Board-clock milliseconds; an instance or subclass may change any of them.
    timeout_ms = 5000  # default for command()
    prompt_timeout_ms = 60000  # default for command_with_prompt(), per phase (an SMS send is slow)
    context_timeout_ms = 150000  # PDP context (de)activation: Quectel allows up to 150 s
    probe_timeout_ms = 1000  # each AT probe in init()
    probe_pause_ms = 1000  # between AT probes
    init_attempts = 5
    power_off_ms = 2000  # long enough for the modem to lose power entirely
    rdy_timeout_ms = 15000  # EC2x boots in about 13 s
    # A phone back after hours off sends its status reports in a burst (one entry
    # each), with registration and message URCs around them.
    urc_queue_len = 48
    cid = 1  # the PDP context the data helpers use

    def __init__(self, stream, power, sleep_ms, recover_after=3):
        self._stream = stream
        self._power = power
        self._sleep_ms = sleep_ms
        self.recover_after = recover_after  # 0: never power-cycle on timeouts
        if _MICROPYTHON:
            self._reader = asyncio.StreamReader(stream)
            self._writer = asyncio.StreamWriter(stream, {})
        else:
            self._reader = self._writer = None
        self._lock = asyncio.Lock()
        self._pump_task = None
        self._pending = None  # the command in flight
        self._rdy = None  # a _Waiter while recover() waits for the modem's boot
        self._rx = b""  # the line being received
        self._discarding = False  # inside an overlong line: drop up to its end
        self._handlers = []
        self._urcs = []
        self._urc_event = asyncio.Event()
        self._needs_init = True
        self._timeouts = 0  # ModemTimeouts in a row
        self.timeouts = 0  # ModemTimeouts in all
        self.resets = 0  # recover() power cycles
        # reboots_seen + resets when the last OK was read: which power-on of the
        # modem (and so which run of its counters) the last answer came from.
        self.answer_life = 0
        self._pdu_head = None  # a PDU_URCS header whose PDU line has not come yet
        self.reboots_seen = 0  # RDY the modem sent without being power-cycled by us
        self.lines_dropped = 0  # overlong, not UTF-8, or a PDU_URCS header without its PDU
        self.stray_results = 0  # final results while no command runs (late answers)
        self.urcs_dropped = 0  # the URC queue was full: its oldest entry went
        self.handler_errors = 0  # URC handlers that raised
        self.progress = None  # firmware/supervisor.py Progress of the UART reader, if supervised

    # -- life cycle ---------------------------------------------------------

    def start(self):
        """Start reading the UART (done by every public coroutine; idempotent)."""
        if self._pump_task is None:
            self._pump_task = asyncio.create_task(self._pump())

    def stop(self):
        """Stop reading the UART (tests, shutdown)."""
        if self._pump_task is not None:
            self._pump_task.cancel()
            self._pump_task = None

    async def init(self):
        """Probe with AT until the modem answers, then send INIT_COMMANDS.

        Raises ModemTimeout if AT never gets an answer, ModemError if an init command fails.
        """
        self.start()
        async with self._lock:
            await self._init_locked()

    async def recover(self):
        """Power-cycle the modem, wait for RDY, init() again. True if it answers afterwards."""
        self.start()
        async with self._lock:
            self.resets += 1
            self._timeouts = 0
            self._rdy = rdy = _Waiter()
            try:
                if self._power is not None:
                    self._power(False)
                    await self._sleep_ms(self.power_off_ms)
                    self._rx = b""  # whatever half line it sent while losing power
                    self._discarding = False
                    self._pdu_head = None
                    self._power(True)
                    await self._wait(rdy, self.rdy_timeout_ms)
                # Without RDY (or a power pin) still try: some modems never say it.
                try:
                    await self._init_locked()
                except ModemError:
                    return False
                return True
            finally:
                self._rdy = None

    # -- commands -----------------------------------------------------------

    async def command(self, command, timeout_ms=None, expect_raw=False, prefix=None):
        """Send one AT command; return its information lines when it ends in OK.

        `prefix` overrides the answer prefix taken from the command ('+QGDCNT:').
        Raises ModemError on an error result, ModemTimeout without a final result.
        """
        return await self._run(command, None, timeout_ms or self.timeout_ms, expect_raw, prefix)

    async def command_with_prompt(self, command, payload, timeout_ms=None):
        """A command that asks for text after a "> " prompt (AT+CMGS="...").

        Waits for the prompt, sends payload (bytes or str) and Ctrl-Z, returns the
        information lines (['+CMGS: 12']). `timeout_ms` applies to each of the two
        waits. The payload must not hold Ctrl-Z or ESC, which would end it early.
        """
        if isinstance(payload, str):
            payload = payload.encode()
        if _CTRL_Z in payload or _ESC in payload:
            raise ValueError("payload holds Ctrl-Z or ESC")
        return await self._run(command, payload, timeout_ms or self.prompt_timeout_ms, False, None)

    def on_urc(self, handler):
        """Call handler(urc) for every URC (a PDU_URCS one whole, "header\\nPDU"), from
        the reading task: keep it short and sync."""
        self._handlers.append(handler)
        return handler

    async def next_urc(self):
        """The oldest queued URC, waiting for one if none is queued."""
        self.start()
        while not self._urcs:
            self._urc_event.clear()
            await self._urc_event.wait()
        return self._urcs.pop(0)

    def take_urcs(self):
        """Every queued URC, oldest first, emptying the queue."""
        urcs = self._urcs
        self._urcs = []
        return urcs

    async def _run(self, command, payload, timeout_ms, raw, prefix):
        self.start()
        try:
            if self._needs_init:
                async with self._lock:
                    if self._needs_init:  # another task may have done it while we waited
                        await self._init_locked()
            async with self._lock:
                return await self._transact(command, payload, timeout_ms, raw, prefix)
        except ModemTimeout:
            self._timeouts += 1
            self.timeouts += 1
            if self.recover_after and self._timeouts >= self.recover_after:
                await self.recover()
            raise

    async def _init_locked(self):
        last = self.init_attempts - 1
        for attempt in range(self.init_attempts):
            try:
                await self._transact("AT", None, self.probe_timeout_ms, False, None)
                break
            except ModemError:
                if attempt == last:
                    raise
                await self._sleep_ms(self.probe_pause_ms)
        for command in self.INIT_COMMANDS:
            await self._transact(command, None, self.timeout_ms, False, None)
        self._needs_init = False

    async def _transact(self, command, payload, timeout_ms, raw, prefix):
        """One command on the wire; the caller holds the lock."""
        p = _Pending(command, prefix or _prefix(command), raw, payload is not None)
        self._pending = p
        try:
            await self._send(command.encode() + b"\r")
            if payload is not None:
                await self._wait(p, timeout_ms)
                if not p.done:
                    if not p.prompt:
                        await self._send(_ESC)
                        raise ModemTimeout("no prompt", None, command)
                    p.event.clear()
                    p.expired = False
                    await self._send(payload + _CTRL_Z)
            if not p.done:
                await self._wait(p, timeout_ms)
            if not p.done:
                raise ModemTimeout("no answer", None, command)
        finally:
            self._pending = None
        self._timeouts = 0  # it answered, even if with an error
        if p.error is not None:
            raise p.error
        return p.lines

    async def _wait(self, waiter, ms):
        """Until the pump finishes waiter (or a prompt comes), or ms pass on the board clock."""
        timer = asyncio.create_task(self._expire(waiter, ms))
        try:
            await waiter.event.wait()
        finally:
            timer.cancel()

    async def _expire(self, waiter, ms):
        await self._sleep_ms(ms)
        waiter.expired = True
        waiter.event.set()

    async def _send(self, data):
        if self._writer is not None:
            self._writer.write(data)
            await self._writer.drain()
            return
        view = memoryview(data)
        while len(view):
            n = self._stream.write(view)
            if n:
                view = view[n:]
            else:
                await _idle()

    # -- reading ------------------------------------------------------------

    async def _pump(self):
        progress = self.progress
        while True:
            if progress is not None:
                progress.waiting()  # for the modem's next bytes: idle, however long
            try:
                if self._reader is not None:
                    data = await self._reader.read(_CHUNK)
                else:
                    data = self._stream.read(_CHUNK)
            except OSError:
                data = None  # a UART hiccup; keep reading
            if progress is not None:
                progress.beat()
            if data:
                self._feed(data)
            else:
                await _idle()

    def _feed(self, data):
        """Split received bytes into lines; CR, LF or CRLF end a line, blank lines vanish."""
        start = 0
        while start < len(data):
            end = _line_end(data, start)
            if end < 0:
                self._keep(data[start:])
                break
            self._keep(data[start:end])
            start = end + 1
            line = self._rx
            self._rx = b""
            if self._discarding:
                self._discarding = False  # the end of an overlong line: nothing to deliver
            elif line:
                self._line(line)
        p = self._pending
        # "> " comes without a line end: recognise it as what is left once the lines are split.
        if p is not None and p.want_prompt and not p.prompt and not p.done and self._rx.strip() == b">":
            self._rx = b""
            p.prompt = True
            p.event.set()

    def _keep(self, piece):
        if self._discarding:
            return
        if len(self._rx) + len(piece) > MAX_LINE:
            self._rx = b""
            self._discarding = True
            self.lines_dropped += 1
        else:
            self._rx += piece

    def _line(self, raw):
        try:
            line = raw.decode().strip()
        except UnicodeError:
            self.lines_dropped += 1
            return
        if not line:
            return
        head = self._pdu_head
        if head is not None:
            self._pdu_head = None
            if not line.strip(_HEX):
                self._deliver(head + "\n" + line)  # the +CDS/+CMT with its PDU, whatever command runs
                return
            self.lines_dropped += 1  # a header without its PDU: this line is something else
        p = self._pending
        if p is None or p.done:
            if _is_final(line):
                self.stray_results += 1  # the late answer to a command that timed out
            else:
                self._urc(line)
            return
        if line == p.command:
            return  # echo (ATE1, the default after power-on)
        if _is_final(line):
            if line == "OK":
                self.answer_life = self.reboots_seen + self.resets
                p.finish()
            else:
                code = None
                if line.startswith(_CODED_FINALS):
                    rest = line[11:].strip()  # after "+CME ERROR:"
                    code = int(rest) if rest.isdigit() else None  # words with AT+CMEE=2
                p.fail(ModemError(line, code, p.command))
        elif p.prefix is not None and line.startswith(p.prefix):
            p.lines.append(line)
        elif p.raw and not self.is_urc(line):
            p.lines.append(line)
        else:
            self._urc(line)

    def is_urc(self, line):
        """Whether a line is a known unsolicited result code (URC_LINES, URC_PREFIXES)."""
        if line in self.URC_LINES:
            return True
        for prefix in self.URC_PREFIXES:
            if line.startswith(prefix):
                return True
        return False

    def _urc(self, line):
        if line.startswith(self.PDU_URCS):
            self._pdu_head = line  # handed out with its PDU line, which comes next
        else:
            self._deliver(line)

    def _deliver(self, urc):
        """To the handlers and the queue: a URC line, or a PDU_URCS header and its PDU."""
        if urc == "RDY":
            if self._rdy is not None:
                self._rdy.finish()  # the boot recover() waits for
            else:
                # Restarted on its own: counters zeroed, echo back on, settings gone.
                self.reboots_seen += 1
                self._needs_init = True
                p = self._pending
                if p is not None and not p.done:
                    p.fail(ModemError("modem restarted (RDY)", None, p.command))
        for handler in self._handlers:
            try:
                handler(urc)
            except Exception:  # a broken handler must not stop the reading
                self.handler_errors += 1
        self._urcs.append(urc)
        if len(self._urcs) > self.urc_queue_len:
            self._urcs.pop(0)
            self.urcs_dropped += 1
        self._urc_event.set()

    # -- what the meter needs (Quectel dialect) -------------------------------

    async def data_counters(self):
        """(sent, received) bytes counted by the modem since its last counter reset (AT+QGDCNT?)."""
        fields = _fields(await self.command("AT+QGDCNT?"), "+QGDCNT:", 2)
        try:
            return int(fields[0]), int(fields[1])
        except ValueError:
            raise ModemError("unexpected answer: " + ",".join(fields), None, "AT+QGDCNT?")

    async def set_data(self, on):
        """Activate or deactivate the data context (AT+CGACT=<1|0>,cid)."""
        await self.command("AT+CGACT=%d,%d" % (1 if on else 0, self.cid), self.context_timeout_ms)

    async def data_active(self):
        """Whether the data context is active (AT+CGACT? -> +CGACT: <cid>,<state>)."""
        for line in await self.command("AT+CGACT?"):
            fields = line[7:].split(",")  # after "+CGACT:"
            if len(fields) >= 2 and fields[0].strip() == str(self.cid):
                return fields[1].strip() == "1"
        return False  # context not defined: not active

    async def registered(self):
        """Whether the modem is registered on LTE, at home or roaming (AT+CEREG? stat 1 or 5)."""
        fields = _fields(await self.command("AT+CEREG?"), "+CEREG:", 2)
        return fields[1] in ("1", "5")


def _fields(lines, prefix, count):
    """The fields of the first line with prefix whose field number `count` is a number.

    That skips a URC with the same prefix (+CEREG: 5,"1A2B",... has no number second).
    """
    for line in lines:
        if line.startswith(prefix):
            fields = [f.strip() for f in line[len(prefix) :].split(",")]
            if len(fields) >= count and fields[count - 1].isdigit():
                return fields
    raise ModemError("unexpected answer: %r" % (lines,), None, prefix)
