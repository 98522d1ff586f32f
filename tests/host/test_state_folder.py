"""The emulator's state folder lock and the registry `edgemeter ports` reads
(host_tools/emulator/state_folder.py): one emulator a folder, released however
the holder ends, and only live emulators listed."""

import json
import os
import signal
import subprocess
import sys

import pytest

from host_tools.emulator import state_folder
from host_tools.emulator.state_folder import StateInUse, StateLock

HOLDER = """
import sys, time
from host_tools.emulator import state_folder
lock = state_folder.StateLock(sys.argv[1]).acquire()
state_folder.register(sys.argv[1], "/dev/pts/fake")
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path, monkeypatch):
    """A process that holds the lock of tmp_path/board and is registered, as an emulator is."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    state = tmp_path / "board"
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(state)], stdout=subprocess.PIPE, text=True,
                               cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert process.stdout.readline().strip() == "held"
    yield state, process
    if process.poll() is None:
        process.kill()
    process.wait()
    process.stdout.close()


def test_a_held_folder_is_refused_with_the_holders_pid_and_freed_by_its_crash(holder):
    state, process = holder
    with pytest.raises(StateInUse) as refused:
        StateLock(str(state)).acquire()
    assert str(refused.value) == "%s is in use by the emulator with pid %d" % (state, process.pid)
    process.send_signal(signal.SIGKILL)  # a crash: no clean-up ran
    process.wait()
    with StateLock(str(state)) as lock:  # the OS dropped the flock with the process
        assert open(lock.path).read() == "%d\n" % os.getpid()
    assert open(lock.path).read() == ""  # released: no pid left behind


def test_the_registry_lists_live_emulators_only(holder):
    state, process = holder
    entries = state_folder.running()
    assert entries == [{"pid": process.pid, "state": str(state), "serial": "/dev/pts/fake", "mode": "run"}]
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert state_folder.running() == []  # its entry stays, but its pid is gone
    path = state_folder.register(str(state), "/dev/pts/other")  # the next emulator drops the stale entry
    assert os.listdir(os.path.dirname(path)) == [os.path.basename(path)]
    state_folder.unregister(path)
    assert os.listdir(os.path.dirname(path)) == []


def test_ports_marks_the_emulators_links(holder, capsys):
    from argparse import Namespace

    from host_tools.cli.field import do_ports

    state, process = holder
    do_ports(Namespace(json=True))
    listed = [port for port in json.loads(capsys.readouterr().out) if port.get("emulated")]
    assert [(p["port"], p["emulator_pid"], p["state"]) for p in listed] == [("/dev/pts/fake", process.pid, str(state))]
    do_ports(Namespace(json=False))
    line = [line for line in capsys.readouterr().out.splitlines() if line.startswith("/dev/pts/fake")]
    assert line and "emulated board (board's host link, state %s)" % state in line[0], line


def test_the_registry_folder(monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert state_folder.registry_dir() == "/run/user/1000/edgemeter/emulators"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert state_folder.registry_dir() == "/tmp/edgemeter-%d/emulators" % os.getuid()
