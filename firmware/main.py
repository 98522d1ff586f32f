"""Boot the firmware on a board and run its asyncio main loop.

Boot order: mount the log partition (formatting a blank one), derive the device
id from the board's chip id, then serve SMP on the host-link UART until a reset
is requested. Later stages (modem, meter, reminders, record log) start here too.
"""

import asyncio
import binascii
import gc

from firmware import flashfs
from firmware.groups.os_mgmt import OSGroup
from firmware.smp_server import SMPServer

# Decoded SMP frame buffer advertised to clients (MCUmgr parameters).
SMP_BUF_SIZE = 1024


def device_id(board):
    return "em-" + binascii.hexlify(board.unique_id()).decode()


class Firmware:
    def __init__(self, board):
        self.board = board
        self.device_id = device_id(board)
        self.formatted = False
        self._reset = asyncio.Event()
        self.smp = SMPServer(SMP_BUF_SIZE)
        OSGroup(self.smp, board, self.device_id, self._reset.set)

    async def main(self):
        self.formatted = flashfs.mount(self.board.flash())
        self.board.led(True)
        print("edgemeter %s booted (%s), flash %s" % (
            self.device_id, self.board.reset_cause(), "formatted" if self.formatted else "mounted"))
        gc.collect()
        server = asyncio.create_task(self.smp.serve(self.board.host_uart()))
        await self._reset.wait()
        server.cancel()


def run(board):
    asyncio.run(Firmware(board).main())
    board.reset()
