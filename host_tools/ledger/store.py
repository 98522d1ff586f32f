"""The host ledger: every record pulled from every device, kept in one SQLite file.

    with Ledger(path) as ledger:
        new, duplicates = ledger.add(device_id, epoch, frames)
        head = ledger.head_seq(device_id, epoch)

A record is keyed by (device, epoch, seq). The ledger stores the very bytes the
device wrote (body and CRC-32) next to columns decoded from them, so the
evidence can always be re-checked and the columns re-derived.

`add` checks a whole batch before it writes any of it, writes it in one
transaction and returns only once the commit is on disk: the caller may then
tell the device it can delete those records. A record already present with the
same bytes is a duplicate (pulls repeat after a lost ACK); the same key with
different bytes is refused, because evidence is never silently replaced. Before
`add` returns, the batch is read back from the committed file by a second
connection: a damaged file raises LedgerDamaged instead of taking records the
ledger could not give back.

`Ledger(path, check=True)` (pull) runs PRAGMA quick_check first;
`Ledger(path, readonly=True)` (log, reconcile, ledger check, backup) opens the
file with SQLite's mode=ro and never writes anything, side files included.
A `links` row keeps a device's attested acknowledged head (seq, the MAC the next
record chains to, the device's MAC over both): where this ledger's chain of a
log starts, when an earlier pull into another ledger acknowledged what came before.
"""

import binascii
import datetime
import json
import math
import os
import pathlib
import sqlite3

from protocol import record_names as names
from protocol import records as rec

SCHEMA_VERSION = 2  # 2: the links table
# PRAGMA application_id: marks the file as an edgemeter ledger ("EdgL").
APPLICATION_ID = 0x4564674C

_SCHEMA = """
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
CREATE TABLE links (
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

_INT64_MAX = 2**63 - 1
_UNIX_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class LedgerError(ValueError):
    """A batch, a ledger file or an argument the ledger refuses; nothing was written."""


class LedgerConflict(LedgerError):
    """A record with a key already in the ledger but different bytes."""


class LedgerDamaged(LedgerError):
    """The file's pages are damaged: it cannot give back (all of) what it holds.

    `detail` is what SQLite (or the read-back) found."""

    def __init__(self, path, detail):
        self.path = path
        self.detail = detail
        super().__init__("ledger %s is damaged (%s)" % (path, detail))


def _check_key(device, epoch):
    if not isinstance(device, str) or not device:
        raise LedgerError("device id must be a non-empty string, got %r" % (device,))
    if not isinstance(epoch, int) or isinstance(epoch, bool) or not 0 <= epoch <= _INT64_MAX:
        raise LedgerError("epoch must be an integer from 0 to 2**63-1, got %r" % (epoch,))


def _jsonable(value):
    """A decoded CBOR value as JSON-able data: bytes as hex, map keys as strings."""
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # "nan", "inf", "-inf": JSON has no such numbers
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {(k.hex() if isinstance(k, bytes) else str(k)): _jsonable(v) for k, v in value.items()}
    return value


def named_fields(record):
    """{name: value} of a decoded record's type-specific fields (names from TYPES).

    Keys the schema does not name (a newer firmware's fields, reserved common
    keys 5-7) are kept under their number, so nothing decoded is lost."""
    field_names = names.TYPES[record[rec.K_TYPE]][1]
    fields = {}
    for key in record:  # canonical CBOR: small int keys come in ascending order
        if key in names.COMMON:
            continue
        if key in field_names:
            name = field_names[key]
        else:
            name = key.hex() if isinstance(key, bytes) else str(key)
        fields[name] = _jsonable(record[key])
    return fields


def iso_time(seconds):
    """'2026-12-01T00:00:00Z' for device time in seconds since 1970 (UTC)."""
    try:
        return (_UNIX_EPOCH + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError:
        return "%d s since 1970" % seconds  # a wild device clock: still shown, never fatal


def _check_frame(device, epoch, index, count, data):
    """(seq, row) of one frame, or LedgerError naming the batch and the frame."""

    def refuse(reason, seq=None):
        where = "frame %d of %d" % (index + 1, count) + ("" if seq is None else " (seq %d)" % seq)
        return LedgerError("device %s epoch %d: %s refused: %s; nothing of this batch was stored"
                           % (device, epoch, where, reason))

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise refuse("not bytes but %s" % type(data).__name__)
    data = bytes(data)
    try:
        body, end = rec.unframe(data)
        if end != len(data):
            raise rec.RecordError("%d bytes after the frame" % (len(data) - end))
        record = rec.decode(body)
    except rec.RecordError as error:
        raise refuse(str(error)) from None
    seq, time = record[rec.K_SEQ], record[rec.K_TIME]
    if not 1 <= seq <= _INT64_MAX:
        raise refuse("seq %d outside 1 .. 2**63-1" % seq)
    if not -_INT64_MAX <= time <= _INT64_MAX:
        raise refuse("time %d does not fit 64 bits" % time, seq)
    # Device and epoch travel once per log, not per record; a body that does
    # carry them must agree with the log it came in.
    if rec.K_DEVICE in record and record[rec.K_DEVICE] != device:
        raise refuse("record says device %r" % (record[rec.K_DEVICE],), seq)
    if rec.K_EPOCH in record and record[rec.K_EPOCH] != epoch:
        raise refuse("record says epoch %r" % (record[rec.K_EPOCH],), seq)
    fields = json.dumps(named_fields(record), ensure_ascii=False, separators=(",", ":"))
    return seq, (device, epoch, seq, record[rec.K_TYPE], time, body, binascii.crc32(body), fields)


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


class Ledger:
    """One SQLite ledger file, shared by many devices. Not thread-safe; one per process."""

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
            return sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
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
            self._check_schema()  # a ledger of schema 1 reads as one with no links
            return
        db.execute("PRAGMA journal_mode=WAL").fetchone()
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA fullfsync=ON")
        db.execute("PRAGMA checkpoint_fullfsync=ON")
        version = self._check_schema()
        if version == SCHEMA_VERSION:
            return  # the common case: no write lock taken, a read-only ledger opens for reading
        db.execute("BEGIN IMMEDIATE")
        try:
            version = self._check_schema()  # again, under the lock: another process may have created it
            if version == 0:
                db.execute(_SCHEMA)
                db.execute("PRAGMA application_id=%d" % APPLICATION_ID)
            if version < 2:
                db.execute(_LINKS)
            # Later schema versions migrate here, step by step, in this transaction.
            db.execute("PRAGMA user_version=%d" % SCHEMA_VERSION)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

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

    def add(self, device, epoch, frames):
        """Store a batch of frames of one device's log epoch; (new, duplicates).

        Each frame is u16 length + CBOR body + u32 CRC-32, exactly as the device
        stores it. All frames are checked (CRC, body, seq) before anything is
        written; a bad frame or a conflicting record raises LedgerError and
        nothing of the batch is stored. Returns after a durable commit."""
        _check_key(device, epoch)
        if isinstance(frames, (bytes, bytearray, memoryview)):
            raise LedgerError("frames must be a list of frames, not one byte string")
        frames = list(frames)
        rows = {}  # seq -> row, first occurrence in the batch
        duplicates = 0
        for index, data in enumerate(frames):
            seq, row = _check_frame(device, epoch, index, len(frames), data)
            seen = rows.get(seq)
            if seen is None:
                rows[seq] = row
            elif seen[5] == row[5]:
                duplicates += 1
            else:
                raise LedgerConflict("device %s epoch %d: frame %d of %d (seq %d) differs from an earlier "
                                     "frame with the same seq in the batch; nothing of this batch was stored"
                                     % (device, epoch, index + 1, len(frames), seq))
        if not rows:
            return 0, duplicates
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
                elif stored[0] == row[5]:
                    duplicates += 1
                else:
                    raise LedgerConflict("device %s epoch %d: seq %d is already in the ledger with different "
                                         "bytes; the ledger keeps the first; nothing of this batch was stored"
                                         % (device, epoch, seq))
            db.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise self._damaged(error) from None
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._read_back(device, epoch, rows)
        return new, duplicates

    def _read_back(self, device, epoch, rows):
        """LedgerDamaged unless every row of the batch reads back, byte for byte,
        from the committed file: through another connection, so not from this
        one's page cache."""
        try:
            if self._reader is None:
                uri = pathlib.Path(os.path.abspath(self.path)).as_uri() + "?mode=ro"
                self._reader = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
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

    def add_link(self, device, epoch, seq, link, att):
        """Keep the device's attested acknowledged head of a log: record seq + 1
        chains to MAC `link`; `att` is the device's MAC over it. Durable on return."""
        _check_key(device, epoch)
        if not isinstance(seq, int) or seq < 1 or not all(isinstance(v, bytes) and v for v in (link, att)):
            raise LedgerError("a link needs a seq from 1 and the link and attestation as bytes")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR IGNORE INTO links VALUES (?,?,?,?,?)", (device, epoch, seq, link, att))
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

    def head_seq(self, device, epoch):
        """The highest seq stored for (device, epoch); 0 if none."""
        return self._all("SELECT max(seq) FROM records WHERE device=? AND epoch=?", (device, epoch))[0][0] or 0

    def devices(self):
        """[(device, epoch, count, first_seq, head_seq)] for every log in the ledger, in key order."""
        return self._all(
            "SELECT device, epoch, count(*), min(seq), max(seq) FROM records GROUP BY device, epoch ORDER BY device, epoch"
        )

    def gaps(self, device, epoch):
        """[(from_seq, to_seq)] ranges missing between seq 1 and the head, inclusive."""
        gaps = []
        expected = 1
        for (seq,) in self._rows("SELECT seq FROM records WHERE device=? AND epoch=? ORDER BY seq", (device, epoch)):
            if seq > expected:
                gaps.append((expected, seq - 1))
            expected = seq + 1
        return gaps

    def links(self, device, epoch):
        """[(seq, link, att)] the device attested for this log, in seq order (see add_link)."""
        if not self._all("SELECT count(*) FROM sqlite_master WHERE name='links'")[0][0]:
            return []  # a schema-1 ledger opened read-only
        return [(seq, bytes(link), bytes(att)) for seq, link, att in self._all(
            "SELECT seq, link, att FROM links WHERE device=? AND epoch=? ORDER BY seq, link", (device, epoch))]

    def frames(self, device, epoch):
        """The stored records of one log as the device framed them (length, body, CRC), in seq order.

        This is the evidence exactly as it left the device's flash."""
        for (body,) in self._rows("SELECT body FROM records WHERE device=? AND epoch=? ORDER BY seq", (device, epoch)):
            yield rec.frame(bytes(body))

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

    def records(self, device=None, epoch=None, since_seq=None):
        """Records as dicts in (device, epoch, seq) order, read one at a time.

        Filters: device, epoch, and since_seq (only seq > since_seq). Each dict has
        device, epoch, seq, type (name, e.g. "boot"), time (ISO 8601 UTC) and
        fields ({name: value}, bytes as hex)."""
        where, params = [], []
        for column, op, value in (("device", "=", device), ("epoch", "=", epoch), ("seq", ">", since_seq)):
            if value is not None:
                where.append("%s %s ?" % (column, op))
                params.append(value)
        sql = "SELECT device, epoch, seq, type, time, fields FROM records"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._rows(sql + " ORDER BY device, epoch, seq", params)
        try:
            for device_, epoch_, seq, rtype, time, fields in rows:
                yield {
                    "device": device_,
                    "epoch": epoch_,
                    "seq": seq,
                    "type": names.TYPES[rtype][0] if rtype in names.TYPES else str(rtype),
                    "time": iso_time(time),
                    "fields": json.loads(fields),
                }
        finally:
            try:
                rows.close()
            except sqlite3.ProgrammingError:
                pass  # the ledger was closed before this iterator was dropped

    # --- lifetime ------------------------------------------------------------

    def close(self):
        """Close the file (a clean close folds the WAL back into the one .db file)."""
        if self._reader is not None:
            self._reader.close()
        self._db.close()  # idempotent; later use raises sqlite3.ProgrammingError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
