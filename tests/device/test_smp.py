"""Device tests for protocol.smp: the 8-byte SMP header (runs on MicroPython and CPython)."""

from protocol import smp


def raises(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return True
    return False


def test_constants():
    assert (smp.OP_READ, smp.OP_READ_RSP, smp.OP_WRITE, smp.OP_WRITE_RSP) == (0, 1, 2, 3)
    assert (smp.VERSION_1, smp.VERSION_2, smp.HEADER_SIZE) == (0, 1, 8)
    assert (smp.GROUP_OS, smp.GROUP_IMAGE, smp.GROUP_STATS, smp.GROUP_SETTINGS) == (0, 1, 2, 3)
    assert (smp.GROUP_FS, smp.GROUP_SHELL, smp.GROUP_ENUM, smp.GROUP_ZEPHYR) == (8, 9, 10, 63)
    assert smp.GROUP_USER_FIRST == 64
    assert [smp.OS_ECHO, smp.OS_ECHO_CONTROL, smp.OS_TASK_STATS, smp.OS_MPSTATS, smp.OS_DATETIME,
            smp.OS_RESET, smp.OS_PARAMS, smp.OS_INFO, smp.OS_BOOTLOADER_INFO] == list(range(9))
    errs = [smp.ERR_EOK, smp.ERR_EUNKNOWN, smp.ERR_ENOMEM, smp.ERR_EINVAL, smp.ERR_ETIMEOUT,
            smp.ERR_ENOENT, smp.ERR_EBADSTATE, smp.ERR_EMSGSIZE, smp.ERR_ENOTSUP,
            smp.ERR_ECORRUPT, smp.ERR_EBUSY, smp.ERR_EACCESSDENIED,
            smp.ERR_UNSUPPORTED_TOO_OLD, smp.ERR_UNSUPPORTED_TOO_NEW]
    assert errs == list(range(14))


def test_error_classes():
    assert issubclass(smp.SMPError, ValueError)
    assert issubclass(smp.SMPHeaderError, smp.SMPError)


def test_pack_known_vector():
    # Header(op=WRITE, version=V2, flags=0, length=116, group_id=1, sequence=154,
    # command_id=1) from the smp package's documentation.
    assert smp.pack_header(2, 1, 0, 116, 1, 154, 1) == b"\x0a\x00\x00\x74\x00\x01\x9a\x01"
    # MCUmgr params request as smpclient sends it on connect (v2 read, OS group, cmd 6).
    assert smp.pack_header(0, 1, 0, 0, 0, 7, 6) == b"\x08\x00\x00\x00\x00\x00\x07\x06"


def test_bit_layout():
    assert smp.pack_header(7, 0, 0, 0, 0, 0, 0)[0] == 0x07
    assert smp.pack_header(0, 3, 0, 0, 0, 0, 0)[0] == 0x18
    h = smp.pack_header(3, 1, 0xA5, 0x1234, 0xBEEF, 0xFE, 0x7F)
    assert h == b"\x0b\xa5\x12\x34\xbe\xef\xfe\x7f"
    assert len(h) == smp.HEADER_SIZE


def test_unpack_roundtrip():
    for fields in ((0, 0, 0, 0, 0, 0, 0), (3, 1, 255, 65535, 65535, 255, 255),
                   (2, 1, 0, 116, 1, 154, 1), (1, 0, 1, 513, 64, 9, 200)):
        assert smp.unpack_header(smp.pack_header(*fields)) == fields


def test_unpack_ignores_reserved_bits_and_payload():
    assert smp.unpack_header(b"\xea\x00\x00\x74\x00\x01\x9a\x01" + b"\xa0payload") == (
        2, 1, 0, 116, 1, 154, 1)
    assert smp.unpack_header(bytearray(b"\x08\x00\x00\x00\x00\x00\x07\x06")) == (
        0, 1, 0, 0, 0, 7, 6)
    assert smp.unpack_header(memoryview(b"xx\x08\x00\x00\x00\x00\x00\x07\x06")[2:]) == (
        0, 1, 0, 0, 0, 7, 6)


def test_unpack_short_buffer():
    for buf in (b"", b"\x08", b"\x08\x00\x00\x00\x00\x00\x07"):
        assert raises(smp.SMPHeaderError, smp.unpack_header, buf)
    assert raises(ValueError, smp.unpack_header, b"1234567")


def test_pack_out_of_range():
    good = [0, 0, 0, 0, 0, 0, 0]
    limits = [7, 3, 255, 65535, 65535, 255, 255]
    for i in range(7):
        f = list(good)
        f[i] = limits[i]
        smp.pack_header(*f)
        f[i] = limits[i] + 1
        assert raises(smp.SMPHeaderError, smp.pack_header, *f), i
        f[i] = -1
        assert raises(smp.SMPHeaderError, smp.pack_header, *f), i


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
