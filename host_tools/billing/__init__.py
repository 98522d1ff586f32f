"""The carrier's bill against the device's own record: reading a bill, what the
ledger's records say was used, the reconciliation and the claim it supports.

Owns: bill.py (bill import, both schemas, streamed), device_evidence.py (per-day
usage and the phone number from a device's records), reconcile.py (each bill row
checked against that evidence; the refund owed), claim.py (the claim text and
CSV), claim_html.py (the claim as one self-contained HTML page).
May import: host_tools.ledger and host_tools.device (it sits above them),
protocol/ and the standard library; never the CLI, which builds on it.
"""
