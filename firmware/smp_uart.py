"""SMP on a UART: the serial ("console") encoding around an SMPServer.

`protocol.smp_serial` reassembles request frames and skips console text sharing
the line; bad CRC, bad base64, oversize or truncated frames are dropped there.
Responses go out in the same encoding; actions a handler deferred (a reset)
run only once the response has left.
"""

import asyncio

from protocol import smp_serial

_READ_CHUNK = 256


async def serve(server, stream):
    """Answer requests on `stream` forever."""
    decoder = smp_serial.SerialDecoder(max_message=server.buf_size - 4)
    reader = asyncio.StreamReader(stream)
    writer = asyncio.StreamWriter(stream, {})
    while True:
        data = await reader.read(_READ_CHUNK)
        if not data:
            await asyncio.sleep_ms(10)  # woken with nothing to read (VMIN=0): poll again
            continue
        for message in decoder.feed(data):
            response = server.handle(message)
            if response is None:
                continue
            writer.write(smp_serial.encode(response))
            await writer.drain()
            server.run_deferred()
