"""Safe mode: a firmware that crashes early at every boot still answers the technician.

A crash is an uncaught exception (a MemoryError too) or a watchdog reset. One in
the first EARLY_S seconds (real time) of a boot is early. CRASHES early crashes
in a row put the next boots in safe mode: metering and SMS do not start (what
crashed is usually among them); SMP serves the OS group, the statistics, the log
(read and ack) and the key; a SAFE_MODE record and `edgemeter info` say so and
name the last crash (its exception, and the file and line it came from).

It is left by a clean run of CLEAN_RUN_S seconds in safe mode (the board then
resets to try again), or by a signed SMP reset (`edgemeter reset`): both write a
SAFE_MODE record with entered false, and the count starts again. A power cycle
also starts it again: whoever cut the power was there.

The count lives in one small state file (STATE_DIR/crashes), written twice a
boot (at its start, and once the boot is past EARLY_S), and at a crash:
{"early": n, "booting": bool, "crashed": bool, "crash": text, "where": "file:line"}.
"""

import sys

from firmware.storage import state_files
from protocol import records

EARLY_S = 60  # a crash within this long after boot is an early one
CRASHES = 3  # early crashes in a row that bring safe mode
CLEAN_RUN_S = 600  # a run this long in safe mode without a crash leaves it


def describe(error):
    """(exception type and message, "file:line" it was raised at) of an exception."""
    text = "%s: %s" % (type(error).__name__, error)
    where = ""
    try:
        import io

        buffer = io.StringIO()
        sys.print_exception(error, buffer)  # MicroPython
        lines = buffer.getvalue().split("\n")
    except AttributeError:  # CPython, where the device tests also run
        import traceback

        lines = "".join(traceback.format_exception(type(error), error, error.__traceback__)).split("\n")
    for line in lines:
        line = line.strip()
        if line.startswith('File "'):
            name, _, rest = line[6:].partition('", line ')
            where = "%s:%s" % (name, rest.split(",")[0])
    return text[:120], where


class SafeMode:
    def __init__(self, path, record, clock):
        """`clock`: the board's real clock (monotonic_ms): the early window is real time."""
        self._path = path
        self._record = record
        self._clock = clock
        self.state = {}
        self.active = False
        self._settled = False  # past EARLY_S this boot

    def boot(self, reason):
        """At boot, once the log is open: count the last run's crash; whether this boot is in safe mode."""
        try:
            last = state_files.get(self._path) or {}
        except Exception:  # the crash count itself damaged: start again, never crash here
            last = {}
        crashed = last.get("booting") and (last.get("crashed") or reason == records.BOOT_WATCHDOG)
        early = last.get("early", 0) + 1 if crashed else 0
        if reason == records.BOOT_RESET_COMMAND:
            early = 0  # a signed reset: the technician asked for a fresh start
        self.state = {"early": early, "booting": True, "crashed": False,
                      "crash": last.get("crash", ""), "where": last.get("where", "")}
        state_files.put(self._path, self.state)
        self.active = early >= CRASHES
        if early == CRASHES:  # the boot that enters it
            self._write(True)
        return self.active

    def _write(self, entered):
        self._record(records.SAFE_MODE, {records.SAFE_MODE__ENTERED: entered,
                                         records.SAFE_MODE__CRASHES: self.state["early"],
                                         records.SAFE_MODE__CRASH: self.state["crash"],
                                         records.SAFE_MODE__WHERE: self.state["where"]})

    def crashed(self, error):
        """An uncaught exception ends this run: keep what it was, for the next boot and the technician."""
        self.state["crash"], self.state["where"] = describe(error)
        self.state["crashed"] = True
        state_files.put(self._path, self.state)

    def step(self):
        """Now and then (the supervisor's ticks): past EARLY_S the boot has settled; in safe
        mode, past CLEAN_RUN_S it is left. True when the board should reset to leave it."""
        seconds = self._clock.monotonic_ms() // 1000
        if not self._settled and seconds >= EARLY_S:
            self._settled = True
            self.state["booting"] = False
            if not self.active:
                self.state["early"] = 0
            state_files.put(self._path, self.state)
        return self.active and seconds >= CLEAN_RUN_S

    def leave(self):
        """Before the reset that leaves safe mode: the count starts again."""
        if self.active:
            self.state["early"] = 0
            self.state["booting"] = False
            state_files.put(self._path, self.state)
            self._write(False)
            self.active = False

    def summary(self):
        """For the log status: None outside safe mode."""
        if not self.active:
            return None
        return {"crashes": self.state["early"], "crash": self.state["crash"], "where": self.state["where"]}
