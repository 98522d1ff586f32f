"""The emulated board: the firmware on the MicroPython unix port.

UARTs are pseudo-terminals the emulator created (see `pty_uart`), the log
partition is a file-backed block device (`file_flash`), and the clock runs at the
emulator's speed (`sim_clock`). The emulator's wiring.json says where the ptys
and files are, and carries the static facts of board.json beside this file
(a frozen image has no file beside its modules to read).
"""

import asyncio
import sys

from board import base
from board.emulated import wiring
from board.emulated.file_flash import FileFlash
from board.emulated.pty_uart import open_uart
from board.emulated.sim_clock import SimClock
from board.emulated.watchdog import FileWatchdog


WIRE_SPEED_MAX = 50


class EmulatedBoard(base.Board):
    def __init__(self, wiring_path):
        self._wiring = wiring.load(wiring_path)
        spec = self._spec = self._wiring["board"]
        self.name = spec["name"]
        self.mcu = spec["mcu"]
        self.host_baud = spec["host_uart"]["baud"]
        clock = self._wiring["clock"]
        self.clock = SimClock(clock["sim_start_ms"], clock["real_start_ms"], clock["speed"], self._wiring["rtc"])
        self._flash = None
        self._led = False

    def host_uart(self):
        return open_uart(self._wiring["host_uart"])

    def modem_uart(self):
        return open_uart(self._wiring["modem_uart"])

    def flash(self):
        if self._flash is None:
            geometry = self._spec["flash"]
            path = self._wiring["flash"]
            self._flash = FileFlash(path, geometry["block_size"], geometry["blocks"], wear_path=path + ".wear")
        return self._flash

    def led(self, on):
        self._led = bool(on)

    def modem_power(self, on):
        # The modem's supply pin: the simulated modem watches this file and is
        # off (and forgets its state) while it reads "0".
        with open(self._wiring["modem_power"], "w") as f:
            f.write("1" if on else "0")

    async def modem_sleep_ms(self, ms):
        # The modem's answers cross real ptys at real speed: however fast simulated
        # time runs, its timeouts shrink at most WIRE_SPEED_MAX times, or they would
        # expire before an answer can arrive.
        await asyncio.sleep_ms(max(0, int(ms / min(self.clock.speed, WIRE_SPEED_MAX))))

    def unique_id(self):
        return bytes.fromhex(self._wiring["unique_id"])

    def reset_cause(self):
        return self._wiring.get("reset_cause", base.RESET_POWER_ON)

    def reset(self):
        sys.exit(wiring.EXIT_RESET)

    def watchdog(self, timeout_ms):
        return FileWatchdog(self._wiring["watchdog"], self.watchdog_timeout_ms(timeout_ms))


def board():
    """The board as the emulator starts it: `micropython main.py STATE/wiring.json`."""
    return EmulatedBoard(sys.argv[1])
