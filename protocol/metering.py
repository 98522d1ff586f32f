"""edgemeter's own SMP group: the record log over SMP (ids shared by device and host).

Group 64 (the first user group id). Commands, with their request and response
maps, are specified in protocol/SPEC.md:

- 0 STATUS (read): the log's epoch, first/head/ack sequence numbers, flash use;
- 1 READ (read): record frames from a sequence number, batched to fit the SMP
  buffer; all frames travel concatenated in one byte string;
- 2 ACK (write): the host has everything up to `seq` of epoch `ep`; the device
  may delete it;
- 3 PLAN (read/write): the data plan the device meters against;
- 4 SNOOZE (write): let data run past 0 MB for the rest of the cycle, or stop;
- 5 BALANCE (read/write): the prepaid balance as last heard, the low-balance threshold;
- 6 SERVICES (read/write): the monthly services; "0000" and cancellations through 10086;
- 7 CONFIG (read/write): device settings by name (today "sms_words");
- 8 AUTH: read a one-time challenge for the next write's proof; write the
  device key, once, on a device that has none (firmware/smp/auth_guard.py).
"""

GROUP = 64

CMD_STATUS = 0
CMD_READ = 1
CMD_ACK = 2
CMD_PLAN = 3
CMD_SNOOZE = 4
CMD_BALANCE = 5
CMD_SERVICES = 6
CMD_CONFIG = 7
CMD_AUTH = 8

# Group error codes (version 2 "err": {"group": 64, "rc": ...}).
ERR_OK = 0
ERR_UNKNOWN = 1
ERR_BEYOND_HEAD = 2  # ack of a sequence number the device never wrote
ERR_WRONG_EPOCH = 3  # ack for another epoch: the log was reformatted meanwhile
ERR_BAD_ARGUMENT = 4  # a field of the wrong type or range
ERR_AUTH = 5  # a state-changing request without a good proof (see auth_guard.py)
ERR_LOCKED = 6  # refused unchecked: too many failed proofs in a row, wait

# Fixed size of a READ response around its frames: header, map keys, device id,
# numbers. Frames are sized so the response fits the device's SMP buffer.
READ_OVERHEAD = 96
