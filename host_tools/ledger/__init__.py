"""The host's copy of every device's records: the ledger on disk and what fills
and checks it.

Owns: store.py (the SQLite ledger: `Ledger`, `LedgerError`, `LedgerDamaged`),
pull.py (read a device's log into the ledger, ack only what is stored),
progress.py (pull's progress line), evidence_check.py (each record's MAC
checked with the device's key).
May import: host_tools.device, protocol/ and the standard library; never billing
or the CLI, which build on this package.
"""
