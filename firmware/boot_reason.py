"""Why did we boot? The board's reset cause, refined by a "running" marker file.

A board cannot tell a first power-on from power coming back after a cut: both
are power-on resets. The firmware writes a marker file at boot and removes it
before a reset it asked for itself, so a power-on reset that finds the marker
still there means the power was lost while running.
"""

import os

from protocol import records


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def detect(board_cause, marker_path):
    """The BOOT record reason; marks this run as running."""
    # board/base.py names its reset causes as the BOOT reasons: the cause is the reason.
    reason = records.BOOT_REASONS.index(board_cause) if board_cause in records.BOOT_REASONS else records.BOOT_POWER_ON
    if reason == records.BOOT_POWER_ON and _exists(marker_path):
        reason = records.BOOT_POWER_LOSS
    with open(marker_path, "w") as f:
        f.write("running")
    return reason


def clear(marker_path):
    """Before an orderly reset: this run ends cleanly."""
    try:
        os.remove(marker_path)
    except OSError:
        pass
