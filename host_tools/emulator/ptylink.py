"""A serial cable between two pseudo-terminals, optionally slow and noisy.

The firmware opens one pty's slave end as its UART; a technician's tool opens the
other's. A relay thread copies bytes between the two masters. Going through a
relay rather than handing out one pty pair means:

- the host side's path stays the same across firmware power cuts and restarts;
- neither side ever sees a hang-up when the other closes (the relay keeps each
  slave open itself, in raw mode, so no echo or line editing touches the bytes);
- the link can be paced like a real UART (`pace_bps` bytes per second each way)
  and can damage what it carries (`faults`, e.g. tests/integration/line_faults.py).

`PtyLink(device_path=P)` relays to an existing serial path P instead of making
the device-side pty: a cable spliced into another cable, for fault injection
between a tool and the emulator.

Flow control is that of a USB-serial link: bytes for the device wait (the
host's writes block) while the device is busy or rebooting; bytes for the host are
dropped once `max_backlog` of them wait unread — a device must never stall
because no technician is listening. `dropped` counts them.
"""

import os
import pty
import select
import threading
import time
import tty


class _End:
    """One side of the cable: the fd the relay uses and the path the other party opens."""

    def __init__(self, existing_path=None):
        self._own = []
        if existing_path is None:
            self.fd, slave = pty.openpty()
            tty.setraw(slave)
            self.path = os.ttyname(slave)
            self._own = [self.fd, slave]
        else:
            self.fd = os.open(existing_path, os.O_RDWR | os.O_NOCTTY)
            self.path = None
            self._own = [self.fd]
        tty.setraw(self.fd)
        os.set_blocking(self.fd, False)
        self.backlog = bytearray()  # bytes waiting to be written to this end
        self.budget = 0.0  # bytes the pacing allows now

    def close(self):
        for fd in self._own:
            try:
                os.close(fd)
            except OSError:
                pass


class PtyLink:
    def __init__(self, max_backlog=65536, pace_bps=None, faults=None, device_path=None):
        self.device = _End(device_path)
        self.host = _End()
        self.max_backlog = max_backlog
        self.pace_bps = pace_bps
        self.faults = faults
        self.dropped = 0
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._relay, name="ptylink", daemon=True)
        self._thread.start()

    @property
    def device_path(self):
        return self.device.path

    @property
    def host_path(self):
        return self.host.path

    def _queue(self, end, data):
        if self.faults is not None:
            data = self.faults.apply(data)
        room = max(self.max_backlog - len(end.backlog), 0)
        if end is self.host and len(data) > room:
            self.dropped += len(data) - room
            data = data[:room]
        end.backlog += data

    def _flush(self, end):
        if not end.backlog:
            return
        size = len(end.backlog)
        if self.pace_bps is not None:
            size = min(size, int(end.budget))
            if size <= 0:
                return
        try:
            written = os.write(end.fd, end.backlog[:size])
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            written = len(end.backlog)  # nobody can ever read it: a UART with no receiver
            self.dropped += written
        end.budget -= written
        del end.backlog[:written]

    def _refill(self, elapsed):
        for end in (self.device, self.host):
            # At most a few milliseconds of credit: a UART cannot catch up in bursts.
            end.budget = min(end.budget + elapsed * self.pace_bps, self.pace_bps * 0.005 + 64)

    def _relay(self):
        pairs = ((self.device, self.host), (self.host, self.device))
        last = time.monotonic()
        while True:
            readers = [self._stop_r, self.device.fd]
            if len(self.device.backlog) < self.max_backlog:
                readers.append(self.host.fd)  # else: back-pressure on the host
            waiting = [end for end in (self.device, self.host) if end.backlog]
            writers = [end.fd for end in waiting]
            timeout = 1.0
            if self.pace_bps is not None and waiting:
                writers = [end.fd for end in waiting if end.budget >= 1]
                timeout = 0.001
            readable, writable, _ = select.select(readers, writers, [], timeout)
            if self._stop_r in readable:
                return
            if self.pace_bps is not None:
                now = time.monotonic()
                self._refill(now - last)
                last = now
            for source, sink in pairs:
                if source.fd in readable:
                    try:
                        data = os.read(source.fd, 4096)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        continue  # EIO: the other party closed; our own slave fd keeps it usable
                    self._queue(sink, data)
            for end in (self.device, self.host):
                self._flush(end)

    def close(self):
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=5)
        self.device.close()
        self.host.close()
        os.close(self._stop_r)
        os.close(self._stop_w)
