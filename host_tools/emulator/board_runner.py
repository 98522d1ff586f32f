"""Run the firmware on the emulated board, and power it back on after a cut.

`BoardRunner(state_dir, speed, start_ms)` prepares the state directory (flash
image, chip id, RTC file, wiring.json), creates the host-link cable (`PtyLink`)
and the modem UART's cable, and then keeps one MicroPython process running `board/emulated/boot.py`
(from build/mpy, or frozen in an image: `image=`, in the heap of board.json "image"):

- the process id is in `STATE/firmware.pid`; SIGKILL of it is a power cut, after
  which the board powers up again from the same flash within `power_on_delay_s`;
- exit status `wiring.EXIT_RESET` is the SMP reset command: a quick restart; so
  is 0, main.py ending (a maintenance boot: on a board, the REPL until a reset);
- any other exit (an uncaught exception) is what a watchdog would catch on a
  real board: restart, with reset cause "watchdog";
- the board's watchdog (board/emulated/watchdog.py) is enforced from here: once
  the firmware started it, a process that does not feed it for its timeout in
  real time (a hang, or SIGSTOP) is killed and booted again with reset cause
  "watchdog", the modem keeping its power: a reset of the MCU alone;
- the firmware's console (print) goes to `STATE/console.log`;
- the scenario it runs is kept in `STATE/emulator-scenario.json` (its start made
  explicit), never in a file the user gave it.

The caller holds the state folder's lock (host_tools/emulator/state_folder.py)
while a runner uses the folder.
"""

import asyncio
import json
import os
import secrets
import subprocess
import threading
import time

from board import base
from board.emulated import wiring
from host_tools.build import micropython_vm, mpy_build
from host_tools.emulator import state_folder
from host_tools.emulator.carrier import Carrier
from host_tools.emulator.modem_sim import SimulatedModem
from host_tools.emulator.ptylink import PtyLink
from host_tools.emulator.scenario import load_scenario, scenario_source

BOOT_SCRIPT = os.path.join(micropython_vm.REPO, "board", "emulated", "boot.py")
FROZEN_BOOT = "board.emulated.boot"  # the same, frozen into an image: run with -m
BOARD_JSON = os.path.join(micropython_vm.REPO, "board", "emulated", "board.json")
WATCHDOG_POLL_S = 0.1  # how often the emulator looks at the watchdog (real time)
_BITTEN = "watchdog"  # what _wait_or_bite returns when the watchdog reset the board


def _board_definition():
    with open(BOARD_JSON) as f:
        return json.load(f)


class BoardRunner:
    def __init__(self, state_dir, speed=1.0, start_ms=None, power_on_delay_s=1.0, paced=False, scenario=None,
                 image=None, heap=None, load_mpy=False):
        self.state_dir = os.path.abspath(state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        self.speed = speed
        self.power_on_delay_s = power_on_delay_s
        self.real_start_ms = time.time_ns() // 1000000
        self.sim_start_ms = self.real_start_ms if start_ms is None else start_ms
        self.definition = _board_definition()
        # What boots: a frozen image (host_tools/build/image_build.py) in the heap of the
        # board it stands for, or the .mpy files of build/mpy in the heap they need.
        # Files deployed to STATE/fs (edgemeter deploy) boot before either.
        self.image = os.path.abspath(image) if image else None
        self._heap = heap
        self.load_mpy = load_mpy  # the image's VM, but the .mpy files of build/mpy loaded into RAM
        # Paced, the host link carries bytes no faster than the board's UART would
        # (10 bits a byte: 8N1); unpaced it runs as fast as the ptys go.
        baud = self.definition["host_uart"]["baud"]
        self.link = PtyLink(pace_bps=baud / 10 if paced else None)
        # The modem UART's cable: the simulated modem attaches to its far end.
        self.modem_link = PtyLink()
        self.scenario = load_scenario(scenario, start_ms=self.sim_start_ms)
        self.sim_start_ms = self.scenario.start_ms
        self._keep_scenario(scenario)
        self.carrier = Carrier(self.scenario, self.state_dir, now_ms=self.sim_start_ms)
        self.modem = SimulatedModem(
            self.carrier, self.modem_link.host_path, self.path("modem-power"), self.sim_now_ms,
            transcript=self.path("modem.log"),
        )
        # The board was installed with its RTC set: the battery-backed offset from
        # simulated time starts at 0. A board without this file finds its RTC at
        # 2000-01-01 (a flat battery: board/emulated/sim_clock.py).
        if not os.path.exists(self.path("rtc-offset")):
            with open(self.path("rtc-offset"), "w") as f:
                f.write("0")
        self.boots = 0
        self.watchdog_resets = 0
        self.process = None
        self._stopping = threading.Event()
        self._thread = None

    def path(self, name):
        return os.path.join(self.state_dir, name)

    def _keep_scenario(self, given):
        """The emulator's own copy of what it runs, for `emulate bill`: STATE/emulator-scenario.json,
        a name of its own, so that a user's STATE/scenario.json is never written over. Given
        that copy itself as --scenario (a board run again as it ran), it is left as it is."""
        copy = self.path(state_folder.SCENARIO_COPY)
        if given is not None and os.path.exists(copy) and os.path.samefile(given, copy):
            return
        data = scenario_source(given, self.sim_start_ms)
        with open(copy + ".tmp", "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
        os.replace(copy + ".tmp", copy)

    def _unique_id(self):
        # The chip id is burnt in at the factory: made once per state directory.
        id_path = self.path("chip-id")
        try:
            with open(id_path) as f:
                return f.read().strip()
        except FileNotFoundError:
            chip_id = secrets.token_hex(6)
            with open(id_path, "w") as f:
                f.write(chip_id + "\n")
            return chip_id

    def sim_now_ms(self):
        real_ms = time.time_ns() // 1000000
        return self.sim_start_ms + int((real_ms - self.real_start_ms) * self.speed)

    def _write_wiring(self, reset_cause):
        wiring.save(
            self.path(wiring.FILENAME),
            {
                "host_uart": self.link.device_path,
                "modem_uart": self.modem_link.device_path,
                "flash": self.path("flash.img"),
                "rtc": self.path("rtc-offset"),
                "modem_power": self.path("modem-power"),
                "watchdog": self.path("watchdog"),
                "unique_id": self._unique_id(),
                "clock": {
                    "sim_start_ms": self.sim_start_ms,
                    "real_start_ms": self.real_start_ms,
                    "speed": self.speed,
                },
                "reset_cause": reset_cause,
                "board": self.definition,
            },
        )

    @property
    def deployed(self):
        """STATE/fs when `edgemeter deploy` put firmware there (its main.py), else None."""
        folder = self.path("fs")
        return folder if os.path.exists(os.path.join(folder, "main.py")) else None

    def runs_image(self):
        """Whether the image's VM boots: unless .mpy files were deployed (they are loaded
        on the stock VM, in the heap they need); a `deploy --frozen` left only main.py."""
        deployed = self.deployed
        return bool(self.image) and not (deployed and os.path.isdir(os.path.join(deployed, "firmware")))

    @property
    def heap(self):
        """The firmware's heap: the one asked for, else the image's target board's, else what .mpy files need."""
        if self._heap:
            return self._heap
        return self.definition["image"]["heap"] if self.runs_image() else self.definition["heap"]

    def _power_on(self, reset_cause):
        self._write_wiring(reset_cause)
        try:
            os.remove(self.path("watchdog"))  # a reset stops the watchdog until the firmware starts it
        except FileNotFoundError:
            pass
        console = open(self.path("console.log"), "ab")
        streams = {"stdin": subprocess.DEVNULL, "stdout": console, "stderr": subprocess.STDOUT}
        deployed = self.deployed
        wiring_path = self.path(wiring.FILENAME)
        if self.runs_image():  # the frozen firmware: nothing imported from the file system
            heap = ["-X", "heapsize=" + micropython_vm.heap_arg(self.heap)]
            if deployed:  # like a board with the image booting the main.py `deploy --frozen` put there
                argv, cwd, path = [self.image, *heap, os.path.join(deployed, "main.py"), wiring_path], deployed, deployed
            else:
                argv, cwd, path = [self.image, *heap, "-m", FROZEN_BOOT, wiring_path], self.state_dir, None
            if self.load_mpy:
                path = mpy_build.compile_tree()
            env = dict(os.environ, MICROPYPATH=(path + ":" if path else "") + ".frozen")
            self.process = subprocess.Popen(argv, env=env, cwd=cwd, **streams)
        elif deployed:  # boot what was deployed, like a board booting main.py from its filesystem
            env = dict(os.environ, MICROPYPATH=deployed + ":.frozen")
            argv = micropython_vm.command([os.path.join(deployed, "main.py"), wiring_path], self.heap)
            self.process = subprocess.Popen(argv, env=env, cwd=deployed, **streams)
        else:  # the repository's code, compiled to build/mpy
            self.process = micropython_vm.popen([BOOT_SCRIPT, wiring_path], heap=self.heap, **streams)
        console.close()
        self.boots += 1
        with open(self.path("firmware.pid.tmp"), "w") as f:
            f.write("%d\n" % self.process.pid)
        os.replace(self.path("firmware.pid.tmp"), self.path("firmware.pid"))

    def _starved(self):
        """Whether the firmware started its watchdog and has not fed it for its timeout."""
        try:
            fed_ns = os.stat(self.path("watchdog")).st_mtime_ns
            with open(self.path("watchdog")) as f:
                timeout_ms = int(f.read())
        except (OSError, ValueError):  # not started, or being rewritten this instant
            return False
        return time.time_ns() - fed_ns > timeout_ms * 1000000

    def _wait_or_bite(self):
        """The firmware process's exit status, or _BITTEN once its watchdog was starved
        (the process is then killed, as the chip's reset would end it)."""
        while True:
            try:
                return self.process.wait(timeout=WATCHDOG_POLL_S)
            except subprocess.TimeoutExpired:
                pass
            if not self._stopping.is_set() and self._starved():
                self.process.kill()  # SIGKILL also ends a stopped (SIGSTOP) process
                self.process.wait()
                self.watchdog_resets += 1
                return _BITTEN

    def _supervise(self):
        cause = base.RESET_POWER_ON
        while not self._stopping.is_set():
            self._power_on(cause)
            status = self._wait_or_bite()
            if self._stopping.is_set():
                break
            if status == _BITTEN:
                cause, delay = base.RESET_WATCHDOG, 0.1  # the MCU alone: the modem keeps its power
            elif status in (wiring.EXIT_RESET, 0):  # 0: main.py ended (a maintenance boot), as a reset would follow
                cause, delay = base.RESET_COMMAND, 0.1
            elif status < 0:
                # Killed: a power cut. The modem is on the board: it loses power too,
                # at the same moment.
                with open(self.path("modem-power"), "w") as f:
                    f.write("0")
                self.modem.power_cut(self.sim_now_ms())
                cause, delay = base.RESET_POWER_ON, self.power_on_delay_s
            else:
                cause, delay = base.RESET_WATCHDOG, self.power_on_delay_s
            self._stopping.wait(delay)

    def start(self):
        with open(self.path("modem-power"), "w") as f:
            f.write("0")  # the board is off until the firmware powers the modem
        self.modem.start()
        self._thread = threading.Thread(target=self._supervise, name="board", daemon=True)
        self._thread.start()
        self._provision()

    def _provision(self):
        """Like a technician at installation: give a new board its key (kept in the key
        file, host_tools/device/keys.py) and, without a plan, the scenario's plan."""
        from host_tools.device.provisioning import provision as provision_key
        from host_tools.device.requests import PlanRead, PlanWrite
        from host_tools.device.session import Device

        plan = self.scenario.plan

        async def provision():
            async with Device(self.link.host_path, timeout_s=1.0, retries=20) as device:
                await provision_key(device)
                current = await device.request(PlanRead(), retries=5)
                if current.plan is None:
                    await device.request(
                        PlanWrite(
                            quota=plan.quota_bytes,
                            cycle_day=plan.cycle_day,
                            tz=plan.utc_offset_min,
                            at_zero=plan.at_zero,
                            subscriber=self.scenario.subscriber,
                        ),
                        retries=5,
                    )

        asyncio.run(provision())

    def stop(self):
        self._stopping.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.modem.stop()
        self.link.close()
        self.modem_link.close()
        try:
            os.remove(self.path("firmware.pid"))
        except FileNotFoundError:
            pass
