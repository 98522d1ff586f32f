"""The host link: edgemeter's SMP server.

- `server`: one request in, one response out; the groups register their commands;
- `serial_loop`: the host UART, in console (base64) or COBS framing;
- `auth_guard`: the proof every write must carry, checked with the device's key;
- `groups/`: the command groups (group 0, OS management; group 64, edgemeter's own).

The top of the data flow below firmware/main.py: may import every other firmware
package; none of them imports smp.
"""
