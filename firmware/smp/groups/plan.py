"""Group 64's plan commands: read and write the plan, snooze the cut at 0 MB."""

from firmware.smp.groups.arguments import refused
from firmware.smp.server import SMPError
from protocol import metering as m
from protocol import smp


class PlanCommands:
    def __init__(self, server, plans):
        self._plans = plans  # firmware/metering/usage_service.py's UsageService
        server.register(m.GROUP, {
            (m.CMD_PLAN, smp.OP_READ): self.plan_read,
            (m.CMD_PLAN, smp.OP_WRITE): self.plan_write,
            (m.CMD_SNOOZE, smp.OP_WRITE): self.snooze,
        })

    def plan_read(self, request):
        return self._plans.read()

    def plan_write(self, request):
        try:
            return self._plans.write(request)
        except ValueError as error:
            raise refused(error)

    def snooze(self, request):
        on = request.get("on", True)
        if not isinstance(on, bool):
            raise SMPError(smp.ERR_EINVAL, m.ERR_BAD_ARGUMENT, "'on' must be true or false")
        try:
            return self._plans.snooze(on)
        except ValueError as error:
            raise SMPError(smp.ERR_EBADSTATE, m.ERR_BAD_ARGUMENT, "snooze: %s" % error)
