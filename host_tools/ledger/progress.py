"""A one-line progress bar on stderr, shown only on a terminal (never in logs or pipes)."""

import sys
import time


class Progress:
    def __init__(self, label, total, stream=None):
        self.label = label
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self._shown = 0.0

    def update(self, done):
        now = time.monotonic()
        if not self.enabled or (now - self._shown < 0.1 and done < self.total):
            return
        self._shown = now
        share = min(done / self.total, 1.0)
        rate = done / max(now - self.started, 1e-6)
        bar = "#" * int(share * 30)
        self.stream.write("\r%s [%-30s] %3d%% %d/%d %.0f/s" % (self.label, bar, share * 100, done, self.total, rate))
        self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
