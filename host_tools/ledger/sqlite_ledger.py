"""The SQLite ledger engine: one file, a technician's laptop, the field's default.

`SqliteLedger(path)` creates the file unless create=False; check=True (pull)
runs PRAGMA quick_check first; readonly=True (log, reconcile, ledger check,
backup) opens the file with SQLite's mode=ro and never writes anything, side
files included. Before `add` returns, the batch is read back from the committed
file by a second connection: a damaged file raises LedgerDamaged instead of
taking records the ledger could not give back.
"""

import os
import pathlib
import sqlite3

from host_tools.ledger.store import APPLICATION_ID, SCHEMA_VERSION, Ledger, LedgerDamaged, LedgerError, conflict
from protocol import records as rec

_RECORDS = """
CREATE TABLE records (
    device  TEXT    NOT NULL,   -- device id, e.g. em-0123abcd
    epoch   INTEGER NOT NULL,   -- the device log's epoch (a new one after a reformat)
    seq     INTEGER NOT NULL,   -- 1, 2, ... within (device, epoch)
    type    INTEGER NOT NULL,   -- record type number (protocol.records.TYPES)
    time    INTEGER NOT NULL,   -- device UTC, seconds since 1970
    body    BLOB    NOT NULL,   -- the CBOR body exactly as the device framed it
    crc     INTEGER NOT NULL,   -- its CRC-32 as the device framed it
    fields  TEXT    NOT NULL,   -- type-specific fields as a JSON object, by name
    PRIMARY KEY (device, epoch, seq)
) WITHOUT ROWID
"""
# WITHOUT ROWID: rows are small and always looked up or scanned by the primary
# key, so the table is stored in key order with no separate index.

_LINKS = """
CREATE TABLE %slinks (
    device  TEXT    NOT NULL,
    epoch   INTEGER NOT NULL,
    seq     INTEGER NOT NULL,   -- the device's acknowledged head when the pull started
    link    BLOB    NOT NULL,   -- the MAC record seq + 1 chains to, as the device reported it
    att     BLOB    NOT NULL,   -- the device's MAC over (device, epoch, seq, link): protocol/record_chain.py
    PRIMARY KEY (device, epoch, seq, link)
) WITHOUT ROWID
"""
# A link row is what the device said; it counts only once its `att` checks out
# with the device's key (host_tools/ledger/evidence_check.py), so a forged one is kept
# (as evidence of the attempt) but never links anything.

_PULLS = """
CREATE TABLE %spulls (
    device  TEXT    NOT NULL,
    epoch   INTEGER NOT NULL,
    at      INTEGER NOT NULL,   -- host UTC, seconds since 1970, when the pull ended
    head    INTEGER NOT NULL,   -- the device's head seq then
    records INTEGER NOT NULL,   -- how many records the pull brought (new or not)
    PRIMARY KEY (device, epoch, at)
) WITHOUT ROWID
"""
# The records of subscriber changes are few: reconcile finds a bill's device by them.
_SUBSCRIBER_INDEX = "CREATE INDEX records_config_changes ON records (device) WHERE type = %d"


def _fsync_dir(path):
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; SQLite syncs its own files
    finally:
        os.close(fd)


def check_path(path, readonly=False):
    """LedgerError if `path` cannot be a ledger (to read if `readonly`, else to
    write): a folder, a file missing, a new file's folder missing."""
    if os.path.isdir(path):
        raise LedgerError("ledger %s is a folder: name a ledger file in it, e.g. %s" % (
            path, os.path.join(path, "field.sqlite")))
    if os.path.exists(path):
        return
    if readonly:
        raise LedgerError("no ledger at %s" % path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise LedgerError("cannot create ledger %s: no such folder %s" % (path, folder))


def init(path):
    """(schema version found, SCHEMA_VERSION) after creating or migrating the file."""
    check_path(path)
    found = 0
    if os.path.exists(path):
        with SqliteLedger(path, readonly=True) as ledger:
            found = ledger.version
    SqliteLedger(path).close()  # opening to write creates or migrates
    return found, SCHEMA_VERSION


class SqliteLedger(Ledger):
    """One SQLite ledger file, shared by many devices."""

    def __init__(self, path, create=True, readonly=False, check=False):
        """Open the ledger at `path`, creating it unless create=False.

        readonly=True: open it with SQLite's mode=ro, so a ledger on a read-only
        folder or medium can be read; nothing is written, no -wal or -shm file is
        made (with no -wal file next to it, it is opened immutable: no writer has
        it open). check=True: run PRAGMA quick_check first (LedgerDamaged).

        LedgerError if the file cannot be opened, is not an edgemeter ledger, or
        was written by a newer schema."""
        self.path = os.fspath(path)
        self.readonly = readonly
        self._reader = None  # a second connection: add() reads each batch back through it
        self._immutable = False  # opened immutable: no writer had it open
        existed = os.path.exists(self.path)
        check_path(self.path, readonly)
        self._db = self._connect(readonly or not create, readonly)
        try:
            self._setup()
            if check:
                self._quick_check()
        except sqlite3.DatabaseError as error:
            self._db.close()
            if existed and "malformed" in str(error):
                raise LedgerDamaged(self.path, str(error)) from None
            if "readonly" in str(error):
                raise LedgerError("ledger %s is read-only (an archive, or a read-only folder or medium): pull into "
                                  "a ledger you can write; this one can still be read by log, reconcile and ledger "
                                  "check" % self.path) from None
            raise LedgerError("cannot use ledger %s: %s" % (self.path, error)) from None
        except LedgerError:
            self._db.close()
            raise
        if not existed:
            _fsync_dir(self.path)  # the new file's directory entry is durable too

    def _connect(self, must_exist, readonly):
        if readonly:
            # mode=ro alone would still create -wal and -shm files to read a WAL
            # database. With no -wal file there is no writer and nothing to
            # recover: immutable=1 reads the one file and creates nothing. With a
            # -wal file (a pull is writing, or one was killed), mode=ro reads it.
            mode = "ro" if os.path.exists(self.path + "-wal") else "ro&immutable=1"
            self._immutable = mode.endswith("immutable=1")
        else:
            mode = "rw" if must_exist else "rwc"
        uri = pathlib.Path(os.path.abspath(self.path)).as_uri() + "?mode=" + mode
        try:
            # isolation_level=None: no implicit transactions; add() says
            # BEGIN IMMEDIATE / COMMIT itself. timeout: another process (a
            # second pull) may hold the write lock for a moment.
            # check_same_thread=False: sync's worker thread may use it (never two threads at once).
            return sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise LedgerError("cannot open ledger %s: %s" % (self.path, error)) from None

    def _setup(self):
        db = self._db
        # Durability. WAL with synchronous=FULL: a commit appends to the -wal
        # file and fsyncs it once, which is enough for it to survive a power
        # cut; DELETE+FULL needs several fsyncs per commit (journal, database,
        # journal removal). WAL also lets `edgemeter log` read while a pull is
        # writing. (WAL with synchronous=NORMAL would NOT be durable: the last
        # commits can roll back after a power cut.) The cost: while open, the
        # ledger is three files (.db, -wal, -shm) and must sit on a local
        # disk; a clean close checkpoints the WAL back into the one .db file,
        # and after a crash the next open recovers from the -wal.
        # fullfsync matters on macOS only, where plain fsync skips the disk cache.
        if self.readonly:
            self.version = self._check_schema()
            # An older ledger read as it is: the tables it lacks read as empty
            # (temporary ones, in memory: the file is not touched).
            if self.version < 2:
                db.execute(_LINKS % "temp.")
            if self.version < 3:
                db.execute(_PULLS % "temp.")
            return
        db.execute("PRAGMA journal_mode=WAL").fetchone()
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA fullfsync=ON")
        db.execute("PRAGMA checkpoint_fullfsync=ON")
        self.version = self._check_schema()
        if self.version == SCHEMA_VERSION:
            return  # the common case: no write lock taken
        db.execute("BEGIN IMMEDIATE")
        try:
            version = self._check_schema()  # again, under the lock: another process may have created it
            if version == 0:
                db.execute(_RECORDS)
                db.execute("PRAGMA application_id=%d" % APPLICATION_ID)
            if version < 2:
                db.execute(_LINKS % "")
            if version < 3:
                db.execute(_PULLS % "")
                db.execute(_SUBSCRIBER_INDEX % rec.CONFIG_CHANGED)
            # Later schema versions migrate here, step by step, in this transaction.
            db.execute("PRAGMA user_version=%d" % SCHEMA_VERSION)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.version = SCHEMA_VERSION

    def _check_schema(self):
        db = self._db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        app = db.execute("PRAGMA application_id").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app not in (0, APPLICATION_ID) or (version == 0 and tables):
            raise LedgerError("%s is an SQLite file but not an edgemeter ledger" % self.path)
        if version > SCHEMA_VERSION:
            raise LedgerError("ledger %s has schema %d; this edgemeter knows up to %d: upgrade edgemeter"
                              % (self.path, version, SCHEMA_VERSION))
        return version

    def _quick_check(self):
        try:
            found = [row[0] for row in self._db.execute("PRAGMA quick_check(5)")]
        except sqlite3.DatabaseError as error:  # so damaged that the check itself stops
            found = [str(error)]
        if found != ["ok"]:
            raise LedgerDamaged(self.path, "quick_check: " + "; ".join(found))

    def _damaged(self, error):
        if self._immutable and os.path.exists(self.path + "-wal"):
            # A pull opened it after we did and may have folded its commits into
            # the file under this immutable read: not damage; a new read sees it whole.
            return LedgerError("ledger %s changed while it was read (a pull wrote to it): run the command again"
                               % self.path)
        return LedgerDamaged(self.path, str(error))

    # --- writing -------------------------------------------------------------

    def _store(self, device, epoch, rows):
        db = self._db
        new = 0
        db.execute("BEGIN IMMEDIATE")  # the write lock first: check-then-insert is atomic
        try:
            for seq, row in rows.items():
                stored = db.execute(
                    "SELECT body FROM records WHERE device=? AND epoch=? AND seq=?", (device, epoch, seq)
                ).fetchone()
                if stored is None:
                    db.execute("INSERT INTO records VALUES (?,?,?,?,?,?,?,?)", row)
                    new += 1
                elif stored[0] != row[5]:
                    raise conflict(device, epoch, seq)
            db.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise self._damaged(error) from None
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return new

    def _read_back(self, device, epoch, rows):
        """LedgerDamaged unless every row of the batch reads back, byte for byte,
        from the committed file: through another connection, so not from this
        one's page cache."""
        try:
            if self._reader is None:
                uri = pathlib.Path(os.path.abspath(self.path)).as_uri() + "?mode=ro"
                self._reader = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None,
                                               check_same_thread=False)
            low, high = min(rows), max(rows)
            stored = dict(self._reader.execute(
                "SELECT seq, body FROM records WHERE device=? AND epoch=? AND seq BETWEEN ? AND ?",
                (device, epoch, low, high)))
        except sqlite3.DatabaseError as error:
            raise self._damaged("reading the batch back: %s" % error) from None
        for seq, row in rows.items():
            if seq not in stored:
                raise self._damaged("reading the batch back: seq %d is not there" % seq)
            if bytes(stored[seq]) != row[5]:
                raise self._damaged("reading the batch back: seq %d has other bytes" % seq)

    def _write(self, sql, params):
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(sql, params)
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise self._damaged(error) from None

    # --- reading -------------------------------------------------------------

    def _all(self, sql, params=()):
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as error:
            raise self._damaged(error) from None

    def _rows(self, sql, params=()):
        """The rows of a query one at a time; a damaged page is LedgerDamaged, not a traceback."""
        cursor = None
        try:
            cursor = self._db.execute(sql, params)
            for row in cursor:
                yield row
        except sqlite3.ProgrammingError:
            raise
        except sqlite3.DatabaseError as error:
            raise self._damaged(error) from None
        finally:
            if cursor is not None:
                try:
                    cursor.close()
                except sqlite3.ProgrammingError:
                    pass  # the ledger was closed before this iterator was dropped

    def integrity(self):
        """PRAGMA integrity_check: ["ok"], or up to 20 lines of what is damaged."""
        try:
            return [row[0] for row in self._db.execute("PRAGMA integrity_check(20)")]
        except sqlite3.DatabaseError as error:
            return [str(error)]

    def backup(self, dest):
        """Copy the ledger to a new file `dest` with SQLite's online backup API (a
        consistent copy even while a pull writes), checked and synced; the number
        of records copied. LedgerError if dest exists or the copy does not check out."""
        dest = os.fspath(dest)
        if os.path.exists(dest):
            raise LedgerError("%s exists: back up into a new file" % dest)
        try:
            target = sqlite3.connect(pathlib.Path(os.path.abspath(dest)).as_uri() + "?mode=rwc", uri=True,
                                     isolation_level=None)
        except sqlite3.Error as error:
            raise LedgerError("cannot write backup %s: %s" % (dest, error)) from None
        try:
            self._db.backup(target)
            target.execute("PRAGMA journal_mode=DELETE").fetchone()  # one self-contained file
            found = [row[0] for row in target.execute("PRAGMA integrity_check(5)")]
            if found != ["ok"]:
                raise LedgerError("backup %s does not check out: %s; no backup written" % (dest, "; ".join(found)))
            copied = target.execute("SELECT count(*) FROM records").fetchone()[0]
        except sqlite3.DatabaseError as error:
            target.close()
            os.remove(dest)
            if "malformed" in str(error) or "corrupt" in str(error):
                raise self._damaged(error) from None
            raise LedgerError("cannot write backup %s: %s" % (dest, error)) from None
        except LedgerError:
            target.close()
            os.remove(dest)
            raise
        target.close()
        with open(dest, "rb") as f:
            os.fsync(f.fileno())
        _fsync_dir(dest)
        return copied

    def close(self):
        """Close the file (a clean close folds the WAL back into the one .db file)."""
        if self._reader is not None:
            self._reader.close()
        self._db.close()  # idempotent; later use raises sqlite3.ProgrammingError

