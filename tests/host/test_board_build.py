"""The per-board build (host_tools/build/board_build.py, `invoke build --board B`): every
board builds; its .mpy files are for its MCU; its manifest freezes exactly what it
compiled; its main.py compiles; an unknown board is one line of error.
"""

import ast
import glob
import json
import os
import subprocess
import sys

import pytest

from host_tools.build import board_build, mpy_build
from host_tools.build.micropython_vm import REPO

# The .mpy header (MicroPython py/persistentcode.h): b"M", version 6, then a byte
# holding the native architecture in bits 2-7 (MPY_FEATURE_ENCODE_ARCH) and the
# sub-version in bits 0-1, then the small-int bits. The architecture is written
# only when a module holds native code: plain bytecode says 0 and loads anywhere.
# The emulated board has no native target: whichever host runs the unix port.
MP_NATIVE_ARCH = {"emulated": 0, "esp32s3_sim7600": 10, "pico_ec25": 4}  # NONE, XTENSAWIN, ARMV6M
NATIVE_PROBE = "import micropython\n\n\n@micropython.native\ndef double(x):\n    return 2 * x\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out_root = tmp_path_factory.mktemp("boards")
    return {name: board_build.build_board(name, out_root) for name in board_build.boards()}


def _files(folder, suffix):
    return {
        os.path.relpath(path, folder)
        for path in glob.glob(os.path.join(folder, "**", "*" + suffix), recursive=True)
    }


def _modules(folder):
    """The .mpy names of the modules (not manifests) in a folder of the repo and below."""
    return {
        os.path.relpath(path, REPO)[:-3] + ".mpy"
        for path in glob.glob(os.path.join(REPO, folder, "**", "*.py"), recursive=True)
        if not path.endswith("manifest.py")
    }


def test_the_boards_are_the_folders_with_mpy_cross_flags():
    assert board_build.boards() == ["emulated", "esp32s3_sim7600", "pico_ec25"]


def test_each_board_gets_the_application_its_own_folder_and_nothing_of_other_boards(built):
    application = _modules("protocol") | _modules("firmware")
    shared = {"board/__init__.mpy", "board/base.mpy"}
    board_modules = {
        "emulated": shared | _modules("board/emulated") | {"board/block_device.mpy"},
        "esp32s3_sim7600": shared | {"board/hardware.mpy", "board/esp32s3_sim7600/__init__.mpy"},
        "pico_ec25": shared | {"board/hardware.mpy", "board/pico_ec25/__init__.mpy"},
    }
    data = {name: ["board.json", "pins.csv"] for name in ("esp32s3_sim7600", "pico_ec25")}
    data["emulated"] = ["board.json"]
    for name, folder in built.items():
        assert _files(folder, ".mpy") == application | board_modules[name], name
        assert _files(folder, ".json") | _files(folder, ".csv") == {"board/%s/%s" % (name, f) for f in data[name]}
        for rel in data[name]:
            with open(os.path.join(folder, "board", name, rel), "rb") as f, open(
                os.path.join(REPO, "board", name, rel), "rb"
            ) as original:
                assert f.read() == original.read()


def test_mpy_files_are_for_the_board_mcu(built, tmp_path):
    tool = mpy_build.compiler()
    with open(tmp_path / "probe.py", "w") as f:
        f.write(NATIVE_PROBE)
    for name, folder in built.items():
        flags = board_build.definition(name)["mpy_cross"]
        for rel in sorted(_files(folder, ".mpy")):
            with open(os.path.join(folder, rel), "rb") as f:
                header = f.read(4)
            assert header[:2] == b"M\x06" and header[3] == 31, (name, rel, header)
            assert header[2] >> 2 in (0, MP_NATIVE_ARCH[name]), (name, rel, header)
        if not MP_NATIVE_ARCH[name]:
            continue  # no native code for the emulated board
        # The same flags, given a module with native code, write the board's architecture.
        probe = str(tmp_path / (name + ".mpy"))
        mpy_build.compile_module(tool, "probe.py", probe, flags, root=str(tmp_path))
        with open(probe, "rb") as f:
            assert f.read(3)[2] >> 2 == MP_NATIVE_ARCH[name], name


def test_every_module_is_compiled_with_the_board_flags(tmp_path, monkeypatch):
    # Bytecode-only .mpy files say arch 0 whatever the flags: check that they were given.
    flags_used = []

    def compile_recorded(tool, rel, target, extra_args=(), root=REPO):
        flags_used.append(list(extra_args))
        mpy_build.compile_module(tool, rel, target, extra_args, root)

    monkeypatch.setattr(board_build, "compile_module", compile_recorded)
    for name in board_build.boards():
        del flags_used[:]
        board_build.build_board(name, str(tmp_path))
        flags = board_build.definition(name)["mpy_cross"]
        assert len(flags_used) == len(board_build.board_sources(name)) and all(f == flags for f in flags_used)


def _frozen(manifest_path, frozen=None, ports=None):
    """What a manifest freezes, by running it with the manifest API's include/package/module
    semantics (MicroPython tools/manifestfile.py): {target path: source file}, and the
    port manifests it includes ("$(PORT_DIR)/...", not followed)."""
    frozen = {} if frozen is None else frozen
    ports = [] if ports is None else ports
    here = os.path.dirname(manifest_path)

    def include(path):
        if path.startswith("$("):
            ports.append(path)
        else:
            _frozen(os.path.normpath(os.path.join(here, path)), frozen, ports)

    def package(package_path, files=None, base_path="."):
        base = os.path.join(here, base_path)
        if files is None:
            files = [
                os.path.relpath(path, os.path.join(base, package_path))
                for path in glob.glob(os.path.join(base, package_path, "**", "*.py"), recursive=True)
            ]
        for file in files:
            frozen[package_path + "/" + file] = os.path.normpath(os.path.join(base, package_path, file))

    def module(module_path, base_path="."):
        frozen[module_path] = os.path.normpath(os.path.join(here, base_path, module_path))

    libraries = {}

    def add_library(name, path):
        libraries[name] = os.path.normpath(os.path.join(here, path))

    def require(name, library):  # a package of the repository: its folder's manifest.py
        _frozen(os.path.join(libraries[library], name, "manifest.py"), frozen, ports)

    api = {"package": package, "module": module, "include": include, "metadata": lambda **kw: None,
           "add_library": add_library, "require": require, "os": os}
    with open(manifest_path) as f:
        exec(f.read(), api)
    return frozen, ports


def test_the_manifest_freezes_every_package_the_board_runs(built):
    for name, folder in built.items():
        frozen, ports = _frozen(os.path.join(folder, "manifest.py"))
        assert ports == [board_build.definition(name)["micropython"]["manifest"]]  # the port's asyncio
        assert sorted(frozen) == sorted(board_build.board_sources(name)), name
        for target, source in frozen.items():
            assert source == os.path.join(REPO, target) and os.path.exists(source), (name, target)


def test_a_real_board_folder_s_own_manifest_freezes_its_part_of_board():
    for name in ("esp32s3_sim7600", "pico_ec25"):
        frozen, _ports = _frozen(os.path.join(REPO, "board", name, "manifest.py"))
        board_part = [rel for rel in board_build.board_sources(name) if rel.startswith("board/")]
        assert sorted(frozen) == board_part, name
        assert all(source == os.path.join(REPO, target) for target, source in frozen.items())


def test_main_py_boots_the_firmware_on_the_board_and_compiles(built, tmp_path):
    tool = mpy_build.compiler()
    for name, folder in built.items():
        with open(os.path.join(folder, "main.py")) as f:
            tree = ast.parse(f.read())
        imports = [node for node in tree.body if isinstance(node, ast.ImportFrom)]
        assert [(node.module, [a.name for a in node.names]) for node in imports] == [
            ("board." + name, ["board"]),
            ("firmware", ["main"]),
        ]
        with open(os.path.join(REPO, "board", name, "__init__.py")) as f:
            assert "board" in [node.name for node in ast.parse(f.read()).body if isinstance(node, ast.FunctionDef)]
        target = str(tmp_path / (name + "-main.mpy"))
        mpy_build.compile_module(tool, "main.py", target, board_build.definition(name)["mpy_cross"], root=folder)


def test_every_board_names_a_modem_dialect_the_firmware_has():
    with open(os.path.join(REPO, "firmware", "main.py")) as f:
        tree = ast.parse(f.read())
    assignments = [node for node in tree.body if isinstance(node, ast.Assign)]
    table = [node.value for node in assignments if node.targets[0].id == "MODEM_DIALECTS"][0]
    dialects = {key.value for key in table.keys}
    for path in glob.glob(os.path.join(REPO, "board", "*", "board.json")):
        with open(path) as f:
            assert json.load(f).get("modem_dialect", "quectel") in dialects, path  # base.Board: quectel


def test_an_unknown_board_is_one_line_listing_the_boards():
    with pytest.raises(board_build.UnknownBoard, match="unknown board 'block_device'"):
        board_build.build_board("block_device")
    invoke = os.path.join(os.path.dirname(sys.executable), "invoke")
    done = subprocess.run([invoke, "build", "--board", "nosuch"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == "unknown board 'nosuch'; boards: emulated, esp32s3_sim7600, pico_ec25\n"
