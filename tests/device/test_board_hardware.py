"""The real boards' data (board/<name>/board.json, pins.csv) made into objects by
board/hardware.py, on both VMs, with stand-ins for `machine`, `esp32` and `rp2`
(fake_ports): the UARTs' ids, bauds and pins, the modem's power-key and reset
presses, the LED, the log's flash, the RTC clock, the reset causes.
"""

import json
import os
import sys

import fake_ports

fake_ports.install()

from board import base, hardware  # noqa: E402 (the stand-ins must come first)
from board import esp32s3_sim7600, pico_ec25  # noqa: E402


def folder(module):
    return module.__file__.rsplit("/", 1)[0]


def made(board_module, cause=fake_ports.PWRON_RESET):
    """The board of a board folder, with its presses' waits logged instead of slept."""
    fake_ports.cause = cause
    del fake_ports.log[:]
    board = hardware.HardwareBoard(folder(board_module), lambda ms: fake_ports.log.append(("sleep", ms)))
    return board


def taken():
    entries = fake_ports.log[:]
    del fake_ports.log[:]
    return entries


def test_the_board_modules_build_from_their_own_folder():
    for module, name in ((esp32s3_sim7600, "esp32s3_sim7600"), (pico_ec25, "pico_ec25")):
        board = module.board()
        assert isinstance(board, hardware.HardwareBoard) and board.name == name


def test_esp32s3_sim7600_uarts_and_pins():
    board = made(esp32s3_sim7600)
    assert (board.mcu, board.modem_dialect, board.host_baud) == ("esp32s3", "simcom", 115200)
    assert taken() == [("Pin", 46, "out", 0)]  # the power key, released; no reset line, no LED
    board.host_uart()
    board.modem_uart()
    assert taken() == [
        ("Pin", 43, None, None),
        ("Pin", 44, None, None),
        ("UART", 0, 115200, 43, 44, 1024),
        ("Pin", 4, None, None),
        ("Pin", 5, None, None),
        ("UART", 1, 115200, 4, 5, 2048),
    ]


def test_pico_ec25_uarts_and_pins():
    board = made(pico_ec25)
    assert (board.mcu, board.modem_dialect) == ("rp2040", "quectel")
    assert taken() == [("Pin", "LED", "out", 0), ("Pin", 6, "out", 0), ("Pin", 7, "out", 0)]
    board.modem_uart()
    board.host_uart()
    assert [entry for entry in taken() if entry[0] == "UART"] == [
        ("UART", 1, 115200, 4, 5, 2048),
        ("UART", 0, 115200, 0, 1, 1024),
    ]


def test_without_a_reset_line_the_power_key_powers_the_modem_off_and_on():
    board = made(esp32s3_sim7600)
    taken()
    board.modem_power(True)  # at boot
    board.modem_power(True)  # already on: no second press
    assert taken() == [("value", 46, 1), ("sleep", 500), ("value", 46, 0)]
    board.modem_power(False)
    board.modem_power(True)
    assert taken() == [
        ("value", 46, 1),
        ("sleep", 3000),
        ("value", 46, 0),
        ("value", 46, 1),
        ("sleep", 500),
        ("value", 46, 0),
    ]


def test_with_a_reset_line_recovery_restarts_the_modem_by_it():
    board = made(pico_ec25)
    taken()
    board.modem_power(True)
    assert taken() == [("value", 6, 1), ("sleep", 600), ("value", 6, 0)]
    board.modem_power(False)
    board.modem_power(True)  # the reset restarted it: the power key stays untouched
    assert taken() == [("value", 7, 1), ("sleep", 460), ("value", 7, 0)]


def test_led_where_the_board_has_one():
    pico = made(pico_ec25)
    taken()
    pico.led(True)
    pico.led(False)
    assert taken() == [("value", "LED", 1), ("value", "LED", 0)]
    esp = made(esp32s3_sim7600)
    taken()
    esp.led(True)
    assert taken() == []


def test_the_log_flash():
    made(pico_ec25).flash()
    assert taken()[-1] == ("Flash", 1048576, 393216)
    board = made(esp32s3_sim7600)
    assert board.flash().label == "log"
    assert taken()[-1] == ("Partition.find", fake_ports.Partition.TYPE_DATA, "log")
    fake_ports.partitions = []
    try:
        board.flash()
        raise AssertionError("no OSError")
    except OSError as error:
        assert "log" in str(error)
    finally:
        fake_ports.partitions = ["log"]


def test_setting_the_clock_sets_the_rtc():
    board = made(pico_ec25)
    taken()
    board.clock.set_ms(1796113815250)  # 2026-12-01 08:30:15.250 UTC, a Tuesday
    assert taken() == [("RTC.datetime", (2026, 12, 1, 1, 8, 30, 15, 0))]
    assert abs(board.clock.now_ms() - 1796113815250) < 1000


def test_another_board_s_data_makes_another_board():
    """A board whose keys and LED are pressed low, its modem on UART0 at 921600 baud."""
    with open(folder(pico_ec25) + "/board.json") as f:
        spec = json.load(f)
    spec["modem_uart"].update({"id": 0, "baud": 921600})
    for line in ("modem_pwrkey", "modem_reset", "led"):
        spec[line]["active"] = 0
    other = "/tmp/edgemeter-board-" + sys.implementation.name
    try:
        os.mkdir(other)
    except OSError:
        pass  # left by an earlier run
    with open(other + "/board.json", "w") as f:
        json.dump(spec, f)
    with open(other + "/pins.csv", "w") as f:
        f.write("HOST_TX,GPIO0\nHOST_RX,GPIO1\nMODEM_TX,GPIO12\nMODEM_RX,GPIO13\n")
        f.write("MODEM_PWRKEY,GPIO14\nMODEM_RESET,GPIO15\nLED,GPIO16\n")
    try:
        del fake_ports.log[:]
        board = hardware.HardwareBoard(other, lambda ms: fake_ports.log.append(("sleep", ms)))
        assert taken() == [("Pin", 16, "out", 1), ("Pin", 14, "out", 1), ("Pin", 15, "out", 1)]
        board.modem_uart()
        board.led(True)
        board.modem_power(True)
        assert taken()[-5:] == [
            ("UART", 0, 921600, 12, 13, 2048),
            ("value", 16, 0),
            ("value", 14, 0),
            ("sleep", 600),
            ("value", 14, 1),
        ]
    finally:
        for name in ("board.json", "pins.csv"):
            os.remove(other + "/" + name)
        os.rmdir(other)


def test_the_watchdog_takes_what_the_chip_allows():
    pico, esp = made(pico_ec25), made(esp32s3_sim7600)
    pico.watchdog(8000).feed()
    assert taken()[-2:] == [("WDT", 8000), ("WDT.feed",)]
    pico.watchdog(20000)
    assert taken()[-1] == ("WDT", 8388)  # the RP2040's watchdog counts to 8.3 s at most
    esp.watchdog(20000)
    assert taken()[-1] == ("WDT", 20000)


def test_chip_id_reset_and_reset_causes():
    board = made(esp32s3_sim7600)
    assert board.unique_id() == fake_ports.CHIP_ID
    board.reset()
    assert taken()[-1] == ("reset",)
    for cause, meaning in (
        (fake_ports.PWRON_RESET, base.RESET_POWER_ON),
        (fake_ports.HARD_RESET, base.RESET_POWER_ON),
        (fake_ports.DEEPSLEEP_RESET, base.RESET_POWER_ON),
        (fake_ports.WDT_RESET, base.RESET_WATCHDOG),
        (fake_ports.SOFT_RESET, base.RESET_COMMAND),
        (99, base.RESET_POWER_ON),
    ):
        fake_ports.cause = cause
        assert board.reset_cause() == meaning, cause


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
