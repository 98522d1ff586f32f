"""Give a device its key at installation, and keep it in the technician's key file.

A device takes a key once (firmware/smp/auth_guard.py); from then on it refuses
state-changing requests without a proof made with it and signs its records.
The key is written to the key file before it is sent: if the answer is lost,
the key is already where the next command will look for it.
"""

from host_tools.device.keys import KeyFile
from host_tools.device.requests import AuthRead, AuthWrite
from host_tools.device.session import DeviceError
from protocol import auth


async def provision(device, keys=None):
    """Provision the device behind `device` (a Device) if it has no key; returns its id.

    DeviceError if it has a key this key file does not know (provisioned elsewhere)."""
    keys = keys or KeyFile()
    state = await device.request(AuthRead(), retries=5)
    if state.provisioned:
        if keys.get(state.dev) is None:
            raise DeviceError("%s has a key that %s does not hold: it was provisioned elsewhere" % (state.dev, keys.path))
        return state.dev
    key = keys.get(state.dev) or auth.new_key()  # a lost answer last time: the key sent then
    keys.put(state.dev, key)
    await device.request(AuthWrite(key=key), retries=5)
    return state.dev
