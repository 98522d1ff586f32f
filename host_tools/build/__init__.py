"""Building and running the device code on the host: the MicroPython VM, the
.mpy compile and the per-board build.

Owns: micropython_vm.py (the unix-port VM and the repository root, `REPO`),
mpy_build.py (the device packages compiled to build/mpy), board_build.py
(build/BOARD: one board's .mpy, main.py and manifest).
May import: the device code's own constants (firmware.version) and the standard
library; it reads board/*/board.json. None of device, ledger, billing or the CLI:
it sits beside them, as the emulator does.
"""
