"""Board support: what the firmware needs from the hardware, one definition per board.

`board.base.Board` is the interface; `board.emulated` runs the firmware on the
MicroPython unix port with pseudo-terminal UARTs, a file-backed flash and a clock
that can run faster than real time.
"""
