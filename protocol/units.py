"""The units of the wire and of the carrier's bills, named once.

Byte counts are whole bytes. A carrier's MB is 1,048,576 bytes and its KB 1,024
(China Mobile bills data in KB; seed facts §1), so a plan of 100 MB is
104,857,600 bytes on the device, on the wire and in the ledger. Money is whole
fen (protocol/money.py turns yuan text into fen and back).
"""

KB = 1024
MB = KB * KB
