"""Group 64's auth command: a one-time challenge for the next write's proof, and the
device key, taken once (firmware/smp/auth_guard.py checks the proofs)."""

from firmware.smp.groups.arguments import identity
from firmware.smp.server import SMPError
from protocol import metering as m
from protocol import smp


class AuthCommands:
    def __init__(self, server, log, guard):
        self._log = log
        self._guard = guard
        server.register(m.GROUP, {
            (m.CMD_AUTH, smp.OP_READ): self.auth_read,
            (m.CMD_AUTH, smp.OP_WRITE): self.auth_write,
        })

    def auth_read(self, request):
        """A one-time challenge for the next write's proof."""
        reply = identity(self._log)
        reply.update({"nonce": self._guard.challenge(), "provisioned": self._guard.provisioned})
        return reply

    def auth_write(self, request):
        """The device key, taken once; never read back. From then on the log signs its records."""
        try:
            self._guard.provision(request.get("key"))
        except ValueError as error:
            raise SMPError(smp.ERR_EACCESSDENIED, m.ERR_AUTH, "key: %s" % error)
        self._log.sign_with(self._guard.key)
        return {"provisioned": True}
