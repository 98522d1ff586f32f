"""Boot the firmware on the emulated board: `micropython boot.py STATE/wiring.json`.

This is the emulated board's `main.py`: build the board, hand it to the firmware.
"""

from board.emulated import board
from firmware import main

main.run(board())
