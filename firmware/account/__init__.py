"""The subscriber's account as the carrier tells it by SMS.

- `balance`: the prepaid balance and expiry, the postpaid bill and its due day,
  and their reminders;
- `services`: the monthly services (ordered, confirmed, charged, cancelled,
  the "0000" list).

Imports sms (to queue reminders), storage and protocol/; never metering or smp.
"""
