"""SMP on a UART, in either serial framing the host chooses.

- The console encoding (`protocol.smp_serial`): base64 lines that may share the
  line with console text; bad CRC, bad base64, oversize or truncated frames are
  dropped there. What smpclient's SMPSerialTransport speaks.
- COBS frames (`protocol.smp_cobs`): a third less overhead, what smpclient's
  SMPSerialRawTransport speaks with Cobs() framing.

Both decoders see every byte (a console line never contains 0x00, the COBS
delimiter); each request is answered in the framing it came in. Actions a
handler deferred (a reset) run only once the response has left.
"""

import asyncio
import gc

from protocol import smp_cobs, smp_serial

_READ_CHUNK = 256


class SerialLink:
    """The host UART's two decoders (their counters are the SMP statistics' "serial"
    and "cobs" groups) and the loop that answers requests on it."""

    def __init__(self, server, stream):
        self.server = server
        self.stream = stream
        self.console = smp_serial.SerialDecoder(max_message=server.buf_size - 4)
        self.cobs = smp_cobs.CobsDecoder(max_message=server.buf_size - 4)
        self.progress = None  # firmware/supervisor.py Progress, if supervised

    async def serve(self):
        """Answer requests on the stream forever."""
        server, console, cobs = self.server, self.console, self.cobs
        reader = asyncio.StreamReader(self.stream)
        writer = asyncio.StreamWriter(self.stream, {})
        progress = self.progress
        while True:
            if progress is not None:
                progress.waiting()  # for the next request: idle, however long
            data = await reader.read(_READ_CHUNK)
            if progress is not None:
                progress.beat()
            if not data:
                await asyncio.sleep_ms(10)  # woken with nothing to read (VMIN=0): poll again
                continue
            requests = [(message, smp_serial.encode_lines) for message in console.feed(data)]
            if requests:
                # Up to the last line end these bytes were console lines, not COBS.
                cobs.reset()
                data = data[data.rfind(b"\n") + 1 :]
            requests += [(message, smp_cobs.encode_blocks) for message in cobs.feed(data)]
            for message, frame in requests:
                try:
                    response = server.handle(message)
                    if response is None:
                        continue
                    for piece in frame(response):
                        writer.write(piece)
                        await writer.drain()
                    del response
                    server.run_deferred()
                except Exception as exc:  # never let one request take the link down
                    print("smp: request dropped: %r" % (exc,))
                    gc.collect()
