"""The host ledger: every record pulled from every device, on one of two engines.

    with open_ledger("field.sqlite") as ledger:            # SQLite: a technician's file
    with open_ledger("postgresql:///fleet?host=/run/postgresql") as ledger:   # an operator's server
        new, duplicates = ledger.add(device_id, epoch, frames)
        head = ledger.head_seq(device_id, epoch)

A record is keyed by (device, epoch, seq). The ledger stores the very bytes the
device wrote (body and CRC-32) next to columns decoded from them, so the
evidence can always be re-checked and the columns re-derived.

`add` checks a whole batch before it writes any of it, writes it in one
transaction and returns only once the commit is durable and the batch reads
back: the caller may then tell the device it can delete those records. A
record already present with the same bytes is a duplicate (pulls repeat after
a lost ACK); the same key with different bytes is refused, because evidence is
never silently replaced.

This module holds what both engines share: the checks, the rows, the queries
and the interface (`Ledger`). sqlite_ledger.py and postgres_ledger.py hold
what differs: connecting, the schema, transactions, storing a batch, reading
it back. `open_ledger` picks the engine from the target: a PostgreSQL URL
(postgresql://... or postgres://...) or a file path.
"""

import binascii
import datetime
import json
import math
import re
import struct

from protocol import record_names as names
from protocol import records as rec

# One schema version for both engines: 2 added the links table, 3 the pulls table.
SCHEMA_VERSION = 3
# Marks the ledger as edgemeter's ("EdgL"): SQLite's PRAGMA application_id, and
# the application row of PostgreSQL's edgemeter.ledger table.
APPLICATION_ID = 0x4564674C
URL_SCHEMES = ("postgresql://", "postgres://")

_INT64_MAX = 2**63 - 1
_UNIX_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_FIELDS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class LedgerError(ValueError):
    """A batch, a ledger or an argument the ledger refuses; nothing was written."""


class LedgerConflict(LedgerError):
    """A record with a key already in the ledger but different bytes."""


class LedgerUnreachable(LedgerError):
    """The ledger's server could not be reached, or the connection to it was lost."""


class LedgerDamaged(LedgerError):
    """The ledger is damaged: it cannot give back (all of) what it holds.

    `detail` is what the engine (or the read-back) found."""

    def __init__(self, path, detail):
        self.path = path
        self.detail = detail
        super().__init__("ledger %s is damaged (%s)" % (path, detail))


def is_url(target):
    """Whether a --ledger value names a PostgreSQL ledger rather than a file."""
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def shown_target(target):
    """The target as messages print it: a URL without its password."""
    if not is_url(target):
        return target
    target = re.sub(r"(://[^:/@?]*):[^@/?]*@", r"\1:***@", target)
    return re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", target)


def open_ledger(target, create=True, readonly=False, check=False):
    """The ledger at `target`: a PostgreSQL URL or an SQLite file path.

    create: make a missing SQLite file (a PostgreSQL ledger is made only by
    `edgemeter ledger init`). readonly: never write anything. check: look for
    damaged pages first (LedgerDamaged). LedgerError, in one line, if it cannot
    be opened, is not an edgemeter ledger, or has a newer schema."""
    if is_url(target):
        from host_tools.ledger.postgres_ledger import PostgresLedger

        return PostgresLedger(target, readonly=readonly)
    from host_tools.ledger.sqlite_ledger import SqliteLedger

    return SqliteLedger(target, create=create, readonly=readonly, check=check)


def init_ledger(target):
    """Create the ledger at `target`, or migrate it to SCHEMA_VERSION; (version found, version now).
    A version found of 0 means it was created."""
    if is_url(target):
        from host_tools.ledger.postgres_ledger import init

        return init(target)
    from host_tools.ledger.sqlite_ledger import init

    return init(target)


def check_target(target, readonly=False):
    """LedgerError if `target` cannot be a ledger (to read if `readonly`, else to
    write), found without opening it: a folder, a file missing, a new file's
    folder missing, a URL that does not parse."""
    if is_url(target):
        from host_tools.ledger.postgres_ledger import check_url

        check_url(target)
        return
    from host_tools.ledger.sqlite_ledger import check_path

    check_path(target, readonly)


def _check_key(device, epoch):
    if not isinstance(device, str) or not device:
        raise LedgerError("device id must be a non-empty string, got %r" % (device,))
    if not isinstance(epoch, int) or isinstance(epoch, bool) or not 0 <= epoch <= _INT64_MAX:
        raise LedgerError("epoch must be an integer from 0 to 2**63-1, got %r" % (epoch,))


def _jsonable(value):
    """A decoded CBOR value as JSON-able data: bytes as hex, map keys as strings."""
    if type(value) is int or type(value) is str:
        return value  # nearly every field: no further checks
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


def _refused(device, epoch, index, count, reason, seq=None):
    where = "frame %d of %d" % (index + 1, count) + ("" if seq is None else " (seq %d)" % seq)
    return LedgerError("device %s epoch %d: %s refused: %s; nothing of this batch was stored"
                       % (device, epoch, where, reason))


def _check_frame(device, epoch, index, count, data):
    """(seq, row) of one frame, or LedgerError naming the batch and the frame.
    A row: (device, epoch, seq, type, time, body, crc, fields as JSON text)."""
    if type(data) is not bytes:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise _refused(device, epoch, index, count, "not bytes but %s" % type(data).__name__)
        data = bytes(data)
    try:
        body, end = rec.unframe(data)
        if end != len(data):
            raise rec.RecordError("%d bytes after the frame" % (len(data) - end))
        record = rec.decode(body)
    except rec.RecordError as error:
        raise _refused(device, epoch, index, count, str(error)) from None
    seq, time = record[rec.K_SEQ], record[rec.K_TIME]
    if not 1 <= seq <= _INT64_MAX:
        raise _refused(device, epoch, index, count, "seq %d outside 1 .. 2**63-1" % seq)
    if not -_INT64_MAX <= time <= _INT64_MAX:
        raise _refused(device, epoch, index, count, "time %d does not fit 64 bits" % time, seq)
    # Device and epoch travel once per log, not per record; a body that does
    # carry them must agree with the log it came in.
    if rec.K_DEVICE in record and record[rec.K_DEVICE] != device:
        raise _refused(device, epoch, index, count, "record says device %r" % (record[rec.K_DEVICE],), seq)
    if rec.K_EPOCH in record and record[rec.K_EPOCH] != epoch:
        raise _refused(device, epoch, index, count, "record says epoch %r" % (record[rec.K_EPOCH],), seq)
    fields = _FIELDS_JSON.encode(named_fields(record))
    return seq, (device, epoch, seq, record[rec.K_TYPE], time, body, binascii.crc32(body), fields)


def checked_rows(device, epoch, frames):
    """({seq: row}, duplicates) of a batch, every frame checked; LedgerError if any fails,
    or if two frames of the batch have one seq and other bytes."""
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
    return rows, duplicates


def _check_link(device, epoch, seq, link, att):
    _check_key(device, epoch)
    if not isinstance(seq, int) or seq < 1 or not all(isinstance(v, bytes) and v for v in (link, att)):
        raise LedgerError("a link needs a seq from 1 and the link and attestation as bytes")


def _check_pull(device, epoch, at, head, records):
    _check_key(device, epoch)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (at, head, records)):
        raise LedgerError("a pull needs its time, head and record count as whole numbers")


def conflict(device, epoch, seq):
    return LedgerConflict("device %s epoch %d: seq %d is already in the ledger with different bytes; the "
                          "ledger keeps the first; nothing of this batch was stored" % (device, epoch, seq))


class Ledger:
    """What every ledger engine offers. Not thread-safe; one per process.

    An engine provides _store, _read_back, _write (one statement in its own
    durable transaction), integrity, backup and close, and runs the shared
    queries below through _all and _rows (SQL with ? placeholders)."""

    path = None  # the target as given: a file path or a URL (without its password)
    readonly = False

    # --- writing -------------------------------------------------------------

    def add(self, device, epoch, frames):
        """Store a batch of frames of one device's log epoch; (new, duplicates).

        Each frame is u16 length + CBOR body + u32 CRC-32, exactly as the device
        stores it. All frames are checked (CRC, body, seq) before anything is
        written; a bad frame or a conflicting record raises LedgerError and
        nothing of the batch is stored. Returns after a durable commit that
        reads back."""
        rows, duplicates = checked_rows(device, epoch, frames)
        new = self.add_rows(device, epoch, rows)
        return new, duplicates + len(rows) - new

    def add_link(self, device, epoch, seq, link, att):
        """Keep the device's attested acknowledged head of a log: record seq + 1
        chains to MAC `link`; `att` is the device's MAC over it. Durable on return."""
        _check_link(device, epoch, seq, link, att)
        # ON CONFLICT DO NOTHING: PostgreSQL, and SQLite from 3.24 (2018).
        self._write("INSERT INTO links VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING", (device, epoch, seq, link, att))

    def add_pull(self, device, epoch, at, head, records):
        """Note a pull of (device, epoch) that ended at host time `at` (UTC seconds)."""
        _check_pull(device, epoch, at, head, records)
        self._write("INSERT INTO pulls VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING", (device, epoch, at, head, records))

    def add_rows(self, device, epoch, rows):
        """Store a batch `checked_rows` gave ({seq: row} of one log); how many were new.
        Durable and read back on return; LedgerConflict (nothing stored) as `add`."""
        if not rows:
            return 0
        new = self._store(device, epoch, rows)
        self._read_back(device, epoch, rows)
        return new

    # --- reading -------------------------------------------------------------

    def head_seq(self, device, epoch):
        """The highest seq stored for (device, epoch); 0 if none."""
        return self._all("SELECT max(seq) FROM records WHERE device=? AND epoch=?", (device, epoch))[0][0] or 0

    def devices(self):
        """[(device, epoch, count, first_seq, head_seq)] for every log in the ledger, in key order."""
        return self._all(
            "SELECT device, epoch, count(*), min(seq), max(seq) FROM records GROUP BY device, epoch ORDER BY device, epoch"
        )

    def device_ids(self):
        """The ids of every device with a record in the ledger, sorted."""
        return [device for (device,) in self._all("SELECT DISTINCT device FROM records ORDER BY device")]

    def has_device(self, device):
        return bool(self._all("SELECT 1 FROM records WHERE device=? LIMIT 1", (device,)))

    def logs(self):
        """[(device, epoch, count, first_seq, head_seq, first_time, last_time)] for every log, in key order."""
        return self._all("SELECT device, epoch, count(*), min(seq), max(seq), min(time), max(time) FROM records "
                         "GROUP BY device, epoch ORDER BY device, epoch")

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
        return [(seq, bytes(link), bytes(att)) for seq, link, att in self._all(
            "SELECT seq, link, att FROM links WHERE device=? AND epoch=? ORDER BY seq, link", (device, epoch))]

    def all_links(self):
        """[(device, epoch, seq, link, att)] of the whole ledger, in key order."""
        return [(d, e, s, bytes(link), bytes(att)) for d, e, s, link, att in self._all(
            "SELECT device, epoch, seq, link, att FROM links ORDER BY device, epoch, seq, link")]

    def pulls(self, device=None):
        """[(device, epoch, at, head, records)] of every pull this ledger took (at: host UTC
        seconds; records: how many the pull brought), oldest first."""
        sql = "SELECT device, epoch, at, head, records FROM pulls"
        if device is None:
            return self._all(sql + " ORDER BY at, device, epoch")
        return self._all(sql + " WHERE device=? ORDER BY at, epoch", (device,))

    def last_pulls(self):
        """{device: host UTC seconds of its latest pull}."""
        return dict(self._all("SELECT device, max(at) FROM pulls GROUP BY device"))

    def subscriber_changes(self):
        """[(device, time, fields)] of every config_changed record of the subscriber's number."""
        return [(device, time, json.loads(fields)) for device, time, fields in self._all(
            "SELECT device, time, fields FROM records WHERE type=? ORDER BY device, epoch, seq",
            (rec.CONFIG_CHANGED,)) if json.loads(fields).get("key") == "subscriber"]

    def frames(self, device, epoch):
        """The stored records of one log as the device framed them (length, body, CRC), in seq order.

        This is the evidence exactly as it left the device's flash."""
        for (body,) in self._rows("SELECT body FROM records WHERE device=? AND epoch=? ORDER BY seq", (device, epoch)):
            yield rec.frame(bytes(body))

    def stored_frames(self, device, epoch):
        """(seq, frame) of one log's records in seq order, read one at a time: each framed
        with the CRC-32 the ledger holds for it, so a body altered in the ledger shows."""
        for seq, body, crc in self._rows("SELECT seq, body, crc FROM records WHERE device=? AND epoch=? ORDER BY seq",
                                         (device, epoch)):
            yield seq, struct.pack(">H", len(body)) + bytes(body) + struct.pack(">I", crc & 0xFFFFFFFF)

    def bodies(self, device, epoch, low, high):
        """{seq: body} of one log's records from seq low to high."""
        return {seq: bytes(body) for seq, body in self._all(
            "SELECT seq, body FROM records WHERE device=? AND epoch=? AND seq BETWEEN ? AND ?",
            (device, epoch, low, high))}

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
            rows.close()

    # --- lifetime ------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
