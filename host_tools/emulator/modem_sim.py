"""A simulated LTE modem speaking a Quectel-style AT dialect on a pty.

`SimulatedModem(carrier, tty_path, power_path, clock)` opens `tty_path` (the far
end of the board's modem UART, e.g. `BoardRunner.modem_link.host_path`) and, once
`start()`ed, answers in a thread until `stop()`. Everything runs on simulated
time: `clock()` returns simulated epoch ms.

Power: while `power_path` reads anything but "1" (or is missing) the modem is off:
input is ignored, the data session is down and its state is lost. At power-on it
boots for `boot_ms`, sends `\\r\\nRDY\\r\\n` and `\\r\\n+CPIN: READY\\r\\n`, and registers
`register_ms` later (`\\r\\n+CEREG: 1\\r\\n` if AT+CEREG=1, with location if =2). A
`modem_reset` fault in the scenario reboots it the same way at its time; a
`modem_silent` fault hangs it: from its time it answers nothing (no echo, no
result, no URC) while its data session stays up, until its power is cut.

Commands end with CR; echo is on after boot (ATE0/ATE1). Answers are
`\\r\\n<info>\\r\\n\\r\\nOK\\r\\n`, `\\r\\nOK\\r\\n` or an error: `\\r\\nERROR\\r\\n`, or
with AT+CMEE=1 `\\r\\n+CME ERROR: <n>\\r\\n` (`+CMS ERROR: <n>` for SMS), with
AT+CMEE=2 the 3GPP text instead of <n>. Each command is a `_at_<name>` method
below; docs/scenario.md lists the dialect with its exact answers.

AT+QGDCNT? counts exactly the bytes the carrier carried since power-on or the last
AT+QGDCNT=0, `SENT_SHARE` of them sent and the rest received, before any billing
rounding; the carrier is advanced to `clock()` before every answer and every tick.
"""

import os
import re
import select
import sys
import threading
import traceback
import tty
from fractions import Fraction

from host_tools.emulator.scenario import SIM_SLOTS, iso_ms
from host_tools.emulator.smsc import DEFAULT_VALIDITY_MS as VALIDITY_MS
from host_tools.emulator.smsc import Part
from protocol import sms_pdu

SENT_SHARE = Fraction(1, 10)  # of the carried bytes counted as sent (uplink); the rest received
DEFAULT_IMEI = "861234567890127"  # TAC 86123456, serial 789012, Luhn check digit 7
DEFAULT_IMSI = "460001234567890"  # MCC 460 (China), MNC 00 (China Mobile)
LOCATION = '"1A2B","0C3D4E5F",7'  # tac, ci, AcT 7 = E-UTRAN, for +CEREG with n=2

CME_TEXT = {  # 3GPP TS 27.007 §9.2
    3: "operation not allowed",
    4: "operation not supported",
    30: "no network service",
    50: "Incorrect parameters",
}
CMS_TEXT = {  # 3GPP TS 27.005 §3.2.5; below 128, RP-causes of TS 24.011 E.2
    1: "unassigned (unallocated) number",
    302: "operation not allowed",
    303: "operation not supported",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
    331: "no network service",
}
MAX_CHARS = {"GSM": 160, "IRA": 160, "UCS2": 70}  # one SMS in text mode
STAT_UNREAD, STAT_READ = 0, 1
_LINE_MAX = 1024
_OUT_MAX = 65536
_COMMAND = re.compile(r"^\+([A-Za-z]+)(=\?|\?|=(.*))?$")


class _Error(Exception):
    def __init__(self, code, sms=False):
        self.code, self.sms = code, sms


def _ucs2(hex_text):
    if len(hex_text) % 4 or not re.fullmatch(r"[0-9A-Fa-f]*", hex_text):
        raise _Error(305, sms=True)
    try:
        return bytes.fromhex(hex_text).decode("utf-16-be")
    except UnicodeDecodeError:
        raise _Error(305, sms=True) from None


class SimulatedModem:
    def __init__(self, carrier, tty_path, power_path, clock, boot_ms=500, register_ms=1500,
                 imei=DEFAULT_IMEI, imsi=DEFAULT_IMSI, tick_s=0.01, transcript=None):
        self.carrier = carrier
        self.power_path = power_path
        self.clock = clock
        self.boot_ms = boot_ms
        self.register_ms = register_ms
        self.imei, self.imsi = imei, imsi
        self.tick_s = tick_s
        self.transcript = transcript  # a path: every line in and out, with simulated time
        self.fd = os.open(tty_path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        os.set_blocking(self.fd, False)
        self.state = "off"  # "off", "booting", "on"
        self.boots = 0
        self.failures = []  # tracebacks of handler bugs (answered with ERROR)
        self.message_ref = 0  # TP-MR: kept on the SIM, survives power cycles
        # SIM message storage: index -> [stat, PDU hex]; survives power cycles
        self.storage = {
            index: [STAT_READ if read else STAT_UNREAD, self._pdu(m.sender, m.text, m.at_ms, None, m.damaged)]
            for index, (m, read) in enumerate(carrier.scenario.sim, 1)
        }
        now = clock()
        self._faults = [f for f in carrier.scenario.faults if f.kind in ("modem_reset", "modem_silent")
                        and f.at_ms >= now]
        self._out = bytearray()
        self._wake_r, self._wake_w = os.pipe()
        self._power_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = None
        self._forget()

    # --- power -------------------------------------------------------------------

    def _forget(self):
        """Everything a power cycle loses."""
        self.silent = False  # a `modem_silent` fault: hung, answering nothing, until its power is cut
        self.echo = True
        self.cmee = 0
        self.cereg = 0
        self.cmgf = 0
        self.cscs = "GSM"
        self.registered = False
        self.boot_done_ms = self.register_at_ms = None
        self._line = bytearray()
        self._sms = None  # (number or PDU length, payload) while collecting an AT+CMGS payload
        self.cnmi = (0, 0, 0, 0, 0)  # AT+CNMI: <mode>,<mt>,<bm>,<ds>,<bfr>
        del self._out[:]  # what it had not sent yet
        self._baseline = self.carrier.carried

    def _powered(self):
        try:
            with open(self.power_path) as f:
                return f.read().strip() == "1"
        except OSError:
            return False

    def _boot(self, at_ms):
        self.carrier.session_down(max(at_ms, self.carrier.now_ms))
        self._forget()
        self.state = "booting"
        self.boots += 1
        self.boot_done_ms = at_ms + self.boot_ms
        self._log(at_ms, "--", "power on: booting")

    def _power_off(self, at_ms):
        self.carrier.session_down(max(at_ms, self.carrier.now_ms))
        self._forget()
        self.state = "off"
        self._log(at_ms, "--", "power off")

    def power_cut(self, at_ms):
        """The board lost power at `at_ms` (its supply pin file says so too): the
        modem is off from that moment, not from whenever the next tick notices."""
        with self._power_lock:
            if self.state != "off":
                self._power_off(at_ms)

    def _tick(self):
        now = self.clock()
        powered = self._powered()
        if not powered and self.state != "off":
            self._power_off(now)
        elif powered and self.state == "off":
            self._boot(now)
        while self._faults and self._faults[0].at_ms <= now:
            fault = self._faults.pop(0)
            if self.state != "off":
                self._log(fault.at_ms, "--", "fault: %s" % fault.kind)
                if fault.kind == "modem_silent":
                    self.silent = True  # the data session stays up; only a power cycle cures it
                else:
                    self._boot(fault.at_ms)
        if self.state == "booting" and now >= self.boot_done_ms:
            self.state = "on"
            self.register_at_ms = self.boot_done_ms + self.register_ms
            self._send(b"\r\nRDY\r\n\r\n+CPIN: READY\r\n")
        if self.state == "on" and not self.registered and now >= self.register_at_ms:
            self.registered = True
            if self.cereg:
                self._send(self._cereg_urc().encode())
        self.carrier.advance(now)
        self._status_reports()
        self._receive(now)

    def _cereg_urc(self):
        return "\r\n+CEREG: 1%s\r\n" % ("," + LOCATION if self.cereg == 2 else "")

    # --- the serial line -----------------------------------------------------------

    def _log(self, ms, direction, text):
        if self.transcript is not None:
            with open(self.transcript, "a", encoding="utf-8") as f:
                f.write("%s %s %s\n" % (iso_ms(ms, self.carrier.plan.tz), direction, text))

    def _send(self, data, log=True):
        if self.silent:
            return  # hung: no answer, no echo, no URC
        if log:
            self._log(self.clock(), ">>", repr(data.decode("latin-1")))
        room = _OUT_MAX - len(self._out)
        self._out += data[:max(room, 0)]  # a UART nobody reads loses what overflows
        self._flush()

    def _flush(self):
        if not self._out:
            return
        try:
            written = os.write(self.fd, self._out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            written = len(self._out)
        del self._out[:written]

    def _feed(self, data):
        if self.silent:
            return
        for byte in data:
            if self._sms is not None:
                self._sms_byte(byte)
                continue
            if self.echo:
                self._send(bytes((byte,)), log=False)
            if byte == 0x0D:
                line = bytes(self._line)
                self._line.clear()
                self._command(line)
            elif byte == 0x0A:
                continue
            elif byte in (0x08, 0x7F):
                del self._line[-1:]
            elif len(self._line) < _LINE_MAX:
                self._line.append(byte)

    # --- answers -----------------------------------------------------------------

    def _ok(self, *info):
        head = "\r\n%s\r\n" % "\r\n".join(info) if info else ""
        self._send(head.encode() + b"\r\nOK\r\n")

    def _error(self, error):
        if self.cmee == 0:
            self._send(b"\r\nERROR\r\n")
            return
        kind, table = ("CMS", CMS_TEXT) if error.sms else ("CME", CME_TEXT)
        detail = table.get(error.code, "unknown") if self.cmee == 2 else str(error.code)
        self._send(("\r\n+%s ERROR: %s\r\n" % (kind, detail)).encode())

    def _command(self, raw):
        text = raw.decode("latin-1").strip()
        if len(text) < 2 or text[:2].upper() != "AT":
            return  # V.250: a line not starting with AT is not a command
        now = self.clock()
        self._log(now, "<<", text)
        body = text[2:]
        try:
            self._dispatch(body, now)
        except _Error as error:
            self._error(error)
        except Exception:
            self.failures.append(traceback.format_exc())
            traceback.print_exc(file=sys.stderr)
            self._error(_Error(4))

    def _dispatch(self, body, now):
        upper = body.upper()
        if upper == "":
            return self._ok()
        if upper in ("E", "E0", "E1"):
            self.echo = upper == "E1"
            return self._ok()
        if upper in ("I", "I0"):
            return self._ok("Quectel", "EC21", "Revision: EDGEMETER-SIM")
        match = _COMMAND.match(body)
        if not match:
            raise _Error(4)
        name, arg = match.group(1).upper(), match.group(3)
        op = "=" if arg is not None else match.group(2) or ""  # "", "?", "=?" or "="
        handler = getattr(self, "_at_" + name.lower(), None)
        if handler is None:
            raise _Error(4)
        return handler(op, arg, now)

    def _choice(self, arg, allowed):
        if arg is None or arg.strip() not in allowed:
            raise _Error(50)
        return int(arg.strip())

    def _at_cmee(self, op, arg, now):
        if op == "?":
            return self._ok("+CMEE: %d" % self.cmee)
        if op == "=?":
            return self._ok("+CMEE: (0-2)")
        self.cmee = self._choice(arg, ("0", "1", "2"))
        self._ok()

    def _at_cgsn(self, op, arg, now):
        if op == "=?":
            return self._ok()
        if op:
            raise _Error(50)
        self._ok(self.imei)

    def _at_cimi(self, op, arg, now):
        if op == "=?":
            return self._ok()
        if op:
            raise _Error(50)
        self._ok(self.imsi)

    def _at_cpin(self, op, arg, now):
        if op != "?":
            raise _Error(3)
        self._ok("+CPIN: READY")

    def _at_csq(self, op, arg, now):
        if op:
            raise _Error(50)
        self._ok("+CSQ: %s" % ("24,99" if self.registered else "99,99"))

    def _at_cereg(self, op, arg, now):
        if op == "?":
            stat = 1 if self.registered else 2
            extra = "," + LOCATION if self.cereg == 2 and self.registered else ""
            return self._ok("+CEREG: %d,%d%s" % (self.cereg, stat, extra))
        if op == "=?":
            return self._ok("+CEREG: (0-2)")
        self.cereg = self._choice(arg, ("0", "1", "2"))
        self._ok()

    def _at_cgact(self, op, arg, now):
        if op == "?":
            self.carrier.advance(now)
            return self._ok("+CGACT: 1,%d" % self.carrier.session)
        if op == "=?":
            return self._ok("+CGACT: (0,1)")
        parts = [p.strip() for p in (arg or "").split(",")]
        if parts[0] not in ("0", "1") or len(parts) > 2 or (len(parts) == 2 and parts[1] != "1"):
            raise _Error(50)
        if parts[0] == "1":
            if not self.registered:
                raise _Error(30)
            self.carrier.session_up(now)
        else:
            self.carrier.session_down(now)
        self._ok()

    def counters(self, now=None):
        """(sent, received): the bytes carried since power-on or AT+QGDCNT=0."""
        self.carrier.advance(self.clock() if now is None else now)
        counted = self.carrier.carried - self._baseline
        whole = int(counted)
        sent = int(counted * SENT_SHARE)
        return sent, whole - sent

    def _at_qgdcnt(self, op, arg, now):
        if op == "?":
            return self._ok("+QGDCNT: %d,%d" % self.counters(now))
        if op == "=?":
            return self._ok("+QGDCNT: (0,1)")
        if self._choice(arg, ("0", "1")) == 0:
            self.carrier.advance(now)
            self._baseline = self.carrier.carried
        self._ok()  # =1 saves to NVM on a real modem: nothing to do here

    def _at_cmgf(self, op, arg, now):
        if op == "?":
            return self._ok("+CMGF: %d" % self.cmgf)
        if op == "=?":
            return self._ok("+CMGF: (0,1)")
        self.cmgf = self._choice(arg, ("0", "1"))
        self._ok()

    def _at_cscs(self, op, arg, now):
        if op == "?":
            return self._ok('+CSCS: "%s"' % self.cscs)
        if op == "=?":
            return self._ok('+CSCS: ("GSM","IRA","UCS2")')
        value = (arg or "").strip().strip('"').upper()
        if value not in MAX_CHARS:
            raise _Error(50)
        self.cscs = value
        self._ok()

    # --- AT+CMGS: sending an SMS ---------------------------------------------------

    def _at_cmgs(self, op, arg, now):
        if op == "=?":
            return self._ok()
        if op != "=":
            raise _Error(302, sms=True)
        if self.cmgf == 0:
            # PDU mode: AT+CMGS=<TPDU length>, then the PDU in hex.
            if not (arg or "").strip().isdigit() or not 7 <= int(arg) <= 164:
                raise _Error(304, sms=True)
            target = int(arg)
        else:
            match = re.fullmatch(r'\s*"([^"]*)"\s*(?:,\s*(\d+)\s*)?', arg)
            if not match:
                raise _Error(305, sms=True)
            target = _ucs2(match.group(1)) if self.cscs == "UCS2" else match.group(1)
            if not re.fullmatch(r"\+?[0-9*#]{1,20}", target):
                raise _Error(305, sms=True)
        if not self.registered:
            raise _Error(331, sms=True)
        self._sms = (target, bytearray())
        self._send(b"\r\n> ")

    def _sms_byte(self, byte):
        target, payload = self._sms
        if byte == 0x1B:  # ESC: cancel
            self._sms = None
            return self._ok()
        if byte != 0x1A:
            if self.echo:
                self._send(bytes((byte,)), log=False)
            if byte == 0x0D:
                payload += b"\n"
                self._send(b"\r\n> ")
            elif byte != 0x0A and len(payload) < _LINE_MAX:
                payload.append(byte)
            return None
        self._sms = None
        now = self.clock()
        try:
            if self.cmgf == 0:
                pdu = sms_pdu.decode_submit(bytes(payload).replace(b"\n", b"").decode("latin-1"), target)
                number, text, concat, report = pdu["to"], pdu["text"], pdu["concat"], pdu["status_report"]
            else:
                number, text, concat, report = target, self._decode_text(bytes(payload)), None, False
        except sms_pdu.SMSError:
            return self._error(_Error(304, sms=True))
        except _Error as error:
            return self._error(error)
        if number in self.carrier.scenario.unassigned:
            self._log(now, "<<", "SMS to %s refused: unassigned number" % number)
            return self._error(_Error(1, sms=True))  # the network's RP-ERROR, cause 1
        self.message_ref = (self.message_ref + 1) % 256
        self._log(now, "<<", "SMS to %s (mr %d%s): %s" % (
            number, self.message_ref, ", part %d/%d" % concat[1:][::-1] if concat else "", text))
        sender = self.carrier.scenario.subscriber
        self.carrier.submit_sms(Part(sender, number, self.message_ref, text, concat, report, now, VALIDITY_MS))
        return self._ok("+CMGS: %d" % self.message_ref)

    def _at_cnmi(self, op, arg, now):
        if op == "?":
            return self._ok("+CNMI: %s" % ",".join(str(v) for v in self.cnmi))
        if op == "=?":
            return self._ok("+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)")
        values = [v.strip() for v in (arg or "").split(",")]
        if not 1 <= len(values) <= 5 or not all(v.isdigit() for v in values):
            raise _Error(50)
        self.cnmi = tuple(int(v) for v in values) + self.cnmi[len(values):]
        self._ok()

    def _receive(self, now):
        """Store the carrier's parts for the SIM while there is room; +CMTI for each."""
        if self.state != "on" or not self.registered:
            return
        queue = self.carrier.smsc.for_sim
        while queue and len(self.storage) < SIM_SLOTS:
            part = queue.pop(0)
            index = min(set(range(1, SIM_SLOTS + 1)) - set(self.storage))
            self.storage[index] = [STAT_UNREAD, self._pdu(part.sender, part.text, part.submitted_ms, part.concat, part.damaged)]
            self._log(now, "--", "SMS from %s stored at %d" % (part.sender, index))
            if self.cnmi[1] == 1:
                self._send(('\r\n+CMTI: "SM",%d\r\n' % index).encode())

    def _pdu(self, sender, text, sent_ms, concat=None, damaged=False):
        pdu = sms_pdu.deliver_pdu(sender, text, sent_ms // 1000, self.carrier.tz_quarters, concat)
        return pdu[: len(pdu) // 2 & ~1] if damaged else pdu  # cut off mid user data

    def _index(self, arg):
        if not (arg or "").strip().isdigit() or not 1 <= int(arg) <= SIM_SLOTS:
            raise _Error(321, sms=True)  # invalid memory index
        return int(arg)

    def _at_cmgr(self, op, arg, now):
        if op == "=?":
            return self._ok()
        index = self._index(arg)
        if self.cmgf != 0:
            raise _Error(302, sms=True)  # text mode reading is not simulated
        if index not in self.storage:
            return self._ok()  # an empty slot: no message, just OK
        stat, pdu = self.storage[index]
        self.storage[index][0] = STAT_READ
        self._ok("+CMGR: %d,,%d\r\n%s" % (stat, sms_pdu.tpdu_length(pdu), pdu))

    def _at_cmgd(self, op, arg, now):
        if op == "=?":
            return self._ok("+CMGD: (1-%d),(0-4)" % SIM_SLOTS)
        fields = [f.strip() for f in (arg or "").split(",")]
        flag = fields[1] if len(fields) > 1 else "0"
        if flag not in ("0", "1", "2", "3", "4"):
            raise _Error(50)
        if flag == "4":
            self.storage.clear()
        elif flag != "0":
            for index in [i for i, (stat, _p) in self.storage.items() if stat == STAT_READ]:
                del self.storage[index]
        else:
            self.storage.pop(self._index(fields[0]), None)
        self._ok()

    def _at_cmgl(self, op, arg, now):
        if op == "=?":
            return self._ok("+CMGL: (0-4)")
        wanted = (arg or "4").strip()
        if wanted not in ("0", "1", "4") or self.cmgf != 0:
            raise _Error(302, sms=True)
        lines = []
        for index in sorted(self.storage):
            stat, pdu = self.storage[index]
            if wanted == "4" or int(wanted) == stat:
                lines.append("+CMGL: %d,%d,,%d\r\n%s" % (index, stat, sms_pdu.tpdu_length(pdu), pdu))
                self.storage[index][0] = STAT_READ
        self._ok(*lines)

    def _at_cpms(self, op, arg, now):
        used = len(self.storage)
        if op == "?":
            return self._ok('+CPMS: "SM",%d,%d,"SM",%d,%d,"SM",%d,%d' % ((used, SIM_SLOTS) * 3))
        self._ok("+CPMS: %d,%d,%d,%d,%d,%d" % ((used, SIM_SLOTS) * 3))

    def _status_reports(self):
        """+CDS for each status report the SMSC has for us (AT+CNMI ds=1, PDU mode)."""
        if self.state != "on" or self.cnmi[3] != 1 or self.cmgf != 0:
            return
        for _sender, mr, to, status, submitted, at in self.carrier.take_reports(self.carrier.scenario.subscriber):
            pdu = sms_pdu.status_report_pdu(mr, to, status, submitted // 1000, at // 1000, self.carrier.tz_quarters)
            self._send(("\r\n+CDS: %d\r\n%s\r\n" % (sms_pdu.tpdu_length(pdu), pdu)).encode())

    def _decode_text(self, payload):
        if self.cscs == "UCS2":
            units = payload.replace(b"\n", b"").decode("latin-1")
            text = _ucs2(units)
            size = len(units) // 4
        else:
            text = payload.decode("ascii", errors="replace")
            size = len(text)
        if size > MAX_CHARS[self.cscs]:
            raise _Error(305, sms=True)
        return text

    # --- the thread --------------------------------------------------------------

    def _run(self):
        while not self._stopping.is_set():
            writers = [self.fd] if self._out else []
            readable, writable, _ = select.select([self.fd, self._wake_r], writers, [], self.tick_s)
            if self._wake_r in readable:
                break
            data = b""
            if self.fd in readable:
                try:
                    data = os.read(self.fd, 4096)
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    self._stopping.wait(self.tick_s)  # EIO: nobody on the other end yet
            try:
                with self._power_lock:
                    self._tick()
                    if data and self.state == "on":
                        self._feed(data)
                    self._flush()
            except Exception:
                self.failures.append(traceback.format_exc())
                traceback.print_exc(file=sys.stderr)

    def start(self):
        self._thread = threading.Thread(target=self._run, name="modem", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.carrier.advance(self.clock())
        self.carrier.write()
        for fd in (self.fd, self._wake_r, self._wake_w):
            os.close(fd)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
