# edgemeter for the LILYGO T-SIM7600X-S3-Standard (ESP32-S3, SIMCom SIM7600G-H),
# frozen into a MicroPython image: this board and the board interface. The firmware
# comes with it in the manifest `invoke build --board esp32s3_sim7600` writes.
metadata(version="0.1.0", description="edgemeter board: LILYGO T-SIM7600X-S3-Standard (ESP32-S3, SIMCom SIM7600G-H)")
add_library("edgemeter", "../..")
require("board", library="edgemeter")
package("board/esp32s3_sim7600", files=["__init__.py"], base_path="../..")
