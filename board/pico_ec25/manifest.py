# edgemeter for the Raspberry Pi Pico (RP2040) with a Quectel EC25, frozen into
# a MicroPython image: this board and the board interface. The firmware comes
# with it in the manifest `invoke build --board pico_ec25` writes.
metadata(version="0.1.0", description="edgemeter board: Raspberry Pi Pico (RP2040) with a Quectel EC25")
add_library("edgemeter", "../..")
require("board", library="edgemeter")
package("board/pico_ec25", files=["__init__.py"], base_path="../..")
