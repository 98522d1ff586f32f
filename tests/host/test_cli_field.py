"""The technician's helpers that need no device: what a port is, shell completion."""

import shutil
import subprocess

from host_tools import cli
from host_tools.cli.field import completion_script, port_kind


def test_ports_are_named_by_their_usb_ids():
    assert port_kind(0x303A, 0x1001).startswith("Espressif")  # any Espressif product id
    assert port_kind(0x2E8A, 0x0005).startswith("Raspberry Pi RP2040")
    assert "not the board's link" in port_kind(0x2C7C, 0x0125)
    assert port_kind(0x1234, 0x5678) == "" and port_kind(None, None) == ""


def _complete(words):
    script = completion_script(cli.build_parser())
    line = 'COMP_WORDS=(%s); COMP_CWORD=%d; _edgemeter; echo "${COMPREPLY[*]}"' % (" ".join(words), len(words) - 1)
    done = subprocess.run(["bash", "-c", script + "\n" + line], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_bash_completion_offers_the_parsers_commands_and_options():
    assert shutil.which("bash")
    assert _complete(["edgemeter", "re"]) == ["reconcile", "reset"]
    assert set(_complete(["edgemeter", ""])) == set(cli.COMMANDS)
    assert _complete(["edgemeter", "reconcile", "--acc"]) == ["--account"]
    assert _complete(["edgemeter", "config", "s"]) == ["set"]
    assert _complete(["edgemeter", "config", "set", "s"]) == ["sms_words"]
    assert "--quota-mb" in _complete(["edgemeter", "plan", "set", "--"])
    assert "--quota-mb" not in _complete(["edgemeter", "plan", "get", "--"])  # each action, its own options
    assert "--interval" in _complete(["edgemeter", "monitor", "--"])


def test_completion_command_prints_the_script(capsys):
    assert cli.main(["completion", "bash"]) == 0
    assert "complete -F _edgemeter edgemeter" in capsys.readouterr().out


def test_every_command_has_examples_in_its_help():
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, sub in subparsers.choices.items():
        assert sub.epilog and "edgemeter" in sub.epilog and "example" in sub.epilog, name
