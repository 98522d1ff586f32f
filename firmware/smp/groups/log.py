"""Group 64's record-log commands: status, read, ack.

The host reads from the sequence number after what it has, stores what it got
durably, and only then acknowledges; the device deletes acknowledged segments.
Reads are side-effect free, so a lost response is simply asked for again.
A read's records go from flash into one buffer taken at boot, and from there
into the server's response buffer: a 4 KB batch needs no new block.
"""

from firmware.smp.groups.arguments import identity, uint
from firmware.smp.server import SMPError
from firmware.storage.log_base import BeyondHead
from protocol import metering as m
from protocol import smp


class LogCommands:
    def __init__(self, server, log, batch=None, safe_mode=None):
        """`batch`: batch_buffer(server), taken early at boot (a new one if None);
        `safe_mode`: firmware/safe_mode.py, whose summary the status carries while active."""
        self._server = server
        self._log = log
        self._safe_mode = safe_mode
        self._batch = batch or self.batch_buffer(server)
        server.register(m.GROUP, {
            (m.CMD_STATUS, smp.OP_READ): self.status,
            (m.CMD_READ, smp.OP_READ): self.read,
            (m.CMD_ACK, smp.OP_WRITE): self.ack,
        })

    @staticmethod
    def batch_buffer(server):
        """The buffer a read's records go into: what a response of the server has room for."""
        return bytearray(server.buf_size - m.READ_OVERHEAD)

    def status(self, request):
        status = self._log.status()
        reply = identity(self._log)
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
        safe = self._safe_mode.summary() if self._safe_mode is not None else None
        if safe is not None:
            reply["safe"] = safe  # the board is in safe mode: how many crashes, the last one
        return reply

    def read(self, request):
        start = uint(request, "start", self._log.ack_seq + 1)
        batch = memoryview(self._batch)
        size = self._log.read_into(start, batch[: min(uint(request, "max", len(batch)), len(batch))])
        reply = identity(self._log)
        reply["head"] = self._log.head_seq
        reply["recs"] = batch[:size]
        return reply

    def ack(self, request):
        epoch = uint(request, "ep")
        seq = uint(request, "seq")
        if epoch != self._log.epoch:
            raise SMPError(smp.ERR_EBADSTATE, m.ERR_WRONG_EPOCH, "log epoch is %d" % self._log.epoch)
        try:
            acked = self._log.ack(seq)
        except BeyondHead:
            raise SMPError(smp.ERR_EINVAL, m.ERR_BEYOND_HEAD, "head is %d" % self._log.head_seq)
        return {"ack": acked}
