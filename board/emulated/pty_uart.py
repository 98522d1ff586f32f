"""A UART on the unix port: the slave end of a pseudo-terminal in raw mode.

The returned file object is what `machine.UART` is on hardware: a byte stream
that asyncio's StreamReader/StreamWriter can poll. Besides `setraw`, VMIN and
VTIME must be 0 (cc indices 6 and 5; the port's termios has no names for them):
otherwise a read(n) blocks the whole VM until n bytes have arrived and asyncio
never gets control back.
"""

import termios

_VTIME = 5
_VMIN = 6


def open_uart(path):
    stream = open(path, "r+b")
    fd = stream.fileno()
    termios.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[6][_VMIN] = 0
    attrs[6][_VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    return stream
