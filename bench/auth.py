"""Bench rows for authentication and record MACs (issue 8): what they cost the device.

Appends to the record log with and without MACs (tests/device/bench_store.py,
the record ring on the emulated board's file flash), the bytes a MAC adds to a record,
and, on the VM, request proofs and record MACs per second and the heap the guard
and its HMAC take (tests/device/bench_auth.py).
"""

import json
import os
import tempfile

from bench.store import BOARD_HEAP, DEVICE_TESTS, RECORDS
from bench.table import Row
from host_tools.build import micropython_vm


def _run(*args):
    done = micropython_vm.run([os.path.join(DEVICE_TESTS, args[0]), *args[1:]], heap=BOARD_HEAP, extra_paths=[DEVICE_TESTS])
    if done.returncode != 0:
        raise RuntimeError("%s failed:\n%s%s" % (args[0], done.stdout, done.stderr))
    return json.loads(done.stdout.strip().splitlines()[-1])


def rows():
    with tempfile.TemporaryDirectory() as folder:
        plain = _run("bench_store.py", os.path.join(folder, "a.img"), str(RECORDS))
        signed = _run("bench_store.py", os.path.join(folder, "b.img"), str(RECORDS), "signed")
    vm = _run("bench_auth.py")
    ratio = signed["appends_per_s"] / plain["appends_per_s"]
    return [
        Row("record appends/s with MACs / without", round(ratio, 2), "ratio", note="%.0f vs %.0f appends/s, %d records" % (
            signed["appends_per_s"], plain["appends_per_s"], RECORDS)),
        Row("bytes a MAC adds to a record frame", signed["frame_bytes"] - plain["frame_bytes"], "bytes",
            note="%.0f vs %.0f bytes a record" % (signed["frame_bytes"], plain["frame_bytes"])),
        Row("request proofs checked/s on the VM", int(vm["proofs_per_s"]), "1/s", note="HMAC-SHA256 over a 4-field plan write"),
        Row("record MACs/s on the VM", int(vm["macs_per_s"]), "1/s"),
        Row("heap taken by the guard and its HMAC", vm["heap_bytes"], "bytes", note="auth_guard.py + auth.py bytecode and state, beyond the SMP server and CBOR"),
    ]
