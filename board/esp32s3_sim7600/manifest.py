metadata(version="0.1.0", description="edgemeter board: LILYGO T-SIM7600X-S3-Standard (ESP32-S3, SIMCom SIM7600G-H)")
include("../manifest.py")
package("board/esp32s3_sim7600", files=["__init__.py"], base_path="../..")
