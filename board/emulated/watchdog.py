"""The emulated board's watchdog: enforced from the outside, as a chip's is.

Each feed rewrites a small file (wiring.json "watchdog") with the timeout. The
emulator (host_tools/emulator/board_runner.py) watches when it was last
written: not fed for the timeout, in real time, the firmware process is killed
and booted again with reset cause "watchdog", like a chip reset by its
watchdog (the modem keeps its power). A hang, an endless loop, or a SIGSTOP of
the process all starve it. Real time: the emulator's speed does not change it.
"""


class FileWatchdog:
    def __init__(self, path, timeout_ms):
        self._path = path
        self._text = "%d\n" % timeout_ms
        self.feed()  # started: from now on it must be fed

    def feed(self):
        with open(self._path, "w") as f:
            f.write(self._text)
