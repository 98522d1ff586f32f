"""SMS: every message the device sends or receives.

- `send`: one SMS out through the modem (PDU mode, long texts in parts);
- `outbox`: the queue on flash, retries with backoff, the SMS centre's status
  reports, and each message's outcome;
- `inbox`: messages read from the SIM, joined, recorded, deleted;
- `carrier_texts`: what the carrier's own texts (10086) say;
- `queries`: answers to the subscriber's query words (CXLL, CXYE);
- `messaging`: the SMS loop that drives the outbox and the inbox.

Imports modem, storage, protocol/ and firmware/console.py; never metering,
account or smp (they hand it what to send).
"""
