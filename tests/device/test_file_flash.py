"""The emulated board's flash (board/emulated/file_flash.py) behaves as NOR flash, on both VMs:
an erase sets a block to 0xFF, a program only clears bits (a program over bytes
not erased is counted as a fault), erase counts survive a reopen, and a power
cut inside a program or an erase leaves a prefix of it with at most one byte
partly programmed."""

# 4 KB blocks: the flash's own scratch block beside the tests' block-sized buffers.
HEAP = "96k"

import binascii
import os

from board.emulated.file_flash import ERASE_STEP, STEP, FileFlash, read_wear

BLOCK = 4096
_made = []  # the images of the test before: removed when the next one starts


def _fresh(name):
    """A new 4-block image in the host's temporary folder (both VMs see the host's files)."""
    while _made:
        try:
            os.remove(_made.pop())
        except OSError:
            pass
    path = "%s/edgemeter-%s-%s.img" % (os.getenv("TMPDIR") or "/tmp", name, binascii.hexlify(os.urandom(4)).decode())
    _made.extend((path, path + ".wear"))
    return FileFlash(path, BLOCK, 4, wear_path=path + ".wear"), path


def _read(flash, block, offset, n):
    buf = bytearray(n)
    flash.readblocks(block, buf, offset)
    return bytes(buf)


def test_a_new_image_is_erased_and_an_erase_sets_the_block_to_ff():
    flash, _path = _fresh("nor-new")
    assert _read(flash, 3, 0, BLOCK) == b"\xff" * BLOCK
    flash.writeblocks(1, b"\x00" * 100, 10)
    flash.ioctl(6, 1)
    assert _read(flash, 1, 0, BLOCK) == b"\xff" * BLOCK
    assert flash.program_faults == 0 and flash.erases == 1


def test_a_program_only_clears_bits_and_one_over_programmed_bytes_is_a_fault():
    flash, _path = _fresh("nor-and")
    flash.writeblocks(0, b"\xf0\x0f\xaa", 8)
    assert _read(flash, 0, 7, 5) == b"\xff\xf0\x0f\xaa\xff" and flash.program_faults == 0
    flash.writeblocks(0, b"\xff\xff\xff", 8)  # 0xFF over programmed bytes changes nothing: no fault
    assert _read(flash, 0, 8, 3) == b"\xf0\x0f\xaa" and flash.program_faults == 0
    flash.writeblocks(0, b"\x3c\x3c\xff", 8)  # the writer forgot to erase: NOR ANDs
    assert _read(flash, 0, 8, 3) == b"\x30\x0c\xaa" and flash.program_faults == 2
    assert flash.writes == 3 and flash.bytes_written == 9


def test_a_program_stays_within_its_block():
    flash, _path = _fresh("nor-bounds")
    try:
        flash.writeblocks(0, b"\x00" * 8, BLOCK - 4)
    except OSError as error:
        assert error.args[0] == 22
    else:
        raise AssertionError("a program across a block end was taken")
    assert _read(flash, 1, 0, 8) == b"\xff" * 8


def test_erase_counts_add_up_across_a_reopen():
    flash, path = _fresh("nor-wear")
    flash.ioctl(6, 2)
    flash.ioctl(6, 2)
    again = FileFlash(path, BLOCK, 4, wear_path=path + ".wear")
    again.ioctl(6, 2)
    again.ioctl(6, 0)
    assert read_wear(path + ".wear") == [1, 0, 3, 0]


class _CutAfter:
    """The image file, losing power after `writes` writes to it: what a SIGKILL then leaves."""

    def __init__(self, f, writes):
        self.f = f
        self.left = writes

    def write(self, data):
        if self.left == 0:
            raise OSError(5)
        self.left -= 1
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)


def _cut(flash, writes, action):
    real = flash._file
    flash._file = _CutAfter(real, writes)
    try:
        action()
    except OSError:
        pass
    flash._file = real


def test_a_cut_program_leaves_a_prefix_with_at_most_one_byte_partly_programmed():
    data = bytes((i * 7) & 0x7F for i in range(3 * STEP + 5))
    for writes in range(0, 3 * 4 + 1):
        flash, _path = _fresh("nor-cut-%d" % writes)
        _cut(flash, writes, lambda: flash.writeblocks(2, data, 100))
        got = _read(flash, 2, 100, len(data))
        whole = 0
        while whole < len(data) and got[whole] == data[whole]:
            whole += 1
        rest = got[whole:]
        assert rest[1:] == b"\xff" * (len(rest) - 1), writes  # a prefix, then erased flash
        if rest:
            assert rest[0] & data[whole] == data[whole] and rest[0] | 0x0F == data[whole] | 0x0F or rest[0] == 0xFF, writes
        assert _read(flash, 2, 0, 100) == b"\xff" * 100  # nothing before it touched


def test_a_cut_erase_leaves_the_block_partly_erased():
    for writes in range(BLOCK // ERASE_STEP):
        flash, _path = _fresh("nor-cut-erase-%d" % writes)
        flash.writeblocks(1, b"\x00" * BLOCK, 0)
        _cut(flash, writes, lambda: flash.ioctl(6, 1))
        got = _read(flash, 1, 0, BLOCK)
        assert got == b"\xff" * (writes * ERASE_STEP) + b"\x00" * (BLOCK - writes * ERASE_STEP)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
