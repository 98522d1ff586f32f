"""Serve SMP (MCUmgr's Simple Management Protocol): one request in, one response out.

A transport (serial_loop.py for the serial line) hands `handle` whole request
messages. Each request is dispatched on
(group, command, op) to the handler a group registered; the handler returns the
response map or raises `SMPError`. Whatever arrives, the server answers with the
standard SMP error or drops the frame, and keeps serving:

- unknown group, command or op: rc ENOTSUP. An op that is no request nor
  response (4-7) gets it in a write response (op 3), as Zephyr's smp_rsp_op
  answers every op but read; a response (op 1 or 3) gets no answer at all;
- payload that is not a CBOR map, or a header length that disagrees with it:
  rc EINVAL;
- a request in SMP version 3 (reserved): rc UNSUPPORTED_TOO_NEW;
- bad CRC, bad base64, oversize or truncated frames: dropped by the transport;
- a handler that fails unexpectedly: rc EUNKNOWN;
- a state-changing request without a good proof (when a guard is set, see
  auth_guard.py): rc EACCESSDENIED.

Responses use the request's version. SMP-level errors go in "rc" in both
versions; a group's own error goes in "err": {"group", "rc"} in version 2 and,
translated to an SMP error, in "rc" in version 1.
"""

import gc

from protocol import cbor
from protocol import smp

_SLACK = 256  # a response may outgrow buf_size by a little (its map around the records)

class SMPError(Exception):
    """A request that cannot be served.

    `rc` is the SMP (MGMT_ERR) code; `group_rc` a group-specific code sent in
    version 2 responses instead; `reason` a short text for version 1's "rsn".
    """

    def __init__(self, rc, group_rc=None, reason=None):
        super().__init__(reason or rc)
        self.rc = rc
        self.group_rc = group_rc
        self.reason = reason

class SMPServer:
    def __init__(self, buf_size=1024):
        self.buf_size = buf_size
        # Every response is built in this one buffer, its room taken at boot while
        # the heap is whole: a 4 KB answer never needs a new 4 KB block.
        self._out = bytearray(buf_size + _SLACK)
        self._out[:] = b""
        self._handlers = {}
        self._deferred = []
        self.requests = 0
        self.errors = 0
        self.guard = None  # firmware/smp/auth_guard.py: the proof state-changing requests need

    def register(self, group_id, handlers):
        """Add a group: `handlers` maps (command id, op) to fn(request map) -> map."""
        for (command, op), handler in handlers.items():
            self._handlers[(group_id, command, op)] = handler

    def defer(self, action):
        """Run `action()` once the current response has been written out."""
        self._deferred.append(action)

    def handle(self, message):
        """The response message for one request message, or None to stay silent: a
        memoryview of the server's buffer, good until the next request is handled."""
        try:
            op, version, _flags, length, group, seq, command = smp.unpack_header(message)
        except ValueError:
            return None
        if op == smp.OP_READ_RSP or op == smp.OP_WRITE_RSP:
            return None  # never answer an answer
        self.requests += 1
        try:
            try:
                body = self._dispatch(op, version, length, group, command, message)
            except MemoryError:
                gc.collect()  # a fragmented heap: collect, then try once more
                body = self._dispatch(op, version, length, group, command, message)
            payload = self._encoded(body)
        except SMPError as error:
            self.errors += 1
            payload = self._encoded(self._error_body(error, version, group))
        except Exception as exc:  # a handler bug must not take the device off the line
            self.errors += 1
            print("smp: group %d command %d failed: %r" % (group, command, exc))
            payload = self._encoded({"rc": smp.ERR_EUNKNOWN})
        reply_version = version if version <= smp.VERSION_2 else smp.VERSION_2
        reply_op = smp.OP_READ_RSP if op == smp.OP_READ else smp.OP_WRITE_RSP
        self._out[: smp.HEADER_SIZE] = smp.pack_header(reply_op, reply_version, 0, payload, group, seq, command)
        return memoryview(self._out)

    def _encoded(self, body):
        # The buffer: room for the header, then the body's CBOR; the payload's length.
        out = self._out
        out[:] = bytes(smp.HEADER_SIZE)
        cbor.dump_into(body, out)
        return len(out) - smp.HEADER_SIZE

    def _dispatch(self, op, version, length, group, command, message):
        if op != smp.OP_READ and op != smp.OP_WRITE:
            raise SMPError(smp.ERR_ENOTSUP, reason="unknown op")
        if version > smp.VERSION_2:
            raise SMPError(smp.ERR_UNSUPPORTED_TOO_NEW, reason="SMP version not supported")
        if length != len(message) - smp.HEADER_SIZE:
            raise SMPError(smp.ERR_EINVAL, reason="header length disagrees with payload")
        handler = self._handlers.get((group, command, op))
        if handler is None:
            raise SMPError(smp.ERR_ENOTSUP, reason="unknown group, command or op")
        try:
            request = cbor.loads(message[smp.HEADER_SIZE :]) if length else {}
        except ValueError:
            raise SMPError(smp.ERR_EINVAL, reason="payload is not valid CBOR")
        if not isinstance(request, dict):
            raise SMPError(smp.ERR_EINVAL, reason="payload is not a CBOR map")
        if self.guard is not None and self.guard.protects(group, command, op):
            request = self.guard.check(version, op, group, command, request)
        return handler(request)

    @staticmethod
    def _error_body(error, version, group):
        if error.group_rc is not None and version == smp.VERSION_2:
            return {"err": {"group": group, "rc": error.group_rc}}
        if error.reason:
            return {"rc": error.rc, "rsn": error.reason}
        return {"rc": error.rc}

    def run_deferred(self):
        """Called by the transport once a response has been written out."""
        while self._deferred:
            self._deferred.pop(0)()
