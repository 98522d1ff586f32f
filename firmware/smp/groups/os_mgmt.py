"""The standard SMP OS management group (group 0), as any SMP client expects it.

Served: echo (0), memory pool statistics (3, the MicroPython heap as one pool),
date-time read/write (4), reset (5; boot_mode 1: a maintenance boot, to the
REPL), MCUmgr parameters (6), OS/application info (7). Everything else in the
group answers ENOTSUP.
"""

import gc
import sys

from firmware.smp.server import SMPError
from firmware.version import VERSION
from protocol import civil_time
from protocol import records, smp

# Group-specific return codes of the OS group (Zephyr's OS_MGMT_ERR_*).
OS_ERR_INVALID_FORMAT = 2

# The MicroPython GC allocates in 16-byte blocks; the heap is reported as a pool
# of such blocks so that generic SMP tools show it.
_HEAP_BLOCK = 16

# Field letters of the info command, in the order Zephyr prints them.
_INFO_FIELDS = "snrvbmpio"


class OSGroup:
    def __init__(self, server, board, device_id, reset, record, clock_set=None, maintenance=None):
        """`clock_set()` is told after each date-time write (the metering loop);
        `maintenance()` before a reset with boot_mode 1 (firmware/main.py)."""
        self._maintenance = maintenance
        self._server = server
        self._clock_set = clock_set
        self._board = board
        self._device_id = device_id
        self._reset = reset
        self._record = record
        self._min_free = None
        server.register(
            smp.GROUP_OS,
            {
                (smp.OS_ECHO, smp.OP_WRITE): self.echo,
                (smp.OS_MPSTATS, smp.OP_READ): self.memory_pools,
                (smp.OS_DATETIME, smp.OP_READ): self.datetime_read,
                (smp.OS_DATETIME, smp.OP_WRITE): self.datetime_write,
                (smp.OS_RESET, smp.OP_WRITE): self.reset,
                (smp.OS_PARAMS, smp.OP_READ): self.params,
                (smp.OS_INFO, smp.OP_READ): self.info,
            },
        )

    def echo(self, request):
        text = request.get("d")
        if not isinstance(text, str):
            raise SMPError(smp.ERR_EINVAL, reason="echo needs a text string 'd'")
        return {"r": text}

    def memory_pools(self, request):
        gc.collect()
        free = gc.mem_free()
        total = free + gc.mem_alloc()
        if self._min_free is None or free < self._min_free:
            self._min_free = free
        return {
            "heap": {
                "blksize": _HEAP_BLOCK,
                "nblks": total // _HEAP_BLOCK,
                "nfree": free // _HEAP_BLOCK,
                "min": self._min_free // _HEAP_BLOCK,
            }
        }

    def datetime_read(self, request):
        return {"datetime": civil_time.format_utc(self._board.clock.now_ms())}

    def datetime_write(self, request):
        try:
            epoch_ms = civil_time.parse_utc_ms(request.get("datetime"))
        except ValueError as error:
            raise SMPError(smp.ERR_EINVAL, reason="datetime: %s" % error)
        before = self._board.clock.now()
        self._board.clock.set_ms(epoch_ms)
        # Records carry device time: a jump in it is evidence the ledger must show.
        self._record(records.CONFIG_CHANGED, records.config_change("clock", before, epoch_ms // 1000))
        if self._clock_set is not None:
            self._clock_set()
        return {}

    def reset(self, request):
        # boot_mode 1 (Zephyr's "bootloader"): the next boot stays at the MicroPython
        # REPL, firmware and watchdog not started, for `edgemeter deploy` to copy files.
        boot_mode = request.get("boot_mode", 0)
        if boot_mode not in (0, 1) or boot_mode == 1 and self._maintenance is None:
            raise SMPError(smp.ERR_ENOTSUP, reason="boot_mode 0 (run) or 1 (the REPL, for a deploy)")
        if boot_mode == 1:
            self._maintenance()
        self._server.defer(self._reset)
        return {}

    def params(self, request):
        # One reassembly buffer: requests are decoded and answered one at a time.
        return {"buf_size": self._server.buf_size, "buf_count": 1}

    def info(self, request):
        wanted = request.get("format", "s")
        if not isinstance(wanted, str) or not wanted:
            raise SMPError(smp.ERR_EINVAL, OS_ERR_INVALID_FORMAT, "format must be letters of 'snrvbmpioa'")
        if "a" in wanted:
            wanted = _INFO_FIELDS
        for letter in wanted:
            if letter not in _INFO_FIELDS and letter != "a":
                raise SMPError(smp.ERR_EINVAL, OS_ERR_INVALID_FORMAT, "unknown format letter %r" % letter)
        values = {
            "s": "MicroPython",
            "n": self._device_id,
            "r": "%d.%d.%d" % sys.implementation.version[:3],
            "v": "edgemeter-" + VERSION,
            "b": sys.version.rsplit(" on ", 1)[-1],
            "m": getattr(sys.implementation, "_machine", sys.platform),
            "p": self._board.mcu,
            "i": self._board.name,
            "o": "edgemeter",
        }
        return {"output": " ".join(values[letter] for letter in _INFO_FIELDS if letter in wanted)}

