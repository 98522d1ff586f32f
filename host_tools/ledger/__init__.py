"""The host's copy of every device's records: the ledger and what fills and checks it.

Owns: store.py (the interface every ledger offers, the checks and queries they
share, `open_ledger`, `LedgerError`, `LedgerDamaged`), sqlite_ledger.py (a
technician's file) and postgres_ledger.py (an operator's database), pull.py
(read a device's log into a ledger, ack only what is stored), sync.py (one
ledger's records into another), fleet.py (each device at a glance), progress.py
(the progress line), evidence_check.py (each record's MAC checked with the
device's key).
May import: host_tools.device, protocol/ and the standard library; never billing
or the CLI, which build on this package.
"""
