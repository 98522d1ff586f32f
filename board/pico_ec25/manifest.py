metadata(version="0.1.0", description="edgemeter board: Raspberry Pi Pico (RP2040) with a Quectel EC25")
include("../manifest.py")
package("board/pico_ec25", files=["__init__.py"], base_path="../..")
