"""Console lines for faults that may repeat: at most one a minute.

A fault that recurs at every step (a bug with one input, a full heap) would
otherwise fill the console, and on a board the UART REPL, many times a second.
`RateLimited.say` prints the first line, then stays quiet for `every_ms` of the
monotonic clock, and the next line it prints says how many it held back.
"""

EVERY_MS = 60000


class RateLimited:
    def __init__(self, every_ms=EVERY_MS):
        self.every_ms = every_ms
        self.held_back = 0
        self._said_ms = None

    def say(self, now_ms, text):
        """Print `text` unless a line went out less than `every_ms` before `now_ms`."""
        if self._said_ms is not None and now_ms - self._said_ms < self.every_ms:
            self.held_back += 1
            return False
        if self.held_back:
            text += " (and %d more like it)" % self.held_back
        print(text)
        self._said_ms = now_ms
        self.held_back = 0
        return True
