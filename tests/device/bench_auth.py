"""Bench of authentication on the VM: micropython bench_auth.py

Prints one JSON line: request proofs checked per second (the device's work for
each state-changing request), record MACs per second, and the heap the guard and
its crypto add once imported (beyond what the firmware loads anyway).
"""

import gc
import json
import time

from firmware.smp import server  # noqa: F401  what the firmware has loaded anyway
from firmware.storage import state_files  # noqa: F401
from protocol import cbor, metering, records, smp  # noqa: F401

gc.collect()
_before = gc.mem_alloc()
from firmware.smp import auth_guard  # noqa: E402  (after measuring the heap without it)
from protocol import auth  # noqa: E402

gc.collect()
HEAP_BYTES = gc.mem_alloc() - _before
KEY = bytes(range(32))
ROUNDS = 500


def _rate(fn):
    start = time.ticks_us()
    for _ in range(ROUNDS):
        fn()
    return ROUNDS / (time.ticks_diff(time.ticks_us(), start) / 1e6)


def main():
    nonce = bytes(16)
    request = {"quota": 104857600, "cycle_day": 1, "tz": 480, "at_zero": "cut"}
    body = b"\xa4\x00\x02\x01\x18\x2a\x02\x1a\x6a\x1c\x4e\x00\x08\x19\x03\xe8"
    print(json.dumps({
        "proofs_per_s": _rate(lambda: auth.request_proof(KEY, nonce, 1, 64, 3, 2, request)),
        "macs_per_s": _rate(lambda: auth.record_mac(KEY, auth.GENESIS, body)),
        "heap_bytes": HEAP_BYTES,
        "guard": auth_guard.FREE_FAILURES,
    }))


main()
