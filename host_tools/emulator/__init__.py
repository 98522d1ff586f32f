"""The emulator: runs the firmware on the emulated board, with the board's
serial links on pseudo-terminals and the simulated modem and carrier on the
other end of the modem UART.

Owns: board_runner.py (one emulated board: VM, flash, links, clock), ptylink.py
(a pty pair and its relay), modem_sim.py and carrier.py, smsc.py, account.py,
services.py (the simulated modem and carrier), scenario.py, state_folder.py (one
emulator a state folder), bill_writer.py (the carrier's bill), process.py
(`edgemeter emulate` as a child process, for the demo, tests and bench).
May import: host_tools.build (the VM), host_tools.device (to provision the board
like a technician), board/, protocol/ and the standard library; never the ledger,
billing or the CLI. It sits beside them, as build does.
"""
