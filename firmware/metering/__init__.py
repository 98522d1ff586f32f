"""Metering: data counted, the plan, the reminders, the cut at 0 MB.

- `meter`: the modem's byte counters into exact increments, across counter restarts;
- `plan`: the billing cycle, the quota with add-ons and packs, the data left;
- `reminders`: each threshold's reminder, once a cycle;
- `usage_service`: the metering loop that polls the modem and ties these together;
- `rtc_check`: the wall clock put back at boot after a flat RTC battery.

Imports modem, sms (to queue reminders), storage, protocol/ and firmware/console.py;
never account or smp.
"""
