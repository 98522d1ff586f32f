"""A fleet's ledger: `ledger init`, `ledger sync`, `fleet`, reconcile by the bill's phone
number, on a real PostgreSQL server of the tests' own (and SQLite where both apply),
and the one-line refusals of a ledger that cannot be used."""

import io
import json
import sqlite3
import threading

import pytest

from cli_run import run
from host_tools.device.keys import KeyFile
from host_tools.ledger import postgres_ledger
from host_tools.ledger.store import LedgerConflict, LedgerUnreachable, open_ledger
from host_tools.ledger.sync import sync
from ledger_targets import ENGINES, fresh_ledger, sql
from line_month import DEVICE, BillRows, frames as month_frames, records as month_records
from protocol import auth
from protocol import records as r

T0 = 1796083200  # 2026-12-01T00:00:00Z
DEV = "em-00aa"


def usage(seq, up=None, device=DEV):
    return r.frame(r.body(r.USAGE, seq, T0 + 60 * seq, {8: seq * 100 if up is None else up, 9: 7, 10: 0}))


def usages(seqs):
    return [usage(seq) for seq in seqs]


def dump(target):
    """Every row of every table, in key order: what a ledger holds, to compare."""
    return {table: sql(target, "SELECT * FROM %s ORDER BY 1, 2, 3" % table) for table in ("records", "links", "pulls")}


def one_line_error(capsys, *argv):
    status, out, err = run(capsys, *argv)
    assert status == 1 and out == "", (status, out, err)
    assert err.startswith("edgemeter: ") and len(err.strip().splitlines()) == 1, err
    return err


@pytest.fixture
def pg_url(pg_cluster, request, tmp_path):
    """An empty, initialised PostgreSQL ledger."""
    return fresh_ledger("postgres", tmp_path, request, "central")


# --- ledger init --------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_init_creates_then_finds_it_up_to_date(engine, tmp_path, request, capsys):
    if engine == "sqlite":
        target = str(tmp_path / "new.sqlite")
    else:
        target = request.getfixturevalue("pg_cluster").create_database("fresh_%s" % tmp_path.name[-12:].lower())
    status, out, _err = run(capsys, "ledger", "init", target, "--json")
    assert status == 0 and json.loads(out)["schema_found"] == 0 and json.loads(out)["schema"] == 3
    status, out, _err = run(capsys, "ledger", "init", target)
    assert status == 0 and out.endswith("schema 3, up to date\n")
    with open_ledger(target) as ledger:
        assert ledger.add(DEV, 1, usages([1, 2])) == (2, 0)


def test_init_migrates_an_older_postgresql_ledger_and_keeps_its_records(pg_cluster, capsys):
    url = pg_cluster.create_database("older")
    for version in (1, 2):  # a ledger that an edgemeter of schema 2 made
        for statement in postgres_ledger._STEPS[version]:
            sql(url, statement)
    sql(url, "UPDATE edgemeter.ledger SET version = 2")
    row = ("em-old", 1, 1, r.USAGE, T0, usage(1)[2:-4], 0, "{}")
    sql(url, "INSERT INTO edgemeter.records VALUES (?,?,?,?,?,?,?,?)", row)
    err = one_line_error(capsys, "log", "--ledger", url)
    assert "has schema 2: migrate it to 3 with edgemeter ledger init URL" in err
    status, out, _err = run(capsys, "ledger", "init", url)
    assert status == 0 and "schema 3, migrated from schema 2" in out
    with open_ledger(url) as ledger:
        assert ledger.head_seq("em-old", 1) == 1 and ledger.pulls() == []


# --- bad input: one line, exit 1, nothing written ----------------------------------------------------


def test_a_ledger_that_cannot_be_used_is_one_line_and_nothing_is_written(pg_cluster, tmp_path, capsys):
    folder = pg_cluster.folder
    secure = pg_cluster.add_role("ops", "right-password")
    cases = [
        ("postgresql://%zz", "is not a PostgreSQL URL like"),
        ("postgresql:///ledger?host=%s" % (tmp_path / "no-server"), "cannot connect to ledger"),
        (secure.replace("right-password", "wrong-guess"), "password authentication failed"),
        ("postgresql:///nosuchdb?host=%s&user=edgemeter" % folder, "does not exist: create it (createdb)"),
    ]
    for url, expected in cases:
        for argv in (["log", "--ledger", url], ["ledger", "init", url], ["fleet", "--ledger", url],
                     ["ledger", "sync", "--from", str(tmp_path / "none.sqlite"), "--to", url]):
            err = one_line_error(capsys, *argv)
            assert expected in err or (argv[1] == "sync" and "no ledger at" in err), (argv, err)
            assert "wrong-guess" not in err  # a password is never printed
    other = pg_cluster.create_database("shop")
    sql(other, "CREATE TABLE public.orders (id int)")
    for argv in (["ledger", "init", other], ["log", "--ledger", other], ["fleet", "--ledger", other]):
        assert "is a PostgreSQL database but not an edgemeter ledger (it holds public.orders)" in \
            one_line_error(capsys, *argv)
    assert sql(other, "SELECT count(*) FROM pg_namespace WHERE nspname = 'edgemeter'") == [(0,)]
    empty = pg_cluster.create_database("empty")
    assert "no edgemeter ledger in" in one_line_error(capsys, "log", "--ledger", empty)
    assert "create it with edgemeter ledger init URL" in one_line_error(capsys, "fleet", "--ledger", empty)


def test_a_schema_from_the_future_is_refused(pg_url, capsys):
    sql(pg_url, "UPDATE edgemeter.ledger SET version = 99")
    for argv in (["log", "--ledger", pg_url], ["ledger", "init", pg_url], ["ledger", "check", pg_url]):
        assert "has schema 99; this edgemeter knows up to 3: upgrade edgemeter" in one_line_error(capsys, *argv)
    assert sql(pg_url, "SELECT version FROM edgemeter.ledger") == [(99,)]


def test_a_backup_of_a_postgresql_ledger_is_a_checked_sqlite_file(pg_url, tmp_path, capsys):
    with open_ledger(pg_url) as ledger:
        ledger.add(DEV, 1, usages(range(1, 41)))
        ledger.add_pull(DEV, 1, T0, 40, 40)
    copy = str(tmp_path / "copy.sqlite")
    status, out, _err = run(capsys, "ledger", "backup", pg_url, copy, "--json")
    assert status == 0 and json.loads(out)["records"] == 40
    with open_ledger(copy, readonly=True) as ledger, open_ledger(pg_url, readonly=True) as central:
        assert list(ledger.records()) == list(central.records()) and ledger.pulls() == central.pulls()
    assert "exists: back up into a new file" in one_line_error(capsys, "ledger", "backup", pg_url, copy)


def test_without_the_driver_a_postgresql_ledger_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "psycopg", None)  # import psycopg now fails
    err = one_line_error(capsys, "log", "--ledger", "postgresql:///fleet")
    assert "needs the psycopg driver: pip install 'edgemeter[postgres]'" in err


# --- ledger sync --------------------------------------------------------------------------------


def _field(tmp_path, name, seqs, pulled_at, link_at=None):
    """A technician's SQLite ledger that pulled `seqs` of DEV."""
    path = str(tmp_path / ("%s.sqlite" % name))
    with open_ledger(path) as ledger:
        ledger.add(DEV, 1, usages(seqs))
        if link_at is not None:
            ledger.add_link(DEV, 1, link_at, bytes(range(16)), bytes(16))
        ledger.add_pull(DEV, 1, pulled_at, max(seqs), len(seqs))
    return path


def test_two_technicians_overlapping_pulls_converge_once_and_a_second_sync_changes_nothing(pg_url, tmp_path,
                                                                                          capsys):
    first = _field(tmp_path, "anna", range(1, 61), T0)
    second = _field(tmp_path, "bo", range(40, 101), T0 + 86400, link_at=39)
    merged = str(tmp_path / "merged.sqlite")
    for dest in (pg_url, merged):
        for field, read, copied in ((first, 60, 60), (second, 61, 40)):
            status, out, _err = run(capsys, "ledger", "sync", "--from", field, "--to", dest, "--json")
            summary = json.loads(out)
            assert status == 0
            assert (summary["records"], summary["copied"], summary["already"], summary["conflicts"]) == (
                read, copied, read - copied, 0)
    with open_ledger(pg_url, readonly=True) as central, open_ledger(merged, readonly=True) as local:
        assert [x["seq"] for x in central.records()] == list(range(1, 101))
        assert central.gaps(DEV, 1) == [] and list(central.records()) == list(local.records())
        assert central.pulls() == local.pulls() == [(DEV, 1, T0, 60, 60), (DEV, 1, T0 + 86400, 100, 61)]
    before = dump(pg_url)
    for field in (first, second):
        status, out, _err = run(capsys, "ledger", "sync", "--from", field, "--to", pg_url, "--json")
        assert status == 0 and json.loads(out)["copied"] == 0
    assert dump(pg_url) == before


def test_conflicting_evidence_is_reported_and_never_overwritten(pg_url, tmp_path, capsys):
    honest = _field(tmp_path, "honest", range(1, 31), T0)
    other = str(tmp_path / "other.sqlite")
    with open_ledger(other) as ledger:
        ledger.add(DEV, 1, usages(range(20, 25)) + [usage(25, up=999)] + usages(range(26, 41)))
    assert run(capsys, "ledger", "sync", "--from", honest, "--to", pg_url)[0] == 0
    status, out, err = run(capsys, "ledger", "sync", "--from", other, "--to", pg_url, "--json")
    assert status == 3
    summary = json.loads(out)
    assert summary["conflicts"] == 1 and summary["conflicting"] == [{"device": DEV, "epoch": 1, "seq": 25}]
    assert summary["copied"] == 10  # 31..40: what was not in conflict went over
    assert "%s epoch 1 seq 25" % DEV in err and "keeps its own" in err
    with open_ledger(pg_url, readonly=True) as central:
        assert next(central.records(DEV, 1, since_seq=24))["fields"]["up_bytes"] == 2500  # the first kept
        assert central.head_seq(DEV, 1) == 40


def test_a_damaged_record_of_the_source_is_reported_and_the_rest_copied(pg_url, tmp_path, capsys):
    field = _field(tmp_path, "field", range(1, 11), T0)
    db = sqlite3.connect(field)
    db.execute("UPDATE records SET body = ? WHERE seq = 4", (usage(4, up=1)[2:-4],))  # the CRC column is the old one
    db.commit()
    db.close()
    status, out, err = run(capsys, "ledger", "sync", "--from", field, "--to", pg_url, "--json")
    assert status == 3 and json.loads(out)["copied"] == 9
    assert "seq 4" in err and "CRC-32 mismatch" in err
    with open_ledger(pg_url, readonly=True) as central:
        assert central.gaps(DEV, 1) == [(4, 4)]


def test_a_dropped_connection_loses_nothing_and_the_next_sync_goes_on(pg_url, tmp_path):
    field = _field(tmp_path, "field", range(1, 101), T0)
    with open_ledger(field, readonly=True) as source, open_ledger(pg_url) as dest:
        store = dest.add_rows
        calls = []

        def dropping(device, epoch, rows):
            calls.append(len(rows))
            if len(calls) == 4:  # the server ends this session, as a restart or a network cut would
                sql(pg_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                            "AND datname = current_database()")
            return store(device, epoch, rows)

        dest.add_rows = dropping
        with pytest.raises(LedgerUnreachable, match="lost the connection .* run the command again.*30 records copied"):
            sync(source, dest, chunk=10)
    assert [seq for (seq,) in sql(pg_url, "SELECT seq FROM records ORDER BY seq")] == list(range(1, 31))
    with open_ledger(field, readonly=True) as source, open_ledger(pg_url) as dest:
        result = sync(source, dest, chunk=10)
    assert (result.copied, result.already) == (70, 30)
    assert [seq for (seq,) in sql(pg_url, "SELECT seq FROM records ORDER BY seq")] == list(range(1, 101))


def test_sync_shows_progress_on_a_terminal_only(pg_url, tmp_path):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    field = _field(tmp_path, "field", range(1, 51), T0)
    shown, piped = Terminal(), io.StringIO()
    with open_ledger(field, readonly=True) as source, open_ledger(pg_url) as dest:
        sync(source, dest, chunk=10, progress_stream=shown)
        sync(source, dest, chunk=10, progress_stream=piped)
    assert "syncing [" in shown.getvalue() and "100% 50/50" in shown.getvalue()
    assert piped.getvalue() == ""


# --- two writers at once ------------------------------------------------------------------------------


def _at_once(*jobs):
    errors = []

    def run_job(job):
        try:
            job()
        except LedgerConflict as error:
            errors.append(error)

    threads = [threading.Thread(target=run_job, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_two_writers_of_overlapping_batches_store_each_record_once(pg_url):
    ledgers = [open_ledger(pg_url), open_ledger(pg_url)]
    for round_ in range(5):
        base = round_ * 300
        errors = _at_once(lambda: ledgers[0].add(DEV, 1, usages(range(base + 1, base + 201))),
                          lambda: ledgers[1].add(DEV, 1, usages(range(base + 100, base + 301))))
        assert errors == []
    assert [seq for (seq,) in sql(pg_url, "SELECT seq FROM records ORDER BY seq")] == list(range(1, 1501))
    for ledger in ledgers:
        ledger.close()


def test_two_writers_with_other_bytes_for_one_seq_never_both_win(pg_url):
    ledgers = [open_ledger(pg_url), open_ledger(pg_url)]
    for round_ in range(5):
        base = round_ * 300
        forged = usages(range(base + 150, base + 180)) + [usage(base + 180, up=1)] + usages(range(base + 181, base + 251))
        errors = _at_once(lambda: ledgers[0].add(DEV, 1, usages(range(base + 1, base + 201))),
                          lambda: ledgers[1].add(DEV, 1, forged))
        assert len(errors) == 1  # whichever came second stored nothing
        (row,) = sql(pg_url, "SELECT body FROM records WHERE seq = ?", (base + 180,))
        seqs = [seq for (seq,) in sql(pg_url, "SELECT seq FROM records WHERE seq > ? ORDER BY seq", (base,))]
        if bytes(row[0]) == usage(base + 180)[2:-4]:
            assert seqs == list(range(base + 1, base + 201))
        else:
            assert seqs == list(range(base + 150, base + 251))
        sql(pg_url, "DELETE FROM records")
    for ledger in ledgers:
        ledger.close()


# --- fleet ----------------------------------------------------------------------------------------------


def _signed(key, device, seqs, altered=()):
    """Records signed as the device signs them, chained from GENESIS; `altered` seqs changed after."""
    out, previous = [], auth.GENESIS
    for seq in seqs:
        fields = {8: seq * 100, 9: 7, 10: 0}
        unsigned = r.body(r.USAGE, seq, T0 + 60 * seq, fields)
        mac = auth.record_mac(key, previous, unsigned)
        previous = mac
        if seq in altered:
            fields = {8: 1, 9: 7, 10: 0}
        out.append(r.frame(r.body(r.USAGE, seq, T0 + 60 * seq, fields, mac=mac)))
    return out


def test_fleet_lists_each_device_its_gaps_mac_failures_and_who_was_not_pulled(ledger_target, capsys):
    key = bytes(range(32))
    KeyFile().put("em-signed", key)
    now = T0 + 50 * 86400
    with open_ledger(ledger_target) as ledger:
        ledger.add("em-signed", 1, _signed(key, "em-signed", range(1, 11), altered={7}))
        ledger.add_pull("em-signed", 1, now - 86400, 10, 10)
        ledger.add("em-gappy", 1, usages([1, 2, 3, 4, 5, 8, 9, 10]))
        ledger.add("em-gappy", 2, usages([1, 2]))
        ledger.add_pull("em-gappy", 2, now - 40 * 86400, 2, 2)
        ledger.add("em-linked", 1, usages([5, 6]))
        ledger.add_link("em-linked", 1, 4, bytes(16), bytes(16))
    status, out, _err = run(capsys, "fleet", "--ledger", ledger_target, "--json", "--today", "2027-01-20")
    assert status == 0
    view = json.loads(out)
    devices = {d["device"]: d for d in view["devices"]}
    assert list(devices) == ["em-gappy", "em-linked", "em-signed"] and view["records"] == 22
    gappy, linked, signed = devices["em-gappy"], devices["em-linked"], devices["em-signed"]
    assert (gappy["records"], gappy["missing"], gappy["mac_failed"]) == (10, 2, None)
    assert gappy["epochs"][0]["gaps"] == [{"from": 6, "to": 7, "linked": False}] and gappy["epochs"][1]["gaps"] == []
    assert (linked["missing"], linked["epochs"][0]["gaps"]) == (0, [{"from": 1, "to": 4, "linked": True}])
    assert signed["mac_failed"] == 1 and signed["missing"] == 0  # seq 7 altered: its MAC is wrong
    assert (signed["first_record"], signed["last_record"]) == ("2026-12-01T00:01:00Z", "2026-12-01T00:10:00Z")
    assert signed["last_pull"] == "2027-01-19T00:00:00Z" and signed["stale"] is False
    assert view["stale"] == [{"device": "em-gappy", "last_pull": "2026-12-11T00:00:00Z"},
                             {"device": "em-linked", "last_pull": None}]
    status, out, _err = run(capsys, "fleet", "--ledger", ledger_target, "--today", "2027-01-20", "--days", "60")
    lines = out.splitlines()
    assert lines[0].split() == ["device", "records", "first", "record", "last", "record", "last", "pull", "missing",
                                "MAC", "failed"]
    assert lines[1].split()[:2] == ["em-gappy", "10"] and lines[1].split()[-3:] == ["2", "no", "key"]
    assert lines[3].startswith("em-signed") and lines[3].split()[-1] == "1"
    assert lines[4] == "3 devices, 22 records"
    assert lines[5] == "not pulled for 60 days: em-linked (never)"


def test_fleet_refuses_a_bad_number_of_days(ledger_target, capsys):
    with open_ledger(ledger_target) as ledger:
        ledger.add(DEV, 1, usages([1]))
    assert "--days wants a whole number" in one_line_error(capsys, "fleet", "--ledger", ledger_target, "--days", "x")


# --- reconcile picks the device by the bill's phone number --------------------------------------------


def _subscriber_month(number):
    recs = month_records()
    recs.insert(2, {"type": "config_changed", "seq": 0, "time": recs[1]["time"],
                    "fields": {"key": "subscriber", "old": "", "new": number}})
    for seq, record in enumerate(recs, 1):
        record["seq"] = seq
    return month_frames(recs)


def _carrier_bill(path, phone):
    """November's data rows as the carrier's export, naming the line's phone number."""
    lines = ["手机号码,%s" % phone, "上网详单", "起始时间,通信地点,上网方式,总流量,套餐优惠,通信费"]
    lines += ["%s,%s,%s网络,%sKB,0.00,%s" % (row[1], row[2], row[3], row[5], row[10]) for row in BillRows().rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_reconcile_on_a_fleet_ledger_finds_the_device_by_the_bills_phone_number(ledger_target, tmp_path, capsys):
    with open_ledger(ledger_target) as ledger:
        ledger.add(DEVICE, 7, _subscriber_month("+8613800138000"))
        ledger.add("em-neighbour", 7, _subscriber_month("+8613900139000"))
        ledger.add("em-silent", 7, month_frames(month_records()))
    bill = _carrier_bill(tmp_path / "export.csv", "13900139000")
    argv = ["reconcile", "--ledger", ledger_target, "--bill", bill, "--account", "prepaid", "--today", "2026-12-20",
            "--json"]
    status, out, _err = run(capsys, *argv)
    assert status == 0
    found = json.loads(out)
    assert found["device"] == "em-neighbour" and found["phone_checks"][0]["match"] is True
    status, out, _err = run(capsys, *argv, "--device", "em-neighbour")
    named = json.loads(out)
    for report in (found, named):
        report.pop("claim")  # it carries the time it was made
    assert found == named
    nobody = _carrier_bill(tmp_path / "nobody.csv", "13700137000")
    err = one_line_error(capsys, *(argv[:4] + [nobody] + argv[5:]))
    assert "no device in the ledger has had subscriber 13700137000" in err and "--device" in err
