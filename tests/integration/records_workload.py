"""Make an emulated board write records fast: pipelined SMP date-time writes.

Each accepted date-time write appends a `config_changed` record, so this is a
record producer that needs no modem. Uses a plain blocking pyserial client with
the reference framing (smp.packet) to keep up with the device.
"""

from smp import packet
from smpclient.requests.os_management import DateTimeWrite

from host_tools.device import open_port

BATCH = 20


def produce(port, count, base_second=0):
    """Send `count` date-time writes; return how many answers came back."""
    conn = open_port(port)
    conn.timeout = 2.0
    answered = 0
    try:
        sent = 0
        while sent < count:
            n = min(BATCH, count - sent)
            for i in range(n):
                second = base_second + sent + i
                stamp = "2026-12-%02dT%02d:%02d:%02d" % (1 + second // 86400 % 28, second // 3600 % 24, second // 60 % 60, second % 60)
                conn.write(b"".join(packet.encode(DateTimeWrite(datetime=stamp, sequence=(sent + i) % 256).BYTES)))
            sent += n
            for _ in range(n):
                if conn.read_until(b"\n").endswith(b"\n"):
                    answered += 1
    finally:
        conn.close()
    return answered
