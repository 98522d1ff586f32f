"""A throwaway PostgreSQL cluster for the tests (issue 18): Debian's server binaries, never a mock.

    with PgCluster() as cluster:
        url = cluster.url("ledger")   # postgresql:///ledger?host=FOLDER&port=PORT&user=edgemeter

`initdb` into a folder of its own, `pg_ctl start` listening on a Unix socket in
that folder only (listen_addresses '': no TCP port at all), trust authentication
for the one role it makes; stopped and the folder removed on exit. initdb will
not run as root, so as root the server runs as the `postgres` user that Debian's
package makes (runuser), in a folder under /tmp that user can reach.
`server_binaries()` finds initdb and pg_ctl ($PG_BINDIR, else the newest
/usr/lib/postgresql/N/bin, else PATH): (folder, None), or (None, why not).
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile

ROLE = "edgemeter"
PORT = 5432  # only names the socket file in the cluster's own folder


def server_binaries():
    """(folder of initdb and pg_ctl, None), or (None, the reason they cannot be used)."""
    candidates = [os.environ.get("PG_BINDIR")] if os.environ.get("PG_BINDIR") else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(os.path.dirname(on_path))
    for folder in candidates:
        if all(os.access(os.path.join(folder, tool), os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            if os.geteuid() == 0:
                try:
                    pwd.getpwnam("postgres")
                except KeyError:
                    return None, "running as root and there is no postgres user to run the server as"
            return folder, None
    return None, "no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql"


class PgCluster:
    def __init__(self):
        self.bindir, why = server_binaries()
        if self.bindir is None:
            raise RuntimeError(why)
        self.folder = tempfile.mkdtemp(prefix="edgemeter-pg-", dir="/tmp")
        self.data = os.path.join(self.folder, "data")
        self._as = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, tool, *args):
        done = subprocess.run([*self._as, os.path.join(self.bindir, tool), *args], capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            raise RuntimeError("%s failed: %s" % (tool, (done.stderr or done.stdout).strip()[-500:]))
        return done.stdout

    def start(self):
        self._run("initdb", "-D", self.data, "-U", ROLE, "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C")
        options = "-k %s -c listen_addresses='' -p %d -c fsync=on" % (self.folder, PORT)
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", os.path.join(self.folder, "server.log"), "-w", "start")
        return self

    def url(self, database="postgres"):
        return "postgresql:///%s?host=%s&port=%d&user=%s" % (database, self.folder, PORT, ROLE)

    def create_database(self, name):
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute('CREATE DATABASE "%s"' % name)
        return self.url(name)

    def add_role(self, name, password):
        """A role that must give `password` on the socket (scram-sha-256), for the tests of
        wrong credentials: its pg_hba.conf line goes first, and the server reloads it."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name),
                                                                                 sql.Literal(password)))
            hba = os.path.join(self.data, "pg_hba.conf")
            with open(hba, encoding="utf-8") as f:
                rules = f.read()
            with open(hba, "w", encoding="utf-8") as f:
                f.write("local all %s scram-sha-256\n" % name + rules)
            connection.execute("SELECT pg_reload_conf()")
        return "postgresql://%s:%s@/postgres?host=%s&port=%d" % (name, password, self.folder, PORT)

    def stop(self):
        try:
            if os.path.exists(os.path.join(self.data, "postmaster.pid")):
                self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except Exception:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
