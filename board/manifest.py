metadata(version="0.1.0", description="edgemeter board interface; each board folder adds its own module")
package("board", files=["__init__.py", "base.py"], base_path="..")
