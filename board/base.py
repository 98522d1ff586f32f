"""The board interface: everything the firmware asks of the hardware.

The firmware never imports `machine` itself; it is handed a Board. A board
gives it:

- `host_uart()`: the serial link to the technician's laptop (SMP lives here). A
  stream object asyncio can poll (`machine.UART` on hardware, a pty on the
  emulated board), opened at `host_baud`.
- `modem_uart()`: the serial link to the LTE modem (AT commands).
- `flash()`: a block device (`readblocks`/`writeblocks`/`ioctl`, the protocol
  `vfs.VfsLfs2` mounts) for the record log partition.
- `clock`: the device's real-time clock (see `Clock` below).
- `led(on)`, `modem_power(on)`: the two pins every board has.
- `modem_dialect`: which AT dialect its modem speaks ("quectel", "simcom"): the
  firmware picks its modem driver by it.
- `unique_id()`: bytes that identify this board for life (chip id).
- `reset()`: restart the MCU; never returns.
- `reset_cause()`: why we booted: one of the RESET_* names below.

Subclasses fill these in from their board.json; this base holds the pieces that
are the same on every board.
"""

import asyncio
import time

RESET_POWER_ON = "power-on"
RESET_WATCHDOG = "watchdog"
RESET_SOFT = "reset-command"
RESET_POWER_LOSS = "power-loss"


class Clock:
    """Wall-clock time (UTC, milliseconds since 1970) and sleeping.

    On hardware this is the RTC plus `time.ticks_ms`; subclasses may scale time
    (the emulated board runs N times faster than real time). Everything in the
    firmware that waits goes through `sleep_ms` so that the scaling holds.
    """

    speed = 1

    def __init__(self):
        self._offset_ms = 0

    def _hardware_ms(self):
        return time.time_ns() // 1000000

    def now_ms(self):
        return self._hardware_ms() + self._offset_ms

    def now(self):
        return self.now_ms() // 1000

    def set_ms(self, epoch_ms):
        self._offset_ms = epoch_ms - self._hardware_ms()

    async def sleep_ms(self, ms):
        await asyncio.sleep_ms(ms)


class Board:
    name = "abstract"
    mcu = "unknown"
    host_baud = 115200
    modem_dialect = "quectel"
    clock = None

    def host_uart(self):
        raise NotImplementedError

    def modem_uart(self):
        raise NotImplementedError

    def flash(self):
        raise NotImplementedError

    def led(self, on):
        pass  # a board without a LED simply shows nothing

    def modem_power(self, on):
        raise NotImplementedError

    async def modem_sleep_ms(self, ms):
        """Waits on the modem's wire (answer timeouts, boot). The board's clock, unless
        the modem's timing is not the board's (the emulated board)."""
        await self.clock.sleep_ms(ms)

    def unique_id(self):
        raise NotImplementedError

    def reset(self):
        raise NotImplementedError

    def reset_cause(self):
        return RESET_POWER_ON
