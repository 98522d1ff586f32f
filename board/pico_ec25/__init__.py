"""Raspberry Pi Pico wired to a Quectel EC25, as board.json and pins.csv beside this file
describe it (board.hardware makes them into objects)."""

from board.hardware import HardwareBoard


def board():
    return HardwareBoard(__file__.rsplit("/", 1)[0])
