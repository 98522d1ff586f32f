"""Run the CLI as a test sees it: (exit status, stdout, stderr), never a traceback; or its JSON."""

from host_tools import cli


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def run_json(capsys, *argv):
    """The JSON a command prints; the test fails with its stderr unless it exits 0."""
    import json

    status, out, err = run(capsys, *argv)
    assert status == 0, err
    return json.loads(out)
