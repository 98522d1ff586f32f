"""Bench rows for the SMP link: echo round trips over the pty, heap after boot, code size.

Round trips are measured twice: through smpclient (the reference peer; its serial
transport polls every 5 ms, which bounds it) and through a minimal blocking
pyserial client that uses the same framing, which shows what the device itself
sustains.
"""

import asyncio
import os
import tempfile
import time

from smp import packet as smppacket
from smpclient import SMPClient
from smpclient.requests.os_management import EchoWrite, MemoryPoolStatisticsRead
from smpclient.transport.serial import SMPSerialTransport

from bench.table import Row
from host_tools.build import mpy_build
from host_tools.device.session import open_port
from host_tools.emulator.process import EmulatorProcess

DURATION_S = 3.0


async def _smpclient_echo_rate(port):
    async with SMPClient(SMPSerialTransport(), port, timeout_s=5.0) as client:
        pools = await client.request(MemoryPoolStatisticsRead())
        heap = pools.model_extra["heap"]
        count = 0
        start = time.perf_counter()
        while time.perf_counter() - start < DURATION_S:
            await client.request(EchoWrite(d="ping %d" % count))
            count += 1
        rate = count / (time.perf_counter() - start)
    used = (heap["nblks"] - heap["nfree"]) * heap["blksize"]
    return rate, used, heap["nblks"] * heap["blksize"]


def _raw_echo_rate(port):
    conn = open_port(port)
    conn.timeout = 2.0
    request = EchoWrite(d="ping").BYTES
    frame = b"".join(smppacket.encode(request))
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < DURATION_S:
        conn.write(frame)
        line = conn.read_until(b"\n")
        if not line.endswith(b"\n"):
            raise RuntimeError("device stopped answering during the bench")
        count += 1
    rate = count / (time.perf_counter() - start)
    conn.close()
    return rate


def rows():
    with tempfile.TemporaryDirectory() as state:
        board = EmulatorProcess(os.path.join(state, "board"))
        try:
            board.wait_ready()
            smpclient_rate, heap_used, heap_total = asyncio.run(_smpclient_echo_rate(board.port))
            raw_rate = _raw_echo_rate(board.port)
        finally:
            board.stop()
    code = sum(
        os.path.getsize(os.path.join(folder, name))
        for folder, _dirs, files in os.walk(mpy_build.compile_tree())
        for name in files
        if name.endswith(".mpy")
    )
    return [
        Row("SMP echo round trips/s over pty (smpclient)", smpclient_rate, "1/s", note="client polls every 5 ms"),
        Row("SMP echo round trips/s over pty (blocking client)", raw_rate, "1/s"),
        Row("firmware heap in use after boot", heap_used, "bytes",
            note="of %d; includes .mpy bytecode (frozen on boards)" % heap_total),
        Row("device code compiled (.mpy, all packages)", code, "bytes"),
    ]
