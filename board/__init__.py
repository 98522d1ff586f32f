"""Board support: what the firmware needs from the hardware, one definition per board.

`board.base.Board` is the interface; `board.emulated` runs the firmware on the
MicroPython unix port with pseudo-terminal UARTs, a file-backed flash and a clock
that can run faster than real time. A real board is a folder of data (board.json,
pins.csv, manifest.py) and a few lines: `board.esp32s3_sim7600` (LILYGO
T-SIM7600X-S3, SIMCom modem) and `board.pico_ec25` (Raspberry Pi Pico, Quectel
EC25), which `board.hardware` makes into `machine` objects.
"""
