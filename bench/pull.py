"""Bench rows for pulling records: goodput on a link paced like a 115200-baud UART,
and unpaced records/s.

Records are produced on an unpaced board (pipelined date-time writes, one
`config_changed` record each), then the same board is powered up again with its
host link paced at 11,520 bytes/s (115200 8N1) and `pull` runs through smpclient
exactly as the CLI does: once in the standard base64 console encoding, once in
COBS frames (smpclient's raw serial transport). Goodput = bytes of record frames stored in the ledger
per second of pull, over the line rate.
"""

import asyncio
import os
import sys
import tempfile

from bench.table import Row
from host_tools.device.session import Device
from host_tools.emulator.process import EmulatorProcess
from host_tools.ledger.pull import pull
from host_tools.ledger.store import open_ledger

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration"))
from records_workload import produce  # noqa: E402

RECORDS = 3000
LINE_RATE = 115200 / 10  # bytes/s of an 8N1 UART


def _pull(board, ledger_path, framing="console"):
    result = asyncio.run(pull(board.port, ledger_path, lambda port: Device(port, framing=framing)))
    with open_ledger(ledger_path) as ledger:
        frame_bytes = sum(len(frame) for frame in ledger.frames(result.device, result.epoch))
    return result, frame_bytes


def rows():
    with tempfile.TemporaryDirectory() as folder:
        state = os.path.join(folder, "board")
        board = EmulatorProcess(state)
        try:
            board.wait_ready()
            produce(board.port, RECORDS)
            unpaced, _ = _pull(board, os.path.join(folder, "unpaced.sqlite"))
        finally:
            board.stop()
        paced_rows = []
        for framing, goal, label in (("console", 0.69, "SMP serial encoding"), ("cobs", 0.90, "COBS raw framing")):
            board = EmulatorProcess(state)
            try:
                board.wait_ready()
                produce(board.port, RECORDS, base_second=len(paced_rows) * RECORDS)
            finally:
                board.stop()
            board = EmulatorProcess(state, "--paced")
            try:
                board.wait_ready()
                paced, frame_bytes = _pull(board, os.path.join(folder, framing + ".sqlite"), framing)
            finally:
                board.stop()
            paced_rows.append(
                Row(
                    "pull goodput / line rate, 115200-baud pacing, " + label,
                    frame_bytes / paced.seconds / LINE_RATE,
                    "ratio",
                    goal=goal,
                    note="%d records, %d frame bytes in %.1f s" % (paced.pulled, frame_bytes, paced.seconds),
                )
            )
    return paced_rows + [
        Row("pull records/s, unpaced pty", unpaced.pulled / unpaced.seconds, "1/s", note="%d records" % unpaced.pulled),
    ]
