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
- `watchdog(timeout_ms)`: start the hardware watchdog; `real_clock()`: a clock of
  the real time it counts in, never scaled.

Subclasses fill these in from their board.json; this base holds the pieces that
are the same on every board.
"""

import asyncio
import time

try:
    from time import ticks_diff, ticks_ms
except ImportError:  # CPython (host tests of board code): a monotonic clock that never wraps

    def ticks_ms():
        return time.monotonic_ns() // 1000000

    def ticks_diff(new, old):
        return new - old

# The causes have the names of the BOOT record's reasons, in their order
# (protocol/records.py BOOT_REASONS; tests/host/test_layers.py checks it): the board
# says the cause, the firmware records it. Written out here, not imported: a board
# runs in a small heap before anything else is loaded.
RESET_POWER_ON = "power-on"
RESET_WATCHDOG = "watchdog"
RESET_COMMAND = "reset-command"
RESET_POWER_LOSS = "power-loss"


class Clock:
    """Two clocks and sleeping.

    - `now_ms()`: wall-clock time (UTC, milliseconds since 1970), the RTC. It says
      which day it is (billing cycles, expiry dates, record times) and jumps when
      it is set (`set_ms`), or comes up at 2000-01-01 after a flat RTC battery.
    - `monotonic_ms()`: milliseconds since boot that never jump. Everything that
      measures a span (poll pacing, rates, checkpoint ages, retry backoff) uses it,
      so a clock correction of any size never stalls or rushes the firmware.

    On hardware the monotonic clock is `time.ticks_ms`, unwrapped: its period
    (2**30 ms on most ports) is folded in at each call, so it must be read at
    least every few days (the metering loop reads it at every poll, a minute
    apart at most). Subclasses may scale time (the emulated board runs N times
    faster than real time). Everything in the firmware that waits goes through
    `sleep_ms` so that the scaling holds.
    """

    speed = 1

    def __init__(self):
        self._offset_ms = 0
        self._ticks = ticks_ms()
        self._monotonic_ms = 0

    def monotonic_ms(self):
        ticks = ticks_ms()
        self._monotonic_ms += ticks_diff(ticks, self._ticks)
        self._ticks = ticks
        return self._monotonic_ms

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

    def flash_layout(self):
        """[(range name, blocks), ...] of the flash, from block 0 (None: the rest),
        board.json's "flash" "layout": "state" (LittleFS), "checkpoints", "records"."""
        return self._spec["flash"]["layout"]

    def flash_program_bytes(self):
        """The flash's program unit: 1 (any bytes), or a page size the flash programs
        only whole, aligned (board.json "flash" "program_bytes": 256 on the RP2040)."""
        return self._spec["flash"].get("program_bytes", 1)

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

    def watchdog_timeout_ms(self, wanted_ms):
        """The timeout the chip's watchdog will take for `wanted_ms`: board.json's
        "watchdog_max_ms" at most (rp2: 8388)."""
        return min(wanted_ms, self._spec["watchdog_max_ms"])

    def watchdog(self, timeout_ms):
        """Start the watchdog: unless its feed() is called at least every timeout_ms
        (watchdog_timeout_ms of it) of real time, the board resets with cause
        RESET_WATCHDOG. Once started it cannot be stopped (as machine.WDT)."""
        raise NotImplementedError

    def real_clock(self):
        """A Clock of real time, never scaled: the watchdog's time. On hardware it runs
        as `clock` does; on the emulated board, whose clock runs scaled, not."""
        if self._real_clock is None:
            self._real_clock = Clock()
        return self._real_clock

    _real_clock = None
