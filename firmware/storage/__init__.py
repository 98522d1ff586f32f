"""Storage: what the device keeps on flash.

- `record_log`: the append-only record log (segments of CRC-framed CBOR records,
  seq per epoch, kept until the host acknowledges them);
- `state_files`: small state files replaced atomically (write a temp file, rename);
- `flash_mount`: mounting the board's flash as LittleFS, formatting a blank one;
- `flash_counter`: counting the programs and erases the file system makes.

Imports protocol/ and board/ only: every other firmware package may use storage,
storage uses none of them.
"""
