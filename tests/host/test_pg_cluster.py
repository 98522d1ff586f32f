"""The throwaway PostgreSQL cluster the ledger's PostgreSQL tests will run on (pg_cluster.py):
a real server of the tests' own, on a Unix socket in its own folder, gone at the end.
Without the server binaries or the driver the tests skip, saying what to install."""

import os

import pytest

from pg_cluster import PgCluster, server_binaries

BINARIES, WHY = server_binaries()
pytestmark = pytest.mark.skipif(BINARIES is None, reason=WHY or "")
psycopg = pytest.importorskip("psycopg", reason="no psycopg: pip install -e '.[postgres]'")


def test_a_cluster_of_its_own_takes_a_transaction_and_is_gone_after():
    with PgCluster() as cluster:
        url = cluster.create_database("ledger")
        with psycopg.connect(url) as connection:
            connection.execute("CREATE TABLE records (device TEXT, seq BIGINT, body BYTEA, PRIMARY KEY (device, seq))")
            connection.execute("INSERT INTO records VALUES (%s, %s, %s)", ("em-1", 1, b"\x00\xa1"))
            connection.commit()
            assert connection.execute("SELECT body FROM records").fetchall() == [(b"\x00\xa1",)]
            assert connection.execute("SHOW listen_addresses").fetchone() == ("",)  # no TCP port
        folder = cluster.folder
    assert not os.path.exists(folder)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
