"""The PostgreSQL ledger engine: one database an operator runs for a whole fleet.

    edgemeter ledger init postgresql:///fleet?host=/run/postgresql   # once: creates or migrates
    edgemeter pull --port /dev/ttyUSB0 --ledger postgresql:///fleet?host=/run/postgresql

The ledger's tables live in a schema of their own, `edgemeter`, so they never
meet another application's; edgemeter.ledger holds one row: the application
mark and the schema version. Only `init` creates or migrates (an operator's
database changes when someone says so); every other command refuses a database
that is not an edgemeter ledger of this version, in one line.

A batch of records the ledger lacks goes in with one COPY, in one transaction
committed with synchronous_commit on: durable before add returns. If a key is
there already (a repeated pull), that transaction fails whole and the batch
goes in again by COPY into a temporary table, one INSERT ... ON CONFLICT DO
NOTHING and a check that every row already there has the same bytes. Two
technicians storing the same records at once do not both win: the second
INSERT waits for the first to commit, then finds its rows and checks their
bytes. The batch is then read back (count and MD5 of its bodies, computed by
the server).

Driver: psycopg 3 (pip install 'edgemeter[postgres]').
"""

import hashlib
import re

from host_tools.ledger.store import (APPLICATION_ID, SCHEMA_VERSION, Ledger, LedgerDamaged, LedgerError,
                                     LedgerUnreachable, conflict)
from host_tools.ledger.store import shown_target as shown
from protocol import records as rec

SCHEMA = "edgemeter"
CONNECT_TIMEOUT = 10  # seconds: a server that does not answer is reported, not waited for

# The schema step by step: _STEPS[v] takes a ledger of version v - 1 to v.
_STEPS = {
    1: ["CREATE SCHEMA edgemeter",
        "CREATE TABLE edgemeter.ledger (application bigint NOT NULL, version integer NOT NULL)",
        "INSERT INTO edgemeter.ledger VALUES (%d, 0)" % APPLICATION_ID,
        # The same columns as the SQLite ledger's (sqlite_ledger.py says what each holds).
        """CREATE TABLE edgemeter.records (
            device text NOT NULL, epoch bigint NOT NULL, seq bigint NOT NULL, type integer NOT NULL,
            time bigint NOT NULL, body bytea NOT NULL, crc bigint NOT NULL, fields text NOT NULL,
            PRIMARY KEY (device, epoch, seq))"""],
    2: ["""CREATE TABLE edgemeter.links (
            device text NOT NULL, epoch bigint NOT NULL, seq bigint NOT NULL, link bytea NOT NULL, att bytea NOT NULL,
            PRIMARY KEY (device, epoch, seq, link))"""],
    3: ["""CREATE TABLE edgemeter.pulls (
            device text NOT NULL, epoch bigint NOT NULL, at bigint NOT NULL, head bigint NOT NULL,
            records bigint NOT NULL, PRIMARY KEY (device, epoch, at))""",
        "CREATE INDEX records_config_changes ON edgemeter.records (device) WHERE type = %d" % rec.CONFIG_CHANGED],
}
_COLUMNS = ("text", "int8", "int8", "int4", "int8", "bytea", "int8", "text")


def _driver():
    try:
        import psycopg
    except ImportError:
        raise LedgerError("a PostgreSQL ledger needs the psycopg driver: pip install 'edgemeter[postgres]'") from None
    return psycopg


def check_url(url):
    """LedgerError unless `url` parses as a PostgreSQL connection URL."""
    psycopg = _driver()
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        raise LedgerError("--ledger %s is not a PostgreSQL URL like postgresql://user@host/db or "
                          "postgresql:///db?host=/run/postgresql: %s" % (shown(url), _first_line(error))) from None


def _first_line(error):
    text = str(error).strip()
    text = re.sub(r"^connection failed: ", "", text)
    return text.splitlines()[0].strip() if text else type(error).__name__


def _connect(url):
    psycopg = _driver()
    check_url(url)
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.OperationalError as error:
        reason = _first_line(error)
        hint = ""
        if "does not exist" in reason and "database" in reason:
            hint = ": create it (createdb), then edgemeter ledger init URL"
        elif "password" in reason or "authentication" in reason:
            hint = ": check the user and password in the URL (or ~/.pgpass)"
        raise LedgerUnreachable("cannot connect to ledger %s: %s%s" % (shown(url), reason, hint)) from None


def _state(db):
    """(version, None) of the edgemeter ledger in this database (0: none yet), or (None, why it is not one)."""
    if db.execute("SELECT to_regclass('edgemeter.ledger')").fetchone()[0] is None:
        ours = db.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (SCHEMA,)).fetchone()[0]
        tables = [name for (name,) in db.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema NOT IN "
            "('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg\\_%' ORDER BY 1 LIMIT 4")]
        if ours or tables:
            return None, "it holds %s" % (", ".join(tables) if tables else "a schema edgemeter of something else")
        return 0, None
    rows = db.execute("SELECT application, version FROM edgemeter.ledger").fetchall()
    if len(rows) != 1 or rows[0][0] != APPLICATION_ID:
        return None, "its edgemeter.ledger table is not edgemeter's"
    return rows[0][1], None


def _not_ours(url, why):
    return LedgerError("%s is a PostgreSQL database but not an edgemeter ledger (%s): name another database"
                       % (shown(url), why))


def init(url):
    """(schema version found, SCHEMA_VERSION) after creating or migrating the ledger in `url`'s database.
    A database that holds another application's tables is refused, nothing written."""
    db = _connect(url)
    psycopg = _driver()
    try:
        with db.transaction():  # DDL is transactional: all steps or none
            db.execute("SELECT pg_advisory_xact_lock(%s)", (APPLICATION_ID,))  # two inits at once: one at a time
            found, why = _state(db)
            if found is None:
                raise _not_ours(url, why)
            if found > SCHEMA_VERSION:
                raise _newer(url, found)
            for version in range(found + 1, SCHEMA_VERSION + 1):
                for statement in _STEPS[version]:
                    db.execute(statement)
            db.execute("UPDATE edgemeter.ledger SET version = %s", (SCHEMA_VERSION,))
    except psycopg.Error as error:
        raise LedgerError("cannot set up ledger %s: %s" % (shown(url), _first_line(error))) from None
    finally:
        db.close()
    return found, SCHEMA_VERSION


def _newer(url, version):
    return LedgerError("ledger %s has schema %d; this edgemeter knows up to %d: upgrade edgemeter"
                       % (shown(url), version, SCHEMA_VERSION))


class PostgresLedger(Ledger):
    """An edgemeter ledger in a PostgreSQL database (made by init)."""

    def __init__(self, url, readonly=False):
        self.path = shown(url)
        self.readonly = readonly
        self._psycopg = _driver()
        self._db = _connect(url)
        try:
            version, why = _state(self._db)
            if version is None:
                raise _not_ours(url, why)
            if version == 0:
                raise LedgerError("no edgemeter ledger in %s yet: create it with edgemeter ledger init URL" % self.path)
            if version > SCHEMA_VERSION:
                raise _newer(url, version)
            if version < SCHEMA_VERSION:
                raise LedgerError("ledger %s has schema %d: migrate it to %d with edgemeter ledger init URL"
                                  % (self.path, version, SCHEMA_VERSION))
            self.version = version
            self._db.execute("SET search_path = edgemeter")
            self._db.execute("SET synchronous_commit = on")  # a commit is on disk before add returns
            if readonly:
                self._db.execute("SET default_transaction_read_only = on")
            else:
                self._db.execute("CREATE TEMP TABLE incoming (LIKE edgemeter.records) ON COMMIT DELETE ROWS")
        except self._psycopg.Error as error:
            self._db.close()
            raise LedgerError("cannot use ledger %s: %s" % (self.path, _first_line(error))) from None
        except LedgerError:
            self._db.close()
            raise

    def _failed(self, error):
        """A LedgerError for a driver error: damage, a lost connection, or what the server said."""
        if isinstance(error, self._psycopg.errors.DataCorrupted):
            return LedgerDamaged(self.path, _first_line(error))
        if isinstance(error, self._psycopg.OperationalError) or self._db.closed:
            return LedgerUnreachable("lost the connection to ledger %s (%s): what was committed stays; run the command "
                               "again to go on" % (self.path, _first_line(error)))
        return LedgerError("ledger %s: %s" % (self.path, _first_line(error)))

    # --- writing -------------------------------------------------------------

    def _store(self, device, epoch, rows):
        try:
            try:
                return self._copy_new(rows)
            except self._psycopg.errors.UniqueViolation:
                return self._merge(device, epoch, rows)  # some are there already: a repeated pull
        except self._psycopg.Error as error:
            raise self._failed(error) from None

    def _copy(self, cursor, table, rows):
        with cursor.copy("COPY %s FROM STDIN (FORMAT BINARY)" % table) as copy:
            copy.set_types(_COLUMNS)
            for row in rows.values():
                copy.write_row(row)

    def _copy_new(self, rows):
        """The common case, records the ledger lacks: COPY straight into the table, one
        transaction (a key already there fails it whole: UniqueViolation, nothing stored)."""
        with self._db.transaction(), self._db.cursor() as cursor:
            self._copy(cursor, "records", rows)
        return len(rows)

    def _merge(self, device, epoch, rows):
        """Records of which some are there: the new ones stored, the others' bytes checked."""
        low, high = min(rows), max(rows)
        with self._db.transaction(), self._db.cursor() as cursor:
            self._copy(cursor, "incoming", rows)
            cursor.execute("INSERT INTO records SELECT * FROM incoming ON CONFLICT DO NOTHING")
            new = cursor.rowcount
            # Checked after the insert, so rows another transaction committed meanwhile are
            # seen too. ANALYZE: with the temporary table's size known the join is by hash, not n x n.
            cursor.execute("ANALYZE incoming")
            cursor.execute(
                "SELECT i.seq FROM incoming i JOIN records r ON r.device = i.device AND r.epoch = i.epoch "
                "AND r.seq = i.seq WHERE r.device = %s AND r.epoch = %s AND r.seq BETWEEN %s AND %s "
                "AND r.body <> i.body ORDER BY i.seq LIMIT 1", (device, epoch, low, high))
            differing = cursor.fetchone()
            if differing:
                raise conflict(device, epoch, differing[0])  # leaves the transaction: rolled back
        return new

    def _read_back(self, device, epoch, rows):
        seqs = sorted(rows)
        digest = hashlib.md5(b"".join(rows[seq][5] for seq in seqs)).hexdigest()
        where = "seq BETWEEN ? AND ?" if seqs[-1] - seqs[0] + 1 == len(seqs) else "seq = ANY(?)"
        params = (seqs[0], seqs[-1]) if where.startswith("seq BETWEEN") else (seqs,)
        found = self._all("SELECT count(*), md5(string_agg(body, ''::bytea ORDER BY seq)) FROM records "
                          "WHERE device=? AND epoch=? AND " + where, (device, epoch) + params)[0]
        if tuple(found) != (len(seqs), digest):
            raise LedgerDamaged(self.path, "reading the batch back: %d of %d records, %s"
                                % (found[0], len(seqs), "other bytes" if found[0] == len(seqs) else "some missing"))

    def _write(self, sql, params):
        try:
            with self._db.transaction():
                self._db.execute(sql.replace("?", "%s"), params)
        except self._psycopg.Error as error:
            raise self._failed(error) from None

    # --- reading -------------------------------------------------------------

    def _all(self, sql, params=()):
        try:
            return self._db.execute(sql.replace("?", "%s"), params).fetchall()
        except self._psycopg.Error as error:
            raise self._failed(error) from None

    def _rows(self, sql, params=()):
        """The rows of a query, streamed from the server in chunks: a big ledger never sits in memory."""
        try:
            with self._db.cursor() as cursor:
                yield from cursor.stream(sql.replace("?", "%s"), params, size=2000)
        except self._psycopg.Error as error:
            raise self._failed(error) from None

    def integrity(self):
        """["ok"] once every record's row is read (the server checks its pages as it reads them,
        with data checksums if the cluster has them); else what the server said."""
        try:
            self._db.execute("SELECT count(*), sum(length(body)) FROM records").fetchone()
        except self._psycopg.Error as error:
            return [_first_line(error)]
        return ["ok"]

    def backup(self, dest):
        """Copy the ledger into a new SQLite file `dest` (ledger sync into it), checked;
        the number of records copied. For the server itself: pg_dump, or its own backups."""
        import os

        from host_tools.ledger.sqlite_ledger import SqliteLedger
        from host_tools.ledger.sync import sync

        dest = os.fspath(dest)
        if os.path.exists(dest):
            raise LedgerError("%s exists: back up into a new file" % dest)
        copy = SqliteLedger(dest)
        try:
            result = sync(self, copy)
            found = copy.integrity()
        except BaseException:
            copy.close()
            os.remove(dest)
            raise
        copy.close()
        if found != ["ok"] or result.refused or result.conflicts:
            os.remove(dest)
            raise LedgerError("backup %s does not check out (%s); no backup written"
                              % (dest, "; ".join(found) if found != ["ok"] else "records refused"))
        return result.copied

    def close(self):
        self._db.close()
