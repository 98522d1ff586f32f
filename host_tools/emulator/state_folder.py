"""The emulator's state folder: the names of the files it keeps there, the lock that
lets one emulator at a time use it, and the registry through which `edgemeter ports`
finds the serial links of the emulators running.

- `STATE/emulator.lock` holds the pid of the emulator using the folder, under an
  exclusive `fcntl.flock`: the OS drops the lock when that process ends, however
  it ends (SIGKILL or a crash included), so a stale pid in the file never blocks
  the next emulator. A second emulator on the folder is refused with
  `STATE is in use by the emulator with pid N`.
- `STATE/emulator-scenario.json` is the emulator's own copy of the scenario it
  runs (start made explicit), read by `emulate bill`. The emulator never writes a
  file it was given: a user's `STATE/scenario.json` is theirs.
- The registry is a folder, `$XDG_RUNTIME_DIR/edgemeter/emulators` (or
  `/tmp/edgemeter-UID/emulators` without XDG_RUNTIME_DIR), with one
  `PID.json` per running emulator: `{"pid", "state", "serial", "mode"}`. An entry
  counts while its pid is alive and its state folder's lock file still names that
  pid; an emulator that crashed leaves an entry that is then ignored (and removed
  by the next emulator that starts).
"""

import errno
import fcntl
import json
import os

LOCK = "emulator.lock"
SCENARIO_COPY = "emulator-scenario.json"


class StateInUse(Exception):
    def __init__(self, state, pid):
        super().__init__("%s is in use by the emulator with pid %s" % (state, pid if pid else "unknown"))
        self.state = state
        self.pid = pid


def _read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class StateLock:
    """Held from `acquire()` until `release()` or the end of this process."""

    def __init__(self, state_dir, shown=None):
        self.state_dir = os.path.abspath(state_dir)
        self.shown = shown or state_dir  # the folder as the user named it, for messages
        self.path = os.path.join(self.state_dir, LOCK)
        self._fd = None

    def acquire(self):
        os.makedirs(self.state_dir, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StateInUse(self.shown, _read_pid(self.path)) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, b"%d\n" % os.getpid())
        self._fd = fd
        return self

    def release(self):
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
        finally:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


# --- the registry of running emulators -----------------------------------------------


def registry_dir():
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "edgemeter", "emulators")
    return os.path.join("/tmp", "edgemeter-%d" % os.getuid(), "emulators")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _entry_live(entry):
    pid = entry.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return False
    return _read_pid(os.path.join(str(entry.get("state", "")), LOCK)) == pid


def _entries():
    folder = registry_dir()
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return
    for name in names:
        if not name.endswith(".json"):
            continue
        path = os.path.join(folder, name)
        try:
            with open(path, encoding="utf-8") as f:
                entry = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(entry, dict):
            yield path, entry


def running():
    """The running emulators, as registry entries {"pid", "state", "serial", "mode"}."""
    return [entry for _path, entry in _entries() if _entry_live(entry)]


def register(state_dir, serial, mode="run"):
    """Add this process to the registry (and drop entries of emulators that ended);
    returns the entry's path, for `unregister`. A registry that cannot be written
    is no reason not to run: then `ports` just does not see this emulator."""
    for path, entry in list(_entries()):
        if not _entry_live(entry):
            try:
                os.remove(path)
            except OSError:
                pass
    folder = registry_dir()
    path = os.path.join(folder, "%d.json" % os.getpid())
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump({"pid": os.getpid(), "state": os.path.abspath(state_dir), "serial": serial, "mode": mode}, f)
        os.replace(path + ".tmp", path)
    except OSError:
        return None
    return path


def unregister(path):
    if path:
        try:
            os.remove(path)
        except OSError:
            pass
