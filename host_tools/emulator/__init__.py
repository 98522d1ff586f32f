"""The emulator: runs the firmware on the emulated board, with the board's
serial links on pseudo-terminals, and (in later stages) the simulated modem and
carrier on the other end of the modem UART.
"""
