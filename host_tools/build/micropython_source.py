"""Where MicroPython's own source tree is: its tools read the manifests and build
the images. `$MICROPY_SRC` if set (a checkout of the same tag), else
../shared/micropython beside the repository (v1.28.0, read-only in CI)."""

import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def source_dir():
    """The MicroPython source folder (the caller checks that it is there)."""
    return os.environ.get("MICROPY_SRC") or os.path.normpath(os.path.join(REPO, "..", "shared", "micropython"))
