# The wire contract, frozen: `require("protocol", library="edgemeter")` after
# `add_library("edgemeter", <the repository>)` (firmware/manifest.py does).
import os

metadata(version="0.1.0", description="edgemeter wire contract: CBOR, SMP framing, records")
# Every module of the package, this manifest left out (a manifest is not a module).
package("protocol", files=sorted(f for f in os.listdir(".") if f.endswith(".py") and f != "manifest.py"), base_path="..")
