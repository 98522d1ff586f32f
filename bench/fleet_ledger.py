"""Bench rows for a fleet's ledger: ingest into SQLite and PostgreSQL, bytes per record,
and `fleet` over 10M records (issue 18).

The workload: 1,000 devices with 1,000 records each (usage records, a boot every
500), as technicians' field ledgers hold them, in one SQLite file built first (not
timed). Ingest is `ledger sync` from it into an empty ledger on each engine: every
record checked against its CRC and decoded, stored in transactions committed
durably (fsync) and read back, the checking and the storing overlapped in two
threads. One client, this 2-core machine, the server on the same disk (not a
tmpfs: fsync must cost what it costs).

`fleet` then runs over 10M records: the 1M ingested plus 9M more, 9 copies of each
record under other device ids, made by the server itself (INSERT ... SELECT), then
VACUUM ANALYZE as autovacuum would. The time is `fleet_view` (the aggregate query,
the gaps of the logs that have any, the last pulls) with no device key held: the
MAC check is per device with a key, and is measured by the reconcile rows.
"""

import os
import sys
import tempfile
import time

from bench.table import Row
from host_tools.device.keys import KeyFile
from host_tools.ledger.fleet import fleet_view
from host_tools.ledger.store import init_ledger, open_ledger
from host_tools.ledger.sync import sync
from protocol import records as rec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
DEVICES = 1000
PER_DEVICE = 1000
COPIES = 10  # `fleet` runs over COPIES x the workload
T0 = 1796083200  # 2026-12-01T00:00:00Z
INGEST_GOAL = 50_000
FLEET_GOAL_S = 5.0


def _frames(device):
    frames = []
    for seq in range(1, PER_DEVICE + 1):
        if seq % 500 == 1:
            frames.append(rec.frame(rec.body(rec.BOOT, seq, T0 + 60 * seq, {8: rec.BOOT_POWER_LOSS, 9: "0.1.0"})))
            continue
        up, down = 1_000 * seq + device, 25_000 * seq + device
        frames.append(rec.frame(rec.body(rec.USAGE, seq, T0 + 60 * seq, {8: up, 9: down, 10: rec.SOURCE_MODEM_COUNTER,
                                                                          11: up + down})))
    return frames


def _field_ledger(path):
    with open_ledger(path) as ledger:
        for device in range(DEVICES):
            name = "em-%012x" % (0xA0B0C0D00000 + device)
            ledger.add(name, 1, _frames(device))
            ledger.add_pull(name, 1, T0 + 86400, PER_DEVICE, PER_DEVICE)


def _ingest(source_path, target):
    with open_ledger(source_path, readonly=True) as source, open_ledger(target) as dest:
        started = time.perf_counter()
        result = sync(source, dest)
        seconds = time.perf_counter() - started
    if result.copied != DEVICES * PER_DEVICE:
        raise RuntimeError("bench ingested %d of %d records into %s" % (result.copied, DEVICES * PER_DEVICE, target))
    return result.copied / seconds


# COPIES - 1 more copies of every record under other device ids, made by the engine itself.
_COPY_POSTGRES = ("INSERT INTO records SELECT device || '-' || n, epoch, seq, type, time, body, crc, fields "
                  "FROM records, generate_series(1, %d) AS n" % (COPIES - 1))
_COPY_SQLITE = ("WITH RECURSIVE copies(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM copies WHERE n < %d) "
                "INSERT INTO records SELECT device || '-' || n, epoch, seq, type, time, body, crc, fields "
                "FROM records, copies" % (COPIES - 1))


def _fleet_seconds(target, keys):
    with open_ledger(target, readonly=True) as ledger:
        started = time.perf_counter()
        view = fleet_view(ledger, T0 + 2 * 86400, 30, keys)
        seconds = time.perf_counter() - started
    if view["records"] != COPIES * DEVICES * PER_DEVICE or any(d["missing"] for d in view["devices"]):
        raise RuntimeError("fleet saw %d records on %s" % (view["records"], target))
    return seconds


def _sqlite_fleet(path, keys):
    import sqlite3

    db = sqlite3.connect(path)
    db.execute(_COPY_SQLITE)
    db.commit()
    db.execute("ANALYZE")
    db.close()
    return _fleet_seconds(path, keys)


def _postgres_fleet(url, keys):
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute("SET search_path = edgemeter")
        db.execute(_COPY_POSTGRES)
        db.execute("VACUUM ANALYZE records")
    return _fleet_seconds(url, keys)


def _postgres_bytes(url):
    import psycopg

    with psycopg.connect(url) as db:
        return db.execute("SELECT pg_total_relation_size('edgemeter.records')").fetchone()[0]


def rows():
    from pg_cluster import PgCluster, server_binaries

    build = os.path.join(ROOT, "build")
    os.makedirs(build, exist_ok=True)
    total = DEVICES * PER_DEVICE
    with tempfile.TemporaryDirectory(dir=build) as folder:
        keys = KeyFile(os.path.join(folder, "no-keys.json"))
        source = os.path.join(folder, "field.sqlite")
        _field_ledger(source)
        central = os.path.join(folder, "central.sqlite")
        sqlite_rate = _ingest(source, central)
        sqlite_bytes = os.path.getsize(central) / total
        sqlite_fleet = _sqlite_fleet(central, keys)
        out = [
            Row("ledger sync into SQLite, records/s (1,000 devices x 1,000)", sqlite_rate, "1/s",
                note="checked, durable, read back; one client"),
            Row("ledger bytes per record, SQLite", sqlite_bytes, "bytes", note="file size / records"),
            Row("fleet over %dM records, SQLite" % (COPIES * total // 1_000_000), sqlite_fleet, "s", goal=FLEET_GOAL_S,
                at_most=True, note="%d devices" % (COPIES * DEVICES)),
        ]
        if server_binaries()[0] is None:
            return out + [Row("ledger rows on PostgreSQL", None, "-", note="not run: " + server_binaries()[1])]
        with PgCluster() as cluster:
            url = cluster.create_database("fleet")
            init_ledger(url)
            pg_rate = _ingest(source, url)
            pg_bytes = _postgres_bytes(url) / total
            pg_fleet = _postgres_fleet(url, keys)
    return out + [
        Row("ledger sync into PostgreSQL, records/s (1,000 devices x 1,000)", pg_rate, "1/s", goal=INGEST_GOAL,
            note="COPY per log, synchronous_commit on, read back; one client"),
        Row("ledger bytes per record, PostgreSQL", pg_bytes, "bytes", note="table + primary key + index"),
        Row("fleet over %dM records, PostgreSQL" % (COPIES * total // 1_000_000), pg_fleet, "s", goal=FLEET_GOAL_S,
            at_most=True, note="%d devices, after VACUUM ANALYZE" % (COPIES * DEVICES)),
    ]


if __name__ == "__main__":
    from bench.table import render

    print(render(rows()))
