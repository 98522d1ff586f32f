"""Stand-ins for the port modules a real board is built from (`machine`, `esp32`, `rp2`),
which neither the unix port nor CPython has. Only what board/hardware.py calls is here,
and every object made or driven is appended to `log`, so a test can check what the
board's data turned into. One module plays all three: `install()` puts it in
sys.modules under each name, before board.hardware is imported.
"""

import sys

log = []

# machine.reset_cause() values, as the esp32 port numbers them.
PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
cause = PWRON_RESET  # what reset_cause() answers
CHIP_ID = b"\xe6\x61\x41\x04\x03\x2a\x5b\x27"
partitions = ["log"]  # the labels of the image's data partitions


def install():
    module = sys.modules[__name__]
    for name in ("machine", "esp32", "rp2"):
        sys.modules[name] = module


class Pin:
    OUT = "out"

    def __init__(self, id, mode=None, value=None):
        self.id = id
        log.append(("Pin", id, mode, value))

    def value(self, level):
        log.append(("value", self.id, level))


class UART:
    def __init__(self, id, baudrate, tx, rx, rxbuf):
        log.append(("UART", id, baudrate, tx.id, rx.id, rxbuf))


class RTC:
    def datetime(self, when):
        log.append(("RTC.datetime", when))


class WDT:
    def __init__(self, id=0, timeout=5000):
        log.append(("WDT", timeout))

    def feed(self):
        log.append(("WDT.feed",))


def unique_id():
    return CHIP_ID


def reset():
    log.append(("reset",))


def reset_cause():
    return cause


class Partition:
    TYPE_DATA = 1

    def __init__(self, label):
        self.label = label

    @staticmethod
    def find(type, label):
        log.append(("Partition.find", type, label))
        return [Partition(label)] if label in partitions else []


class Flash:
    def __init__(self, start, len):
        log.append(("Flash", start, len))
