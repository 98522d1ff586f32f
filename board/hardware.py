"""A real board from its data: board.json and pins.csv in the board's folder become the
`machine` objects the firmware asks for through board.base.Board.

A board folder (`board/esp32s3_sim7600/`, `board/pico_ec25/`) holds:

- pins.csv: `NAME,PIN` lines. `GPIOn` is pin number n; any other value is a pin
  name the port knows (`LED` on a Pico), handed to `machine.Pin` as it is.
- board.json:
  - "name", "vendor", "product", "mcu"; "modem_dialect" (the AT dialect, see
    firmware.main.MODEM_DIALECTS);
  - "host_uart", "modem_uart": {"id", "baud", "tx", "rx", "rxbuf"}, tx and rx
    naming pins of pins.csv (as seen from the MCU: tx is what it sends on);
  - "modem_pwrkey": {"pin", "active", "on_ms", "off_ms"}: the modem's power key,
    the level that presses it, and how long a press powers it on, or off;
  - "modem_reset": {"pin", "active", "pulse_ms"}, or null when not wired;
  - "led": {"pin", "active"}, or null when the board has no user LED;
  - "flash": where the record log lives, {"kind": "esp32.Partition", "label"}
    (a data partition of the image's partition table) or {"kind": "rp2.Flash",
    "start", "len"} (a range of the port's flash storage, in bytes);
  - "mpy_cross" (the compiler's flags for this MCU) and "micropython" (the port,
    its make arguments and its manifest, to build an image with the firmware
    frozen in) are for host_tools/build/board_build.py; "source" and "notes" say
    where the facts come from.

The modem's power is a key, not a switch: `modem_power(True)` presses it for
"on_ms" (a modem that is already on ignores a press that short, so it is safe at
boot after a reset of the MCU alone). `modem_power(False)`, which the modem
driver's recovery uses before powering it on again, restarts the modem with its
RESET line when the board wires one (a hung modem ignores its power key), and
otherwise holds the key for "off_ms". The presses block: the board interface is
synchronous, and only boot and recovery press.

The clock is the chip's RTC: setting the time sets the RTC, so it lasts as long
as the RTC runs (through resets on most ports; a power cut without a backup
battery loses it until the host sets it again).
"""

import json
import time

import machine

from board import base

# machine.reset_cause() values, by the names a port may define, and what they mean
# here. A chip cannot tell a power cut from a first power-on (boot_reason can), and
# its reset pin or button counts as a power-on.
_RESET_CAUSES = (
    ("PWRON_RESET", base.RESET_POWER_ON),
    ("HARD_RESET", base.RESET_POWER_ON),
    ("DEEPSLEEP_RESET", base.RESET_POWER_ON),
    ("WDT_RESET", base.RESET_WATCHDOG),
    ("SOFT_RESET", base.RESET_COMMAND),
)


def read_pins(path):
    """{name: pin} from a pins.csv: an int for `GPIOn`, else the port's pin name."""
    pins = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            name, pin = [part.strip() for part in line.split(",")]
            pins[name] = int(pin[4:]) if pin.startswith("GPIO") and pin[4:].isdigit() else pin
    return pins


def _esp32_partition(spec):
    import esp32

    found = esp32.Partition.find(esp32.Partition.TYPE_DATA, label=spec["label"])
    if not found:
        raise OSError("no data partition labelled %r in this image's partition table" % spec["label"])
    return found[0]


def _rp2_flash(spec):
    import rp2

    return rp2.Flash(start=spec["start"], len=spec["len"])


FLASH_KINDS = {"esp32.Partition": _esp32_partition, "rp2.Flash": _rp2_flash}


class RtcClock(base.Clock):
    def __init__(self, rtc):
        base.Clock.__init__(self)
        self._rtc = rtc

    def set_ms(self, epoch_ms):
        t = time.gmtime(epoch_ms // 1000)
        self._rtc.datetime((t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0))
        base.Clock.set_ms(self, epoch_ms)  # the RTC keeps whole seconds; the rest is an offset


class HardwareBoard(base.Board):
    """The board described in `folder`; `sleep_ms` is how a press of the modem's keys
    waits (time.sleep_ms unless given: the tests count the milliseconds instead)."""

    def __init__(self, folder, sleep_ms=None):
        with open(folder + "/board.json") as f:
            spec = json.load(f)
        self.pins = read_pins(folder + "/pins.csv")
        self.name = spec["name"]
        self.mcu = spec["mcu"]
        self.modem_dialect = spec["modem_dialect"]
        self.host_baud = spec["host_uart"]["baud"]
        self.clock = RtcClock(machine.RTC())
        self._spec = spec
        self._sleep_ms = sleep_ms
        # The output lines board.json wires ("led", "modem_pwrkey", "modem_reset"), released.
        self._outputs = {}
        for key in ("led", "modem_pwrkey", "modem_reset"):
            line = spec[key]
            if line is not None:
                self._outputs[key] = machine.Pin(self.pins[line["pin"]], machine.Pin.OUT, value=1 - line["active"])
        self._pwrkey_needed = True  # whether the modem waits for a press to power on

    def _uart(self, spec):
        return machine.UART(
            spec["id"],
            baudrate=spec["baud"],
            tx=machine.Pin(self.pins[spec["tx"]]),
            rx=machine.Pin(self.pins[spec["rx"]]),
            rxbuf=spec["rxbuf"],
        )

    def host_uart(self):
        return self._uart(self._spec["host_uart"])

    def modem_uart(self):
        return self._uart(self._spec["modem_uart"])

    def flash(self):
        spec = self._spec["flash"]
        return FLASH_KINDS[spec["kind"]](spec)

    def led(self, on):
        if "led" in self._outputs:
            active = self._spec["led"]["active"]
            self._outputs["led"].value(active if on else 1 - active)

    def _press(self, key, duration):
        """Hold the output `key` ("modem_pwrkey", "modem_reset") active for its `duration` ms."""
        line = self._spec[key]
        self._outputs[key].value(line["active"])
        (self._sleep_ms or time.sleep_ms)(line[duration])
        self._outputs[key].value(1 - line["active"])

    def modem_power(self, on):
        if on:
            if self._pwrkey_needed:
                self._press("modem_pwrkey", "on_ms")
                self._pwrkey_needed = False
        elif "modem_reset" in self._outputs:
            self._press("modem_reset", "pulse_ms")
        else:
            self._press("modem_pwrkey", "off_ms")
            self._pwrkey_needed = True

    def unique_id(self):
        return machine.unique_id()

    def reset(self):
        machine.reset()

    def watchdog(self, timeout_ms):
        return machine.WDT(timeout=self.watchdog_timeout_ms(timeout_ms))

    def reset_cause(self):
        cause = machine.reset_cause()
        for name, meaning in _RESET_CAUSES:
            if getattr(machine, name, None) == cause:
                return meaning
        return base.RESET_POWER_ON
