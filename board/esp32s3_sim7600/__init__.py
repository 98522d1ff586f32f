"""LILYGO T-SIM7600X-S3-Standard: an ESP32-S3 with a SIMCom SIM7600G-H, as board.json and
pins.csv beside this file describe it (board.hardware makes them into objects)."""

from board.hardware import HardwareBoard


def board():
    return HardwareBoard(__file__.rsplit("/", 1)[0])
