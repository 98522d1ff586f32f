"""Pull a device's records into the ledger: read, store durably, only then acknowledge.

The device keeps every record until it is acknowledged, and reads have no side
effects, so the pull is safe to interrupt anywhere: an unplugged cable, a
killed process or a rebooting device just means the next pull starts again
from what the ledger already holds. Every frame's CRC-32 is checked by the
ledger before anything is stored (end to end: the bytes the device wrote).
"""

import time

from host_tools.device.requests import Ack, LogStatus, RecordsRead
from host_tools.device.session import Device, DeviceError
from host_tools.ledger.progress import Progress
from host_tools.ledger.store import LedgerDamaged, check_target, open_ledger
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
        self.linked_at = None  # the device's attested head this ledger's chain starts after


    def as_json(self):
        return {
            "device": self.device,
            "epoch": self.epoch,
            "pulled": self.pulled,
            "new": self.new,
            "duplicates": self.duplicates,
            "head_seq": self.head_seq,
            "linked_at": self.linked_at,
        }


class PullLedgerDamaged(LedgerDamaged):
    """The ledger is damaged; the message says what the device still holds."""

    def __init__(self, damaged, acked):
        LedgerDamaged.__init__(self, damaged.path, damaged.detail)
        self.acked = acked
        self.args = ("%s: the device still holds every record after seq %d; pull into a new ledger" % (damaged, acked),)

    def __str__(self):
        return self.args[0]


async def pull(port, ledger_path, device_factory=Device):
    """Pull into the ledger at `ledger_path` (a file or a PostgreSQL URL); a PullResult."""
    check_target(ledger_path)  # a ledger that cannot work is refused before the device is asked
    started = time.monotonic()
    async with device_factory(port) as device:
        status = await device.request(LogStatus(), retries=RETRIES)
        result = PullResult(status.dev, status.ep)
        acked = status.ack
        try:
            with open_ledger(ledger_path, check=True) as ledger:
                acked = await _pull_into(ledger, device, status, result)
        except PullLedgerDamaged:
            raise
        except LedgerDamaged as damaged:
            raise PullLedgerDamaged(damaged, max(acked, result.acked)) from None
        result.retries = device.retried
    result.seconds = time.monotonic() - started
    return result


async def _pull_into(ledger, device, status, result):
    # What the ledger lacks, from what the device still stores.
    held = ledger.head_seq(status.dev, status.ep)
    start = max(held + 1, status.first)
    if start > held + 1 and status.link is not None and status.att is not None and status.ack >= start - 1:
        # The records before `first` are gone from the device: acknowledged to
        # another ledger. Start this ledger's chain after the device's attested
        # acknowledged head (the records first..ack are in that other ledger too).
        ledger.add_link(status.dev, status.ep, status.ack, status.link, status.att)
        start = status.ack + 1
        result.linked_at = status.ack
    head = status.head
    progress = Progress("pulling %s" % status.dev, head - start + 1)
    unacked = 0
    result.acked = status.ack
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
        # add() returns once the batch is committed and read back: only then ack.
        new, duplicates = ledger.add(status.dev, status.ep, frames)
        result.pulled += len(frames)
        result.new += new
        result.duplicates += duplicates
        unacked += len(frames)
        last = last_seq
        progress.update(result.pulled)
        if unacked >= ACK_EVERY:
            await device.request(Ack(ep=status.ep, seq=last), retries=RETRIES)
            result.acked = max(result.acked, last)
            unacked = 0
    if last > status.ack:
        await device.request(Ack(ep=status.ep, seq=last), retries=RETRIES)
    result.acked = max(result.acked, last)
    result.head_seq = max(head, last)
    ledger.add_pull(status.dev, status.ep, int(time.time()), result.head_seq, result.pulled)  # `fleet`'s last pull
    progress.close()
    return result.acked
