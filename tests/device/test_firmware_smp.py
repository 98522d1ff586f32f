"""The firmware's SMP server and OS group, request bytes in, response bytes out.

Runs on both VMs: requests are built with the protocol modules, handled by
`SMPServer.handle` exactly as the serial loop does, and the responses decoded.
"""

# The server, the OS group and their package modules come in as bytecode, which the
# unix port holds in its heap (a board keeps it in flash): 57.6 KB of 64 KB with the
# packages of firmware/smp/, more than the 8 KB margin leaves.
HEAP = "72k"

from board.base import Clock
from firmware.smp.groups.os_mgmt import OSGroup
from firmware.smp.server import SMPServer
from protocol import cbor, records, smp


class _Board:
    name = "test-board"
    mcu = "test-mcu"

    def __init__(self):
        self.clock = Clock()


RECORDED = []


def _server():
    server = SMPServer(buf_size=512)
    resets = []
    OSGroup(server, _Board(), "em-0123", lambda: resets.append(1), lambda rtype, fields: RECORDED.append((rtype, fields)))
    return server, resets


def _request(op, group, cmd, body, version=smp.VERSION_2, seq=7, length=None):
    payload = cbor.dumps(body) if not isinstance(body, bytes) else body
    size = len(payload) if length is None else length
    return smp.pack_header(op, version, 0, size, group, seq, cmd) + payload


def _answer(server, message):
    response = server.handle(message)
    assert response is not None
    op, version, flags, length, group, seq, cmd = smp.unpack_header(response)
    assert length == len(response) - smp.HEADER_SIZE
    return (op, version, group, seq, cmd), cbor.loads(response[smp.HEADER_SIZE :])


def test_echo_in_both_versions_keeps_sequence_and_version():
    server, _ = _server()
    for version in (smp.VERSION_1, smp.VERSION_2):
        head, body = _answer(server, _request(smp.OP_WRITE, smp.GROUP_OS, smp.OS_ECHO, {"d": "剩余5MB"}, version, seq=200))
        assert head == (smp.OP_WRITE_RSP, version, smp.GROUP_OS, 200, smp.OS_ECHO)
        assert body == {"r": "剩余5MB"}


def test_unknown_group_command_or_op_is_enotsup():
    server, _ = _server()
    for op, group, cmd in (
        (smp.OP_READ, 99, 0),
        (smp.OP_WRITE, smp.GROUP_IMAGE, 1),
        (smp.OP_READ, smp.GROUP_OS, smp.OS_TASK_STATS),
        (smp.OP_READ, smp.GROUP_OS, smp.OS_ECHO),
        (smp.OP_WRITE, smp.GROUP_OS, 200),
    ):
        head, body = _answer(server, _request(op, group, cmd, {}))
        assert head[0] == op + 1 and head[2] == group and head[4] == cmd
        assert body["rc"] == smp.ERR_ENOTSUP, (op, group, cmd, body)


def test_an_op_beyond_write_response_is_enotsup_in_a_write_response():
    server, _ = _server()
    for op in (4, 5, 6, 7):  # the 3-bit field holds them; SMP defines 0-3
        for version in (smp.VERSION_1, smp.VERSION_2, 2, 3):  # ENOTSUP before the version
            head, body = _answer(server, _request(op, smp.GROUP_OS, smp.OS_ECHO, {"d": "x"}, version, seq=op))
            assert head == (smp.OP_WRITE_RSP, min(version, smp.VERSION_2), smp.GROUP_OS, op, smp.OS_ECHO)
            assert body["rc"] == smp.ERR_ENOTSUP, (op, version, body)
    assert server.requests == 16 and server.errors == 16


def test_bad_payloads_are_einval():
    server, _ = _server()
    for message in (
        _request(smp.OP_WRITE, smp.GROUP_OS, smp.OS_ECHO, b"\xff\x00"),  # not CBOR
        _request(smp.OP_WRITE, smp.GROUP_OS, smp.OS_ECHO, [1, 2]),  # not a map
        _request(smp.OP_WRITE, smp.GROUP_OS, smp.OS_ECHO, {"d": 5}),  # wrong type
        _request(smp.OP_WRITE, smp.GROUP_OS, smp.OS_ECHO, {}),  # missing field
        _request(smp.OP_WRITE, smp.GROUP_OS, smp.OS_ECHO, {"d": "x"}, length=9),  # length lies
        _request(smp.OP_WRITE, smp.GROUP_OS, smp.OS_ECHO, b"\x5a\xff\xff\xff\xff"),  # 4 GB string
    ):
        _head, body = _answer(server, message)
        assert body["rc"] == smp.ERR_EINVAL, body
        assert isinstance(body.get("rsn", ""), str)


def test_reserved_version_is_too_new():
    server, _ = _server()
    head, body = _answer(server, _request(smp.OP_WRITE, smp.GROUP_OS, smp.OS_ECHO, {"d": "x"}, version=3))
    assert body["rc"] == smp.ERR_UNSUPPORTED_TOO_NEW
    assert head[1] == smp.VERSION_2


def test_responses_and_runts_get_no_answer():
    server, _ = _server()
    assert server.handle(_request(smp.OP_WRITE_RSP, smp.GROUP_OS, smp.OS_ECHO, {"r": "x"})) is None
    assert server.handle(_request(smp.OP_READ_RSP, smp.GROUP_OS, smp.OS_PARAMS, {})) is None
    assert server.handle(b"\x02\x00\x00") is None
    head, body = _answer(server, _request(smp.OP_WRITE, smp.GROUP_OS, smp.OS_ECHO, {"d": "ok"}))
    assert body == {"r": "ok"}


def test_datetime_write_sets_the_clock_and_read_returns_it():
    server, _ = _server()
    del RECORDED[:]
    _head, body = _answer(server, _request(smp.OP_WRITE, smp.GROUP_OS, smp.OS_DATETIME, {"datetime": "2026-12-01T08:00:00+08:00"}))
    assert body == {}
    assert len(RECORDED) == 1 and RECORDED[0][0] == records.CONFIG_CHANGED
    assert RECORDED[0][1][8] == "clock" and RECORDED[0][1][10] == 1796083200
    _head, body = _answer(server, _request(smp.OP_READ, smp.GROUP_OS, smp.OS_DATETIME, {}))
    assert body["datetime"][:19] in ("2026-12-01T00:00:00", "2026-12-01T00:00:01"), body
    _head, body = _answer(server, _request(smp.OP_WRITE, smp.GROUP_OS, smp.OS_DATETIME, {"datetime": "2026-02-30T00:00:00"}))
    assert body["rc"] == smp.ERR_EINVAL and "datetime" in body["rsn"]
    assert len(RECORDED) == 1  # a refused write changes nothing


def test_params_advertise_the_reassembly_buffer():
    server, _ = _server()
    _head, body = _answer(server, _request(smp.OP_READ, smp.GROUP_OS, smp.OS_PARAMS, {}))
    assert body == {"buf_size": 512, "buf_count": 1}


def test_info_fields_and_format_errors_per_version():
    server, _ = _server()
    _head, body = _answer(server, _request(smp.OP_READ, smp.GROUP_OS, smp.OS_INFO, {}))
    assert body == {"output": "MicroPython"}
    _head, body = _answer(server, _request(smp.OP_READ, smp.GROUP_OS, smp.OS_INFO, {"format": "npi"}))
    assert body == {"output": "em-0123 test-mcu test-board"}
    _head, body = _answer(server, _request(smp.OP_READ, smp.GROUP_OS, smp.OS_INFO, {"format": "a"}))
    assert body["output"].startswith("MicroPython em-0123 ") and body["output"].endswith(" edgemeter")
    _head, body = _answer(server, _request(smp.OP_READ, smp.GROUP_OS, smp.OS_INFO, {"format": "sq"}))
    assert body == {"err": {"group": smp.GROUP_OS, "rc": 2}}
    _head, body = _answer(server, _request(smp.OP_READ, smp.GROUP_OS, smp.OS_INFO, {"format": "sq"}, smp.VERSION_1))
    assert body["rc"] == smp.ERR_EINVAL


def test_reset_answers_first_and_refuses_bootloader_mode():
    server, resets = _server()
    _head, body = _answer(server, _request(smp.OP_WRITE, smp.GROUP_OS, smp.OS_RESET, {"boot_mode": 1}))
    assert body["rc"] == smp.ERR_ENOTSUP
    _head, body = _answer(server, _request(smp.OP_WRITE, smp.GROUP_OS, smp.OS_RESET, {}))
    assert body == {}
    assert resets == []  # only after the response has gone out (see firmware/smp/serial_loop.py serve)


def test_a_failing_handler_answers_eunknown_and_the_server_goes_on():
    server, _ = _server()

    def broken(request):
        return request["missing"]

    server.register(64, {(0, smp.OP_READ): broken})
    _head, body = _answer(server, _request(smp.OP_READ, 64, 0, {}))
    assert body == {"rc": smp.ERR_EUNKNOWN}
    _head, body = _answer(server, _request(smp.OP_WRITE, smp.GROUP_OS, smp.OS_ECHO, {"d": "still"}))
    assert body == {"r": "still"}


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
