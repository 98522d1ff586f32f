"""The CLI parses the way technicians type: --port/-p, --baud and --timeout before the
command or after it, sub-actions as real subcommands with only their own options, and
every command the README and docs/technician.md show parses as written."""

import os
import re
import shlex

import pytest

from host_tools import cli

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _parse(*argv):
    return cli.build_parser().parse_args(list(argv))


@pytest.mark.parametrize("command", [["status"], ["plan", "get"], ["plan", "set", "--quota-mb", "100"],
                                     ["services", "cancel", "1", "3"], ["config", "set", "sms_words", "LL=data"],
                                     ["clock", "set"], ["pull", "--ledger", "f.sqlite"], ["monitor"], ["info"]])
def test_link_options_before_or_after_the_command_are_the_same(command, monkeypatch):
    monkeypatch.delenv("EDGEMETER_PORT", raising=False)
    link = ["-p", "/dev/ttyUSB0", "--baud", "921600", "--timeout", "5"]
    before, after = _parse(*link, *command), _parse(*command, *link)
    assert vars(before) == vars(after)
    assert (before.port, before.baud, before.timeout) == ("/dev/ttyUSB0", 921600, 5.0)


def test_the_option_typed_last_wins_and_the_environment_is_the_default(monkeypatch):
    monkeypatch.setenv("EDGEMETER_PORT", "/dev/ttyACM0")
    assert _parse("status").port == "/dev/ttyACM0"
    assert _parse("--port", "/dev/ttyUSB0", "status").port == "/dev/ttyUSB0"
    assert _parse("--port", "/dev/ttyUSB0", "status", "-p", "/dev/ttyUSB1").port == "/dev/ttyUSB1"
    args = _parse("status")
    assert (args.baud, args.timeout) == (115200, 2.0)


def test_numbers_after_the_options(monkeypatch):
    assert _parse("services", "cancel", "--port", "P", "1", "3").numbers == [1, 3]
    config = _parse("config", "set", "--port", "P", "sms_words", "CXLL=data,CXYE=balance")
    assert (config.action, config.key, config.value) == ("set", "sms_words", "CXLL=data,CXYE=balance")


@pytest.mark.parametrize("argv", [["plan", "get", "--quota-mb", "100"], ["clock", "get", "--to", "2026-12-01T08:00:00Z"],
                                  ["emulate", "bill", "--state", "S", "--speed", "60"],
                                  ["emulate", "run", "--state", "S", "--month", "2026-11"],
                                  ["services", "list", "3"], ["config", "get", "sms_words", "LL=data"],
                                  ["plan"], ["emulate", "--state", "S"]])
def test_each_action_takes_only_its_own_options(argv, capsys):
    with pytest.raises(SystemExit) as done:
        _parse(*argv)
    assert done.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("edgemeter")


def _shown_commands(text):
    """Each `edgemeter …` command in the code blocks of a Markdown text, as argv, with
    optional parts ([…]) left out, A|B as A, and placeholders given a value."""
    commands = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].split(" # ")[0].strip()
            if line.startswith("$ "):
                line = line[2:]
            if not re.match(r"(\.venv/bin/)?edgemeter ", line) or "<(" in line or "…" in line.split(">")[0]:
                continue
            line = line.split(" > ")[0].split(" | ")[0]
            while re.search(r"\[[^\[\]]*\]", line):
                line = re.sub(r"\s*\[[^\[\]]*\]", "", line)
            line = re.sub(r"(\S+)\|\S+", r"\1", line)
            commands.append(shlex.split(line)[1:])
    return commands


@pytest.mark.parametrize("doc", ["README.md", "docs/technician.md"])
def test_every_command_in_the_docs_parses_as_written(doc, capsys):
    with open(os.path.join(REPO, doc), encoding="utf-8") as f:
        commands = _shown_commands(f.read())
    assert len(commands) >= 20, commands
    for argv in commands:
        try:
            _parse(*argv)
        except SystemExit as done:
            if done.code != 0:  # 0: --help or --version
                raise AssertionError("%s: `edgemeter %s` does not parse: %s"
                                     % (doc, " ".join(argv), capsys.readouterr().err.strip())) from None
