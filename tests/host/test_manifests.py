"""The freeze manifests, read by MicroPython's own manifest loader (tools/manifestfile.py,
the code tools/makemanifest.py runs): the source tree's board manifests and the one
`invoke build` writes are accepted, freeze exactly the modules the board runs (never a
manifest), and carry the one version, firmware/version.py's."""

import ast
import os
import sys

import pytest

from firmware.version import VERSION
from host_tools.build import board_build
from host_tools.build.micropython_source import source_dir

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE_MANIFESTS = sorted(
    os.path.relpath(os.path.join(folder, "manifest.py"), REPO)
    for top in ("firmware", "protocol", "board")
    for folder, _dirs, names in os.walk(os.path.join(REPO, top)) if "manifest.py" in names)
BOARDS = [name for name in board_build.boards() if os.path.exists(os.path.join(REPO, "board", name, "manifest.py"))]


@pytest.fixture(scope="module")
def manifestfile():
    tools = os.path.join(source_dir(), "tools")
    if not os.path.exists(os.path.join(tools, "manifestfile.py")):
        # A clone with no ../shared beside it (CI has one): say where it looked.
        pytest.skip("no MicroPython source at %s: set MICROPY_SRC to a v1.28 checkout" % source_dir())
    sys.path.insert(0, tools)
    try:
        import manifestfile
    finally:
        sys.path.remove(tools)
    return manifestfile


def _frozen(manifestfile, path, port, board_dir):
    src = source_dir()
    manifest = manifestfile.ManifestFile(manifestfile.MODE_FREEZE, {
        "MPY_DIR": src, "MPY_LIB_DIR": os.path.join(src, "lib", "micropython-lib"),
        "PORT_DIR": os.path.join(src, "ports", port), "BOARD_DIR": board_dir})
    manifest.execute(path)
    return {entry.target_path for entry in manifest.files()}


@pytest.mark.parametrize("board", BOARDS)
def test_a_boards_source_manifest_freezes_its_part_of_board(board, manifestfile):
    frozen = _frozen(manifestfile, os.path.join(REPO, "board", board, "manifest.py"),
                     board_build.definition(board)["micropython"]["port"], os.path.join(REPO, "board", board))
    assert frozen == {rel for rel in board_build.board_sources(board) if rel.startswith("board/")}


def test_the_firmwares_source_manifest_freezes_the_firmware_and_the_protocol_it_needs(manifestfile):
    frozen = _frozen(manifestfile, os.path.join(REPO, "firmware", "manifest.py"), "unix", REPO)
    application = {rel for rel in board_build.board_sources(BOARDS[0]) if not rel.startswith("board/")}
    assert frozen == application  # every module of firmware/ and protocol/, never a manifest.py


@pytest.mark.parametrize("board", BOARDS)
def test_the_manifest_invoke_build_writes_is_accepted_with_the_ports_own(board, manifestfile, tmp_path):
    folder = board_build.build_board(board, out_root=str(tmp_path))
    port = board_build.definition(board)["micropython"]["port"]
    frozen = _frozen(manifestfile, os.path.join(folder, "manifest.py"), port, os.path.join(REPO, "board", board))
    ours = set(board_build.board_sources(board))
    assert ours <= frozen  # and the port's own modules
    assert "asyncio/core.py" in frozen or "asyncio/__init__.py" in frozen


@pytest.mark.parametrize("path", SOURCE_MANIFESTS)
def test_every_manifest_names_the_one_version(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    versions = [keyword.value.value for node in ast.walk(tree) if isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "metadata" for keyword in node.keywords if keyword.arg == "version"]
    assert versions == [VERSION], "%s: metadata(version=...) must be firmware/version.py's %s" % (path, VERSION)


def test_the_package_and_the_cli_take_the_version_from_firmware():
    import re
    from importlib import metadata

    import host_tools

    with open(os.path.join(REPO, "pyproject.toml"), encoding="utf-8") as f:
        project = f.read()
    assert not re.search(r"(?m)^version\s*=\s*\"", project), "pyproject.toml writes a version of its own"
    assert re.search(r'(?m)^version = \{ attr = "firmware.version.VERSION" \}$', project)
    assert host_tools.__version__ == VERSION == metadata.version("edgemeter")
