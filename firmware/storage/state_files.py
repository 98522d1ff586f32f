"""File helpers of the record log (firmware/storage/record_log.py), for MicroPython's VFS and CPython.

MicroPython has no os.path, no truncate() and no fsync(): paths are joined by
hand, a file is shortened by copying its prefix and renaming the copy over it,
and "durable" means closed or flushed (on littlefs both are lfs_file_sync).
Frames are read one at a time, so memory use stays at one frame (<= 1030 bytes).
"""

import binascii
import os

from protocol import cbor, records

ENOSPC = 28  # MicroPython's errno module has no name for it
_SMALL = 4096  # put() files are small: the SMS outbox is the largest
_encoded = bytearray(1024)  # put()'s buffer: room for the usual file (a larger one grows it)


def makedirs(path):
    """mkdir -p; OSError if path is still not a folder."""
    i = 0
    while i >= 0:
        i = path.find("/", i + 1)
        try:
            os.mkdir(path if i < 0 else path[:i])
        except OSError:
            pass  # exists already, or is a mount point
    if not os.stat(path)[0] & 0x4000:
        raise OSError(20)  # ENOTDIR


def size(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return 0


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def put(path, value):
    """Replace a small file atomically: write a temp file, rename it over. The frame
    goes out in its three parts, the body encoded into one buffer kept for every
    put (put never awaits, so the tasks take turns with it): a put needs no new
    block of its size on a fragmented heap."""
    body = _encoded
    body[:] = b""
    cbor.dump_into(value, body)
    head, tail = records.frame_ends(body, _SMALL)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head)
        f.write(body)
        f.write(tail)
    os.rename(tmp, path)  # atomic on littlefs: the old or the new file, never a mix


def get(path):
    """The value put() stored, or None if the file is missing or damaged."""
    try:
        with open(path, "rb") as f:
            data = f.read(min(size(path), _SMALL + records.FRAME_OVERHEAD))
        return cbor.loads(records.body_of(data, _SMALL))
    except (OSError, ValueError):
        return None


class Value:
    """One value in one small file, with a journal's interface (firmware/storage/journal.py):
    where the flash keeps the old layout (firmware/storage/flash_mount.py)."""

    def __init__(self, path):
        self.path = path

    def open(self):
        return get(self.path)

    def get(self):
        return get(self.path)

    def put(self, value):
        put(self.path, value)


def next_frame(f):
    """The next whole frame with a good CRC; b"" at the end, None if the bytes are bad."""
    head = f.read(2)
    if not head:
        return b""
    n = len(head) == 2 and (head[0] << 8 | head[1])
    if not n or n > records.MAX_BODY:
        return None
    frame = head + f.read(n + 4)
    if len(frame) != n + 6:
        return None
    crc = frame[-4] << 24 | frame[-3] << 16 | frame[-2] << 8 | frame[-1]
    if binascii.crc32(memoryview(frame)[2 : n + 2]) != crc:
        return None
    return frame


def seq_of(frame):
    """The seq of a frame's record, -1 if it has none."""
    try:
        # Canonical CBOR puts keys 0 (type, a small int) and 1 (seq) first.
        if frame[2] & 0xE0 == 0xA0 and frame[3] == 0 and frame[4] < 24 and frame[5] == 1:
            return cbor.decode_prefix(frame, 6)[0]
        return cbor.loads(memoryview(frame)[2:-4])[records.K_SEQ]
    except (ValueError, KeyError, TypeError, IndexError):
        return -1


def skip(f, count):
    """Skip count frames by their lengths; False if the file ends first."""
    while count:
        head = f.read(2)
        if len(head) < 2:
            return False
        f.seek((head[0] << 8 | head[1]) + 4, 1)
        count -= 1
    return True


def scan(path, first):
    """(count, bytes) of the whole frames at the start of a segment holding seqs first, first+1, ..."""
    count = 0
    good = 0
    with open(path, "rb") as f:
        while True:
            frame = next_frame(f)
            if not frame or seq_of(frame) != first + count:
                return count, good
            count += 1
            good += len(frame)


def copy_prefix(path, length):
    """Shorten a file to length bytes (copy + rename); False if the file system is full."""
    tmp = path + ".tmp"
    try:
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            buf = bytearray(256)
            while length:
                n = src.readinto(buf) if length >= 256 else src.readinto(memoryview(buf)[:length])
                if not n:
                    break
                dst.write(memoryview(buf)[:n])
                length -= n
        os.rename(tmp, path)
    except OSError as e:
        remove(tmp)
        if e.errno != ENOSPC:
            raise
        return False
    return True
