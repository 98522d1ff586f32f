"""Compile the device-side code (firmware/, protocol/, board/) to .mpy with mpy-cross.

A board does not compile source at import time: its 64 KB heap would not hold
the compiler's work for a module of a few KB. It runs frozen or precompiled
bytecode, so the emulated board does too: `compile_tree()` mirrors the packages
into build/mpy/ (only files whose source changed) and the VM's MICROPYPATH puts
that folder first. `MPY_CROSS=/path` overrides the compiler.
"""

import os
import shutil
import subprocess

from host_tools.build.micropython_vm import REPO, find_tool

DEVICE_PACKAGES = ("protocol", "board", "firmware")
BUILD_DIR = os.path.join(REPO, "build", "mpy")
DATA_FILES = (".json", ".csv")  # a board's board.json and pins.csv, read at run time


class BuildError(RuntimeError):
    pass


def compiler():
    return find_tool("mpy-cross", "MPY_CROSS", "mpy-cross")


def device_sources(root=REPO):
    """Relative paths of every device-side module (manifests are build scripts, not code)."""
    for package in DEVICE_PACKAGES:
        for folder, _dirs, files in os.walk(os.path.join(root, package)):
            for name in sorted(files):
                if name.endswith(".py") and name != "manifest.py":
                    yield os.path.relpath(os.path.join(folder, name), root)


def compile_module(tool, rel, target, extra_args=(), root=REPO):
    """mpy-cross the module `rel` (relative to root, its name in tracebacks) into `target`."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    done = subprocess.run(
        [tool, *extra_args, "-s", rel, "-o", target, os.path.join(root, rel)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise BuildError("mpy-cross failed on %s:\n%s" % (rel, done.stderr.strip()))


def copy_data_file(rel, out_dir):
    os.makedirs(os.path.dirname(os.path.join(out_dir, rel)), exist_ok=True)
    shutil.copyfile(os.path.join(REPO, rel), os.path.join(out_dir, rel))


def compile_tree(out_dir=BUILD_DIR, extra_args=()):
    """Compile stale modules into out_dir; copy data files (board.json, pins.csv). Returns out_dir."""
    tool = compiler()
    sources = list(device_sources())
    wanted = {rel[:-3] + ".mpy" for rel in sources}
    for folder, _dirs, files in os.walk(out_dir):
        for name in files:  # a module whose source is gone must not linger in the build
            rel = os.path.relpath(os.path.join(folder, name), out_dir)
            if name.endswith(".mpy") and rel not in wanted:
                os.remove(os.path.join(folder, name))
    for rel in sources:
        source = os.path.join(REPO, rel)
        target = os.path.join(out_dir, rel[:-3] + ".mpy")
        if os.path.exists(target) and os.path.getmtime(target) >= os.path.getmtime(source) and not extra_args:
            continue
        compile_module(tool, rel, target, extra_args)
    for package in DEVICE_PACKAGES:
        for folder, _dirs, files in os.walk(os.path.join(REPO, package)):
            for name in files:
                if name.endswith(DATA_FILES):
                    copy_data_file(os.path.relpath(os.path.join(folder, name), REPO), out_dir)
    return out_dir
