"""The technician's device keys: one JSON file, {device id: key as hex}, readable by them alone.

A device's key signs every state-changing request to it and checks its records'
MACs (firmware/smp/auth_guard.py, protocol/record_chain.py). The device never gives
it back, so this file is the only copy on the host side: `edgemeter deploy` and
`edgemeter emulate` add a device's key when they provision it.

Where: $EDGEMETER_KEYS, else ~/.config/edgemeter/keys.json. Written atomically
(temp file, rename) under an exclusive lock, mode 0600, so several emulators or
deploys at once never lose each other's keys.
"""

import binascii
import fcntl
import json
import os


class KeyFileError(ValueError):
    """A key file that cannot be read or used; str() says which file and why."""


def default_path():
    return os.environ.get("EDGEMETER_KEYS") or os.path.join(os.path.expanduser("~"), ".config", "edgemeter", "keys.json")


class KeyFile:
    def __init__(self, path=None):
        self.path = path or default_path()

    def _load(self):
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            raise KeyFileError("key file %s: %s" % (self.path, error)) from None
        if not isinstance(data, dict):
            raise KeyFileError("key file %s: not a JSON object of device ids" % self.path)
        return data

    def get(self, device):
        """The key of `device` (32 bytes), or None if this file has none."""
        value = self._load().get(device)
        try:
            key = binascii.unhexlify(value) if isinstance(value, str) else None
        except binascii.Error:
            key = None
        if value is not None and (key is None or len(key) != 32):
            raise KeyFileError("key file %s: the key of %s is not 64 hex digits" % (self.path, device))
        return key

    def put(self, device, key):
        """Add or replace `device`'s key."""
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with open(self.path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._load()
            data[device] = binascii.hexlify(key).decode()
            tmp = "%s.%d.tmp" % (self.path, os.getpid())
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
