"""Boot the firmware on a board and run its asyncio main loop.

Boot order: split the flash by the board's layout and mount its state range
(formatting a blank one), open the record log (its ring of raw sectors) and the
meter's checkpoint journal, start the watchdog, write the BOOT record with the
reason, then serve SMP on the host-link UART until a reset is requested. The
modem, the meter, reminders and SMS start here too, each watched by the
supervisor (firmware/supervisor.py), unless boot loops brought safe mode
(firmware/safe_mode.py): then SMP alone serves, for the technician.

A flash that still holds the old layout (one LittleFS over the partition) is
run as it is until the host has every record in it; the boot after, its state
moves to the board's layout (firmware/storage/board_storage.py).
"""

import asyncio
import binascii

from firmware import boot_reason
from firmware.account.balance import Balance
from firmware.account.services import Services
from firmware.metering import rtc_check, usage_service
from firmware.modem.driver import Modem
from firmware.modem.simcom import SimcomModem
from firmware.smp import serial_loop
from firmware.smp.auth_guard import Guard
from firmware.smp.groups.account import AccountCommands
from firmware.smp.groups.auth import AuthCommands
from firmware.smp.groups.config import ConfigCommands
from firmware.smp.groups.log import LogCommands
from firmware.smp.groups.os_mgmt import OSGroup
from firmware.smp.groups.plan import PlanCommands
from firmware.smp.groups.stats import StatsGroup
from firmware.smp.server import SMPServer
from firmware.sms.inbox import Inbox
from firmware.sms.messaging import Messaging
from firmware.sms.outbox import Outbox
from firmware.sms.queries import Queries
from firmware.storage import board_storage, flash_mount, state_files
from firmware.safe_mode import SafeMode
from firmware.storage.flash_counter import CountedFlash
from firmware.supervisor import FEED_MS, WATCHDOG_MS, Supervisor
from firmware.version import VERSION
from protocol import records

# Decoded SMP frame buffer advertised to clients (MCUmgr parameters). Large
# enough that a READ of the record log fills most of a frame with records.
SMP_BUF_SIZE = 4096
RUNNING_MARKER = flash_mount.MOUNT_POINT + "/running"
STATE_DIR = board_storage.STATE_DIR
# Asked for by a reset with boot_mode 1: the next boot stops before the watchdog
# starts, at the REPL, so that `edgemeter deploy` can copy files at leisure (a
# chip's watchdog cannot be stopped once started, and the REPL does not feed it).
MAINTENANCE_MARKER = STATE_DIR + "/maintenance"
MAINTENANCE = "maintenance"
# The modem driver for each AT dialect a board can name (Board.modem_dialect).
MODEM_DIALECTS = {"quectel": Modem, "simcom": SimcomModem}
# Each long-lived task's deadline (real ms, firmware/supervisor.py): the longest a
# round of its loop may take. The SMP server and the modem's reader are idle while
# they wait for input; metering and SMS wait on the modem's longest timeouts (a PDP
# context 150 s, an SMS's two prompts 60 s each) and a power cycle of it.
DEADLINES_MS = {"smp": 30000, "modem": 30000, "metering": 300000, "sms": 300000}


def device_id(board):
    return "em-" + binascii.hexlify(board.unique_id()).decode()


class Firmware:
    def __init__(self, board):
        self.board = board
        self.device_id = device_id(board)
        self._reset = asyncio.Event()
        self.smp = SMPServer(SMP_BUF_SIZE)
        self.log = None
        self.safe_mode = None

    def record(self, rtype, fields, at=None):
        """Append an event to the record log, of now or of the time `at` (seconds since
        1970); returns its seq (None if the log is full)."""
        return self.log.append(rtype, self.board.clock.now() if at is None else at, fields)

    def _request_maintenance(self):
        with open(MAINTENANCE_MARKER, "w") as f:
            f.write("deploy")

    def _request_reset(self):
        if self.safe_mode is not None:
            self.safe_mode.leave()  # a signed reset leaves safe mode (a no-op outside it)
        boot_reason.clear(RUNNING_MARKER)
        self._reset.set()

    async def _settle(self, clock):
        """The boot settles after safe_mode.EARLY_S; a clean run in safe mode ends it."""
        while True:
            if self.safe_mode.step():
                self._request_reset()
            await clock.sleep_ms(FEED_MS)

    async def main(self):
        # The large buffers first, while the heap is whole (the storage's scans at
        # boot leave it fragmented): the host link's decoders, the log reads' batch.
        link = serial_loop.SerialLink(self.smp, self.board.host_uart())
        batch = LogCommands.batch_buffer(self.smp)
        flash = CountedFlash(self.board.flash())
        mounted, self.log, checkpoints, recovered = board_storage.open_storage(
            flash, self.board.flash_layout(), self.board.flash_program_bytes(), self.device_id)
        state_files.makedirs(STATE_DIR)
        if state_files.size(MAINTENANCE_MARKER):
            state_files.remove(MAINTENANCE_MARKER)
            boot_reason.clear(RUNNING_MARKER)
            print("edgemeter %s: maintenance boot: the firmware and its watchdog do not start; the REPL is "
                  "free for edgemeter deploy, and the next reset runs the firmware" % self.device_id)
            return MAINTENANCE
        # The watchdog from here on: a boot that hangs after the storage is open resets.
        supervisor = Supervisor(self.board.watchdog(WATCHDOG_MS), self.board.real_clock(), self.record)
        # Before the first record of this boot: a provisioned device signs them all.
        guard = self.smp.guard = Guard(STATE_DIR + "/auth", self.record, self.board.clock)
        if guard.provisioned:
            self.log.sign_with(guard.key)
        reason = boot_reason.detect(self.board.reset_cause(), RUNNING_MARKER)
        rtc_restored = rtc_check.restore(self.board.clock, checkpoints.open())
        self.record(records.BOOT, {records.BOOT__REASON: reason, records.BOOT__FIRMWARE: VERSION})
        self.safe_mode = SafeMode(STATE_DIR + "/crashes", self.record, self.board.real_clock())
        link_counters = [
            ("smp", self.smp, ("requests", "errors")),
            ("serial", link.console, ("messages", "noise_bytes", "dropped_crc", "dropped_malformed",
                                      "dropped_oversize", "dropped_incomplete", "dropped_orphan")),
            ("cobs", link.cobs, ("messages", "dropped")),
        ]
        store_counters = [
            ("log", self.log, ("appended", "dropped")),
            ("flash", flash, ("programs", "bytes_programmed", "erases")),
            ("watchdog", supervisor, ("feeds", "stuck")),
        ]
        if self.safe_mode.boot(reason):
            return await self._serve_safe(link, batch, guard, supervisor, link_counters + store_counters, mounted)
        if mounted == flash_mount.MIGRATED:
            self.record(records.CONFIG_CHANGED, records.config_change("flash", flash_mount.OLD_LAYOUT, "rings"))
        if rtc_restored:
            # The old and the new time, as for a date-time write over SMP.
            self.record(records.CONFIG_CHANGED, records.config_change("clock", rtc_restored[0] // 1000, rtc_restored[1] // 1000))
        # The modem keeps its power (and its counters) only across resets of the MCU alone.
        modem_kept_power = reason in (records.BOOT_RESET_COMMAND, records.BOOT_WATCHDOG)
        self.board.modem_power(True)
        driver = MODEM_DIALECTS[self.board.modem_dialect]
        modem = driver(self.board.modem_uart(), self.board.modem_power, self.board.modem_sleep_ms)
        outbox = Outbox(modem=modem, record=self.record, path=STATE_DIR + "/outbox")
        usage = usage_service.UsageService(modem=modem, clock=self.board.clock, record=self.record, state_dir=STATE_DIR,
                                           outbox=outbox, checkpoints=checkpoints)
        balance = Balance(outbox=outbox, path=STATE_DIR + "/balance",
                          line=lambda: (usage.recipients(), usage.line()[1]), record=self.record)
        inbox = Inbox(modem=modem, record=self.record, path=STATE_DIR + "/inbox")
        queries = Queries(outbox=outbox, usage=usage, balance=balance, path=STATE_DIR + "/queries")
        services = Services(outbox=outbox, path=STATE_DIR + "/subscriptions")  # the file keeps its old name on flash
        messaging = Messaging(modem=modem, clock=self.board.clock, outbox=outbox, inbox=inbox, balance=balance,
                              queries=queries, services=services)
        usage.resume(modem_kept_power)
        for name, part in (("smp", link), ("modem", modem), ("metering", usage), ("sms", messaging)):
            part.progress = supervisor.watch(name, DEADLINES_MS[name])
        OSGroup(self.smp, self.board, self.device_id, self._request_reset, self.record, clock_set=usage.clock_set,
                maintenance=self._request_maintenance)
        LogCommands(self.smp, log=self.log, batch=batch, safe_mode=self.safe_mode)
        PlanCommands(self.smp, plans=usage)
        AccountCommands(self.smp, balance=balance, services=services)
        ConfigCommands(self.smp, queries=queries)
        AuthCommands(self.smp, log=self.log, guard=guard)
        StatsGroup(self.smp, link_counters + [
            ("modem", modem, ("timeouts", "resets", "reboots_seen", "lines_dropped", "stray_results",
                              "urcs_dropped", "handler_errors")),
            ("meter", usage.meter, ("restarts",)),
            ("usage", usage, ("faults",)),
            ("sms", messaging, ("faults",)),
            ("outbox", outbox, ("failures", "given_up")),
        ] + store_counters)
        self.board.led(True)
        print(
            "edgemeter %s booted (%s), flash %s, log epoch %d head %d%s"
            % (
                self.device_id,
                records.BOOT_REASONS[reason],
                mounted,
                self.log.epoch,
                self.log.head_seq,
                ", cut %d torn bytes" % recovered["torn_bytes"] if recovered.get("torn_bytes") else "",
            )
        )
        watching = asyncio.create_task(supervisor.run())
        settling = asyncio.create_task(self._settle(self.board.real_clock()))
        server = asyncio.create_task(link.serve())
        modem_up = asyncio.Event()
        metering = asyncio.create_task(usage.run(modem_up))
        sms = asyncio.create_task(messaging.run(modem_up))
        await self._reset.wait()
        for task in (sms, metering, server, settling, watching):
            task.cancel()

    async def _serve_safe(self, link, batch, guard, supervisor, counters, mounted):
        """Safe mode: SMP alone, for the technician to pull the records and see why."""
        OSGroup(self.smp, self.board, self.device_id, self._request_reset, self.record,
                maintenance=self._request_maintenance)
        LogCommands(self.smp, log=self.log, batch=batch, safe_mode=self.safe_mode)
        AuthCommands(self.smp, log=self.log, guard=guard)
        StatsGroup(self.smp, counters)
        link.progress = supervisor.watch("smp", DEADLINES_MS["smp"])
        self.board.led(True)
        safe = self.safe_mode.summary()
        print("edgemeter %s booted in SAFE MODE after %d early crashes (last: %s at %s), flash %s, log epoch %d head %d"
              % (self.device_id, safe["crashes"], safe["crash"], safe["where"], mounted, self.log.epoch,
                 self.log.head_seq))
        tasks = (asyncio.create_task(supervisor.run()), asyncio.create_task(self._settle(self.board.real_clock())),
                 asyncio.create_task(link.serve()))
        await self._reset.wait()
        for task in tasks:
            task.cancel()


def run(board):
    firmware = Firmware(board)
    try:
        if asyncio.run(firmware.main()) == MAINTENANCE:
            return  # to the REPL, unwatched
    except Exception as error:  # MemoryError too: counted toward safe mode, then the board resets
        if firmware.safe_mode is not None:
            try:
                firmware.safe_mode.crashed(error)
            except Exception:
                pass  # the crash is told on the console below all the same
        raise
    board.reset()
