"""Fixtures of the host tests: a ledger on each engine, SQLite and PostgreSQL.

`ledger_target` is a ledger's --ledger value, once per engine (ledger_targets.py).
The PostgreSQL ones live on one throwaway cluster per test session
(pg_cluster.py); without the server binaries or the driver those cases skip,
saying what to install.
"""

import pytest

from ledger_targets import ENGINES, fresh_ledger
from pg_cluster import PgCluster, server_binaries


@pytest.fixture(scope="session")
def pg_cluster():
    folder, why = server_binaries()
    if folder is None:
        pytest.skip("PostgreSQL ledger tests not run: %s" % why)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("PostgreSQL ledger tests not run: no psycopg driver: pip install -e '.[postgres]'")
    with PgCluster() as cluster:
        yield cluster


@pytest.fixture(params=ENGINES)
def ledger_target(request, tmp_path):
    return fresh_ledger(request.param, tmp_path, request)
