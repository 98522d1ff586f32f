"""Pull a device's records into the ledger: read, store durably, only then acknowledge.

The device keeps every record until it is acknowledged, and reads have no side
effects, so the pull is safe to interrupt anywhere: an unplugged cable, a
killed process or a rebooting device just means the next pull starts again
from what the ledger already holds. Every frame's CRC-32 is checked by the
ledger before anything is stored (end to end: the bytes the device wrote).
"""

import time

from host_tools.device import Device, DeviceError
from host_tools.ledger import Ledger
from host_tools.metering_requests import Ack, LogStatus, RecordsRead
from host_tools.progress import Progress
from protocol import records

# Acknowledge at least every this many records during a long pull, so the
# device can free flash before the end.
ACK_EVERY = 2000
RETRIES = 8


def split_frames(data):
    """The frames of a READ response's `recs`; RecordError if they don't parse."""
    frames = []
    offset = 0
    while offset < len(data):
        _body, end = records.unframe(data, offset)
        frames.append(bytes(data[offset:end]))
        offset = end
    return frames


def _seq(frame):
    body, _end = records.unframe(frame)
    return records.decode(body)[records.K_SEQ]


class PullResult:
    def __init__(self, device, epoch):
        self.device = device
        self.epoch = epoch
        self.pulled = 0
        self.new = 0
        self.duplicates = 0
        self.head_seq = 0
        self.acked = 0
        self.seconds = 0.0
        self.retries = 0

    def as_json(self):
        return {
            "device": self.device,
            "epoch": self.epoch,
            "pulled": self.pulled,
            "new": self.new,
            "duplicates": self.duplicates,
            "head_seq": self.head_seq,
        }


async def pull(port, ledger_path, device_factory=Device):
    started = time.monotonic()
    async with device_factory(port) as device:
        status = await device.request(LogStatus(), retries=RETRIES)
        result = PullResult(status.dev, status.ep)
        with Ledger(ledger_path) as ledger:
            # What the ledger lacks, from what the device still stores.
            start = max(ledger.head_seq(status.dev, status.ep) + 1, status.first)
            head = status.head
            progress = Progress("pulling %s" % status.dev, head - start + 1)
            unacked = 0
            last = start - 1
            while last < head:
                response = await device.request(RecordsRead(start=last + 1), retries=RETRIES)
                if response.ep != status.ep:
                    raise DeviceError("the device's log changed epoch during the pull (reformatted?); pull again")
                frames = split_frames(response.recs)
                head = response.head
                if not frames:
                    break
                first_seq, last_seq = _seq(frames[0]), _seq(frames[-1])
                if first_seq != last + 1 or last_seq - first_seq + 1 != len(frames):
                    raise DeviceError("the device sent records %d..%d, expected from %d" % (first_seq, last_seq, last + 1))
                new, duplicates = ledger.add(status.dev, status.ep, frames)
                result.pulled += len(frames)
                result.new += new
                result.duplicates += duplicates
                unacked += len(frames)
                last = last_seq
                progress.update(result.pulled)
                if unacked >= ACK_EVERY:
                    await device.request(Ack(ep=status.ep, seq=last), retries=RETRIES)
                    unacked = 0
            if last > status.ack:
                await device.request(Ack(ep=status.ep, seq=last), retries=RETRIES)
            result.acked = last
            result.head_seq = max(head, last)
            progress.close()
        result.retries = device.retried
    result.seconds = time.monotonic() - started
    return result
