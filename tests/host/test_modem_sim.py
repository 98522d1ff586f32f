"""The simulated modem and carrier (host_tools/emulator): scenario checks, the
carrier's books, and the AT dialect over a real pty pair on a clock the test moves."""

import json
import os
import pty
import re
import select
import time
import tty
from datetime import datetime

import pytest

from host_tools.emulator.carrier import Carrier, cycle_bounds
from host_tools.emulator.modem_sim import DEFAULT_IMEI, DEFAULT_IMSI, SimulatedModem
from protocol import sms_pdu
from host_tools.emulator.scenario import (
    BYTES_PER_MB,
    DEFAULT_SCENARIO,
    ScenarioError,
    load_scenario,
    parse_scenario,
)

START_ISO = "2026-12-01T08:00:00+08:00"
START = int(datetime.fromisoformat(START_ISO).timestamp() * 1000)
BOOT_MS, REGISTER_MS = 500, 1500
REMINDER = "尊敬的客户，您的套餐剩余流量10MB"


def ms_of(iso):
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def bytes_at(mbps, ms):
    """What `mbps` Mbit/s carries in `ms` milliseconds (1 Mbit = 10**6 bits)."""
    return mbps * 10**6 * ms / 8 / 1000


def kb_up(n):
    return -(-n // 1024) * 1024


def scenario(**overrides):
    data = {
        "start": START_ISO,
        "subscriber": "+8613800138000",
        "plan": {"quota_mb": 100, "cycle_day": 1, "timezone": "+08:00"},
        "traffic": [{"from": START_ISO, "mbps": 8}],
        "faults": [],
    }
    data.update(overrides)
    return parse_scenario(data)


def wait_for(condition, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % condition)
        time.sleep(0.005)


class FakeClock:
    def __init__(self, ms):
        self.ms = ms

    def __call__(self):
        return self.ms


class Rig:
    """A modem on one end of a pty pair; the test is the firmware on the other."""

    def __init__(self, tmp_path, scen):
        self.state = tmp_path
        self.clock = FakeClock(scen.start_ms)
        self.carrier = Carrier(scen, tmp_path)
        self.master, self.slave = pty.openpty()
        tty.setraw(self.master)
        self.power_path = str(tmp_path / "modem-power")
        self.modem = SimulatedModem(
            self.carrier, os.ttyname(self.slave), self.power_path, self.clock,
            boot_ms=BOOT_MS, register_ms=REGISTER_MS, transcript=str(tmp_path / "modem.log"),
        ).start()
        self.pending = b""

    def close(self):
        self.modem.stop()
        os.close(self.master)
        os.close(self.slave)
        assert self.modem.failures == []

    def power(self, on):
        with open(self.power_path, "w") as f:
            f.write("1" if on else "0")
        wait_for(lambda: (self.modem.state != "off") == on)

    def boot(self, register=True):
        """Power on, let the boot time pass, expect RDY; then (optionally) registration."""
        self.power(True)
        self.clock.ms += BOOT_MS
        assert self.read_until(b"+CPIN: READY\r\n") == b"\r\nRDY\r\n\r\n+CPIN: READY\r\n"
        if register:
            self.clock.ms += REGISTER_MS
            wait_for(lambda: self.modem.registered)

    def write(self, data):
        os.write(self.master, data)

    def read_until(self, pattern, timeout=3.0):
        regex = re.compile(re.escape(pattern) if isinstance(pattern, bytes) else pattern.encode())
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.pending)
            if match:
                out, self.pending = self.pending[: match.end()], self.pending[match.end():]
                return out
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r in %r" % (pattern, self.pending))
            if select.select([self.master], [], [], left)[0]:
                self.pending += os.read(self.master, 4096)

    def silent(self, seconds=0.15):
        """Nothing arrives for a while."""
        time.sleep(seconds)
        ready = select.select([self.master], [], [], 0)[0]
        return not ready and not self.pending

    def at(self, command):
        """Send a command, return everything up to its final result code."""
        self.write(command.encode("latin-1") + b"\r")
        return self.read_until(r"\r\n(OK|ERROR|\+CM[ES] ERROR: [^\r]*|> )(\r\n)?$|\r\n> ").decode("latin-1")

    def counters(self):
        answer = self.at("AT+QGDCNT?")
        sent, received = re.search(r"\+QGDCNT: (\d+),(\d+)", answer).groups()
        return int(sent), int(received)

    def network(self):
        with open(self.state / "network.json") as f:
            return json.load(f)

    def sms(self):
        try:
            with open(self.state / "sms.jsonl", encoding="utf-8") as f:
                return [json.loads(line) for line in f]
        except FileNotFoundError:
            return []


@pytest.fixture
def make_rig(tmp_path):
    rigs = []

    def make(scen=None):
        rig = Rig(tmp_path, scen or scenario())
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


@pytest.fixture
def rig(make_rig):
    """A booted, registered modem with echo off."""
    r = make_rig()
    r.boot()
    assert r.at("ATE0") == "ATE0\r\r\nOK\r\n"
    return r


# --- AT basics ---------------------------------------------------------------------


def test_at_basics_and_errors(rig):
    assert rig.at("AT") == "\r\nOK\r\n"
    assert rig.at("at") == "\r\nOK\r\n"
    assert rig.at("AT+CGSN") == "\r\n%s\r\n\r\nOK\r\n" % DEFAULT_IMEI
    assert rig.at("AT+CIMI") == "\r\n%s\r\n\r\nOK\r\n" % DEFAULT_IMSI
    assert rig.at("ATI") == "\r\nQuectel\r\nEC21\r\nRevision: EDGEMETER-SIM\r\n\r\nOK\r\n"
    assert rig.at("AT+CPIN?") == "\r\n+CPIN: READY\r\n\r\nOK\r\n"
    assert rig.at("AT+CGACT?") == "\r\n+CGACT: 1,0\r\n\r\nOK\r\n"
    assert rig.at("AT+NOSUCH") == "\r\nERROR\r\n"
    assert rig.at("AT+CMEE=1") == "\r\nOK\r\n"
    assert rig.at("AT+CMEE?") == "\r\n+CMEE: 1\r\n\r\nOK\r\n"
    assert rig.at("AT+NOSUCH") == "\r\n+CME ERROR: 4\r\n"
    assert rig.at("AT+CEREG=7") == "\r\n+CME ERROR: 50\r\n"
    assert rig.at("AT+CMEE=2") == "\r\nOK\r\n"
    assert rig.at("AT+NOSUCH") == "\r\n+CME ERROR: operation not supported\r\n"
    assert rig.at("AT+CMEE=0") == "\r\nOK\r\n"
    rig.write(b"garbage without the prefix\r")
    assert rig.silent()


def test_echo_on_by_default_then_off_and_on(make_rig):
    rig = make_rig()
    rig.boot(register=False)
    assert rig.at("AT") == "AT\r\r\nOK\r\n"
    assert rig.at("ATE0") == "ATE0\r\r\nOK\r\n"
    assert rig.at("AT") == "\r\nOK\r\n"
    assert rig.at("ATE1") == "\r\nOK\r\n"
    assert rig.at("AT+CGSN") == "AT+CGSN\r\r\n%s\r\n\r\nOK\r\n" % DEFAULT_IMEI


def test_registration_after_boot_and_cereg_urc(make_rig):
    rig = make_rig()
    rig.boot(register=False)
    rig.at("ATE0")
    assert rig.at("AT+CEREG=1") == "\r\nOK\r\n"
    assert rig.at("AT+CEREG?") == "\r\n+CEREG: 1,2\r\n\r\nOK\r\n"  # searching
    assert rig.at("AT+CMEE=1") == "\r\nOK\r\n"
    assert rig.at("AT+CGACT=1,1") == "\r\n+CME ERROR: 30\r\n"  # no network service yet
    rig.clock.ms += REGISTER_MS
    assert rig.read_until(b"+CEREG: 1\r\n") == b"\r\n+CEREG: 1\r\n"
    assert rig.at("AT+CEREG?") == "\r\n+CEREG: 1,1\r\n\r\nOK\r\n"
    assert rig.at("AT+CEREG=2") == "\r\nOK\r\n"
    assert rig.at("AT+CEREG?") == '\r\n+CEREG: 2,1,"1A2B","0C3D4E5F",7\r\n\r\nOK\r\n'
    assert rig.at("AT+CGACT=1,1") == "\r\nOK\r\n"
    assert rig.at("AT+CGACT?") == "\r\n+CGACT: 1,1\r\n\r\nOK\r\n"


# --- counting ----------------------------------------------------------------------


def test_qgdcnt_counts_exactly_the_traffic_while_the_session_is_up(make_rig):
    scen = scenario(traffic=[
        {"from": START_ISO, "mbps": 8},
        {"from": "+10s", "mbps": 3},
        {"from": "+20s", "mbps": 0.5},
    ])
    rig = make_rig(scen)
    rig.boot()
    rig.at("ATE0")
    assert rig.counters() == (0, 0)
    rig.clock.ms = START + 5000
    assert rig.counters() == (0, 0)  # traffic offered, but no session: nothing flows
    assert rig.at("AT+CGACT=1,1") == "\r\nOK\r\n"
    rig.clock.ms = START + 15000
    first = bytes_at(8, 5000) + bytes_at(3, 5000)
    assert rig.counters() == (first // 10, first - first // 10)
    rig.clock.ms = START + 25000
    assert rig.at("AT+CGACT=0,1") == "\r\nOK\r\n"
    session1 = first + bytes_at(3, 5000) + bytes_at(0.5, 5000)
    rig.clock.ms = START + 50000
    total = int(session1)
    assert rig.counters() == (total // 10, total - total // 10)  # nothing while down
    assert rig.at("AT+CGACT=1,1") == "\r\nOK\r\n"
    rig.clock.ms = START + 51000
    total = int(session1 + bytes_at(0.5, 1000))  # counting goes on across sessions
    assert rig.counters() == (total // 10, total - total // 10)
    assert sum(rig.counters()) == 9125000
    # The carrier bills the closed session rounded up to 1 KB, the open one exactly
    # (network.json is refreshed each simulated minute; the snapshot is now).
    net = rig.carrier.snapshot()
    assert net["used_bytes"] == kb_up(int(session1)) + int(bytes_at(0.5, 1000))
    assert net["data_session"] == "up"
    assert rig.at("AT+QGDCNT=0") == "\r\nOK\r\n"
    assert rig.counters() == (0, 0)
    rig.clock.ms = START + 53000
    assert sum(rig.counters()) == bytes_at(0.5, 2000)


def test_carrier_bills_each_session_rounded_up_to_1kb(tmp_path):
    carrier = Carrier(scenario(traffic=[{"from": START_ISO, "mbps": 1}]), tmp_path)  # 125 bytes/ms
    carrier.session_up(START)
    carrier.session_down(START + 1)  # 125 bytes
    assert carrier.used_bytes == 1024
    carrier.session_up(START + 100)
    carrier.session_down(START + 110)  # 1250 bytes
    assert carrier.used_bytes == 1024 + 2048
    carrier.session_up(START + 200)
    carrier.session_down(START + 200)  # nothing carried: nothing billed
    carrier.session_up(START + 300)
    carrier.advance(START + 303)
    assert carrier.used_bytes == 3072 + 375  # the open session counts exactly
    assert int(carrier.carried) == 125 + 1250 + 375
    with open(tmp_path / "network.json") as f:
        assert json.load(f)["used_bytes"] == 3072  # written when the last session closed
    carrier.write()
    with open(tmp_path / "network.json") as f:
        assert json.load(f)["used_bytes"] == 3072 + 375
    with open(tmp_path / "cdr.jsonl") as f:
        records = [json.loads(line) for line in f]
    assert [(r["bytes"], r["billed_bytes"]) for r in records] == [(125, 1024), (1250, 2048), (0, 0)]
    assert records[0]["start"] == "2026-12-01T08:00:00.000+08:00"


def test_exact_integration_has_no_drift(tmp_path):
    """Many tiny advances carry exactly what one big advance carries."""
    scen = scenario(traffic=[{"from": START_ISO, "mbps": 0.3}, {"from": "+7s", "mbps": 1.7}])
    a, b = Carrier(scen, tmp_path / "a"), Carrier(scen, tmp_path / "b")
    a.session_up(START)
    b.session_up(START)
    for t in range(START, START + 20001, 7):
        a.advance(t)
    a.advance(START + 20000)
    b.advance(START + 20000)
    assert a.carried == b.carried == bytes_at(0.3, 7000) + bytes_at(1.7, 13000)


# --- power and faults ----------------------------------------------------------------


def test_power_off_and_on_loses_counters_and_boots_with_rdy(make_rig):
    rig = make_rig()
    rig.boot()
    rig.at("ATE0")
    rig.at("AT+CGACT=1,1")
    rig.clock.ms += 1000
    assert sum(rig.counters()) == bytes_at(8, 1000)
    rig.power(False)
    assert rig.network()["data_session"] == "down"
    rig.write(b"AT\r")
    assert rig.silent()  # off: input ignored
    rig.clock.ms += 60000
    rig.power(True)
    rig.write(b"AT\r")
    assert rig.silent()  # booting: input ignored
    rig.clock.ms += BOOT_MS
    assert rig.read_until(b"+CPIN: READY\r\n") == b"\r\nRDY\r\n\r\n+CPIN: READY\r\n"
    assert rig.at("AT") == "AT\r\r\nOK\r\n"  # echo is back on: settings were lost
    assert rig.at("AT+QGDCNT?") == "AT+QGDCNT?\r\r\n+QGDCNT: 0,0\r\n\r\nOK\r\n"
    assert rig.at("AT+CGACT?") == "AT+CGACT?\r\r\n+CGACT: 1,0\r\n\r\nOK\r\n"
    assert rig.network()["used_bytes"] == kb_up(bytes_at(8, 1000))
    assert rig.modem.boots == 2


def test_scripted_modem_reset(make_rig):
    scen = scenario(faults=[{"at": "+30s", "modem_reset": True}])
    rig = make_rig(scen)
    rig.boot()
    rig.at("ATE0")
    rig.at("AT+CGACT=1,1")
    up_at = rig.clock.ms
    rig.clock.ms = START + 29000
    assert sum(rig.counters()) == bytes_at(8, START + 29000 - up_at)
    rig.clock.ms = START + 31000  # past the fault: the modem went down at +30 s
    wait_for(lambda: rig.modem.boots == 2)
    assert rig.network()["data_session"] == "down"
    assert rig.network()["used_bytes"] == kb_up(bytes_at(8, START + 30000 - up_at))
    assert rig.read_until(b"+CPIN: READY\r\n") == b"\r\nRDY\r\n\r\n+CPIN: READY\r\n"  # +30.5 s
    rig.at("ATE0")
    assert rig.counters() == (0, 0)
    assert rig.at("AT+CGACT?") == "\r\n+CGACT: 1,0\r\n\r\nOK\r\n"
    rig.clock.ms += REGISTER_MS
    wait_for(lambda: rig.modem.registered)
    assert rig.at("AT+CGACT=1,1") == "\r\nOK\r\n"  # the firmware brings the session back
    rig.clock.ms += 1000
    assert sum(rig.counters()) == bytes_at(8, 1000)


# --- SMS -----------------------------------------------------------------------------


def test_cmgs_text_mode_gsm_charset(rig):
    assert rig.at("AT+CMGF=1") == "\r\nOK\r\n"
    assert rig.at('AT+CSCS="GSM"') == "\r\nOK\r\n"
    assert rig.at('AT+CMGS="+8613900000000"') == "\r\n> "
    rig.write(b"Data left: 10MB\x1a")
    assert rig.read_until(b"OK\r\n") == b"\r\n+CMGS: 1\r\n\r\nOK\r\n"
    assert rig.at('AT+CMGS="10086"') == "\r\n> "
    rig.write(b"CXLL\x1a")
    assert rig.read_until(b"OK\r\n") == b"\r\n+CMGS: 2\r\n\r\nOK\r\n"
    assert rig.sms() == [
        {"time": "2026-12-01T08:00:02.000+08:00", "from": "+8613800138000", "to": "+8613900000000", "text": "Data left: 10MB", "parts": 1},
        {"time": "2026-12-01T08:00:02.000+08:00", "from": "+8613800138000", "to": "10086", "text": "CXLL", "parts": 1},
    ]


def test_cmgs_text_mode_ucs2_chinese(rig):
    rig.at("AT+CMGF=1")
    assert rig.at('AT+CSCS="UCS2"') == "\r\nOK\r\n"
    assert rig.at("AT+CSCS?") == '\r\n+CSCS: "UCS2"\r\n\r\nOK\r\n'
    number = "+8613900000000".encode("utf-16-be").hex().upper()
    assert rig.at('AT+CMGS="%s"' % number) == "\r\n> "
    rig.write(REMINDER.encode("utf-16-be").hex().upper().encode() + b"\x1a")
    assert rig.read_until(b"OK\r\n") == b"\r\n+CMGS: 1\r\n\r\nOK\r\n"
    (sms,) = rig.sms()
    assert sms["text"] == REMINDER and sms["to"] == "+8613900000000"
    with open(rig.state / "sms.jsonl", encoding="utf-8") as f:
        assert REMINDER in f.read()  # stored readable, not \u-escaped
    # ESC cancels: nothing is sent.
    assert rig.at('AT+CMGS="%s"' % number) == "\r\n> "
    rig.write(b"0041\x1b")
    assert rig.read_until(b"OK\r\n") == b"\r\nOK\r\n"
    # More than 70 UCS2 characters do not fit one SMS; bad hex is refused.
    rig.at("AT+CMEE=1")
    assert rig.at('AT+CMGS="%s"' % number) == "\r\n> "
    rig.write(("流" * 71).encode("utf-16-be").hex().encode() + b"\x1a")
    assert rig.read_until(b"\r\n+CMS ERROR: 305\r\n")
    assert rig.at('AT+CMGS="+86139"') == "\r\n+CMS ERROR: 305\r\n"  # not UCS2 hex
    assert len(rig.sms()) == 1
    assert rig.modem.message_ref == 1


def test_cmgs_refused_in_pdu_mode_and_before_registration(make_rig):
    rig = make_rig()
    rig.boot(register=False)
    rig.at("ATE0")
    rig.at("AT+CMEE=1")
    assert rig.at("AT+CMGF?") == "\r\n+CMGF: 0\r\n\r\nOK\r\n"
    assert rig.at('AT+CMGS="10086"') == "\r\n+CMS ERROR: 304\r\n"
    rig.at("AT+CMGF=1")
    assert rig.at('AT+CMGS="10086"') == "\r\n+CMS ERROR: 331\r\n"


def _submit(rig, pdu, length):
    assert rig.at("AT+CMGS=%d" % length) == "\r\n> "
    rig.write(pdu.encode() + b"\x1a")
    return rig.read_until(r"OK\r\n|ERROR: \d+\r\n").decode()


def test_cmgs_pdu_mode_multipart_is_shown_whole_once_all_parts_arrive(rig):
    rig.at("AT+CMGF=0")
    text = "尊敬的客户，" * 30  # 180 UCS2 units: 3 parts of at most 67
    parts = sms_pdu.submit_pdus("+8613900000000", text, ref=7)
    assert len(parts) == 3
    refs = []
    for i, (pdu, length) in enumerate(parts):
        assert rig.sms() == []  # the phone shows nothing until the last part
        refs.append(int(re.search(r"\+CMGS: (\d+)", _submit(rig, pdu, length)).group(1)))
    (shown,) = rig.sms()
    assert shown["text"] == text and shown["parts"] == 3 and shown["to"] == "+8613900000000"
    assert refs == [1, 2, 3]


def test_cmgs_pdu_mode_refuses_a_bad_pdu_or_length(rig):
    rig.at("AT+CMEE=1")
    rig.at("AT+CMGF=0")
    pdu, length = sms_pdu.submit_pdus("10086", "CXLL", ref=1)[0]
    assert _submit(rig, pdu[:-2], length).startswith("\r\n+CMS ERROR: 304")  # one octet short
    assert rig.at("AT+CMGS=0") == "\r\n+CMS ERROR: 304\r\n"
    assert rig.sms() == [] and rig.modem.message_ref == 0


def test_status_reports_say_busy_while_the_phone_is_off_then_delivered(make_rig):
    off = {"at": "+10s", "phone_off": True, "until": "+1h"}
    rig = make_rig(scenario(faults=[off]))
    rig.boot()
    rig.at("ATE0")
    rig.at("AT+CMGF=0")
    rig.at("AT+CNMI=2,1,0,1,0")
    rig.clock.ms = START + 20000
    pdu, length = sms_pdu.submit_pdus("+8613800138000", "Data left: 5MB", ref=2, status_report=True)[0]
    mr = int(re.search(r"\+CMGS: (\d+)", _submit(rig, pdu, length)).group(1))
    busy = rig.read_until(r"\+CDS: \d+\r\n[0-9A-F]+\r\n").decode().split()
    report = sms_pdu.decode_status_report(busy[-1], int(busy[-2]))
    assert report["ref"] == mr and report["status"] == 0x21 and not report["final"]
    assert rig.sms() == []
    rig.clock.ms = START + 3600 * 1000 + 5000  # the phone is back
    done = rig.read_until(r"\+CDS: \d+\r\n[0-9A-F]+\r\n").decode().split()
    report = sms_pdu.decode_status_report(done[-1], int(done[-2]))
    assert report["ref"] == mr and report["delivered"] and report["final"]
    assert [m["text"] for m in rig.sms()] == ["Data left: 5MB"]


def test_a_part_not_delivered_within_its_validity_expires(make_rig):
    rig = make_rig(scenario(faults=[{"at": "+0s", "phone_off": True, "until": "+3d"}]))
    rig.boot()
    rig.at("ATE0")
    rig.at("AT+CMGF=0")
    rig.at("AT+CNMI=2,1,0,1,0")
    pdu, length = sms_pdu.submit_pdus("+8613800138000", "CXLL", ref=3, status_report=True)[0]
    _submit(rig, pdu, length)
    rig.read_until(b"+CDS:")
    rig.read_until(b"\r\n")
    rig.clock.ms = START + 25 * 3600 * 1000
    expired = rig.read_until(r"\+CDS: \d+\r\n[0-9A-F]+\r\n").decode().split()
    report = sms_pdu.decode_status_report(expired[-1])
    assert report["status"] == 0x46 and report["final"] and not report["delivered"]
    rig.clock.ms = START + 4 * 86400 * 1000
    assert rig.silent() and rig.sms() == []


def test_carrier_messages_are_stored_announced_read_and_deleted(make_rig):
    notices = [{"at": "+5s", "from": "10086", "text": "余额%d.00元" % i} for i in range(22)]
    long_text = "尊敬的客户，" * 30  # three parts
    rig = make_rig(scenario(messages=notices + [{"at": "+6s", "text": long_text}]))
    rig.boot()
    rig.at("ATE0")
    rig.at("AT+CMGF=0")
    rig.at("AT+CNMI=2,1,0,1,0")
    rig.clock.ms = START + 10000
    for index in range(1, 21):  # 20 slots: the rest waits at the SMS centre
        assert rig.read_until(r'\+CMTI: "SM",\d+\r\n').decode().strip() == '+CMTI: "SM",%d' % index
    assert rig.silent()
    assert rig.at("AT+CPMS?").startswith('\r\n+CPMS: "SM",20,20')
    answer = rig.at("AT+CMGR=1").split("\r\n")
    assert answer[1] == "+CMGR: 0,,%d" % sms_pdu.tpdu_length(answer[2])
    assert sms_pdu.decode_deliver(answer[2])["text"] == "余额0.00元"
    assert rig.at("AT+CMGR=1").startswith("\r\n+CMGR: 1,,")  # read now
    assert rig.at("AT+CMGD=1") == "\r\nOK\r\n"
    assert rig.read_until(r'\+CMTI: "SM",\d+\r\n').decode().strip() == '+CMTI: "SM",1'  # room again
    assert rig.at("AT+CMGD=1,4") == "\r\nOK\r\n"  # delete all
    # The last notice and the three parts of the long text come in now.
    indexes = [int(rig.read_until(r'\+CMTI: "SM",\d+\r\n').decode().strip().rsplit(",", 1)[1]) for _ in range(4)]
    texts = [sms_pdu.decode_deliver(rig.at("AT+CMGR=%d" % i).split("\r\n")[2]) for i in indexes]
    assert texts[0]["text"] == "余额21.00元"
    assert "".join(t["text"] for t in sorted(texts[1:], key=lambda t: t["concat"][2])) == long_text
    listed = rig.at("AT+CMGL=4")
    assert listed.count("+CMGL:") == 4
    rig.at("AT+CMEE=1")
    assert rig.at("AT+CMGR=21") == "\r\n+CMS ERROR: 321\r\n"


# --- the carrier's books ---------------------------------------------------------------


def test_network_json_fields_and_minute_refresh(tmp_path):
    carrier = Carrier(scenario(), tmp_path)
    with open(tmp_path / "network.json") as f:
        net = json.load(f)
    assert {"used_bytes", "data_session", "cycle_start", "quota_bytes", "time"} <= set(net)
    assert net["used_bytes"] == 0 and net["data_session"] == "down"
    assert net["quota_bytes"] == 100 * BYTES_PER_MB == 104857600
    assert net["cycle_start"] == "2026-12-01T00:00:00.000+08:00"
    assert net["time"] == "2026-12-01T08:00:00.000+08:00"
    carrier.advance(START + 30000)  # nothing changed, less than a minute: not rewritten
    with open(tmp_path / "network.json") as f:
        assert json.load(f)["time"] == "2026-12-01T08:00:00.000+08:00"
    carrier.advance(START + 60000)
    with open(tmp_path / "network.json") as f:
        assert json.load(f)["time"] == "2026-12-01T08:01:00.000+08:00"
    carrier.session_up(START + 61000)  # a change: written at once
    with open(tmp_path / "network.json") as f:
        net = json.load(f)
    assert net["data_session"] == "up" and net["time"] == "2026-12-01T08:01:01.000+08:00"
    assert not os.path.exists(tmp_path / "network.json.tmp")


def test_cycle_rolls_over_on_the_cycle_day_in_plan_time_not_utc(tmp_path):
    start = "2026-11-30T23:00:00+08:00"  # 15:00 UTC
    scen = scenario(start=start, traffic=[{"from": start, "mbps": 1}])
    carrier = Carrier(scen, tmp_path)
    carrier.session_up(ms_of(start))
    carrier.advance(ms_of("2026-11-30T15:59:59Z"))
    assert carrier.snapshot()["cycle_start"] == "2026-11-01T00:00:00.000+08:00"
    assert carrier.used_bytes == 3599 * 125000
    # 00:00 on the 1st in +08:00 is 16:00 UTC on the 30th: the UTC date has not changed.
    carrier.advance(ms_of("2026-11-30T16:00:00Z"))
    snap = carrier.snapshot()
    assert snap["cycle_start"] == "2026-12-01T00:00:00.000+08:00"
    assert snap["cycle_end"] == "2027-01-01T00:00:00.000+08:00"
    assert snap["used_bytes"] == 0 and snap["data_session"] == "up"
    carrier.advance(ms_of("2026-11-30T16:00:01Z"))
    assert carrier.used_bytes == 125000
    # UTC midnight (08:00 local) is no rollover.
    carrier.advance(ms_of("2026-12-01T00:00:01Z"))
    assert carrier.snapshot()["cycle_start"] == "2026-12-01T00:00:00.000+08:00"
    assert carrier.used_bytes == (8 * 3600 + 1) * 125000
    with open(tmp_path / "cdr.jsonl") as f:
        (partial,) = [json.loads(line) for line in f]
    assert partial["partial"] and partial["bytes"] == 3600 * 125000
    assert partial["end"] == "2026-12-01T00:00:00.000+08:00"
    assert partial["cycle_start"] == "2026-11-01T00:00:00.000+08:00"


def test_cycle_bounds_clamp_and_offsets():
    # Day 31 in February: the cycle starts on the month's last day.
    start, end = cycle_bounds(ms_of("2027-02-28T12:00:00+08:00"), 31, 480)
    assert (start, end) == (ms_of("2027-02-28T00:00:00+08:00"), ms_of("2027-03-31T00:00:00+08:00"))
    start, end = cycle_bounds(ms_of("2027-01-15T03:00:00Z"), 15, -300)  # still the 14th in -05:00
    assert (start, end) == (ms_of("2026-12-15T00:00:00-05:00"), ms_of("2027-01-15T00:00:00-05:00"))


def test_addon_raises_quota_for_its_cycle_and_the_carrier_never_cuts(tmp_path):
    scen = scenario(
        plan={"quota_mb": 100, "cycle_day": 1, "timezone": "+08:00", "at_zero": "cut",
              "addons": [{"at": "+1h", "mb": 500}]},
        traffic=[{"from": START_ISO, "mbps": 8.388608}],  # exactly 1 MB (1,048,576 bytes) a second
    )
    carrier = Carrier(scen, tmp_path)
    assert carrier.quota_bytes == 100 * BYTES_PER_MB
    carrier.session_up(START)
    carrier.advance(START + 99000)
    assert carrier.used_bytes == 99 * BYTES_PER_MB
    carrier.advance(START + 600000)  # past the quota data flows on, out of plan: the device must cut
    assert carrier.used_bytes == 600 * BYTES_PER_MB
    assert carrier.snapshot()["remaining_bytes"] == 0
    carrier.advance(START + 3600000 + 10000)  # the add-on arrived
    assert carrier.quota_bytes == 600 * BYTES_PER_MB
    with open(tmp_path / "network.json") as f:
        assert json.load(f)["quota_bytes"] == 600 * BYTES_PER_MB
    carrier.session_down()
    carrier.advance(ms_of("2027-01-01T00:00:00+08:00"))  # next cycle: the add-on has expired
    assert carrier.quota_bytes == 100 * BYTES_PER_MB and carrier.used_bytes == 0


def test_multi_month_pack_carries_over_and_expires(tmp_path):
    scen = scenario(
        plan={"quota_mb": 100, "multi_month": {"months": 2, "mb": 3000}},
        traffic=[{"from": START_ISO, "mbps": 8.388608}],  # 1 MB/s
    )
    carrier = Carrier(scen, tmp_path)
    assert carrier.quota_bytes == 3100 * BYTES_PER_MB
    carrier.session_up(START)
    carrier.session_down(START + 150000)  # 150 MB: 100 from the plan, 50 from the pack
    carrier.advance(ms_of("2027-01-01T00:00:00+08:00"))
    assert carrier.quota_bytes == (100 + 2950) * BYTES_PER_MB
    assert carrier.snapshot()["multi_month_remaining_bytes"] == 2950 * BYTES_PER_MB
    carrier.advance(ms_of("2027-02-01T00:00:00+08:00"))  # two cycles: the pack is gone
    assert carrier.quota_bytes == 100 * BYTES_PER_MB


def test_default_scenario_needs_only_a_start(tmp_path):
    scen = parse_scenario(DEFAULT_SCENARIO, start_ms=START)
    assert scen.start_ms == START and scen.plan.quota_bytes == 100 * 1048576
    assert load_scenario(None, start_ms=START) == scen
    carrier = Carrier(scen, tmp_path)
    carrier.session_up(START)
    carrier.advance(START + 1000)
    assert carrier.used_bytes == 250000  # 2 Mbit/s


# --- scenario validation ---------------------------------------------------------------


def _plan(**changes):
    plan = {"quota_mb": 100, "cycle_day": 1, "timezone": "+08:00", "at_zero": "cut"}
    plan.update(changes)
    return plan


@pytest.mark.parametrize("changes, field", [
    ({"start": None}, "start: missing"),
    ({"start": "2026-12-01T08:00:00"}, "start: '2026-12-01T08:00:00' has no UTC offset"),
    ({"start": "tomorrow"}, "start: 'tomorrow' is not an ISO 8601 time"),
    ({"subscriber": "me"}, "subscriber: must be a phone number"),
    ({"plan": _plan(quota_mb="100")}, "plan.quota_mb: must be a number"),
    ({"plan": _plan(quota_mb=-1)}, "plan.quota_mb: must be >= 0"),
    ({"plan": _plan(cycle_day=0)}, "plan.cycle_day: must be an integer 1..31, got 0"),
    ({"plan": _plan(timezone="Asia/Shanghai")}, "plan.timezone: must be a UTC offset"),
    ({"plan": _plan(at_zero="stop")}, "plan.at_zero: must be one of cut/warn"),
    ({"plan": _plan(addons=[{"at": "+1h"}])}, "plan.addons[0].mb: missing"),
    ({"plan": _plan(multi_month={"months": 0, "mb": 3000})}, "plan.multi_month.months: must be an integer 1..120"),
    ({"plan": {"cycle_day": 1}}, "plan.quota_mb: missing"),
    ({"traffic": [{"from": "+10s", "mbps": 1}, {"from": "+5s", "mbps": 2}]}, "traffic[1].from: must be later than traffic[0].from"),
    ({"traffic": [{"from": "+0s", "mbps": True}]}, "traffic[0].mbps: must be a number"),
    ({"faults": [{"at": "+1s", "explode": True}]}, "faults[0].explode: unknown field"),
    ({"faults": [{"at": "+1s"}]}, "faults[0]: needs exactly one fault"),
    ({"trafic": []}, "trafic: unknown field"),
])
def test_scenario_errors_name_the_field(changes, field):
    data = {"start": START_ISO, "plan": _plan(), "traffic": [], "faults": []}
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    message = str(info.value)
    assert message.startswith(field), message
    assert "\n" not in message


def test_scenario_file_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"plan": {"quota_mb": 100,}}')
    with pytest.raises(ScenarioError, match=r"bad\.json: not valid JSON"):
        load_scenario(str(bad))
    with pytest.raises(ScenarioError, match=r"missing\.json: cannot read"):
        load_scenario(str(tmp_path / "missing.json"))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"start": START_ISO, "plan": _plan(cycle_day=32)}))
    with pytest.raises(ScenarioError, match=r"wrong\.json: plan\.cycle_day"):
        load_scenario(str(wrong))
    good = tmp_path / "good.json"
    good.write_text(json.dumps({
        "start": START_ISO, "subscriber": "+8613800138000",
        "plan": {"quota_mb": 100, "cycle_day": 1, "timezone": "+08:00", "at_zero": "cut",
                 "addons": [{"at": "2026-12-10T12:00:00+08:00", "mb": 500}], "multi_month": {"months": 3, "mb": 3000}},
        "traffic": [{"from": START_ISO, "mbps": 8}, {"from": "2026-12-01T09:00:00Z", "mbps": 0}],
        "faults": [{"at": "2026-12-01T08:00:30+08:00", "modem_reset": True}],
    }))
    scen = load_scenario(str(good))
    assert scen.traffic[1].from_ms == ms_of("2026-12-01T17:00:00+08:00")
    assert scen.plan.addons[0].bytes == 500 * 1048576
    assert scen.faults[0].at_ms == START + 30000
