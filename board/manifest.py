# The board interface (board/base.py) and board.hardware, which makes a real
# board's board.json and pins.csv into objects. A board's manifest requires it.
metadata(
    version="0.1.0",
    description="edgemeter board interface, and board.hardware that makes a real board's data into objects",
)
package("board", files=["__init__.py", "base.py", "hardware.py"], base_path="..")
