"""Build the device code for one board: what its filesystem gets, and what its image freezes.

`build_board(name)` writes build/<name>/ and returns it: the folder a deploy copies
to the board's filesystem as it is.

- protocol/ and firmware/ as .mpy, compiled with the board's mpy-cross flags
  (board.json "mpy_cross", e.g. -march=xtensawin), and of board/ the board's own
  folder with the shared modules it imports (the interface, board.hardware ...),
  but nothing of other boards; with the board's data files (board.json, pins.csv),
  which it reads at run time;
- main.py, which boots the firmware on that board (`board()` of its package);
- manifest.py, to freeze the same modules into a custom MicroPython image instead
  (micropython-lib style `package` lines, with the port's own manifest included
  for asyncio; the device has no use for it). Frozen modules cannot carry data
  files: main.py, board.json and pins.csv still go on the filesystem.

A board is a folder of board/ whose board.json names its "mpy_cross" flags and its
"micropython" port. The emulated board is one too (its main.py takes the wiring
file, as boot.py does); `invoke build` without --board still compiles everything
into build/mpy, from where the test VMs import.
"""

import ast
import json
import os
import shutil

from firmware.version import VERSION
from host_tools.build.micropython_vm import REPO
from host_tools.build.mpy_build import DATA_FILES, BuildError, compile_module, compiler, copy_data_file

BOARDS_DIR = os.path.join(REPO, "board")
# The heap the firmware needs when its modules are .mpy files loaded into RAM, on a
# 32-bit MCU: the bench's "smallest heap the month completes in, .mpy files in
# RAM" (bench/heap_month.py: between 160 and 192 KB) with room to spare. A board
# with less runs the image (the Pico's 192 KB among them).
MPY_HEAP_BYTES = 224 * 1024
BUILD_ROOT = os.path.join(REPO, "build")
APPLICATION_PACKAGES = ("protocol", "firmware")

MAIN = '''"""Boot edgemeter on this board: {board}.

Written by host_tools/build/board_build.py.
"""

import sys

# Frozen modules first: on a board that runs the image (edgemeter deploy --frozen)
# the board's data folder beside this file (board/{name}/board.json) would
# otherwise stand for the frozen package `board`. On one with .mpy files it
# changes nothing: the image then freezes none of edgemeter.
if ".frozen" in sys.path:
    sys.path.remove(".frozen")
    sys.path.insert(0, ".frozen")

from board.{name} import board
from firmware import main

main.run(board())
'''

MANIFEST = """# Freeze edgemeter into a custom MicroPython image for the
# {board}
# (written by host_tools/build/board_build.py; paths are relative to this file):
#     make -C micropython/ports/{port} {make} FROZEN_MANIFEST={path}
# Then copy main.py and {data} to the board's filesystem.
include("{port_manifest}")  # the port's frozen modules, asyncio among them
metadata(version="{version}", description="edgemeter for the {board}")
{packages}
"""


class UnknownBoard(BuildError):
    pass


def boards():
    """The boards' names: folders of board/ whose board.json has mpy-cross flags."""
    names = []
    for name in sorted(os.listdir(BOARDS_DIR)):
        path = os.path.join(BOARDS_DIR, name, "board.json")
        if os.path.exists(path) and "mpy_cross" in _load(path):
            names.append(name)
    return names


def _load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def definition(name):
    """The board's board.json; UnknownBoard (listing the boards) if there is no such board."""
    if name not in boards():
        raise UnknownBoard("unknown board %r; boards: %s" % (name, ", ".join(boards())))
    return _load(os.path.join(BOARDS_DIR, name, "board.json"))


def _modules_under(folder):
    """Repo-relative paths of the modules in a folder and its subfolders (manifests are not modules)."""
    found = []
    for path, _dirs, files in sorted(os.walk(os.path.join(REPO, folder))):
        found += [os.path.join(path, f) for f in sorted(files) if f.endswith(".py") and f != "manifest.py"]
    return [os.path.relpath(path, REPO) for path in found]


def _module_file(dotted):
    """The repo-relative file of a dotted module name, None if it is not one of ours."""
    base = dotted.replace(".", "/")
    for rel in (base + ".py", base + "/__init__.py"):
        if os.path.exists(os.path.join(REPO, rel)):
            return rel
    return None


def _imported(rel):
    """Repo-relative files of the modules `rel` imports from the repo."""
    with open(os.path.join(REPO, rel), encoding="utf-8") as f:
        tree = ast.parse(f.read(), rel)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module] + [node.module + "." + alias.name for alias in node.names]
    return [found for found in map(_module_file, names) if found]


def board_sources(name):
    """Repo-relative paths of the modules the board runs: the application, then board/:
    its own folder and what the board and the application import from board/."""
    application = []
    for package in APPLICATION_PACKAGES:
        application += _modules_under(package)
    own = _modules_under(os.path.join("board", name))
    needed = set(["board/__init__.py"] + own)
    pending = application + own
    while pending:
        for found in _imported(pending.pop()):
            if found.startswith("board/") and found not in needed:
                needed.add(found)
                pending.append(found)
    return application + sorted(needed)


def build_board(name, out_root=BUILD_ROOT):
    """Compile the board's modules into out_root/<name>/ with main.py and manifest.py; returns that folder."""
    spec = definition(name)
    out = os.path.join(out_root, name)
    shutil.rmtree(out, ignore_errors=True)  # nothing left over from an earlier build
    tool = compiler()
    for rel in board_sources(name):
        compile_module(tool, rel, os.path.join(out, rel[:-3] + ".mpy"), spec["mpy_cross"])
    for rel in _data_files(name):
        copy_data_file(rel, out)
    with open(os.path.join(out, "main.py"), "w", encoding="utf-8") as f:
        f.write(MAIN.format(board=_title(spec), name=name))
    with open(os.path.join(out, "manifest.py"), "w", encoding="utf-8") as f:
        f.write(_manifest(name, spec, out))
    return out


def frozen_files(folder):
    """What a board that runs the image still needs on its filesystem, from a build
    folder: main.py and the board's data files (frozen modules carry no data)."""
    return [rel for rel in _files_under(folder) if rel == "main.py" or rel.endswith(DATA_FILES)]


def _files_under(folder):
    found = []
    for path, _dirs, files in os.walk(folder):
        found += [os.path.relpath(os.path.join(path, f), folder).replace(os.sep, "/") for f in files]
    return sorted(found)


def _data_files(name):
    folder = os.path.join(BOARDS_DIR, name)
    return [os.path.join("board", name, f) for f in sorted(os.listdir(folder)) if f.endswith(DATA_FILES)]


def _title(spec):
    return "%s %s" % (spec["vendor"], spec["product"])


def _manifest(name, spec, out):
    root = os.path.relpath(REPO, out)
    packages = []
    for package in APPLICATION_PACKAGES + ("board",):
        # Every file by name: a stray .py (or a package's own manifest.py) is not frozen.
        files = [rel[len(package) + 1 :] for rel in board_sources(name) if rel.startswith(package + "/")]
        packages.append('package("%s", files=%s, base_path="%s")' % (package, json.dumps(files), root))
    return MANIFEST.format(
        board=_title(spec),
        port=spec["micropython"]["port"],
        make=spec["micropython"]["make"],
        path=os.path.join(out, "manifest.py"),
        data=", ".join(_data_files(name)),
        port_manifest=spec["micropython"]["manifest"],
        version=VERSION,
        packages="\n".join(packages),
    )
