"""Data metering from the modem's cumulative byte counters.

The modem counts bytes sent and received since it powered up (Quectel
AT+QGDCNT?). The meter turns successive readings into exact increments:

- normally the increment is reading - previous reading;
- when the driver says the modem restarted (`restart()`), or a reading is below
  the previous one (the modem rebooted unseen, its data context was
  re-activated, or the counter was cleared), the counter restarted: the whole
  new reading is new traffic, even if it has grown past the old one. What flowed between the last reading and
  the restart was never visible to us; poll more often to shrink that;
- after our own boot, a checkpoint says where the counters stood when it was
  written. If the modem kept its power (a soft reset or watchdog of the MCU),
  the counters went on from there and nothing is lost or counted twice; if the
  modem lost power with the board, its counters started again from 0.

Totals are checkpointed (by the caller, to flash) when `checkpoint_due()`: the
bytes counted but not saved, plus those the caller expects the modem to count
before its next reading (lost with the modem's counters in a power cut), stay
within `budget_bytes`, and nothing waits longer than `budget_ms`. Ages are on
the board's monotonic clock (`Clock.monotonic_ms`), which a clock correction
never moves; the checkpoint also keeps the wall-clock time it was taken at
(`wall`): the earliest the RTC can truly be at the next boot.
"""

BUDGET_BYTES = 65536
BUDGET_MS = 600000


def packed(state, recorded):
    """A checkpoint as it is kept on flash, with the meter's (up, down) the last USAGE
    record went to: a list, about 50 bytes of CBOR (it is written every 64 KB of
    traffic, so its size is the journal's wear)."""
    return [state["up"], state["down"], state["sent"], state["received"], state["wall"], recorded[0], recorded[1]]


def unpacked(saved):
    """The checkpoint `packed` kept ({"up", "down", "sent", "received", "wall", "rec"});
    the old layout's file (a map without "rec") as it is; None if there is none."""
    if isinstance(saved, list) and len(saved) == 7:
        return {"up": saved[0], "down": saved[1], "sent": saved[2], "received": saved[3], "wall": saved[4],
                "rec": saved[5:7]}
    return saved if isinstance(saved, dict) else None


class Meter:
    def __init__(self, budget_bytes=BUDGET_BYTES, budget_ms=BUDGET_MS):
        self.budget_bytes = budget_bytes
        self.budget_ms = budget_ms
        self.up = 0  # bytes sent, running total
        self.down = 0  # bytes received, running total
        self.restarts = 0  # counter restarts seen
        self._sent = 0
        self._received = 0
        self._saved_total = 0
        self._saved_ms = None

    @property
    def total(self):
        return self.up + self.down

    def resume(self, checkpoint, modem_kept_power):
        """Start from a checkpoint (or None on a new log)."""
        if checkpoint:
            self.up = checkpoint["up"]
            self.down = checkpoint["down"]
            if modem_kept_power:
                self._sent = checkpoint["sent"]
                self._received = checkpoint["received"]
        self._saved_total = self.total

    def observe(self, sent, received):
        """Account a counter reading; returns (up, down) bytes new since the last one."""
        if sent < self._sent or received < self._received:
            self.restarts += 1
            up, down = sent, received
        else:
            up, down = sent - self._sent, received - self._received
        self._sent, self._received = sent, received
        self.up += up
        self.down += down
        return up, down

    def restart(self):
        """The modem restarted (we know it did): its next reading counts from 0."""
        self._sent = self._received = 0

    def checkpoint_due(self, monotonic_ms, coming=0):
        """Whether to save now: the unsaved total, plus `coming` bytes expected
        before the next chance to save, reaches the byte budget; or it is older
        than the time budget."""
        if self._saved_ms is None:
            self._saved_ms = monotonic_ms
        unsaved = self.total - self._saved_total
        return unsaved + coming >= self.budget_bytes or (unsaved > 0 and monotonic_ms - self._saved_ms >= self.budget_ms)

    def checkpoint(self, monotonic_ms, wall_ms):
        """The state to persist; call `saved` once it is on flash."""
        return {"up": self.up, "down": self.down, "sent": self._sent, "received": self._received,
                "ms": monotonic_ms, "wall": wall_ms}

    def saved(self, state):
        self._saved_total = state["up"] + state["down"]
        self._saved_ms = state["ms"]
