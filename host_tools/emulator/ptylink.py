"""A serial cable between two pseudo-terminals.

The firmware opens one pty's slave end as its UART; a technician's tool opens the
other's. A relay thread copies bytes between the two masters. Going through a
relay rather than handing out one pty pair means:

- the host side's path stays the same across firmware power cuts and restarts;
- neither side ever sees a hang-up when the other closes (the relay keeps each
  slave open itself, in raw mode, so no echo or line editing touches the bytes);
- later stages can pace the link like a real UART or inject faults here.

Flow control is that of a USB-serial link: bytes for the device wait (the
host's writes block) while the device is busy or rebooting; bytes for the host are
dropped once `max_backlog` of them wait unread — a device must never stall
because no technician is listening. `dropped` counts them.
"""

import os
import pty
import select
import threading
import tty


class _End:
    """One pty pair: the master the relay uses, the slave the other party opens."""

    def __init__(self):
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        tty.setraw(self.master)
        self.path = os.ttyname(self._slave)
        os.set_blocking(self.master, False)
        self.backlog = bytearray()  # bytes waiting to be written to this master

    def close(self):
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


class PtyLink:
    def __init__(self, max_backlog=65536):
        self.device = _End()
        self.host = _End()
        self.max_backlog = max_backlog
        self.dropped = 0
        self.to_device = 0
        self.to_host = 0
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
        room = self.max_backlog - len(end.backlog)
        if len(data) > room:
            self.dropped += len(data) - max(room, 0)
            data = data[: max(room, 0)]
        end.backlog += data

    def _flush(self, end):
        try:
            written = os.write(end.master, end.backlog)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            written = len(end.backlog)  # nobody can ever read it: a UART with no receiver
            self.dropped += written
        del end.backlog[:written]

    def _relay(self):
        pairs = ((self.device, self.host), (self.host, self.device))
        while True:
            readers = [self._stop_r, self.device.master]
            if len(self.device.backlog) < self.max_backlog:
                readers.append(self.host.master)  # else: back-pressure on the host
            writers = [end.master for end in (self.device, self.host) if end.backlog]
            readable, writable, _ = select.select(readers, writers, [], 1.0)
            if self._stop_r in readable:
                return
            for source, sink in pairs:
                if source.master in readable:
                    try:
                        data = os.read(source.master, 4096)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        continue  # EIO: the other party closed; our own slave fd keeps it usable
                    if source is self.device:
                        self.to_host += len(data)
                    else:
                        self.to_device += len(data)
                    self._queue(sink, data)
                    self._flush(sink)
            for end in (self.device, self.host):
                if end.master in writable:
                    self._flush(end)

    def close(self):
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=5)
        self.device.close()
        self.host.close()
        os.close(self._stop_r)
        os.close(self._stop_w)
