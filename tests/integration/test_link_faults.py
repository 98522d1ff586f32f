"""Pull through a bad cable: a fault-injecting relay between two ptys flips bits
(1e-4), drops and repeats bytes, lets console noise in, and is unplugged mid-pull.
The ledger still ends identical to the device's log."""

import asyncio
import threading

from line_faults import LineFaults
from records_workload import produce

from host_tools.device.requests import LogStatus, RecordsRead
from host_tools.device.session import Device, DeviceError
from host_tools.emulator.ptylink import PtyLink
from host_tools.ledger.pull import pull, split_frames
from host_tools.ledger.store import open_ledger


async def _device_log(port):
    """Every frame the device stores, read over a clean line without acknowledging."""
    frames = []
    async with Device(port) as device:
        status = await device.request(LogStatus())
        start = status.first
        while start <= status.head:
            got = split_frames((await device.request(RecordsRead(start=start))).recs)
            frames += got
            start += len(got)
    # The last batch may hold a record written since the status (the clock writes
    # cross an hour: its usage record): the reference is the log as of the status.
    return status, frames[: status.head - status.first + 1]


def _fast_device(port):
    return Device(port, timeout_s=1.0)


def test_pull_through_a_noisy_cable_that_is_unplugged(emulator, tmp_path):
    produce(emulator.port, 1500)
    status, reference = asyncio.run(_device_log(emulator.port))
    assert len(reference) == status.head >= 1501

    ledger_path = str(tmp_path / "ledger.sqlite")
    faults = LineFaults(seed=7, bit_flip=1e-4, drop=2e-5, duplicate=2e-5, noise_line=2e-5)

    # First attempt: the cable is pulled out once some records have arrived.
    cable = PtyLink(device_path=emulator.port, faults=faults, pace_bps=40000)
    unplug = threading.Timer(0.8, cable.close)
    unplug.start()
    try:
        asyncio.run(pull(cable.host_path, ledger_path, _fast_device))
        interrupted = False
    except DeviceError:
        interrupted = True
    unplug.join()
    with open_ledger(ledger_path) as ledger:
        partial = ledger.head_seq(status.dev, status.ep)
    assert interrupted and 0 < partial < status.head, (interrupted, partial)

    # Plugged in again (still noisy): the pull resumes and completes.
    for _attempt in range(5):
        cable = PtyLink(device_path=emulator.port, faults=faults)
        try:
            result = asyncio.run(pull(cable.host_path, ledger_path, _fast_device))
            break
        except DeviceError:
            continue
        finally:
            cable.close()
    else:
        raise AssertionError("pull never completed through the noisy cable")

    assert faults.flipped > 0 and faults.dropped + faults.duplicated + faults.noise_lines > 0
    # The device goes on writing during the pull: a status report of an SMS sent before
    # (reminder_delivered), or the auth_failed of a signed ACK the noise duplicated whole
    # (its challenge used up). Those come after the reference, and the ledger has them too.
    assert result.head_seq >= status.head
    with open_ledger(ledger_path) as ledger:
        stored = list(ledger.records(status.dev, status.ep))
        assert [r["seq"] for r in stored] == list(range(1, result.head_seq + 1))
        assert ledger.gaps(status.dev, status.ep) == []
        assert list(ledger.frames(status.dev, status.ep))[: status.head] == reference
