"""edgemeter firmware: meters mobile data on the device and keeps the carrier's promises.

`main.run(board)` boots it on any `board.base.Board`.
"""
