"""Bench rows for the heap a board has (issue 17): the frozen image, and the .mpy files for comparison.

A month of what a board meets, December 2026 at SPEED times real time: traffic
through a 300 MB plan to its 10/5/0 MB reminders and the cut at zero; the
subscriber's query texts (CXLL, CXYE) and their answers; a prepaid balance
with its expiry reminder and a top-up notice; carrier notices; two modem
resets; a day with the phone unreachable; a pull into a ledger and a memory
pool read (SMP OS group, mpstat) every simulated day; four power cuts.

A run completes when every pull after the first boot succeeded, the 0 MB
reminder and the query answers reached the phone, and the console shows no
MemoryError and no crash (a boot for the reason watchdog). Each row comes from
the device over SMP or from that verdict, never from the host's view of the heap:

- in use after boot: the first mpstat (the firmware collects first);
- in use, highest daily read: the most any daily mpstat found;
- the month's floor: the smallest heap (in STEP steps, searched down from the
  board's) in which the month completes: the true peak, fragmentation included.
Images on the emulated board are the 32-bit unix port (image_build.py), so the
.mpy rows boot that same executable with the .mpy files of build/mpy first on its
path: the same objects' sizes, the code loaded into RAM instead of run from flash.
"""

import json
import os
import random
import subprocess
import tempfile
import time

from bench.table import Row
from host_tools.build import board_build, image_build
from host_tools.build.micropython_vm import heap_bytes
from host_tools.emulator.process import EDGEMETER, EmulatorProcess

SPEED = 40000
DAYS = 30
CUTS = 4
STEP = 8 * 1024
GOAL = 96 * 1024
SUBSCRIBER = "+8613800138000"


def scenario():
    """The month: what the board meets (docs/scenario.md)."""
    return {
        "start": "2026-12-01T00:00:00+08:00",
        "subscriber": SUBSCRIBER,
        "plan": {"quota_mb": 300, "cycle_day": 1, "timezone": "+08:00", "at_zero": "cut"},
        "traffic": [{"from": "+0s", "mbps": 0.0015}],  # about 16 MB a day: zero on day 19
        "messages": [{"at": "+%dd" % day, "from": SUBSCRIBER, "text": text}
                     for day, text in ((2, "CXLL"), (9, "CXYE"), (16, "cxll"), (23, "CXLL"))]
                    + [{"at": "+%dd" % day, "text": "尊敬的客户，您好！本月流量使用情况请登录APP查询。中国移动"} for day in (4, 14, 24)],
        "account": {"balance_yuan": "30.00", "expires": "2026-12-12T00:00:00+08:00", "daily_fee_yuan": "0.50",
                    "topups": [{"at": "+11d", "yuan": "50.00"}]},
        "faults": [{"at": "+6.3d", "modem_reset": True}, {"at": "+17.8d", "modem_reset": True},
                   {"at": "+20d", "until": "+21d", "phone_off": True}],
    }


def _edgemeter_json(*argv):
    done = subprocess.run([EDGEMETER, *argv, "--json"], capture_output=True, text=True, timeout=120)
    return json.loads(done.stdout) if done.returncode == 0 else None


def _in_use(port):
    info = _edgemeter_json("info", "--port", port)
    return info and info["heap_bytes"] - info["heap_free_bytes"]


def month(heap, image, mpy=False, seed=1):
    """Run the month in `heap`; {"completed", "why", "after_boot", "highest"}."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "scenario.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(scenario(), f, ensure_ascii=False)
        state = os.path.join(folder, "board")
        options = ["--scenario", path, "--speed", str(SPEED), "--power-on-delay", "0.05", "--heap", str(heap),
                   "--image", image] + (["--load-mpy"] if mpy else [])
        try:
            board = EmulatorProcess(state, *options)
        except RuntimeError as exc:
            return {"completed": False, "why": "did not boot: %s" % str(exc).splitlines()[0][:100]}
        why = []
        readings = []
        real_day = 86400 / SPEED
        cut_days = sorted(rng.uniform(1, DAYS - 1) for _ in range(CUTS))
        begun = time.monotonic()
        ledger = os.path.join(folder, "ledger.sqlite")
        try:
            board.wait_ready(timeout=30)
            readings.append(_in_use(board.port))
            for day in range(1, DAYS + 1):
                while cut_days and cut_days[0] < day:
                    time.sleep(max(0.0, begun + cut_days.pop(0) * real_day - time.monotonic()))
                    board.power_cut(timeout=30)
                time.sleep(max(0.0, begun + day * real_day - time.monotonic()))
                if _edgemeter_json("pull", "--port", board.port, "--ledger", ledger) is None:
                    why.append("pull failed on day %d" % day)
                readings.append(_in_use(board.port))
        except (TimeoutError, OSError) as exc:
            why.append("board lost: %s" % str(exc).splitlines()[0][:120])
        finally:
            board.stop()
        with open(os.path.join(state, "console.log"), encoding="utf-8", errors="replace") as f:
            console = f.read()
        phone = _phone(state)
    if "MemoryError" in console:
        why.append("MemoryError: " + console[console.index("MemoryError"):].splitlines()[0][:100])
    if "booted (watchdog)" in console:
        why.append("crashed (a watchdog boot)")
    if not any("0MB" in text or "已用完" in text for text in phone):
        why.append("no 0 MB reminder on the phone")
    if sum("剩余" in text for text in phone) < 4:
        why.append("query answers missing")
    known = [r for r in readings if r]
    return {"completed": not why, "why": "; ".join(why), "after_boot": readings[0] if readings else None,
            "highest": max(known) if known else None}


def _phone(state):
    try:
        with open(os.path.join(state, "sms.jsonl"), encoding="utf-8") as f:
            return [m["text"] for m in map(json.loads, f) if m["to"] == SUBSCRIBER]
    except FileNotFoundError:
        return []


def floor(image, low, high, step, mpy=False):
    """(smallest heap, a multiple of `step` in (low, high], in which the month completes, the run
    at `high`), bisected: (None, run) if it does not complete even at `high`. Near its floor a
    run may pass in one heap and fail in a larger one (fragmentation): this is one estimate."""
    top = month(high, image, mpy)
    if not top["completed"]:
        return None, top
    good, bad = high, low // step * step
    while good - bad > step:
        size = (good + bad) // 2 // step * step
        if month(size, image, mpy)["completed"]:
            good = size
        else:
            bad = size
    return good, top


def rows():
    image_build.build_image("emulated", log=lambda line: None)
    image = image_build.current("emulated")
    board_heap = heap_bytes(board_build.definition("emulated")["image"]["heap"])
    # Searched where the floors lie: the frozen one above its heap in use after boot
    # (about 63 KB), the .mpy one above what its modules alone take (about 100 KB).
    frozen_floor, frozen = floor(image, 64 * 1024, board_heap, STEP)
    mpy_floor, mpy = floor(image, 96 * 1024, 2 * board_heap, 2 * STEP, mpy=True)
    kb = 1024.0
    return [
        Row("heap in use after boot, frozen image", (frozen["after_boot"] or 0) / kb, "KB",
            note="mpstat over SMP; the 32-bit unix port image"),
        Row("heap in use, highest daily read over the month, frozen", (frozen["highest"] or 0) / kb, "KB",
            goal=GOAL / kb, at_most=True,
            note="a pull and an mpstat each simulated day" + ("" if frozen["completed"] else "; FAILED: " + frozen["why"])),
        Row("smallest heap the month completes in, frozen image", (frozen_floor or 0) / kb, "KB", goal=GOAL / kb,
            at_most=True, note="the peak, fragmentation in: bisected in %d KB steps below %d KB"
                               % (STEP // 1024, board_heap // 1024)),
        Row("heap in use after boot, .mpy files in RAM", (mpy["after_boot"] or 0) / kb, "KB",
            note="the same VM, the .mpy files first on its path"),
        Row("smallest heap the month completes in, .mpy files in RAM", (mpy_floor or 0) / kb, "KB",
            goal=board_build.MPY_HEAP_BYTES / kb, at_most=True,
            note="goal: what deploy asks of a board for .mpy files; bisected in %d KB steps" % (2 * STEP // 1024)
                 + ("" if mpy["completed"] else "; FAILED: " + mpy["why"])),
    ]
