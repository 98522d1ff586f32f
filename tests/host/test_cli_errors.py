"""The CLI's failures are one line on stderr naming the cause, exit status 1, no traceback."""

import os
import pty
import tty

import serial

from host_tools import cli


def _run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def test_no_such_port(capsys):
    status, _out, err = _run(capsys, "info", "--port", "/dev/does-not-exist")
    assert status == 1
    assert err.startswith("edgemeter: cannot open /dev/does-not-exist: no such port")
    assert len(err.strip().splitlines()) == 1


def test_port_busy(capsys):
    master, slave = pty.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    holder = serial.Serial(path, exclusive=True)
    try:
        status, _out, err = _run(capsys, "echo", "--port", path, "hi")
    finally:
        holder.close()
        os.close(master)
        os.close(slave)
    assert status == 1
    assert "port busy" in err and "another program" in err


def test_device_not_answering(capsys):
    master, slave = pty.openpty()  # a cable with nothing on the other end
    tty.setraw(slave)
    path = os.ttyname(slave)
    try:
        status, _out, err = _run(capsys, "echo", "--port", path, "hi")
    finally:
        os.close(master)
        os.close(slave)
    assert status == 1
    assert err.strip() == (
        "edgemeter: no answer from %s: check the cable, the baud rate (115200) "
        "and that edgemeter firmware is running" % path
    )


def test_port_from_environment_or_a_clear_error(capsys, monkeypatch):
    monkeypatch.delenv("EDGEMETER_PORT", raising=False)
    status, _out, err = _run(capsys, "info")
    assert status == 1 and "pass --port PORT or set EDGEMETER_PORT" in err
    monkeypatch.setenv("EDGEMETER_PORT", "/dev/also-missing")
    status, _out, err = _run(capsys, "info")
    assert status == 1 and "/dev/also-missing" in err


def test_bad_url_names_the_problem(capsys):
    status, _out, err = _run(capsys, "info", "--port", "nosuchscheme://x")
    assert status == 1 and err.startswith("edgemeter: nosuchscheme://x is not a usable port")


def test_a_port_that_is_no_serial_device_gets_a_hint(capsys, tmp_path):
    for port, hint in (("/dev/null", "not a serial device (a plain file?)"), (str(tmp_path), "is a folder, not a serial port")):
        status, _out, err = _run(capsys, "status", "--port", port)
        assert status == 1
        assert err.strip() == "edgemeter: cannot open %s: %s (list the ports: edgemeter ports)" % (port, hint)
