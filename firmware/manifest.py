metadata(version="0.1.0", description="edgemeter firmware application")
require("protocol")
package("firmware", base_path="..")
