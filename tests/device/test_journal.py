"""The checkpoint journal (firmware/storage/journal.py) on both VMs: the newest value
back after a reopen, an erase only per sector filled, and a cut in a program or
an erase leaving the value before, never nothing."""

from nor_flash import NorFlash
from firmware.storage.journal import Journal
from firmware.storage.sector_ring import HEADER
from protocol import cbor, records

SECTOR = 256
SECTORS = 3


def _value(i):
    """A checkpoint's shape; its CBOR is one size for every i below 1000."""
    return {"up": 10 ** 9 + i, "down": 2 * 10 ** 9 + i, "sent": 10 ** 6 + i, "received": 10 ** 6 + 2 * i,
            "wall": 1790000000000 + i}


def _reopened(flash):
    journal = Journal(flash)
    return journal, journal.open()


def test_new_flash_has_no_value_and_each_put_comes_back_after_a_reopen():
    flash = NorFlash(SECTOR, SECTORS)
    journal, found = _reopened(flash)
    assert found is None and journal.get() is None
    for i in range(1, 200):
        journal.put(_value(i))
        if i % 37 == 0:
            journal, found = _reopened(flash)
            assert found == journal.get() == _value(i)
    journal, _found = _reopened(flash)
    assert journal.get() == _value(199)
    journal.put(_value(200))
    assert _reopened(flash)[0].get() == _value(200)


def test_an_erase_only_for_each_sector_filled():
    flash = NorFlash(SECTOR, SECTORS)
    journal, _found = _reopened(flash)
    puts = 500
    for i in range(puts):
        journal.put(_value(i))
    per_sector = (SECTOR - HEADER) // len(records.frame(cbor.dumps(_value(0)), 256))  # values of one size
    assert flash.erases == -(-puts // per_sector)


def test_a_cut_program_or_erase_leaves_the_value_before():
    flash = NorFlash(SECTOR, SECTORS)
    journal, _found = _reopened(flash)
    for i in range(1, 6):
        journal.put(_value(i))
    # A program cut short: the frame's first bytes only.
    index = journal._ring.index(journal._head)
    flash.writeblocks(index, b"\x00\x30\xa5", journal._offset)
    journal, found = _reopened(flash)
    assert found is not None and journal.get() == _value(5) and journal._sealed
    journal.put(_value(6))  # not after the torn bytes: a new sector
    assert _reopened(flash)[0].get() == _value(6)
    # The next sector's erase cut: its header is not valid (here: not there at all).
    next_index = journal._ring.index(journal._head + 1)
    flash.erase(next_index)
    flash.writeblocks(next_index, b"EMj1", 0)
    journal, _found = _reopened(flash)
    assert journal.get() == _value(6)
    journal.put(_value(7))
    assert _reopened(flash)[0].get() == _value(7)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
