"""The ledger never takes what it cannot give back, and reading never needs write access:
a damaged file is found (quick_check at a writing open, each batch read back from the
committed file), `edgemeter ledger check` and `edgemeter ledger backup`, and `log`,
`reconcile` and `ledger check` open the file read-only, leaving no side file."""

import json
import os
import sqlite3

import pytest
from line_month import DEVICE, BillRows
from line_month import frames as month_frames
from line_month import records as month_records

from host_tools import cli
from host_tools.device.keys import KeyFile
from host_tools.ledger.store import open_ledger, LedgerDamaged, LedgerError
from protocol import auth, record_chain
from protocol import records as r

T0 = 1796083200  # 2026-12-01T00:00:00Z
DEV = "em-00aa"
PAGE = 4096


def usage(seq, epoch=1, text=""):
    return r.frame(r.body(r.USAGE, seq, T0 + 60 * seq, {8: seq * 100, 9: epoch, 10: 0, 99: text}))


def _run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def _filled(path, count=3000, device=DEV):
    with open_ledger(path) as ledger:
        for start in range(1, count + 1, 500):
            ledger.add(device, 1, [usage(seq, text="x" * 40) for seq in range(start, min(start + 500, count + 1))])
    return path


def _records_root(path):
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT rootpage FROM sqlite_master WHERE name='records'").fetchone()[0]
    finally:
        db.close()


def _damage_page(path, page):
    """Overwrite page `page` (1-based) behind SQLite's back, as a bad sector would."""
    with open(path, "r+b") as f:
        f.seek((page - 1) * PAGE)
        f.write(b"\xff" * PAGE)
        f.flush()
        os.fsync(f.fileno())


def _a_middle_leaf(path):
    db = sqlite3.connect(path)
    try:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
    finally:
        db.close()
    return pages // 2


# --- damage: found before anything is taken ------------------------------------------


def test_a_writing_open_runs_quick_check(tmp_path):
    path = _filled(str(tmp_path / "field.sqlite"))
    _damage_page(path, _a_middle_leaf(path))
    open_ledger(path, readonly=True).close()  # a read-only open does not scan: `ledger check` does
    with pytest.raises(LedgerDamaged) as caught:
        open_ledger(path, check=True)
    assert caught.value.path == path and str(caught.value).startswith("ledger %s is damaged (quick_check: " % path)


def test_a_batch_that_does_not_read_back_is_damage_not_a_success(tmp_path):
    path = _filled(str(tmp_path / "field.sqlite"))
    root = _records_root(path)
    with open_ledger(path, check=True) as ledger:  # quick_check read every page: this connection caches them
        _damage_page(path, root)  # the disk goes bad under the open ledger
        with pytest.raises(LedgerDamaged, match="reading the batch back"):
            ledger.add(DEV, 1, [usage(3001), usage(3002)])


def test_a_damaged_ledger_is_one_line_for_log_and_check(tmp_path, capsys):
    path = _filled(str(tmp_path / "field.sqlite"))
    _damage_page(path, _a_middle_leaf(path))
    status, out, err = _run(capsys, "log", "--ledger", path, "--json")
    assert status == 1 and len(err.strip().splitlines()) == 1
    assert err.startswith("edgemeter: ledger %s is damaged (" % path) and "pull into a new ledger" in err
    status, out, err = _run(capsys, "ledger", "check", path)
    assert status == 1 and len(err.strip().splitlines()) == 1
    assert "integrity " in out and "ok" not in out.split("integrity ", 1)[1].split("\n")[0]
    assert err.startswith("edgemeter: ledger %s is damaged (" % path) and "pull into a new ledger" in err


# --- ledger check ------------------------------------------------------------------------


def test_check_of_a_good_ledger(tmp_path, capsys):
    path = str(tmp_path / "field.sqlite")
    with open_ledger(path) as ledger:
        ledger.add(DEV, 1, [usage(seq) for seq in (1, 2, 3, 6, 7)])
        ledger.add("em-00bb", 4, [usage(seq, 4) for seq in (1, 2)])
    status, out, err = _run(capsys, "ledger", "check", path)
    assert status == 0 and err == ""
    assert out.splitlines() == [
        "ledger %s: integrity ok" % path,
        "em-00aa epoch 1: 5 records, seq 1..7",
        "  seq 4..5: missing",
        "em-00bb epoch 4: 2 records, seq 1..2",
        "em-00aa MAC chain: 5 unverified (no key for it in the key file)",
        "em-00bb MAC chain: 2 unverified (no key for it in the key file)",
    ]
    status, out, _err = _run(capsys, "ledger", "check", path, "--json")
    report = json.loads(out)
    assert status == 0 and report["integrity"] == ["ok"]
    assert report["logs"][0] == {"device": DEV, "epoch": 1, "records": 5, "first": 1, "head": 7,
                                 "gaps": [{"from": 4, "to": 5, "linked": False}], "links": []}


def _signed_log(key, seqs, device=DEV, epoch=1):
    """Frames of a signing device's log (every seq from 1 signed), those in `seqs`; and the MACs."""
    frames, macs, previous = {}, {}, auth.GENESIS
    for seq in range(1, max(seqs) + 1):
        unsigned = r.body(r.USAGE, seq, T0 + seq, {8: seq, 9: 0, 10: 0})
        mac = auth.record_mac(key, previous, unsigned)
        frames[seq] = r.frame(r.body(r.USAGE, seq, T0 + seq, {8: seq, 9: 0, 10: 0}, mac))
        macs[seq] = previous = mac
    return [frames[s] for s in seqs], macs


def test_check_tells_a_linked_start_from_a_break(tmp_path, capsys):
    key = bytes(range(32))
    KeyFile().put(DEV, key)
    path = str(tmp_path / "field.sqlite")
    got, macs = _signed_log(key, [4, 5, 6, 8, 9])
    with open_ledger(path) as ledger:
        ledger.add_link(DEV, 1, 3, macs[3], auth.link_mac(key, DEV, 1, 3, macs[3]))
        ledger.add(DEV, 1, got)
    status, out, err = _run(capsys, "ledger", "check", path)
    assert status == 3
    assert "  seq 1..3: not in this ledger; the chain starts after seq 3, linked to the device's attested head" in out
    assert "  seq 7..7: missing" in out and "em-00aa MAC chain: 1 broken, 1 linked, 3 ok" in out
    assert "record 8 of epoch 1 is broken" in err


# --- ledger backup -------------------------------------------------------------------------


def test_backup_is_a_checked_copy_in_one_file(tmp_path, capsys):
    path = _filled(str(tmp_path / "field.sqlite"), 700)
    dest = str(tmp_path / "archive" / "field-copy.sqlite")
    os.mkdir(os.path.dirname(dest))
    with open_ledger(path) as writer:  # a pull has it open: the backup API copies a consistent state
        writer.add(DEV, 1, [usage(701)])
        status, out, err = _run(capsys, "ledger", "backup", path, dest)
    assert status == 0 and out.strip() == "backed up 701 records from %s to %s (checked)" % (path, dest)
    assert sorted(os.listdir(os.path.dirname(dest))) == ["field-copy.sqlite"]  # no -wal: one file to carry
    with open_ledger(dest, readonly=True) as copy:
        assert copy.devices() == [(DEV, 1, 701, 1, 701)]
    status, _out, err = _run(capsys, "ledger", "backup", path, dest)
    assert status == 1 and err == "edgemeter: %s exists: back up into a new file\n" % dest


def test_backup_of_a_damaged_ledger_writes_nothing(tmp_path, capsys):
    path = _filled(str(tmp_path / "field.sqlite"))
    _damage_page(path, _a_middle_leaf(path))
    dest = str(tmp_path / "copy.sqlite")
    status, _out, err = _run(capsys, "ledger", "backup", path, dest)
    assert status == 1 and len(err.strip().splitlines()) == 1 and "pull into a new ledger" in err
    assert not os.path.exists(dest)


def test_ledger_subcommands_take_only_their_own_options(tmp_path, capsys):
    path = _filled(str(tmp_path / "field.sqlite"), 3)
    for argv in (["ledger"], ["ledger", "check"], ["ledger", "backup", path], ["ledger", "check", path, "--ledger", path],
                 ["ledger", "backup", path, str(tmp_path / "b.sqlite"), "--device", DEV], ["ledger", "repair", path]):
        with pytest.raises(SystemExit) as exited:
            cli.main(argv)
        assert exited.value.code == 2, argv
    capsys.readouterr()


# --- reading never needs write access ----------------------------------------------------


@pytest.fixture
def archived(tmp_path):
    """A ledger on a read-only folder: folder 555, file 444, as an archive on read-only media."""
    folder = tmp_path / "archive"
    folder.mkdir()
    path = str(folder / "field.sqlite")
    with open_ledger(path) as ledger:
        ledger.add(DEVICE, 7, month_frames(month_records()))
    os.chmod(path, 0o444)
    os.chmod(folder, 0o555)
    yield path
    os.chmod(folder, 0o755)
    os.chmod(path, 0o644)


@pytest.fixture
def connects(monkeypatch):
    """The URI of every SQLite connection opened."""
    opened = []
    real = sqlite3.connect

    def spy(database, *args, **kwargs):
        opened.append(str(database))
        return real(database, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", spy)
    return opened


def test_log_reconcile_and_check_open_the_ledger_read_only(archived, connects, tmp_path, capsys):
    folder = os.path.dirname(archived)
    before = sorted(os.listdir(folder))
    with open(archived, "rb") as f:
        content = f.read()
    bill = BillRows().write(tmp_path / "bill-2026-11.csv")
    for argv in (["log", "--ledger", archived],
                 ["reconcile", "--ledger", archived, "--bill", bill, "--account", "postpaid", "--today", "2026-12-20"],
                 ["ledger", "check", archived],
                 ["ledger", "backup", archived, str(tmp_path / "copy.sqlite")]):
        del connects[:]
        status, _out, err = _run(capsys, *argv)
        assert status == 0, (argv, err)
        ledger_opens = [uri for uri in connects if "field.sqlite" in uri]
        assert ledger_opens and all("mode=ro" in uri for uri in ledger_opens), (argv, connects)
        assert sorted(os.listdir(folder)) == before, argv  # no -wal, -shm or -journal file
    with open(archived, "rb") as f:
        assert f.read() == content  # not a byte changed


def test_a_read_only_ledger_refuses_writes_and_leaves_no_side_file(archived):
    with open_ledger(archived, readonly=True) as ledger:
        assert ledger.devices()[0][0] == DEVICE
        assert not [name for name in os.listdir(os.path.dirname(archived)) if name != "field.sqlite"]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ledger._db.execute("CREATE TABLE x (y)")  # the connection itself is read-only, even for root
        with pytest.raises(LedgerError):
            ledger.add(DEVICE, 7, [usage(10_000)])


def test_a_read_only_open_reads_a_ledger_a_pull_is_writing(tmp_path):
    path = str(tmp_path / "field.sqlite")
    with open_ledger(path) as writer:
        writer.add(DEV, 1, [usage(1)])
        with open_ledger(path, readonly=True) as reader:  # the -wal is there: read through it, not past it
            assert reader.head_seq(DEV, 1) == 1
            writer.add(DEV, 1, [usage(2)])
            assert reader.head_seq(DEV, 1) == 2


@pytest.mark.parametrize("version, dropped", [(1, ("links", "pulls")), (2, ("pulls",))])
def test_an_older_ledger_reads_read_only_and_migrates_when_pulled_into(tmp_path, version, dropped):
    path = str(tmp_path / "old.sqlite")
    with open_ledger(path) as ledger:
        ledger.add(DEV, 1, [usage(1), usage(2)])
    db = sqlite3.connect(path)  # what that schema had: fewer tables, no index
    db.execute("DROP INDEX records_config_changes")
    for table in dropped:
        db.execute("DROP TABLE %s" % table)
    db.execute("PRAGMA user_version=%d" % version)
    db.commit()
    db.close()
    with open_ledger(path, readonly=True) as ledger:
        assert ledger.links(DEV, 1) == [] and ledger.pulls() == [] and ledger.head_seq(DEV, 1) == 2
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == version  # read: not migrated
    with open_ledger(path, check=True) as ledger:
        ledger.add_link(DEV, 1, 2, bytes(16), bytes(16))
        ledger.add_pull(DEV, 1, T0, 2, 2)
        assert ledger.links(DEV, 1) == [(2, bytes(16), bytes(16))] and ledger.pulls() == [(DEV, 1, T0, 2, 2)]


def test_a_read_that_a_pull_overtakes_is_not_called_damage(tmp_path):
    path = _filled(str(tmp_path / "field.sqlite"))
    with open_ledger(path, readonly=True) as reader:  # no -wal: opened immutable
        with open_ledger(path) as writer:  # a pull starts: its checkpoint may rewrite pages under the reader
            writer.add(DEV, 1, [usage(3001)])
            _damage_page(path, _a_middle_leaf(path))  # what a torn read of a rewritten page looks like
            with pytest.raises(LedgerError, match="changed while it was read .*: run the command again") as caught:
                list(reader.records())
            assert not isinstance(caught.value, LedgerDamaged)


def _as_a_user(code):
    """Run Python `code` as this user, or as nobody when the tests run as root (root
    may write a read-only file): (exit status, stderr)."""
    import subprocess
    import sys

    argv = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + argv
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=repo), timeout=60)
    return done.returncode, done.stderr


def test_writing_into_a_read_only_ledger_says_so_and_how_to_go_on():
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="edgemeter-archive-")  # under /tmp: nobody can reach it
    try:
        os.chmod(folder, 0o755)
        path = os.path.join(folder, "field.sqlite")
        with open_ledger(path) as ledger:
            ledger.add(DEVICE, 7, month_frames(month_records()))
        os.chmod(path, 0o444)
        code = ("from host_tools.ledger.store import open_ledger, LedgerError\n"
                "try:\n open_ledger(%r, check=True)\nexcept LedgerError as e:\n raise SystemExit(str(e))\n" % path)
        status, err = _as_a_user(code)
        assert status == 1 and "Traceback" not in err
        assert err.strip() == ("ledger %s is read-only (an archive, or a read-only folder or medium): pull into a "
                               "ledger you can write; this one can still be read by log, reconcile and ledger check"
                               % path)
    finally:
        shutil.rmtree(folder)
