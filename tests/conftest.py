"""pytest setup shared by all tests.

The repo root goes on sys.path (device code imports `protocol`, `firmware`, `board`
as top-level packages, exactly as on the MicroPython VM), and tests/device too so
device tests find `mpunit`.
"""

import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "device"))

# Device keys (host_tools/device/keys.py): the emulators these tests start provision
# their boards into this file, and the CLI signs with it; never the user's own.
os.environ["EDGEMETER_KEYS"] = os.path.join(tempfile.mkdtemp(prefix="edgemeter-test-keys"), "keys.json")
