"""Boot the firmware on a board and run its asyncio main loop.

Boot order: mount the log partition (formatting a blank one), open the record
log (cutting back a torn tail), write the BOOT record with the reason, then
serve SMP on the host-link UART until a reset is requested. Later stages
(modem, meter, reminders) start here too.
"""

import asyncio
import binascii

from firmware import boot_reason, flashfs, rtc_check, smp_uart, store_io, usage_service
from firmware.modem import Modem
from firmware.modem_simcom import SimcomModem
from firmware.auth_guard import Guard
from firmware.balance import Balance
from firmware.messaging import Messaging
from firmware.sms_inbox import Inbox
from firmware.sms_outbox import Outbox
from firmware.sms_queries import Queries
from firmware.subscriptions import Subscriptions
from firmware.groups.metering import MeteringGroup
from firmware.groups.os_mgmt import OSGroup
from firmware.smp_server import SMPServer
from firmware.store import RecordLog
from firmware.version import VERSION
from protocol import records

# Decoded SMP frame buffer advertised to clients (MCUmgr parameters). Large
# enough that a READ of the record log fills most of a frame with records.
SMP_BUF_SIZE = 4096
LOG_DIR = flashfs.MOUNT_POINT + "/log"
RUNNING_MARKER = flashfs.MOUNT_POINT + "/running"
STATE_DIR = flashfs.MOUNT_POINT + "/state"
# The log may use this share of the partition; the rest is littlefs's room to
# copy-on-write, plus the small state files.
LOG_SHARE = 0.75
# The modem driver for each AT dialect a board can name (Board.modem_dialect).
MODEM_DIALECTS = {"quectel": Modem, "simcom": SimcomModem}


def device_id(board):
    return "em-" + binascii.hexlify(board.unique_id()).decode()


class Firmware:
    def __init__(self, board):
        self.board = board
        self.device_id = device_id(board)
        self._reset = asyncio.Event()
        self.smp = SMPServer(SMP_BUF_SIZE)
        self.log = None

    def record(self, rtype, fields):
        """Append an event to the record log; returns its seq (None if the log is full)."""
        return self.log.append(rtype, self.board.clock.now(), fields)

    def _request_reset(self):
        boot_reason.clear(RUNNING_MARKER)
        self._reset.set()

    async def main(self):
        flash = self.board.flash()
        formatted = flashfs.mount(flash)
        partition = flash.ioctl(4, 0) * flash.ioctl(5, 0)
        self.log = RecordLog(LOG_DIR, self.device_id, int(partition * LOG_SHARE))
        recovered = self.log.open()
        store_io.makedirs(STATE_DIR)
        # Before the first record of this boot: a provisioned device signs them all.
        guard = self.smp.guard = Guard(STATE_DIR + "/auth", self.record, self.board.clock)
        if guard.provisioned:
            self.log.sign_with(guard.key)
        reason = boot_reason.detect(self.board.reset_cause(), RUNNING_MARKER)
        rtc_restored = rtc_check.restore(self.board.clock, STATE_DIR + "/" + usage_service.CHECKPOINT_FILE)
        self.record(records.BOOT, {8: reason, 9: VERSION})
        if rtc_restored:
            # The old and the new time, as for a date-time write over SMP.
            self.record(records.CONFIG_CHANGED, {8: "clock", 9: rtc_restored[0] // 1000, 10: rtc_restored[1] // 1000})
        # The modem keeps its power (and its counters) only across resets of the MCU alone.
        modem_kept_power = reason in (records.BOOT_RESET_COMMAND, records.BOOT_WATCHDOG)
        self.board.modem_power(True)
        driver = MODEM_DIALECTS[self.board.modem_dialect]
        modem = driver(self.board.modem_uart(), self.board.modem_power, self.board.modem_sleep_ms)
        outbox = Outbox(modem, self.record, STATE_DIR + "/outbox")
        usage = usage_service.UsageService(modem, self.board.clock, self.record, STATE_DIR, None, None, outbox)
        balance = Balance(outbox, STATE_DIR + "/balance", lambda: (usage.recipients(), usage.line()[1]))
        inbox = Inbox(modem, self.record, STATE_DIR + "/inbox")
        queries = Queries(outbox, usage, balance, STATE_DIR + "/queries")
        subscriptions = Subscriptions(outbox, STATE_DIR + "/subscriptions")
        messaging = Messaging(modem, self.board.clock, outbox, inbox, balance, queries, subscriptions)
        usage.resume(modem_kept_power)
        OSGroup(self.smp, self.board, self.device_id, self._request_reset, self.record, clock_set=usage.clock_set)
        MeteringGroup(self.smp, self.log, usage, balance, subscriptions, queries, guard)
        self.board.led(True)
        print(
            "edgemeter %s booted (%s), flash %s, log epoch %d head %d%s"
            % (
                self.device_id,
                records.BOOT_REASONS[reason],
                "formatted" if formatted else "mounted",
                self.log.epoch,
                self.log.head_seq,
                ", cut %d torn bytes" % recovered["torn_bytes"] if recovered.get("torn_bytes") else "",
            )
        )
        server = asyncio.create_task(smp_uart.serve(self.smp, self.board.host_uart()))
        modem_up = asyncio.Event()
        metering = asyncio.create_task(usage.run(modem_up))
        sms = asyncio.create_task(messaging.run(modem_up))
        await self._reset.wait()
        sms.cancel()
        metering.cancel()
        server.cancel()


def run(board):
    asyncio.run(Firmware(board).main())
    board.reset()
