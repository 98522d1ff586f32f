"""`invoke bench`: every measured figure of the project in one table.

Each module here contributes rows (goal, measured, ratio) from real runs on the
emulated board; tasks.py collects them and prints the table.
"""
