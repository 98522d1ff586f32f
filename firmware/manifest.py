# The firmware application and the wire contract it needs, frozen. A board's
# manifest includes this one; the packages are found in the repository, not in
# micropython-lib (add_library, then require with library="edgemeter").
import os

metadata(version="0.1.0", description="edgemeter firmware application")
add_library("edgemeter", "..")
require("protocol", library="edgemeter")
# Every module of the package and its subpackages, this manifest left out.
package("firmware", files=sorted(os.path.relpath(os.path.join(folder, name), ".")
                                 for folder, _dirs, names in os.walk(".") for name in names
                                 if name.endswith(".py") and name != "manifest.py"), base_path="..")
