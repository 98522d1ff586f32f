"""Black box: power cuts at ≥ 50 random moments while records are written and pulled.

A killer thread SIGKILLs the firmware at random moments; meanwhile the test
keeps the device writing records (date-time writes) and pulling them into a
ledger, both failing whenever the board is down. At the end one clean pull: the
ledger holds a gap-free, duplicate-free sequence per epoch that reaches the
device's head.
"""

import asyncio
import os
import random
import signal
import threading
import time

import pytest
from records_workload import produce

from host_tools.device.requests import LogStatus
from host_tools.device.session import Device, DeviceError
from host_tools.emulator.process import EmulatorProcess
from host_tools.ledger.pull import pull
from host_tools.ledger.store import open_ledger

POWER_CUTS = 50


def _quick_device(port):
    return Device(port, timeout_s=0.5)


async def _status(port):
    async with Device(port) as device:
        return await device.request(LogStatus())


@pytest.fixture
def fast_board(tmp_path):
    board = EmulatorProcess(tmp_path / "board", "--power-on-delay", "0.05")
    board.wait_ready()
    yield board
    board.stop()


def test_power_cuts_while_writing_and_pulling(fast_board, tmp_path):
    rng = random.Random(50)
    ledger_path = str(tmp_path / "ledger.sqlite")
    cuts = []
    done = threading.Event()

    def killer():
        while len(cuts) < POWER_CUTS and not done.is_set():
            time.sleep(rng.uniform(0.05, 0.5))
            try:
                pid = fast_board.pid(timeout=5)
                os.kill(pid, signal.SIGKILL)
                cuts.append(pid)
            except (TimeoutError, ProcessLookupError):
                pass

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    pulls = failures = 0
    base = 0
    while thread.is_alive():
        try:
            base += produce(fast_board.port, rng.randrange(5, 60), base_second=base)
        except Exception:  # the serial link breaks while the board is down
            failures += 1
        try:
            asyncio.run(pull(fast_board.port, ledger_path, _quick_device))
            pulls += 1
        except DeviceError:
            failures += 1
    done.set()
    thread.join()
    assert len(set(cuts)) >= POWER_CUTS

    fast_board.wait_ready()
    result = asyncio.run(pull(fast_board.port, ledger_path))
    status = asyncio.run(_status(fast_board.port))
    assert result.head_seq == status.head and status.ack == status.head
    with open_ledger(ledger_path) as ledger:
        logs = ledger.devices()
        assert [(d, e) for d, e, *_ in logs] == [(status.dev, status.ep)]  # never reformatted
        _dev, _ep, count, first, head = logs[0]
        assert (count, first, head) == (status.head, 1, status.head)  # gap-free, no duplicates
        assert ledger.gaps(status.dev, status.ep) == []
        boots = sum(1 for r in ledger.records(status.dev, status.ep) if r["type"] == "boot")
    assert boots >= 2 and pulls > 0, (boots, pulls, failures)
