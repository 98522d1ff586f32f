"""Ledgers on each engine for the host tests: SQLite files and PostgreSQL databases.

`fresh_ledger(engine, tmp_path, request)` is a new, empty ledger's --ledger
value: an SQLite file not made yet, or the URL of a fresh database with an empty
ledger in it (`edgemeter ledger init`'s work) on the session's throwaway
PostgreSQL cluster (the `pg_cluster` fixture, conftest.py).
"""

import itertools
import sqlite3

from host_tools.ledger.store import init_ledger, is_url

ENGINES = ("sqlite", "postgres")
_databases = itertools.count(1)


def fresh_ledger(engine, tmp_path, request, name="field"):
    """A new, empty ledger's target on `engine`."""
    if engine == "sqlite":
        return str(tmp_path / ("%s.sqlite" % name))
    url = request.getfixturevalue("pg_cluster").create_database("%s%d" % (name, next(_databases)))
    init_ledger(url)
    return url


def sql(target, query, params=()):
    """All rows of `query` on the ledger's own engine, through its own driver (tables
    named bare: PostgreSQL's are found in the edgemeter schema)."""
    if is_url(target):
        import psycopg

        with psycopg.connect(target, autocommit=True) as db:
            db.execute("SET search_path = edgemeter")
            cursor = db.execute(query.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []
    db = sqlite3.connect(target, isolation_level=None)
    try:
        return db.execute(query, params).fetchall()
    finally:
        db.close()
