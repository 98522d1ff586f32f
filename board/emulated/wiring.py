"""How the emulator wires an emulated board: the file both sides agree on.

The emulator (CPython) writes `wiring.json` into the state directory; the
firmware's boot script (MicroPython) reads it. Keys:

- "host_uart", "modem_uart": pty paths the firmware opens as its UARTs;
- "flash": path of the flash image file;
- "modem_power": path of the file that mirrors the modem's power pin;
- "rtc": path of the file holding the battery-backed RTC's offset;
- "watchdog": path of the file each watchdog feed rewrites (watchdog.py);
- "unique_id": hex chip id of this board;
- "clock": {"sim_start_ms", "real_start_ms", "speed"}: simulated time is
  sim_start_ms + (real_now_ms - real_start_ms) * speed, for firmware and network;
- "reset_cause": why this boot happened (a board.base RESET_* name);
- "board": board/emulated/board.json, as it is.

EXIT_RESET is the exit status with which the firmware asks the emulator to
restart it (the SMP reset command); a kill is a power cut; any other exit, or a
watchdog not fed, is a watchdog reset.
"""

import json

EXIT_RESET = 3
FILENAME = "wiring.json"


def load(path):
    with open(path) as f:
        return json.load(f)


def save(path, wiring):
    with open(path, "w") as f:
        json.dump(wiring, f)
