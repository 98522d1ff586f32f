"""The folders are the architecture: data flows one way, and a lower layer never
imports a higher one (docs/architecture.md, "The import rule").

Every import in the source tree is read (at the top of a module and inside
functions alike), and each must go down or sideways within its own package."""

import ast
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The firmware's packages from the bottom up: a package may import its own modules
# and those of the ranks below it. The modem and storage are the bottom; the SMP
# server sits on top of what it serves; main.py wires them all.
FIRMWARE_RANK = {
    "firmware.console": 0, "firmware.version": 0, "firmware.boot_reason": 0, "firmware.supervisor": 0,
    "firmware.safe_mode": 1,
    "firmware.storage": 0, "firmware.modem": 0,
    "firmware.sms": 1,
    "firmware.metering": 2, "firmware.account": 2,
    "firmware.smp": 3,
    "firmware.main": 4,
}
# What each host package may import of host_tools (besides itself).
HOST_ALLOWED = {
    "host_tools.device": set(),
    "host_tools.ledger": {"host_tools.device"},
    "host_tools.billing": set(),
    "host_tools.build": set(),
    "host_tools.emulator": {"host_tools.build", "host_tools.device"},
    "host_tools.cli": {"host_tools.device", "host_tools.ledger", "host_tools.billing", "host_tools.build",
                       "host_tools.emulator"},
}
# Device code (protocol/, board/) never reaches up into the firmware or the host;
# only a board's main.py (the emulated board's boot.py) starts the firmware.
# The emulator meets the firmware only as a board does: on its serial lines.
NEVER = {"protocol": ("firmware", "board", "host_tools"), "board": ("firmware", "host_tools"),
         "host_tools/emulator": ("firmware",)}
MAIN_SCRIPTS = {"board.emulated.boot"}


def _modules(top):
    for root, _dirs, names in os.walk(os.path.join(REPO, top)):
        for name in sorted(names):
            if name.endswith(".py") and name != "manifest.py":
                path = os.path.join(root, name)
                dotted = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
                yield dotted[: -len(".__init__")] if dotted.endswith(".__init__") else dotted, path


def _imports(path, dotted):
    """The modules `path` imports: `from a.b import c` counts as a.b.c (c may be a module)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    package = dotted if path.endswith("__init__.py") else dotted.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                yield base + "." + alias.name


def _owner(dotted, table):
    """The entry of `table` that `dotted` belongs to (the longest prefix), or None."""
    best = None
    for key in table:
        if (dotted == key or dotted.startswith(key + ".")) and (best is None or len(key) > len(best)):
            best = key
    return best


def _firmware_breaks():
    breaks = []
    for dotted, path in _modules("firmware"):
        mine = _owner(dotted, FIRMWARE_RANK)
        if mine is None:
            if dotted != "firmware":
                breaks.append("%s: in no layer of FIRMWARE_RANK" % dotted)
            continue
        for imported in _imports(path, dotted):
            theirs = _owner(imported, FIRMWARE_RANK)
            if theirs and theirs != mine and FIRMWARE_RANK[theirs] >= FIRMWARE_RANK[mine]:
                breaks.append("%s (rank %d) imports %s (rank %d)" % (dotted, FIRMWARE_RANK[mine], imported,
                                                                       FIRMWARE_RANK[theirs]))
    return breaks


def _host_breaks():
    breaks = []
    for dotted, path in _modules("host_tools"):
        mine = _owner(dotted, HOST_ALLOWED)
        if mine is None:
            continue  # host_tools/__init__.py: the version
        for imported in _imports(path, dotted):
            theirs = _owner(imported, HOST_ALLOWED)
            if theirs and theirs != mine and theirs not in HOST_ALLOWED[mine]:
                breaks.append("%s imports %s" % (dotted, imported))
    return breaks


def _device_breaks():
    breaks = []
    for top, forbidden in NEVER.items():
        for dotted, path in _modules(top):
            if dotted in MAIN_SCRIPTS:
                continue
            breaks += ["%s imports %s" % (dotted, imported) for imported in _imports(path, dotted)
                       if imported.split(".")[0] in forbidden]
    return breaks


@pytest.mark.parametrize("check", [_firmware_breaks, _host_breaks, _device_breaks], ids=["firmware", "host", "device"])
def test_no_layer_imports_a_higher_one(check):
    assert check() == []


def test_the_rule_catches_an_import_upwards(tmp_path, monkeypatch):
    """The check itself: a storage module that imports the metering loop is flagged."""
    folder = tmp_path / "firmware" / "storage"
    folder.mkdir(parents=True)
    (tmp_path / "firmware" / "__init__.py").write_text("")
    (folder / "__init__.py").write_text("")
    (folder / "log.py").write_text("def f():\n    from firmware.metering import usage_service\n")
    monkeypatch.setattr(__import__(__name__), "REPO", str(tmp_path))
    assert _firmware_breaks() == ["firmware.storage.log (rank 0) imports firmware.metering.usage_service (rank 2)"]


def test_a_boards_reset_causes_are_the_boot_records_reasons():
    """One set of names from the board's reset cause to the BOOT record (item 7)."""
    from board import base
    from protocol import records

    causes = (base.RESET_POWER_ON, base.RESET_WATCHDOG, base.RESET_COMMAND, base.RESET_POWER_LOSS)
    assert causes == records.BOOT_REASONS
    assert [records.BOOT_REASONS.index(c) for c in causes] == [records.BOOT_POWER_ON, records.BOOT_WATCHDOG,
                                                               records.BOOT_RESET_COMMAND, records.BOOT_POWER_LOSS]
