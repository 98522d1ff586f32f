"""The standard SMP statistics group (firmware/smp/groups/stats.py) on both VMs: the
group list, a group's counters read live from their owner, and an unknown name
answered as Zephyr's stat_mgmt answers it in each SMP version."""

from firmware.smp.groups.stats import StatsGroup
from firmware.smp.server import SMPServer
from firmware.storage.flash_counter import CountedFlash
from protocol import cbor, smp


class _Counters:
    def __init__(self):
        self.timeouts = 0
        self.resets = 0


class _Blocks:
    """Two 64-byte blocks in RAM, with the extended block-device interface."""

    def __init__(self):
        self.data = bytearray(b"\xff" * 128)

    def readblocks(self, block, buf, offset=0):
        start = block * 64 + offset
        buf[:] = self.data[start : start + len(buf)]

    def writeblocks(self, block, buf, offset=0):
        start = block * 64 + offset
        self.data[start : start + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 6:
            self.data[arg * 64 : arg * 64 + 64] = b"\xff" * 64
        return 0


def _ask(server, command, body, version=smp.VERSION_2):
    payload = cbor.dumps(body)
    response = server.handle(smp.pack_header(smp.OP_READ, version, 0, len(payload), smp.GROUP_STATS, 3, command) + payload)
    op, reply_version, _flags, _length, group, seq, reply_command = smp.unpack_header(response)
    assert (op, reply_version, group, seq, reply_command) == (smp.OP_READ_RSP, version, smp.GROUP_STATS, 3, command)
    return cbor.loads(response[smp.HEADER_SIZE :])


def _server():
    server = SMPServer(buf_size=512)
    modem = _Counters()
    flash = CountedFlash(_Blocks())
    StatsGroup(server, (("modem", modem, ("timeouts", "resets")),
                        ("flash", flash, ("programs", "bytes_programmed", "erases"))))
    return server, modem, flash


def test_the_list_names_each_group_in_order():
    server, _modem, _flash = _server()
    assert _ask(server, smp.STATS_LIST, {}) == {"stat_list": ["modem", "flash"]}


def test_a_groups_counters_are_read_when_asked():
    server, modem, flash = _server()
    assert _ask(server, smp.STATS_GROUP_DATA, {"name": "modem"}) == {"name": "modem", "fields": {"timeouts": 0, "resets": 0}}
    modem.timeouts += 3
    assert _ask(server, smp.STATS_GROUP_DATA, {"name": "modem"})["fields"] == {"timeouts": 3, "resets": 0}
    flash.ioctl(6, 1)
    flash.writeblocks(1, b"\x00" * 16, 8)
    got = bytearray(4)
    flash.readblocks(1, got, 6)
    assert got == b"\xff\xff\x00\x00"  # the wrapped device did the work
    assert _ask(server, smp.STATS_GROUP_DATA, {"name": "flash"})["fields"] == {
        "programs": 1, "bytes_programmed": 16, "erases": 1}


def test_an_unknown_group_is_enoent_in_version_1_and_the_groups_own_code_in_version_2():
    server, _modem, _flash = _server()
    for name in ("nope", None, 7):
        body = {} if name is None else {"name": name}
        v1 = _ask(server, smp.STATS_GROUP_DATA, body, smp.VERSION_1)
        assert v1["rc"] == smp.ERR_ENOENT and "no statistics group" in v1["rsn"]
        assert _ask(server, smp.STATS_GROUP_DATA, body) == {"err": {"group": smp.GROUP_STATS, "rc": smp.STATS_ERR_INVALID_GROUP}}
    assert server.requests == 6 and server.errors == 6


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
