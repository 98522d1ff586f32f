"""Flash wear of a day of the firmware's writes: micropython bench_wear.py IMAGE GB_PER_MONTH [DAYS]

The real storage code on the emulated board's NOR file flash split by its
layout (board.json): the meter's checkpoint (firmware/metering/meter.packed) put
in the journal every 64 KB of traffic, a USAGE record each hour, the day's
other records (EVENTS: SMS sent and received, balances, reminders) in the
record ring, and the small state files they change on LittleFS (STATE_PUTS).
Prints one JSON line: each block's erases per day, the record bytes a day, the
ring's capacity, and the checkpoints the VM put per second (how much faster than
real time it could keep up with that traffic).
"""

import json
import sys
import time

import vfs

from bench_store import emulated_flash
from board.emulated.file_flash import read_wear
from firmware.metering.meter import BUDGET_BYTES, packed
from firmware.storage import state_files
from firmware.storage.journal import Journal
from firmware.storage.ring_log import RingLog
from protocol import records

MB = 1048576
MONTH_DAYS = 30.4
EVENTS = 40  # records a day besides the hourly USAGE: a balance query every 6 h and its answer, reminders, ...
STATE_PUTS = 30  # small-file replacements a day: the outbox, inbox, balance state those events change
T0 = 1796083200


def main(argv):
    image, gb_month = argv[0], float(argv[1])
    days = int(argv[2]) if len(argv) > 2 else 1
    flash, ranges, geometry = emulated_flash(image, wear_path=image + ".wear")
    state_files.makedirs("/flash/state")
    log = RingLog(ranges["records"], "/flash/log", "em-wear")
    log.open()
    journal = Journal(ranges["checkpoints"])
    journal.open()
    start_wear = read_wear(image + ".wear")
    per_day = gb_month * 1024 * MB / MONTH_DAYS
    checkpoints_a_day = int(per_day // BUDGET_BYTES)
    total = 0
    put_seconds = 0.0
    for day in range(days):
        for hour in range(24):
            began = time.ticks_us()
            for _ in range(checkpoints_a_day // 24):
                total += BUDGET_BYTES
                now = (T0 + 86400 * day + 3600 * hour) * 1000
                journal.put(packed({"up": total // 10, "down": total - total // 10, "sent": total // 10,
                                    "received": total - total // 10, "wall": now}, (total // 10, total - total // 10)))
            put_seconds += time.ticks_diff(time.ticks_us(), began) / 1e6
            log.append(records.USAGE, T0 + 86400 * day + 3600 * hour, {8: total // 240, 9: total // 24, 10: 0, 11: total})
        for event in range(EVENTS):
            log.append(records.SMS_RECEIVED, T0 + 86400 * day + event, {8: "10086", 9: "尊敬的客户,您的账户余额为12.50元" + "x" * (event % 20),
                                                                       10: "balance", 14: T0})
        for put in range(STATE_PUTS):
            state_files.put("/flash/state/outbox", {"messages": [{"key": [put, day], "text": "x" * 60}], "ref": put})
    record_bytes = sum(len(frame) for frame in log.read(0, 1 << 30))
    wear = read_wear(image + ".wear")
    vfs.umount("/flash")
    erases = [w - s for w, s in zip(wear, start_wear)]
    puts = days * (checkpoints_a_day // 24) * 24
    print(json.dumps({
        "gb_month": gb_month,
        "days": days,
        "erases_per_day": [e / days for e in erases],
        "layout": geometry["layout"],
        "record_bytes_per_day": record_bytes / days,
        "ring_bytes": log.capacity,
        "checkpoints_per_day": checkpoints_a_day,
        "puts_per_s": puts / put_seconds if put_seconds else 0,
        "program_faults": flash.program_faults,
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
