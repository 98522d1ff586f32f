"""pytest setup shared by all tests.

The repo root goes on sys.path (device code imports `protocol`, `firmware`, `board`
as top-level packages, exactly as on the MicroPython VM), and tests/device too so
device tests find `mpunit`.

`ledger_target` is a ledger's --ledger value, once per engine (ledger_targets.py).
The PostgreSQL ones live on one throwaway cluster per test session
(pg_cluster.py); without the server binaries or the driver those cases skip,
saying what to install.
"""

import os
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "device"))
sys.path.insert(0, HERE)  # pg_cluster, ledger_targets: shared by host and integration tests

from ledger_targets import ENGINES, fresh_ledger  # noqa: E402
from pg_cluster import PgCluster, server_binaries  # noqa: E402

# Device keys (host_tools/device/keys.py): the emulators these tests start provision
# their boards into this file, and the CLI signs with it; never the user's own.
os.environ["EDGEMETER_KEYS"] = os.path.join(tempfile.mkdtemp(prefix="edgemeter-test-keys"), "keys.json")


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
