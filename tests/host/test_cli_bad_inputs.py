"""Every command, fed the inputs a technician gets wrong, answers with one line and a
documented exit status, never a traceback: bad numbers, bad paths, files that are not
what they should be, /dev/null and a folder as the port, and a closed pipe."""

import os
import subprocess
import sys

import pytest

from host_tools import cli
from line_month import DEVICE, BillRows, frames, records
from host_tools.ledger.store import open_ledger

# What each exit status means (host_tools/cli/program.py and `edgemeter --help`).
DOCUMENTED = {1: "an error", 2: "a usage error"}
EDGEMETER = [sys.executable, "-m", "host_tools.cli"]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The paths the table names: good ones to get past the first checks, bad ones to trip on."""
    root = tmp_path_factory.mktemp("inputs")
    ledger = str(root / "field.sqlite")
    with open_ledger(ledger) as db:
        db.add(DEVICE, 7, frames(records()))
    (root / "folder").mkdir()
    (root / "garbage.bin").write_bytes(b"\x00\xff" * 300)
    (root / "notjson.json").write_text("{plan: 100 MB", encoding="utf-8")
    (root / "list.json").write_text("[1, 2]", encoding="utf-8")
    return {"ledger": ledger, "bill": BillRows().write(root / "bill-2026-11.csv"), "folder": str(root / "folder"),
            "garbage": str(root / "garbage.bin"), "notjson": str(root / "notjson.json"),
            "list": str(root / "list.json"), "missing": str(root / "missing.sqlite"),
            "nofolder": str(root / "no-such-folder" / "out.file"), "state": str(root / "state")}


PORTS = ("/dev/null", "{folder}", "{missing}", "nosuchscheme://x", "")
DEVICE_COMMANDS = (["info"], ["echo", "hi"], ["status"], ["plan", "get"], ["plan", "set", "--quota-mb", "100"],
                   ["snooze"], ["balance"], ["services", "list"], ["services", "cancel", "1"], ["config", "get"],
                   ["config", "set", "sms_words", "LL=data"], ["clock", "get"], ["clock", "set"],
                   ["pull", "--ledger", "{missing}"], ["monitor", "--count", "1"])
RECONCILE = ["reconcile", "--ledger", "{ledger}", "--bill", "{bill}", "--account", "postpaid", "--today", "2026-12-20"]
BAD_VALUES = (
    ["plan", "set", "-p", "/dev/null", "--thresholds-mb", "10;5;0"],
    ["plan", "set", "-p", "/dev/null", "--quota-mb", "lots"],
    ["plan", "set", "-p", "/dev/null", "--quota-mb", "-5"],
    ["plan", "set", "-p", "/dev/null", "--quota-mb", "1e400"],
    ["plan", "set", "-p", "/dev/null", "--quota-mb", "nan"],
    ["plan", "set", "-p", "/dev/null", "--cycle-day", "40", "--quota-mb", "100"],
    ["plan", "set", "-p", "/dev/null", "--cycle-day", "first"],
    ["plan", "set", "-p", "/dev/null", "--tz-minutes", "99999", "--quota-mb", "100"],
    ["plan", "set", "-p", "/dev/null", "--text", "10 MB left"],
    ["plan", "set", "-p", "/dev/null", "--cc", "not a number"],
    ["plan", "set", "-p", "/dev/null", "--subscriber", "138-0013-8000x"],
    ["plan", "set", "-p", "/dev/null"],
    ["plan", "get", "-p", "/dev/null", "--quota-mb", "100"],
    ["plan", "-p", "/dev/null"],
    ["balance", "-p", "/dev/null", "--low-yuan", "ten"],
    ["balance", "-p", "/dev/null", "--low-yuan", "-1"],
    ["services", "cancel", "-p", "/dev/null", "one"],
    ["services", "cancel", "-p", "/dev/null"],
    ["services", "list", "-p", "/dev/null", "--wait", "soon"],
    ["config", "set", "-p", "/dev/null", "sms_words", "LL=weather"],
    ["config", "set", "-p", "/dev/null", "volume", "11"],
    ["config", "set", "-p", "/dev/null", "sms_words"],
    ["clock", "set", "-p", "/dev/null", "--to", "tomorrow"],
    ["clock", "set", "-p", "/dev/null", "--to", "2026-12-01T08:00:00"],
    ["monitor", "-p", "/dev/null", "--interval", "0"],
    ["monitor", "-p", "/dev/null", "--interval", "fast"],
    ["--baud", "0", "status", "-p", "/dev/null"],
    ["--baud", "fast", "status", "-p", "/dev/null"],
    ["status", "-p", "/dev/null", "--timeout", "-1"],
    ["status", "-p", "/dev/null", "--timeout", "nan"],
    ["log", "--ledger", "{ledger}", "--last", "-3"],
    ["log", "--ledger", "{ledger}", "--since", "yesterday"],
    ["log", "--ledger", "{ledger}", "--type", "weather"],
    RECONCILE + ["--today", "20/12/2026"],
    RECONCILE + ["--tolerance", "data_relative_ppm=lots"],
    RECONCILE + ["--plan-quota-mb", "-100"],
    ["emulate", "run", "--state", "{state}", "--speed", "0"],
    ["emulate", "run", "--state", "{state}", "--start", "next week"],
    ["emulate", "bill", "--state", "{state}", "--month", "2026-13"],
    ["emulate", "--state", "{state}"],
    ["emulate", "run", "--state", "{state}", "--heap", "lots"],
    ["emulate", "run", "--state", "{state}", "--heap", "4k"],
    ["deploy", "--board", "no_such_board", "-p", "/dev/null"],
    ["deploy", "--board", "pico_ec25", "-p", "/dev/null"],
    ["completion", "fish"],
    ["no-such-command"],
)
BAD_PATHS = (
    ["log", "--ledger", "{missing}"],
    ["log", "--ledger", "{folder}"],
    ["log", "--ledger", "{garbage}"],
    ["log", "--ledger", "{nofolder}"],
    ["ledger", "check", "{missing}"],
    ["ledger", "check", "{folder}"],
    ["ledger", "check", "{garbage}"],
    ["ledger", "backup", "{ledger}", "{nofolder}"],
    ["ledger", "backup", "{ledger}", "{folder}"],
    ["ledger", "backup", "{ledger}", "{ledger}"],
    ["ledger", "backup", "{garbage}", "{nofolder}"],
    ["reconcile", "--ledger", "{garbage}", "--bill", "{bill}", "--account", "prepaid"],
    ["reconcile", "--ledger", "{folder}", "--bill", "{bill}", "--account", "prepaid"],
    RECONCILE[:4] + ["{missing}"] + RECONCILE[5:],
    RECONCILE[:4] + ["{folder}"] + RECONCILE[5:],
    RECONCILE[:4] + ["{garbage}"] + RECONCILE[5:],
    RECONCILE[:4] + ["{notjson}"] + RECONCILE[5:],
    RECONCILE + ["--agreement", "{notjson}"],
    RECONCILE + ["--agreement", "{list}"],
    RECONCILE + ["--agreement", "{missing}"],
    RECONCILE + ["--agreement", "{folder}"],
    RECONCILE + ["--csv", "{nofolder}"],
    RECONCILE + ["--csv", "{folder}"],
    RECONCILE + ["--html", "{nofolder}"],
    RECONCILE + ["--html", "{folder}"],
    ["pull", "-p", "/dev/null", "--ledger", "{nofolder}"],
    ["pull", "-p", "/dev/null", "--ledger", "{folder}"],
    ["emulate", "bill", "--state", "{missing}", "--month", "2026-11"],
    ["emulate", "bill", "--state", "{garbage}", "--month", "2026-11"],
    ["emulate", "run", "--state", "{garbage}"],
    ["emulate", "run", "--state", "{state}", "--scenario", "{notjson}"],
    ["emulate", "run", "--state", "{state}", "--scenario", "{list}"],
    ["emulate", "run", "--state", "{state}", "--scenario", "{missing}"],
    ["emulate", "run", "--state", "{state}", "--scenario", "{folder}"],
    ["emulate", "run", "--state", "{state}", "--image", "{missing}"],
    ["emulate", "run", "--state", "{state}", "--image", "{garbage}"],
)
TABLE = ([command + ["--port", port] for command in DEVICE_COMMANDS for port in PORTS]
         + list(BAD_VALUES) + list(BAD_PATHS))


def _run(capsys, argv):
    try:
        status = cli.main(argv)
    except SystemExit as done:  # argparse's usage errors
        status = done.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("argv", TABLE, ids=[" ".join(a) for a in TABLE])
def test_a_bad_input_gets_one_line_and_a_documented_exit_status(argv, files, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("EDGEMETER_PORT", raising=False)
    monkeypatch.setenv("EDGEMETER_KEYS", str(tmp_path / "keys.json"))
    monkeypatch.chdir(tmp_path)
    argv = [word.format(**files) for word in argv]
    status, out, err = _run(capsys, argv)  # an unexpected exception fails the test with its traceback
    assert status in DOCUMENTED, (status, out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("edgemeter"), err
    if status == 1:
        assert len(lines) == 1, err  # usage errors also print the usage above their line
    assert out == ""  # nothing half done on stdout


def test_the_files_named_are_left_as_they_were(files, capsys, monkeypatch, tmp_path):
    """A refused command writes nothing: no half-written --csv, --html, backup or agreement."""
    before = {name: open(path, "rb").read() for name, path in files.items() if os.path.isfile(path)}
    monkeypatch.chdir(tmp_path)
    for argv in BAD_PATHS:
        _run(capsys, [word.format(**files) for word in argv])
    assert {name: open(path, "rb").read() for name, path in files.items() if os.path.isfile(path)} == before
    assert os.listdir(files["folder"]) == [] and not os.path.exists(os.path.dirname(files["nofolder"]))


@pytest.mark.parametrize("argv", [
    ["log", "--ledger", "{ledger}"],
    ["log", "--ledger", "{ledger}", "--json"],
    ["completion", "bash"],
    ["ports"],
    ["--help"],
    RECONCILE,
])
def test_a_closed_pipe_ends_quietly(argv, files):
    """`edgemeter … | head -1`, with the reader gone before the first line: exit 0, nothing on stderr."""
    argv = [word.format(**files) for word in argv]
    env = dict(os.environ, PYTHONPATH=REPO)
    reader, writer = os.pipe()
    os.close(reader)  # the reader has gone: every write meets EPIPE
    try:
        done = subprocess.run(EDGEMETER + argv, stdout=writer, stderr=subprocess.PIPE, env=env, timeout=60)
    finally:
        os.close(writer)
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode()
