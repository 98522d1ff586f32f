"""Boot the firmware on the emulated board: `micropython boot.py STATE/wiring.json`.

This is the emulated board's `main.py`: build the board, hand it to the firmware.
"""

import sys

from board.emulated import EmulatedBoard
from firmware import main

main.run(EmulatedBoard(sys.argv[1]))
