"""The SMP (Zephyr MCUmgr Simple Management Protocol) header and protocol constants.

Every SMP message is an 8-byte big-endian header followed by a CBOR payload:

    byte 0   res (3 bits, 7..5) | version (2 bits, 4..3) | op (3 bits, 2..0)
    byte 1   flags
    2..3     payload length (u16, the CBOR bytes after the header)
    4..5     group id (u16)
    6        sequence number (u8, echoed in the response)
    7        command id (u8, meaning depends on the group)

This module only packs and unpacks that header; the serial framing lives in
`protocol.smp_serial`. It runs unchanged on MicroPython and CPython, which is
why the constants are plain integers rather than enums.
"""

import struct

# Operations. A response's op is the request's op + 1.
OP_READ = 0
OP_READ_RSP = 1
OP_WRITE = 2
OP_WRITE_RSP = 3

# Header versions: V1 is the original protocol; V2 adds the {"err": {"group", "rc"}}
# error map to responses. The server answers with the version the client used.
VERSION_1 = 0
VERSION_2 = 1

HEADER_SIZE = 8

# Group ids (as in Zephyr and smp.header.GroupId). 64 and up are for applications.
GROUP_OS = 0
GROUP_IMAGE = 1
GROUP_STATS = 2
GROUP_SETTINGS = 3
GROUP_LOG = 4
GROUP_RUNTIME_TESTS = 5
GROUP_SPLIT_IMAGE = 6
GROUP_TEST_CRASH = 7
GROUP_FS = 8
GROUP_SHELL = 9
GROUP_ENUM = 10
GROUP_TRANSPORT = 11
GROUP_ZEPHYR = 63
GROUP_USER_FIRST = 64

# OS management group (GROUP_OS) command ids.
OS_ECHO = 0
OS_ECHO_CONTROL = 1
OS_TASK_STATS = 2
OS_MPSTATS = 3
OS_DATETIME = 4
OS_RESET = 5
OS_PARAMS = 6
OS_INFO = 7
OS_BOOTLOADER_INFO = 8

# Commands of the statistics group (GROUP_STATS), Zephyr's stat_mgmt.
STATS_GROUP_DATA = 0  # read {"name"}: {"name", "fields": {name: uint}}
STATS_LIST = 1  # read {}: {"stat_list": [name, ...]}
STATS_ERR_INVALID_GROUP = 2  # the group's own code (STAT_MGMT_ERR_INVALID_GROUP) for a name it lacks

# MCUmgr result codes ("rc" in a response; MGMT_ERR_* in Zephyr).
ERR_EOK = 0
ERR_EUNKNOWN = 1
ERR_ENOMEM = 2
ERR_EINVAL = 3
ERR_ETIMEOUT = 4
ERR_ENOENT = 5
ERR_EBADSTATE = 6
ERR_EMSGSIZE = 7
ERR_ENOTSUP = 8
ERR_ECORRUPT = 9
ERR_EBUSY = 10
ERR_EACCESSDENIED = 11
ERR_UNSUPPORTED_TOO_OLD = 12
ERR_UNSUPPORTED_TOO_NEW = 13

_HEADER = ">BBHHBB"


class SMPError(ValueError):
    """Base class of the SMP errors raised by the protocol package."""


class SMPHeaderError(SMPError):
    """A header that cannot be packed or unpacked: too short, or a field out of range."""


def _check(name, value, limit):
    # MicroPython's struct.pack silently truncates out-of-range values (CPython
    # raises struct.error), so check here to fail the same way on both VMs.
    if not 0 <= value <= limit:
        raise SMPHeaderError("%s %r out of range 0..%d" % (name, value, limit))


def pack_header(op, version, flags, length, group, seq, cmd):
    """Return the 8 header bytes. Raises SMPHeaderError if a field is out of range.

    The three reserved bits are always sent as zero.
    """
    _check("op", op, 7)
    _check("version", version, 3)
    _check("flags", flags, 0xFF)
    _check("length", length, 0xFFFF)
    _check("group", group, 0xFFFF)
    _check("seq", seq, 0xFF)
    _check("cmd", cmd, 0xFF)
    return struct.pack(_HEADER, (version << 3) | op, flags, length, group, seq, cmd)


def unpack_header(buf):
    """Return (op, version, flags, length, group, seq, cmd) from the first 8 bytes of buf.

    buf may be a whole message (the payload after byte 8 is not looked at). The
    reserved bits are ignored, as Zephyr and the `smp` package do. Raises
    SMPHeaderError if buf is shorter than HEADER_SIZE.
    """
    if len(buf) < HEADER_SIZE:
        raise SMPHeaderError("SMP header needs %d bytes, got %d" % (HEADER_SIZE, len(buf)))
    b0, flags, length, group, seq, cmd = struct.unpack_from(_HEADER, buf, 0)
    return (b0 & 0x07, (b0 >> 3) & 0x03, flags, length, group, seq, cmd)
