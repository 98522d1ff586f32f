"""The host ledger: what `edgemeter pull` stores and `edgemeter log` shows.

Frames are built the way the device builds them (protocol.records.body + frame),
so the ledger is checked against the real wire format, corruption included.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_run import run as _run
from ledger_targets import ENGINES, fresh_ledger, sql
from host_tools.ledger.store import SCHEMA_VERSION, open_ledger, LedgerConflict, LedgerError
from protocol import cbor
from protocol import records as r

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
T0 = 1796083200  # 2026-12-01T00:00:00Z
DEV_A = "em-00aa"
DEV_B = "em-00bb"


def usage(seq, device=DEV_A, epoch=1):
    """The frame a device would write for seq: the same (device, epoch, seq) always gives the same bytes."""
    return r.frame(r.body(r.USAGE, seq, T0 + 60 * seq, {8: seq * 100, 9: len(device) + epoch, 10: 0}))


def frames(seqs, device=DEV_A, epoch=1):
    return [usage(seq, device, epoch) for seq in seqs]


def flip(frame, index, bit=0):
    data = bytearray(frame)
    data[index] ^= 1 << bit
    return bytes(data)


def relength(frame, delta):
    return (int.from_bytes(frame[:2], "big") + delta).to_bytes(2, "big") + frame[2:]


def seqs_in(ledger, device=DEV_A, epoch=1):
    return [x["seq"] for x in ledger.records(device, epoch)]


@pytest.fixture
def path(tmp_path):
    """An SQLite ledger's file: for what is SQLite's own (the file, WAL, a kill)."""
    return str(tmp_path / "field.sqlite")


@pytest.fixture
def ledger(ledger_target):
    """A ledger on each engine (tests/host/conftest.py): the same tests, the same results."""
    with open_ledger(ledger_target) as ledger:
        yield ledger


# --- add and dedupe ------------------------------------------------------------


def test_add_then_identical_re_add_counts_duplicates(ledger):
    assert ledger.add(DEV_A, 1, frames([1, 2, 3, 4, 5])) == (5, 0)
    assert ledger.add(DEV_A, 1, frames([1, 2, 3, 4, 5])) == (0, 5)
    assert ledger.add(DEV_A, 1, frames([4, 5, 6, 7])) == (2, 2)
    assert seqs_in(ledger) == [1, 2, 3, 4, 5, 6, 7]
    assert ledger.head_seq(DEV_A, 1) == 7


def test_repeats_inside_one_batch_are_duplicates(ledger):
    assert ledger.add(DEV_A, 1, frames([1, 2, 2, 3, 1])) == (3, 2)
    assert seqs_in(ledger) == [1, 2, 3]


def test_empty_batch(ledger):
    assert ledger.add(DEV_A, 1, []) == (0, 0)
    assert ledger.head_seq(DEV_A, 1) == 0


def test_stores_the_device_bytes_and_decoded_columns(ledger, ledger_target):
    frame = r.frame(r.body(r.SMS_RECEIVED, 1, T0, {8: "10086", 9: "剩余10MB", 10: b"\x01\xff"}))
    ledger.add(DEV_A, 7, [frame])
    (row,) = sql(ledger_target, "SELECT device, epoch, seq, type, time, body, crc, fields FROM records")
    body = frame[2:-4]
    assert row[:5] == (DEV_A, 7, 1, r.SMS_RECEIVED, T0)
    assert row[5] == body and r.frame(row[5]) == frame
    assert row[6] == int.from_bytes(frame[-4:], "big")
    assert json.loads(row[7]) == {"from": "10086", "text": "剩余10MB", "kind": "01ff"}


def test_records_are_dicts_with_names_iso_time_and_hex_bytes(ledger):
    ledger.add(DEV_A, 1, [
        r.frame(r.body(r.BOOT, 1, T0, {8: r.BOOT_POWER_ON, 9: "0.1.0"})),
        r.frame(r.body(r.SMS_RECEIVED, 2, T0 + 3661, {8: "10086", 9: "剩余10MB", 10: b"\x0a"})),
        r.frame(r.body(r.GAP, 3, T0 + 7200, {8: 12, 9: T0 + 1, 10: T0 + 2, 99: [b"\x00", 1.5]})),
    ])
    assert list(ledger.records()) == [
        {"device": DEV_A, "epoch": 1, "seq": 1, "type": "boot", "time": "2026-12-01T00:00:00Z",
         "fields": {"reason": 0, "firmware": "0.1.0"}},
        {"device": DEV_A, "epoch": 1, "seq": 2, "type": "sms_received", "time": "2026-12-01T01:01:01Z",
         "fields": {"from": "10086", "text": "剩余10MB", "kind": "0a"}},
        # a field this schema does not name (a newer firmware's) is kept under its number
        {"device": DEV_A, "epoch": 1, "seq": 3, "type": "gap", "time": "2026-12-01T02:00:00Z",
         "fields": {"dropped": 12, "first_time": T0 + 1, "last_time": T0 + 2, "99": ["00", 1.5]}},
    ]


def test_odd_values_still_show(ledger):
    ledger.add(DEV_A, 1, [r.frame(r.body(r.BALANCE, 1, -62135596801, {8: float("nan"), 9: {b"\x01": [float("-inf")]}}))])
    (record,) = ledger.records()
    assert record["time"] == "-62135596801 s since 1970"  # before year 1: a wild clock, kept and shown
    assert record["fields"] == {"balance_fen": "nan", "source": {"01": ["-inf"]}}


# --- refusals: nothing of the batch is written ------------------------------------


def test_conflict_with_the_ledger_is_refused_and_nothing_written(ledger):
    ledger.add(DEV_A, 1, frames([1, 2, 3]))
    rewritten = r.frame(r.body(r.USAGE, 2, T0, {8: 1}))  # seq 2, other bytes
    with pytest.raises(LedgerConflict) as info:
        ledger.add(DEV_A, 1, frames([4, 5]) + [rewritten] + frames([6]))
    message = str(info.value)
    assert DEV_A in message and "epoch 1" in message and "seq 2" in message
    assert seqs_in(ledger) == [1, 2, 3]
    assert next(ledger.records(DEV_A, 1, since_seq=1))["fields"]["up_bytes"] == 200  # the first one kept


def test_conflict_inside_one_batch_is_refused(ledger):
    other = r.frame(r.body(r.USAGE, 2, T0, {8: 1}))
    with pytest.raises(LedgerConflict, match="frame 3 of 3 \\(seq 2\\)"):
        ledger.add(DEV_A, 1, frames([1, 2]) + [other])
    assert ledger.head_seq(DEV_A, 1) == 0


def test_conflict_is_a_ledger_error_is_a_value_error():
    assert issubclass(LedgerConflict, LedgerError) and issubclass(LedgerError, ValueError)


GOOD = usage(3)


BAD_FRAMES = [
    (flip(GOOD, 2 + 4), "CRC-32 mismatch"),  # a bit in the body
    (flip(GOOD, len(GOOD) - 1, 7), "CRC-32 mismatch"),  # a bit in the CRC
    (relength(GOOD, +1), "bad frame length"),  # length one more than the frame holds
    (relength(GOOD, -2), "CRC-32 mismatch"),  # length two less: the CRC is read from body bytes
    (flip(GOOD, 0, 7), "bad frame length"),  # length far beyond MAX_BODY
    (GOOD[:-1], "bad frame length"),  # cut short
    (GOOD[:5], "cut short"),
    (GOOD + b"\x00", "1 bytes after the frame"),
    (b"", "cut short"),
    (r.frame(b"\xff"), "not CBOR"),
    (r.frame(cbor.dumps([1, 2])), "not a map"),
    (r.frame(cbor.dumps({0: r.USAGE, 2: T0})), "lacks integer key 1"),  # no seq
    (r.frame(cbor.dumps({0: 99, 1: 3, 2: T0})), "unknown record type 99"),
    (r.frame(r.body(r.USAGE, 0, T0, {})), "seq 0 outside"),
    (r.frame(r.body(r.USAGE, -3, T0, {})), "seq -3 outside"),
    (r.frame(cbor.dumps({0: r.USAGE, 1: 3, 2: T0, 3: "em-other"})), "record says device 'em-other'"),
    (r.frame(cbor.dumps({0: r.USAGE, 1: 3, 2: T0, 4: 2})), "record says epoch 2"),
    ("not bytes", "not bytes but str"),
]


@pytest.mark.parametrize("bad, reason", BAD_FRAMES, ids=[reason for _bad, reason in BAD_FRAMES])
def test_a_bad_frame_refuses_the_whole_batch(ledger, bad, reason):
    ledger.add(DEV_A, 1, frames([1]))
    with pytest.raises(LedgerError) as info:
        ledger.add(DEV_A, 1, frames([2]) + [bad] + frames([4]))
    message = str(info.value)
    assert message.startswith("device %s epoch 1: frame 2 of 3" % DEV_A), message
    assert reason in message and "nothing of this batch was stored" in message
    assert seqs_in(ledger) == [1]


def test_bad_arguments(ledger):
    for device, epoch in (("", 1), (None, 1), (DEV_A, -1), (DEV_A, True), (DEV_A, "1")):
        with pytest.raises(LedgerError):
            ledger.add(device, epoch, frames([1]))
    with pytest.raises(LedgerError, match="list of frames"):
        ledger.add(DEV_A, 1, b"".join(frames([1, 2])))
    assert ledger.devices() == []


# --- many devices, epochs, heads and gaps ----------------------------------------------


def test_two_devices_and_two_epochs_share_one_ledger(ledger):
    assert ledger.add(DEV_B, 2, frames([1, 2], DEV_B, 2)) == (2, 0)
    assert ledger.add(DEV_A, 1, frames([1, 2, 3], DEV_A, 1)) == (3, 0)
    assert ledger.add(DEV_A, 2, frames([1], DEV_A, 2)) == (1, 0)  # reformatted: seq starts again
    assert ledger.add(DEV_B, 1, frames([5, 6, 7, 8], DEV_B, 1)) == (4, 0)
    assert ledger.add(DEV_A, 1, frames([1], DEV_A, 1)) == (0, 1)
    assert ledger.devices() == [(DEV_A, 1, 3, 1, 3), (DEV_A, 2, 1, 1, 1), (DEV_B, 1, 4, 5, 8), (DEV_B, 2, 2, 1, 2)]
    assert [ledger.head_seq(d, e) for d, e in ((DEV_A, 1), (DEV_A, 2), (DEV_B, 1), (DEV_B, 2))] == [3, 1, 8, 2]
    assert ledger.head_seq("em-unknown", 1) == 0 and ledger.head_seq(DEV_A, 3) == 0
    assert [(x["epoch"], x["seq"]) for x in ledger.records(device=DEV_A)] == [(1, 1), (1, 2), (1, 3), (2, 1)]
    assert [(x["device"], x["seq"]) for x in ledger.records(epoch=2)] == [(DEV_A, 1), (DEV_B, 1), (DEV_B, 2)]
    assert [x["seq"] for x in ledger.records(DEV_B, 1, since_seq=6)] == [7, 8]


def test_heads_and_gaps(ledger):
    assert ledger.gaps(DEV_A, 1) == []
    ledger.add(DEV_A, 1, frames([9, 2, 6, 1, 5]))
    assert ledger.head_seq(DEV_A, 1) == 9
    assert ledger.gaps(DEV_A, 1) == [(3, 4), (7, 8)]
    ledger.add(DEV_B, 1, frames([4], DEV_B))
    assert ledger.gaps(DEV_B, 1) == [(1, 3)]
    ledger.add(DEV_A, 1, frames([3, 4, 7, 8]))
    assert ledger.gaps(DEV_A, 1) == []


def test_records_come_in_device_epoch_seq_order(ledger):
    batches = [(DEV_B, 1, [3, 1]), (DEV_A, 2, [2, 1]), (DEV_A, 1, [5, 4]), (DEV_B, 1, [2]), (DEV_A, 1, [1])]
    for device, epoch, seqs in batches:
        ledger.add(device, epoch, frames(seqs, device, epoch))
    keys = [(x["device"], x["epoch"], x["seq"]) for x in ledger.records()]
    assert keys == sorted(keys) and len(keys) == 8


# --- the file: schema, durability ----------------------------------------------------------


def test_close_and_reopen_keeps_everything(path):
    with open_ledger(path) as ledger:
        ledger.add(DEV_A, 1, frames([1, 2, 3]))
    with open_ledger(path) as ledger:
        assert ledger.head_seq(DEV_A, 1) == 3
        assert ledger.add(DEV_A, 1, frames([3, 4])) == (1, 1)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT count(*) FROM records").fetchone()[0] == 4


_ADD_THEN_WAIT = """
import sys, time
from host_tools.ledger.store import open_ledger
from protocol import records as r
ledger = open_ledger(sys.argv[1])
frames = [r.frame(r.body(r.USAGE, seq, 1796083200 + seq, {8: seq})) for seq in range(1, 21)]
print(ledger.add("em-00aa", 1, frames), flush=True)
time.sleep(60)
"""


def test_an_add_that_returned_survives_sigkill(path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    child = subprocess.Popen([sys.executable, "-c", _ADD_THEN_WAIT, path], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert child.stdout.readline().strip() == "(20, 0)"
        child.send_signal(signal.SIGKILL)  # no close, no checkpoint: the commit lives in the -wal
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert os.path.getsize(path + "-wal") > 0  # the commit is only in the WAL: recovery is tested
    with open_ledger(path) as ledger:
        assert ledger.head_seq("em-00aa", 1) == 20
        assert ledger.gaps("em-00aa", 1) == []


def test_a_file_that_is_not_a_ledger_is_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a database, just notes " * 100)
    with pytest.raises(LedgerError, match="notes.txt"):
        open_ledger(str(text))
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(str(other))
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(LedgerError, match="not an edgemeter ledger"):
        open_ledger(str(other))


def test_a_newer_schema_is_refused(path):
    open_ledger(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=%d" % (SCHEMA_VERSION + 1))
    db.commit()
    db.close()
    with pytest.raises(LedgerError, match="upgrade edgemeter"):
        open_ledger(path)


def test_create_false_does_not_create(path):
    with pytest.raises(LedgerError):
        open_ledger(path, create=False)
    assert not os.path.exists(path)


# --- property: the ledger is the union of what was added ------------------------------------------

LOGS = [(DEV_A, 1), (DEV_A, 2), (DEV_B, 1)]
batch = st.tuples(st.sampled_from(range(len(LOGS))), st.lists(st.integers(1, 25), max_size=20))


@pytest.fixture(params=ENGINES)
def empty_ledger(request, tmp_path):
    """A function that gives a ledger emptied of every record, on each engine."""
    target = fresh_ledger(request.param, tmp_path, request)

    def emptied():
        if request.param == "sqlite" and os.path.exists(target):
            os.remove(target)
        if request.param == "postgres":
            sql(target, "TRUNCATE records")
        return open_ledger(target)

    return emptied


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(batches=st.lists(batch, max_size=12))
def test_ledger_holds_exactly_the_union_of_the_batches(empty_ledger, batches):
    with empty_ledger() as ledger:
        expected = set()
        given_total = counted = 0
        for log, seqs in batches:
            device, epoch = LOGS[log]
            new, duplicates = ledger.add(device, epoch, frames(seqs, device, epoch))
            fresh = {(device, epoch, seq) for seq in seqs} - expected
            assert new == len(fresh)
            expected |= fresh
            given_total += len(seqs)
            counted += new + duplicates
        assert counted == given_total
        keys = [(x["device"], x["epoch"], x["seq"]) for x in ledger.records()]
        assert keys == sorted(expected)  # each exactly once, in key order
        for device, epoch in LOGS:
            seqs = {s for d, e, s in expected if (d, e) == (device, epoch)}
            assert ledger.head_seq(device, epoch) == max(seqs, default=0)
            missing = sorted(set(range(1, max(seqs, default=0) + 1)) - seqs)
            assert [s for a, b in ledger.gaps(device, epoch) for s in range(a, b + 1)] == missing


# --- edgemeter log ----------------------------------------------------------------------------------


@pytest.fixture
def filled(ledger_target):
    with open_ledger(ledger_target) as ledger:
        ledger.add(DEV_B, 3, [r.frame(r.body(r.SMS_RECEIVED, 12, T0 + 5, {8: "10086", 9: "剩余10MB", 10: b"\x01"}))])
        ledger.add(DEV_A, 1, [
            r.frame(r.body(r.BOOT, 1, T0, {8: r.BOOT_POWER_ON, 9: "0.1.0"})),
            r.frame(r.body(r.USAGE, 2, T0 + 60, {8: 1000, 9: 25000, 10: 0, 11: 26000})),
        ])
    return ledger_target


def test_log_table(capsys, filled):
    status, out, err = _run(capsys, "log", "--ledger", filled)
    assert status == 0 and err == ""
    assert out.splitlines() == [
        "device   epoch  seq  time                  type                fields",
        "em-00aa      1    1  2026-12-01T00:00:00Z  boot                reason=0 firmware=\"0.1.0\"",
        "em-00aa      1    2  2026-12-01T00:01:00Z  usage               up=1000 B down=24.4 KB source=0 total=25.4 KB",
        "em-00bb      3   12  2026-12-01T00:00:05Z  sms_received        from=\"10086\" text=\"剩余10MB\" kind=\"01\"",
    ]


def test_log_json_for_one_device(capsys, filled):
    status, out, _err = _run(capsys, "log", "--ledger", filled, "--device", DEV_A, "--json")
    assert status == 0
    parsed = json.loads(out)
    assert [(x["device"], x["epoch"], x["seq"], x["type"], x["time"]) for x in parsed] == [
        (DEV_A, 1, 1, "boot", "2026-12-01T00:00:00Z"),
        (DEV_A, 1, 2, "usage", "2026-12-01T00:01:00Z"),
    ]
    assert parsed[1]["fields"] == {"up_bytes": 1000, "down_bytes": 25000, "source": 0, "total_bytes": 26000}
    status, out, _err = _run(capsys, "log", "--ledger", filled, "--json")
    assert [x["seq"] for x in json.loads(out)] == [1, 2, 12]


def test_log_of_a_device_not_in_the_ledger(capsys, filled):
    for json_flag in ((), ("--json",)):
        status, out, err = _run(capsys, "log", "--ledger", filled, "--device", "em-ffff", *json_flag)
        assert status == 1 and out == ""
        assert err == "edgemeter: no device em-ffff in the ledger (it has: em-00aa, em-00bb)\n"


def test_log_without_a_ledger_is_a_one_line_error(capsys, tmp_path):
    missing = str(tmp_path / "nowhere.sqlite")
    status, out, err = _run(capsys, "log", "--ledger", missing, "--json")
    assert status == 1 and out == ""
    assert err == "edgemeter: no ledger at %s: pull records first with edgemeter pull\n" % missing
    assert not os.path.exists(missing)


def test_log_of_a_file_that_is_not_a_ledger_is_a_one_line_error(capsys, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list " * 200)
    status, _out, err = _run(capsys, "log", "--ledger", str(notes))
    assert status == 1 and err.startswith("edgemeter: cannot use ledger %s" % notes)
    assert len(err.strip().splitlines()) == 1
