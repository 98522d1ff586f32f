"""edgemeter host tools: the CLI a technician runs, the emulator, the ledger.

One subpackage a concern, imports flowing one way: device (a session with one
device) -> ledger (pull and the host's copy of the records) -> billing (bills
against that copy); cli on top of all of them; build (the MicroPython VM, .mpy)
and emulator (the emulated board) beside them.
"""

from firmware.version import VERSION as __version__  # noqa: F401  one version for the device and the host
