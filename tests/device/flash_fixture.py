"""A fresh folder on an empty file system, for device tests of code that uses files.

On MicroPython the folder is on LittleFS v2 (vfs.VfsLfs2) on a RAM block device
mounted at /ramfs, as the board's flash would be; each call erases and formats
it anew. One 6 KB buffer is reused, allocated when this module is imported:
import it before the code under test, while the 64 KB heap still has a free
run that long. On CPython
it is in a new temporary directory: code under test must only use file
operations both VMs have (open, os.listdir/stat/remove/rename/mkdir).

    root = flash_fixture.fresh_dir()      # e.g. "/ramfs/log"; not created yet
    flash_fixture.wipe(root)              # the folder and its files gone, as after a reformat
    journal = flash_fixture.journal(root) # the meter's checkpoint journal of this folder's board,
                                          # opened anew at each call (a reboot); on a RAM flash
"""

import os
import sys

MICROPYTHON = sys.implementation.name == "micropython"
MOUNT_POINT = "/ramfs"

from board.block_device import BlockDevice


class RamFlash(BlockDevice):
    """A block device in a bytearray: erased blocks read 0xFF, like NOR flash."""

    def __init__(self, block_size=256, blocks=24):
        self.block_size = block_size
        self.blocks = blocks
        self.data = bytearray(block_size * blocks)
        self._blank = b"\xff" * block_size
        for block in range(blocks):
            self.erase(block)

    def erase(self, block):
        start = block * self.block_size
        self.data[start : start + self.block_size] = self._blank

    def readblocks(self, block, buf, offset=0):
        start = block * self.block_size + offset
        buf[:] = memoryview(self.data)[start : start + len(buf)]

    def writeblocks(self, block, buf, offset=None):
        start = block * self.block_size + (offset or 0)
        self.data[start : start + len(buf)] = buf


_previous = []
_journals = {}  # folder -> the RAM flash of its checkpoint journal, until the next fresh_dir
_flash = [RamFlash()] if MICROPYTHON else []


def fresh_dir(name="log", block_size=256, blocks=24):
    """Path of a folder (not yet created) on a new, empty file system."""
    while _previous:
        _release(_previous.pop())
    _journals.clear()
    if MICROPYTHON:
        import gc
        import vfs

        gc.collect()
        if _flash and (_flash[0].block_size, _flash[0].blocks) == (block_size, blocks):
            flash = _flash[0]
            for block in range(blocks):
                flash.erase(block)
        else:
            del _flash[:]
            flash = RamFlash(block_size, blocks)
            _flash.append(flash)
        vfs.VfsLfs2.mkfs(flash)
        vfs.mount(vfs.VfsLfs2(flash), MOUNT_POINT)
        _previous.append(MOUNT_POINT)
        return MOUNT_POINT + "/" + name
    import tempfile

    top = tempfile.mkdtemp(prefix="edgemeter-flash-")
    _previous.append(top)
    return top + "/" + name


def journal(folder):
    """The checkpoint journal (firmware/storage/journal.py) of the board whose state is
    in `folder`, opened: the same flash for every call until the next fresh_dir."""
    from firmware.storage.journal import Journal

    if folder not in _journals:
        _journals[folder] = RamFlash(256, 3)
    opened = Journal(_journals[folder])
    opened.open()
    return opened


def _release(top):
    if MICROPYTHON:
        import vfs

        vfs.umount(top)
    else:
        import shutil

        shutil.rmtree(top, ignore_errors=True)


def wipe(path):
    """Remove a folder and everything in it."""
    for name in os.listdir(path):
        full = path + "/" + name
        if os.stat(full)[0] & 0x4000:
            wipe(full)
        else:
            os.remove(full)
    os.rmdir(path)


def files(path):
    """Sorted names in a folder."""
    return sorted(os.listdir(path))
