"""Make an emulated board write records fast: signed SMP date-time writes.

Each accepted date-time write appends a `config_changed` record, so this is a
record producer that needs no modem. A date-time write changes the device, so
each needs a proof over a fresh challenge (firmware/smp/auth_guard.py): challenge,
then write, one after the other. Uses a plain blocking pyserial client with the
reference framing (smp.packet) to keep up with the device.
"""

from smp import packet
from smpclient.requests.os_management import DateTimeWrite

from host_tools.device.keys import KeyFile
from host_tools.device.requests import AuthRead, AuthReadResponse
from host_tools.device.session import open_port, signed


def _exchange(conn, message):
    """Send one request; the response's bytes, or None if none came."""
    conn.write(b"".join(packet.encode(message.BYTES)))
    decoder = packet.decode()
    next(decoder)
    while True:
        line = conn.read_until(b"\n")
        if not line.endswith(b"\n"):
            return None
        try:
            decoder.send(line)
        except StopIteration as done:
            return done.value


def produce(port, count, base_second=0):
    """Send `count` signed date-time writes; return how many were accepted."""
    conn = open_port(port)
    conn.timeout = 2.0
    keys = KeyFile()
    accepted = 0
    try:
        for i in range(count):
            second = base_second + i
            stamp = "2026-12-%02dT%02d:%02d:%02d" % (1 + second // 86400 % 28, second // 3600 % 24, second // 60 % 60, second % 60)
            challenge = AuthReadResponse.loads(_exchange(conn, AuthRead(sequence=(2 * i) % 256)))
            write = signed(DateTimeWrite(datetime=stamp, sequence=(2 * i + 1) % 256), keys.get(challenge.dev), challenge.nonce)
            answer = _exchange(conn, write)
            accepted += answer is not None and answer[8:] == b"\xa0"  # success: an empty map
    finally:
        conn.close()
    return accepted
