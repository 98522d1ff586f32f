"""The standard SMP statistics group (group 2), as Zephyr's stat_mgmt serves it.

The firmware's counters (frames dropped by reason, modem timeouts, SMS failures,
flash programs and erases, ...) grouped by the part that keeps them: list (1)
names the groups, group data (0) gives one group's counters, so `smpmgr`, any
SMP client and `edgemeter info` read them alike. A name the device lacks gets
ENOENT in SMP version 1 and the group's own code in version 2, as Zephyr answers.

The counters are read from their owners when asked: nothing is copied or kept
here. Counts start at 0 at each boot.
"""

from firmware.smp.server import SMPError
from protocol import smp


class StatsGroup:
    def __init__(self, server, groups):
        """`groups`: (name, owner, (attribute, ...)) for each group of counters,
        an attribute of `owner` per counter, in the order they are listed."""
        self._groups = groups
        server.register(smp.GROUP_STATS, {
            (smp.STATS_GROUP_DATA, smp.OP_READ): self.group_data,
            (smp.STATS_LIST, smp.OP_READ): self.list,
        })

    def list(self, request):
        return {"stat_list": [name for name, _owner, _fields in self._groups]}

    def group_data(self, request):
        wanted = request.get("name")
        for name, owner, fields in self._groups:
            if name == wanted:
                return {"name": name, "fields": {field: getattr(owner, field) for field in fields}}
        raise SMPError(smp.ERR_ENOENT, group_rc=smp.STATS_ERR_INVALID_GROUP,
                       reason="no statistics group %r" % (wanted,))
