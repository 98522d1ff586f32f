"""Group 64's account commands: the prepaid balance and its low threshold, the
monthly services (the "0000" list and cancelling them)."""

from firmware.smp.groups.arguments import refused
from firmware.smp.server import SMPError
from protocol import metering as m
from protocol import settings, smp


class AccountCommands:
    def __init__(self, server, balance=None, services=None):
        self._balance = balance
        self._services = services
        handlers = {}
        if balance is not None:
            handlers[(m.CMD_BALANCE, smp.OP_READ)] = self.balance_read
            handlers[(m.CMD_BALANCE, smp.OP_WRITE)] = self.balance_write
        if services is not None:
            handlers[(m.CMD_SERVICES, smp.OP_READ)] = self.services_read
            handlers[(m.CMD_SERVICES, smp.OP_WRITE)] = self.services_write
        server.register(m.GROUP, handlers)

    def balance_read(self, request):
        return self._balance.read()

    def balance_write(self, request):
        try:
            self._balance.set_low(settings.check_write(request, settings.BALANCE).get("low_fen"))
        except ValueError as error:
            raise refused(error)
        return self._balance.read()

    def services_read(self, request):
        return self._services.read()

    def services_write(self, request):
        try:
            if "cancel" in request:
                self._services.cancel(request["cancel"])
            elif request.get("query") is True:
                self._services.query()
            else:
                raise ValueError("say query: true, or cancel: [numbers]")
        except (TypeError, ValueError) as error:
            raise SMPError(smp.ERR_EINVAL, m.ERR_BAD_ARGUMENT, "services: %s" % error)
        return self._services.read()
