"""edgemeter's metering SMP group (64): read the record log, acknowledge it.

The host reads from the sequence number after what it has, stores what it got
durably, and only then acknowledges; the device deletes acknowledged segments.
Reads are side-effect free, so a lost response is simply asked for again.
"""

import gc

from firmware.smp_server import SMPError
from firmware.store import BeyondHead
from protocol import metering as m
from protocol import settings, smp


def _uint(request, key, default=None):
    value = request.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 1 << 32:
        raise SMPError(smp.ERR_EINVAL, m.ERR_BAD_ARGUMENT, "'%s' must be an unsigned 32-bit integer" % key)
    return value


def _refused(error):
    """A setting refused (protocol/settings.py): rc EINVAL with "<field>: <rule>" in
    "rsn", in both SMP versions (a v2 group error would carry no reason)."""
    return SMPError(smp.ERR_EINVAL, None, str(error))


class MeteringGroup:
    def __init__(self, server, log, plans=None, balance=None, subscriptions=None, queries=None, guard=None):
        self._server = server
        self._log = log
        self._plans = plans
        self._balance = balance
        self._subscriptions = subscriptions
        self._queries = queries
        self._guard = guard
        handlers = {
            (m.CMD_STATUS, smp.OP_READ): self.status,
            (m.CMD_READ, smp.OP_READ): self.read,
            (m.CMD_ACK, smp.OP_WRITE): self.ack,
        }
        if plans is not None:
            handlers[(m.CMD_PLAN, smp.OP_READ)] = self.plan_read
            handlers[(m.CMD_PLAN, smp.OP_WRITE)] = self.plan_write
            handlers[(m.CMD_SNOOZE, smp.OP_WRITE)] = self.snooze
        if balance is not None:
            handlers[(m.CMD_BALANCE, smp.OP_READ)] = self.balance_read
            handlers[(m.CMD_BALANCE, smp.OP_WRITE)] = self.balance_write
        if subscriptions is not None:
            handlers[(m.CMD_SERVICES, smp.OP_READ)] = self.services_read
            handlers[(m.CMD_SERVICES, smp.OP_WRITE)] = self.services_write
        if queries is not None:
            handlers[(m.CMD_CONFIG, smp.OP_READ)] = self.config_read
            handlers[(m.CMD_CONFIG, smp.OP_WRITE)] = self.config_write
        if guard is not None:
            handlers[(m.CMD_AUTH, smp.OP_READ)] = self.auth_read
            handlers[(m.CMD_AUTH, smp.OP_WRITE)] = self.auth_write
        server.register(m.GROUP, handlers)

    def _identity(self):
        return {"dev": self._log.device_id, "ep": self._log.epoch}

    def status(self, request):
        status = self._log.status()
        reply = self._identity()
        reply.update(
            {
                "first": status["first"],
                "head": status["head"],
                "ack": status["ack"],
                "used": status["used_bytes"],
                "free": status["free_bytes"],
                "dropped": status["dropped_pending"],
            }
        )
        attested = self._log.attested_head()
        if attested is not None:
            # The acknowledged head, attested: a host whose ledger starts here
            # (the records before are in another ledger) links its chain to it.
            reply["link"], reply["att"] = attested
        return reply

    def read(self, request):
        start = _uint(request, "start", self._log.ack_seq + 1)
        budget = self._server.buf_size - m.READ_OVERHEAD
        wanted = _uint(request, "max", budget)
        try:
            recs = b"".join(self._log.read(start, min(wanted, budget)))
        except MemoryError:
            # The heap has no room for a full batch just now: send a smaller one.
            gc.collect()
            recs = b"".join(self._log.read(start, min(wanted, budget) // 4))
        reply = self._identity()
        reply["head"] = self._log.head_seq
        reply["recs"] = recs
        return reply

    def ack(self, request):
        epoch = _uint(request, "ep")
        seq = _uint(request, "seq")
        if epoch != self._log.epoch:
            raise SMPError(smp.ERR_EBADSTATE, m.ERR_WRONG_EPOCH, "log epoch is %d" % self._log.epoch)
        try:
            acked = self._log.ack(seq)
        except BeyondHead:
            raise SMPError(smp.ERR_EINVAL, m.ERR_BEYOND_HEAD, "head is %d" % self._log.head_seq)
        return {"ack": acked}

    def plan_read(self, request):
        return self._plans.read()

    def plan_write(self, request):
        try:
            return self._plans.write(request)
        except ValueError as error:
            raise _refused(error)

    def snooze(self, request):
        on = request.get("on", True)
        if not isinstance(on, bool):
            raise SMPError(smp.ERR_EINVAL, m.ERR_BAD_ARGUMENT, "'on' must be true or false")
        try:
            return self._plans.snooze(on)
        except ValueError as error:
            raise SMPError(smp.ERR_EBADSTATE, m.ERR_BAD_ARGUMENT, "snooze: %s" % error)

    def balance_read(self, request):
        return self._balance.read()

    def balance_write(self, request):
        try:
            self._balance.set_low(settings.check_write(request, settings.BALANCE).get("low_fen"))
        except ValueError as error:
            raise _refused(error)
        return self._balance.read()

    def services_read(self, request):
        return self._subscriptions.read()

    def services_write(self, request):
        try:
            if "cancel" in request:
                self._subscriptions.cancel(request["cancel"])
            elif request.get("query") is True:
                self._subscriptions.query()
            else:
                raise ValueError("say query: true, or cancel: [numbers]")
        except (TypeError, ValueError) as error:
            raise SMPError(smp.ERR_EINVAL, m.ERR_BAD_ARGUMENT, "services: %s" % error)
        return self._subscriptions.read()

    def config_read(self, request):
        return {"sms_words": self._queries.words}

    def config_write(self, request):
        try:
            if "sms_words" in settings.check_write(request, settings.CONFIG):
                self._queries.set_words(request["sms_words"])
        except ValueError as error:
            raise _refused(error)
        return self.config_read(request)

    def auth_read(self, request):
        """A one-time challenge for the next write's proof (see auth_guard.py)."""
        reply = self._identity()
        reply.update({"nonce": self._guard.challenge(), "provisioned": self._guard.provisioned})
        return reply

    def auth_write(self, request):
        """The device key, taken once; never read back."""
        try:
            self._guard.provision(request.get("key"))
        except ValueError as error:
            raise SMPError(smp.ERR_EACCESSDENIED, m.ERR_AUTH, "key: %s" % error)
        self._log.sign_with(self._guard.key)
        return {"provisioned": True}
