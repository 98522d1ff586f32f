"""Who may change the device (firmware/smp/auth_guard.py), on both VMs: requests in as bytes,
through SMPServer.handle exactly as the serial loop does. Each attack is refused and
recorded; a good proof passes once; failures lock the door, across a reboot too."""

# The metering group and the SMP server come in with the guard: their bytecode
# sits in the heap on the unix port (frozen in flash on a board).
HEAP = "96k"

import flash_fixture  # first: its flash buffer is allocated while the heap is empty

import os

from firmware.smp.auth_guard import Guard
from firmware.smp.groups.auth import AuthCommands
from firmware.smp.groups.log import LogCommands
from firmware.smp.server import SMPServer
from protocol import auth, cbor, records, smp
from protocol import metering as m

KEY = bytes(range(1, 33))


class Clock:
    def __init__(self):
        self.ms = 1000000

    def now_ms(self):
        return self.ms


class Log:
    device_id = "em-test"
    epoch = 9
    signing = None

    def sign_with(self, key):
        self.signing = key


def _setup(folder=None, key=KEY):
    if folder is None:
        folder = flash_fixture.fresh_dir("auth", 256, 16)
        os.mkdir(folder)
    recorded = []
    clock = Clock()
    guard = Guard(folder + "/auth", lambda rtype, fields: recorded.append((rtype, fields)), clock)
    if key and not guard.provisioned:
        guard.provision(key)
    server = SMPServer(512)
    server.guard = guard
    log = Log()
    LogCommands(server, log)
    AuthCommands(server, log, guard)
    done = []
    server.register(m.GROUP, {(99, smp.OP_WRITE): lambda request: done.append(request) or {"ok": True}})
    return server, guard, recorded, done, clock, folder, log


def _message(op, group, command, body, version=smp.VERSION_2, seq=1):
    payload = cbor.dumps(body)
    return smp.pack_header(op, version, 0, len(payload), group, seq, command) + payload


def _answer(server, message):
    response = server.handle(message)
    return cbor.loads(response[smp.HEADER_SIZE :])


def _challenge(server):
    return _answer(server, _message(smp.OP_READ, m.GROUP, m.CMD_AUTH, {}))["nonce"]


def _signed(server, body, key=KEY, version=smp.VERSION_2, group=m.GROUP, command=99):
    nonce = _challenge(server)
    body = dict(body)
    body["auth"] = auth.request_proof(key, nonce, version, group, command, smp.OP_WRITE, body)
    return _message(smp.OP_WRITE, group, command, body, version)


def _refused(answer, rc=m.ERR_AUTH):
    return answer == {"err": {"group": m.GROUP, "rc": rc}}


def test_a_good_proof_passes_once_and_the_handler_never_sees_it():
    server, guard, recorded, done, clock, folder, log = _setup()
    good = _signed(server, {"quota": 5})
    assert _answer(server, good) == {"ok": True} and done == [{"quota": 5}]
    assert _refused(_answer(server, good))  # the same bytes again: a replay
    assert len(done) == 1 and recorded[-1][0] == records.AUTH_FAILED and recorded[-1][1][8] == "no fresh challenge"


def _no_proof(server):
    return _message(smp.OP_WRITE, m.GROUP, 99, {"quota": 5})


def _other_key(server):
    return _signed(server, {"quota": 5}, key=bytes(32))


def _proof(server):
    nonce = _challenge(server)
    return auth.request_proof(KEY, nonce, smp.VERSION_2, m.GROUP, 99, smp.OP_WRITE, {"quota": 5})


def _truncated(server):
    return _message(smp.OP_WRITE, m.GROUP, 99, {"quota": 5, "auth": _proof(server)[:16]})


def _altered(server):
    return _message(smp.OP_WRITE, m.GROUP, 99, {"quota": 50000, "auth": _proof(server)})


def _downgraded(server):  # signed for SMP version 2, sent as version 1
    return _message(smp.OP_WRITE, m.GROUP, 99, {"quota": 5, "auth": _proof(server)}, smp.VERSION_1)


def test_each_forgery_is_refused_and_recorded():
    server, guard, recorded, done, clock, folder, log = _setup()
    for forge in (_no_proof, _other_key, _truncated, _altered, _downgraded):
        guard.failures = 0  # one at a time: this test is not about the lockout
        answer = _answer(server, forge(server))
        assert _refused(answer) or answer.get("rc") == smp.ERR_EACCESSDENIED, (forge, answer)
    assert done == []
    whys = [fields[8] for rtype, fields in recorded if rtype == records.AUTH_FAILED]
    assert whys == ["no proof", "wrong proof", "wrong proof", "wrong proof", "wrong proof"]


def test_failures_lock_the_door_even_across_a_reboot():
    server, guard, recorded, done, clock, folder, log = _setup()
    for _ in range(3):
        assert _refused(_answer(server, _signed(server, {"x": 1}, key=bytes(32))))
    assert _refused(_answer(server, _signed(server, {"x": 1})), m.ERR_LOCKED)  # right key, but locked
    server, guard, recorded, done, clock, folder, log = _setup(folder)  # a power cycle
    assert _refused(_answer(server, _signed(server, {"x": 1})), m.ERR_LOCKED)
    clock.ms += 2000  # the first lock is 2 s
    assert _answer(server, _signed(server, {"x": 1})) == {"ok": True}
    assert guard.failures == 0


def test_the_key_is_taken_once_reads_and_echo_stay_open():
    server, guard, recorded, done, clock, folder, log = _setup(key=None)
    assert not guard.provisioned
    assert _refused(_answer(server, _signed(server, {"x": 1})))  # no key yet: nothing passes
    guard.failures = 0
    answer = _answer(server, _message(smp.OP_WRITE, m.GROUP, m.CMD_AUTH, {"key": KEY}))
    assert answer == {"provisioned": True} and log.signing == KEY
    assert _refused(_answer(server, _message(smp.OP_WRITE, m.GROUP, m.CMD_AUTH, {"key": bytes(32)})))
    assert guard.key == KEY and _answer(server, _signed(server, {"x": 1})) == {"ok": True}
    challenge = _answer(server, _message(smp.OP_READ, m.GROUP, m.CMD_AUTH, {}))
    assert challenge["provisioned"] and len(challenge["nonce"]) == 16 and "key" not in challenge
    assert not guard.protects(smp.GROUP_OS, smp.OS_ECHO, smp.OP_WRITE) and not guard.protects(m.GROUP, m.CMD_STATUS, smp.OP_READ)
    assert guard.protects(smp.GROUP_OS, 4, smp.OP_WRITE) and guard.protects(m.GROUP, m.CMD_ACK, smp.OP_WRITE)


def test_another_key_is_a_failed_proof_recorded_and_locked_out():
    server, guard, recorded, done, clock, folder, log = _setup()
    for failures in (1, 2, 3):
        assert _refused(_answer(server, _message(smp.OP_WRITE, m.GROUP, m.CMD_AUTH, {"key": bytes(32)})))
        assert recorded[-1] == (records.AUTH_FAILED, {8: "the device has a key already", 9: m.GROUP, 10: m.CMD_AUTH, 11: failures})
    assert _refused(_answer(server, _message(smp.OP_WRITE, m.GROUP, m.CMD_AUTH, {"key": KEY})), m.ERR_LOCKED)
    assert _refused(_answer(server, _signed(server, {"x": 1})), m.ERR_LOCKED)  # every write waits
    assert [t for t, f in recorded] == [records.CONFIG_CHANGED] + [records.AUTH_FAILED] * 3  # none while locked
    assert guard.key == KEY and log.signing is None and done == []
    clock.ms += 2000
    assert _answer(server, _signed(server, {"x": 1})) == {"ok": True} and guard.failures == 0


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
