"""What group 64's handlers share: reading a request's arguments, refusing a setting."""

from firmware.smp.server import SMPError
from protocol import metering as m
from protocol import smp


def uint(request, key, default=None):
    """The request's `key` as an unsigned 32-bit integer (`default` if absent); EINVAL if not one."""
    value = request.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 1 << 32:
        raise SMPError(smp.ERR_EINVAL, m.ERR_BAD_ARGUMENT, "'%s' must be an unsigned 32-bit integer" % key)
    return value


def refused(error):
    """A setting refused (protocol/settings.py): rc EINVAL with "<field>: <rule>" in
    "rsn", in both SMP versions (a v2 group error would carry no reason)."""
    return SMPError(smp.ERR_EINVAL, None, str(error))


def identity(log):
    """Which log an answer is about: the device id and the log's epoch."""
    return {"dev": log.device_id, "ep": log.epoch}
