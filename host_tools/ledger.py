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
different bytes is refused, because evidence is never silently replaced.
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

SCHEMA_VERSION = 1
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

_INT64_MAX = 2**63 - 1
_UNIX_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class LedgerError(ValueError):
    """A batch, a ledger file or an argument the ledger refuses; nothing was written."""


class LedgerConflict(LedgerError):
    """A record with a key already in the ledger but different bytes."""


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


class Ledger:
    """One SQLite ledger file, shared by many devices. Not thread-safe; one per process."""

    def __init__(self, path, create=True):
        """Open the ledger at `path`, creating it unless create=False.

        LedgerError if the file cannot be opened, is not an edgemeter ledger, or
        was written by a newer schema."""
        self.path = os.fspath(path)
        existed = os.path.exists(self.path)
        mode = "rwc" if create else "rw"
        uri = pathlib.Path(os.path.abspath(self.path)).as_uri() + "?mode=" + mode
        try:
            # isolation_level=None: no implicit transactions; add() says
            # BEGIN IMMEDIATE / COMMIT itself. timeout: another process (a
            # second pull) may hold the write lock for a moment.
            self._db = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
        except sqlite3.Error as error:
            raise LedgerError("cannot open ledger %s: %s" % (self.path, error)) from None
        try:
            self._setup()
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise LedgerError("cannot use ledger %s: %s" % (self.path, error)) from None
        except LedgerError:
            self._db.close()
            raise
        if not existed:
            _fsync_dir(self.path)  # the new file's directory entry is durable too

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
                db.execute("PRAGMA user_version=%d" % SCHEMA_VERSION)
            # Later schema versions migrate here, step by step, in this transaction.
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
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return new, duplicates

    # --- reading -------------------------------------------------------------

    def head_seq(self, device, epoch):
        """The highest seq stored for (device, epoch); 0 if none."""
        row = self._db.execute("SELECT max(seq) FROM records WHERE device=? AND epoch=?", (device, epoch)).fetchone()
        return row[0] or 0

    def devices(self):
        """[(device, epoch, count, first_seq, head_seq)] for every log in the ledger, in key order."""
        return self._db.execute(
            "SELECT device, epoch, count(*), min(seq), max(seq) FROM records GROUP BY device, epoch ORDER BY device, epoch"
        ).fetchall()

    def gaps(self, device, epoch):
        """[(from_seq, to_seq)] ranges missing between seq 1 and the head, inclusive."""
        gaps = []
        expected = 1
        cursor = self._db.execute("SELECT seq FROM records WHERE device=? AND epoch=? ORDER BY seq", (device, epoch))
        for (seq,) in cursor:
            if seq > expected:
                gaps.append((expected, seq - 1))
            expected = seq + 1
        return gaps

    def frames(self, device, epoch):
        """The stored records of one log as the device framed them (length, body, CRC), in seq order.

        This is the evidence exactly as it left the device's flash."""
        cursor = self._db.execute("SELECT body FROM records WHERE device=? AND epoch=? ORDER BY seq", (device, epoch))
        for (body,) in cursor:
            yield rec.frame(bytes(body))

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
        cursor = self._db.execute(sql + " ORDER BY device, epoch, seq", params)
        try:
            for device_, epoch_, seq, rtype, time, fields in cursor:
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
                cursor.close()
            except sqlite3.ProgrammingError:
                pass  # the ledger was closed before this iterator was dropped

    # --- lifetime ------------------------------------------------------------

    def close(self):
        """Close the file (a clean close folds the WAL back into the one .db file)."""
        self._db.close()  # idempotent; later use raises sqlite3.ProgrammingError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
