"""Move a board of the old layout onto its board.json layout, once the host has every old record.

Firmware before the raw rings kept everything in one LittleFS over the whole
partition (flash_mount.OLD_LAYOUT): the records in segment files, the meter's
checkpoint in a file. That flash is run as it is while it holds a record not
acknowledged. At the first boot after the host has them all, what must outlive
the move goes to the layout of board.json (flash_range.split): the small files
(plan, reminders, key, outbox, the log's meta and ack) to the state range's
LittleFS, the checkpoint to the journal. The record ring starts empty and goes
on from the old log: the same epoch, the next seq after the last acknowledged
one, its MAC chained to that record's (log_base.py keeps both in the ack file).

What moves travels in a parcel, one block programmed raw in the records' range:

    offset 0  MAGIC | frame(CBOR [[[path, bytes], ...], checkpoint])   (protocol/records.py framing)

Two steps, each finished by whichever boot comes after a power cut in it:
1. pack (old layout, every record acknowledged): a filler file of zeros takes
   every free block of the old file system but two, so a block of the records'
   range that holds zeros past its first bytes (a littlefs file block starts
   with its skip-list pointers) is the filler's, or free: nothing the old
   layout needs. The parcel is programmed into one (erase, program, read back).
   A cut before it is whole leaves the old layout as it was, with the filler,
   which the next boot removes before it packs again. Once the parcel is whole
   the old file system is not written again (removing the filler could reuse
   the parcel's block).
2. unpack (any boot that finds a whole parcel, before anything else is
   mounted): format the state range, write the files, put the checkpoint in the
   journal, then erase the parcel: that erase is the commit. A cut before it
   leaves the parcel, and the next boot unpacks again from the start.
"""

import os

import vfs

from firmware.storage import state_files
from firmware.storage.journal import Journal
from protocol import cbor, records

MAGIC = b"EMm1"
FILLER = "/migration.fill"
SPARE_BLOCKS = 2  # left free by the filler: littlefs needs room to commit its metadata
_POINTERS = 64  # bytes a littlefs file block may start with (its skip-list pointers)
_FILL = bytes(256)
_ERASE = 6


def ready(old_log):
    """Whether the old layout's log has nothing the host has not acknowledged."""
    return old_log.ack_seq == old_log.head_seq


def pack(records_range, mount_point, checkpoint_path):
    """Step 1, on the old layout mounted at `mount_point`: the parcel of its files
    and the checkpoint in `checkpoint_path`, programmed into `records_range`.
    True once it is whole on flash; False (and a line saying why) if it cannot be."""
    state_files.remove(mount_point + FILLER)
    files = []
    _collect(mount_point, "", checkpoint_path[len(mount_point) :], files)
    parcel = MAGIC + records.frame(cbor.dumps([files, state_files.get(checkpoint_path)]), 0xFFFF)
    block_size = records_range.ioctl(5, 0)
    if len(parcel) > block_size:
        print("flash old layout kept: its state (%d bytes) does not fit a block" % len(parcel))
        return False
    _fill(mount_point)
    block = _free_block(records_range, block_size)
    if block is not None:
        records_range.ioctl(_ERASE, block)
        records_range.writeblocks(block, parcel, 0)
        if _parcel(records_range, block) is not None:
            return True  # the filler stays: this file system is not written again
    state_files.remove(mount_point + FILLER)
    print("flash old layout kept: no free block for its state")
    return False


def _collect(root, folder, skipped, files):
    # [path, bytes] of each file to keep under root + folder: not the old log's
    # segments (all acknowledged), temporary files or the checkpoint (it goes apart).
    for entry in os.ilistdir(root + folder):
        path = folder + "/" + entry[0]
        if entry[1] == 0x4000:
            _collect(root, path, skipped, files)
        elif not (path.endswith(".seg") or path.endswith(".tmp") or path == skipped):
            with open(root + path, "rb") as f:
                files.append([path, f.read()])


def _fill(mount_point):
    # Zeros over every free block but SPARE_BLOCKS.
    block_size, _, _, free = os.statvfs(mount_point)[:4]
    chunks = max(0, free - SPARE_BLOCKS) * (block_size - _POINTERS) // len(_FILL)
    try:
        with open(mount_point + FILLER, "wb") as f:
            for _ in range(chunks):
                f.write(_FILL)
    except OSError as e:
        if e.errno != state_files.ENOSPC:
            raise


def _free_block(flash, block_size):
    # A block holding only zeros past its first _POINTERS bytes, or None.
    buf = bytearray(len(_FILL))
    for block in range(flash.ioctl(4, 0)):
        at = _POINTERS
        while at < block_size:
            n = min(len(buf), block_size - at)
            view = memoryview(buf)[:n]
            flash.readblocks(block, view, at)
            if view != _FILL[:n]:
                break
            at += n
        else:
            return block
    return None


def find(records_range):
    """(block, [files, checkpoint]) of a whole parcel in `records_range`, or None."""
    magic = bytearray(len(MAGIC))
    for block in range(records_range.ioctl(4, 0)):
        records_range.readblocks(block, magic, 0)
        if magic == MAGIC:
            parcel = _parcel(records_range, block)
            if parcel is not None:
                return block, parcel
    return None


def _parcel(flash, block):
    # The parcel's content at `block` if it is whole, else None.
    data = bytearray(flash.ioctl(5, 0))
    flash.readblocks(block, data, 0)
    if data[: len(MAGIC)] != MAGIC:
        return None
    try:
        content = cbor.loads(records.unframe(data, len(MAGIC), 0xFFFF)[0])
    except (records.RecordError, ValueError):
        return None
    return content if isinstance(content, list) and len(content) == 2 else None


def unpack(found, ranges, mount_point):
    """Step 2: the state range formatted and mounted at `mount_point` with the
    parcel's files, its checkpoint in the journal, then the parcel erased."""
    block, (files, checkpoint) = found
    vfs.VfsLfs2.mkfs(ranges["state"])
    vfs.mount(vfs.VfsLfs2(ranges["state"]), mount_point)
    for path, data in files:
        folder = path[: path.rfind("/")]
        if folder:
            state_files.makedirs(mount_point + folder)
        with open(mount_point + path, "wb") as f:
            f.write(data)
    if checkpoint is not None:
        journal = Journal(ranges["checkpoints"])
        journal.open()
        journal.put(checkpoint)
    ranges["records"].ioctl(_ERASE, block)
