"""Who may change the device: state-changing SMP requests need a proof made with its key.

A subscriber holding a serial cable must not be able to reset the counters,
silence the reminders or forge evidence. So every SMP write except echo carries
an "auth" entry: protocol.auth.request_proof over a fresh challenge the device
gave out (metering group command 8, read) and the request itself (header
version, op, group, command, every other field). The device keeps one
challenge at a time, the latest; any write attempt uses it up, so a proof is
good once. (No time limit: the device's clock may run scaled, or be wrong.)

- No proof, a wrong or truncated one, an altered field, another header
  version, an old challenge: refused with EACCESSDENIED (in group 64 the group
  error ERR_AUTH), and an AUTH_FAILED record says what was tried.
- Failures in a row lock the door: after FREE_FAILURES, every attempt is
  refused unchecked for 2, 4, 8 ... up to MAX_LOCK_S seconds (ERR_LOCKED), so
  a key cannot be guessed over the cable. A good proof clears the count.
- The key: 32 bytes in a small state file, never readable over SMP. A device
  without one takes a key once, in the clear (metering command 8, write):
  `edgemeter deploy` and `edgemeter emulate` provision it at installation and
  keep it in the technician's key file. Until then writes are refused. Another
  key for a device that has one is refused like a wrong proof: recorded as
  AUTH_FAILED and counted toward the lockout.

Reads stay open: status, records, plan, balance, services, config, OS info,
echo, clock. They change nothing, and the records carry their own MACs.
"""

import os

from firmware.smp.server import SMPError
from firmware.storage import state_files
from protocol import auth, records, smp
from protocol import metering as m

FREE_FAILURES = 3
MAX_LOCK_S = 300
# Writes that change nothing: SMP echo (OS group, command 0).
OPEN_WRITES = ((smp.GROUP_OS, 0),)


class Guard:
    def __init__(self, path, record, clock):
        self.path = path
        self.record = record
        self.clock = clock
        saved = state_files.get(path) or {}
        self.key = saved.get("key")
        self.failures = saved.get("failures", 0)
        self.locked_until_ms = 0
        self._challenge = None  # the nonce the next write's proof must use
        if self.failures >= FREE_FAILURES:  # a power cycle does not open the door
            self._lock(clock.now_ms())

    @property
    def provisioned(self):
        return self.key is not None

    def protects(self, group, command, op):
        return op == smp.OP_WRITE and (group, command) not in OPEN_WRITES and (group, command) != (m.GROUP, m.CMD_AUTH)

    def challenge(self):
        self._challenge = os.urandom(16)
        return self._challenge

    def provision(self, key):
        """Take the device key, once; ValueError if the key is not 32 bytes.

        On a device that has a key, an attempt fails like a wrong proof (SMPError,
        an AUTH_FAILED record, a step toward the lockout), or is refused unchecked
        while locked.
        """
        if self.key is not None:
            now = self.clock.now_ms()
            self._refuse_if_locked(m.GROUP, now)
            self._fail("the device has a key already", m.GROUP, m.CMD_AUTH, now)
        if not isinstance(key, (bytes, bytearray)) or len(key) != 32:
            raise ValueError("a key is 32 bytes")
        self.key = bytes(key)
        self._save()
        self.record(records.CONFIG_CHANGED, records.config_change("device_key", None, "provisioned"))

    def check(self, version, op, group, command, request):
        """The request with a good proof, its "auth" entry removed; else SMPError."""
        now = self.clock.now_ms()
        self._refuse_if_locked(group, now)
        challenge, self._challenge = self._challenge, None  # any attempt uses the challenge up
        proof = request.pop("auth", None)
        why = None
        if self.key is None:
            why = "not provisioned"
        elif not isinstance(proof, (bytes, bytearray)):
            why = "no proof"
        elif challenge is None:
            why = "no fresh challenge"
        elif not auth.equal(proof, auth.request_proof(self.key, challenge, version, group, command, op, request)):
            why = "wrong proof"
        if why is None:
            if self.failures:
                self.failures = 0
                self._save()
            return request
        self._fail(why, group, command, now)

    def _refuse_if_locked(self, group, now):
        if now < self.locked_until_ms:
            why = "locked for %d s more after failed proofs" % ((self.locked_until_ms - now + 999) // 1000)
            raise SMPError(smp.ERR_EACCESSDENIED, m.ERR_LOCKED if group == m.GROUP else None, why)

    def _fail(self, why, group, command, now):
        self.failures += 1
        self._save()
        self.record(records.AUTH_FAILED, {records.AUTH_FAILED__WHY: why, records.AUTH_FAILED__GROUP: group,
                                            records.AUTH_FAILED__COMMAND: command, records.AUTH_FAILED__FAILURES: self.failures})
        if self.failures >= FREE_FAILURES:
            self._lock(now)
        raise SMPError(smp.ERR_EACCESSDENIED, m.ERR_AUTH if group == m.GROUP else None, why)

    def _lock(self, now):
        self.locked_until_ms = now + min(MAX_LOCK_S, 2 ** (self.failures - FREE_FAILURES + 1)) * 1000

    def _save(self):
        state_files.put(self.path, {"key": self.key, "failures": self.failures})
