"""Run the CLI as a test sees it: (exit status, stdout, stderr), never a traceback."""

from host_tools import cli


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err
