"""The SMP command groups the firmware serves, each family in its own module.

- `os_mgmt`: group 0, Zephyr's OS management (echo, date-time, reset, info, …);
- `stats`: group 2, Zephyr's statistics management (the firmware's counters);
- group 64, edgemeter's own, by family: `log` (status, read, ack), `plan` (plan,
  snooze), `account` (balance, services), `config` (settings), `auth` (challenge,
  the key); `arguments` holds what their handlers share (reading a request).

Each registers its commands on the server; firmware/main.py builds those the
device has the services for.
"""
