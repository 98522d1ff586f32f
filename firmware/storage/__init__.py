"""Storage: what the device keeps on flash.

- `board_storage`: the storage opened at boot, whatever layout the flash holds;
- `flash_range`: the board's partition split by its layout into ranges;
- `flash_mount`: mounting the state range as LittleFS, formatting a blank one;
- `migration`: moving a flash of the old layout onto the board's layout;
- `log_base`: what every record log shares (seqs, signing, drops, acks);
- `ring_log`: the record log on a ring of raw sectors (`sector_ring`);
- `record_log`: the old layout's record log, in segment files on LittleFS;
- `journal`: the meter's checkpoints, a ring of raw sectors too;
- `state_files`: small state files replaced atomically (write a temp file, rename);
- `flash_counter`: counting the programs and erases made on the flash.

Imports protocol/ and board/ only: every other firmware package may use storage,
storage uses none of them.
"""
