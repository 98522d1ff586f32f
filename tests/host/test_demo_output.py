"""The demo's first screen (issue 14): a command's UTF-8 output is printed whole,
however its bytes come in chunks (invoke's c.run decoded each chunk alone, and a
Chinese character split between two came out as ���), and every command is shown
as it can be pasted in a shell in the repository folder."""

import inspect
import io
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

tasks = pytest.importorskip("tasks")

TEXT = "  42 2026-12-01T08:00:03Z  sms_received  text=\"剩余10MB 流量提醒 – edgemeter\" 您好\n"


def test_a_character_split_between_chunks_is_printed_whole():
    data = TEXT.encode("utf-8")
    for cut in range(1, len(data)):
        out = io.StringIO()
        tasks.relay([data[:cut], data[cut:]], out)
        assert out.getvalue() == TEXT, cut
    out = io.StringIO()
    tasks.relay([data[i:i + 1] for i in range(len(data))], out)  # a byte at a time
    assert out.getvalue() == TEXT


def test_bytes_that_are_not_utf8_still_show():
    out = io.StringIO()
    tasks.relay([b"ok \xff", b"\xe5\x89"], out)  # a stray byte, and a character cut off at the end
    assert out.getvalue() == "ok \ufffd\ufffd"


# Writes TEXT in parts cut one byte into each of its Chinese characters, each part
# flushed on its own: a reader gets the halves of a character in two reads.
SLOW_WRITER = """
import sys, time
text = %r
cuts = [len(text[:i].encode("utf-8")) + 1 for i, ch in enumerate(text) if ch >= "\\u4e00"]
data, done = text.encode("utf-8"), 0
for cut in cuts:
    sys.stdout.buffer.write(data[done:cut]); sys.stdout.buffer.flush(); done = cut; time.sleep(0.02)
sys.stdout.buffer.write(data[done:])
""" % TEXT


def test_the_demo_prints_a_commands_output_whole(capsys):
    tasks.run([sys.executable, "-c", SLOW_WRITER])
    out = capsys.readouterr().out
    assert out.endswith("\n" + TEXT) and "\ufffd" not in out, out
    tasks.run([sys.executable, "-c", SLOW_WRITER], tail=1)
    assert capsys.readouterr().out.endswith(" | tail -n 1\n" + TEXT)


def test_a_failed_command_ends_the_demo_with_its_status():
    from invoke import Exit

    with pytest.raises(Exit) as failed:
        tasks.run([sys.executable, "-c", "raise SystemExit(3)"])
    assert failed.value.code == 3


def test_commands_are_shown_as_they_can_be_pasted():
    edgemeter = os.path.join(ROOT, ".venv", "bin", "edgemeter")
    bill = os.path.join(ROOT, "build", "demo-billing", "bill-2026-11.csv")
    assert tasks.command_line([edgemeter, "reconcile", "--bill", bill, "--text", "剩余 {mb}MB", "--port", "/dev/pts/3"]) == (
        ".venv/bin/edgemeter reconcile --bill build/demo-billing/bill-2026-11.csv --text '剩余 {mb}MB' --port /dev/pts/3")
    assert tasks.shown("/tmp/x.csv") == "/tmp/x.csv" and tasks.shown("info") == "info"
    demo = "".join(inspect.getsource(part) for part in (tasks.demo, tasks._demo_metering, tasks._demo_billing))
    assert "…" not in demo and "c.run" not in demo  # no elided command, nothing decoded chunk by chunk


def test_a_port_busy_for_a_moment_is_tried_again(tmp_path, capsys, monkeypatch):
    # The user pasted a command of their own on the board's port just then: the demo waits and goes on.
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    marker = tmp_path / "tried"
    busy_once = ("import os, sys\nif not os.path.exists(%r):\n    open(%r, 'w').close()\n"
                 "    sys.exit('edgemeter: cannot open /dev/pts/3: port busy: another program has it open')\n"
                 "print('剩余10MB')\n") % (str(marker), str(marker))
    tasks.run([sys.executable, "-c", busy_once])
    out = capsys.readouterr().out
    assert "port busy" in out and "trying again" in out and out.endswith("剩余10MB\n"), out
