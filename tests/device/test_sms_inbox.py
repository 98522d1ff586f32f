"""Incoming SMS (firmware/sms/inbox.py) on both VMs: the real modem driver reading a
scripted SIM storage in PDU mode; records as the host will see them."""

# The modem driver, SMS codec and CBOR bytecode (~60 KB) live in the unix port's
# heap, and a long message's parts wait as KB-sized buffers: 164 KB (4 KB more since the CBOR
# decoder reads map entries inline, 2x faster for the host ledger).
HEAP = "164k"

import flash_fixture  # first: its flash buffer is allocated while the heap is empty

import asyncio
import os

from fake_modem_stream import OK, FakeModemStream, fast_sleep, settle
from firmware.modem.driver import Modem
from firmware.sms.inbox import CHUNK, PART_WAIT_MS, Inbox
from protocol import sms_pdu

T = 1796000000  # an SMS time stamp, UTC seconds


class Sim:
    """The SIM's message storage behind the scripted modem."""

    def __init__(self, fake):
        self.slots = {}
        fake.fallback = self.answer

    def store(self, fake, pdu, announce=True):
        index = min(set(range(1, 21)) - set(self.slots))
        self.slots[index] = pdu
        if announce:
            fake.inject('\r\n+CMTI: "SM",%d\r\n' % index)
        return index

    def answer(self, line):
        if line.startswith("AT+CMGR="):
            pdu = self.slots.get(int(line[8:]))
            return ("\r\n+CMGR: 0,,%d\r\n%s\r\n" % (sms_pdu.tpdu_length(pdu), pdu) if pdu else "") + OK
        if line.startswith("AT+CMGD="):
            self.slots.pop(int(line[8:]), None)
            return OK
        if line == "AT+CMGL=4":
            rows = ["+CMGL: %d,0,,%d\r\n%s" % (i, sms_pdu.tpdu_length(p), p) for i, p in sorted(self.slots.items())]
            return ("\r\n" + "\r\n".join(rows) + "\r\n" if rows else "") + OK
        return "\r\nERROR\r\n"


def run(body):
    async def main():
        folder = flash_fixture.fresh_dir("state", 512, 32)
        os.mkdir(folder)
        fake = FakeModemStream()
        sim = Sim(fake)
        modem = Modem(fake, fake.power, fast_sleep)
        log = []
        inbox = Inbox(modem, lambda rtype, fields: log.append(fields), folder + "/inbox")
        try:
            await modem.init()
            await body(inbox, fake, sim, log, folder)
        finally:
            modem.stop()
            await asyncio.sleep(0)

    asyncio.run(main())


async def _announced(inbox, modem, now=0):
    await settle()
    inbox.take_urcs(modem.take_urcs())
    await inbox.pump(now)


def test_a_balance_reply_is_classified_recorded_and_deleted():
    async def body(inbox, fake, sim, log, folder):
        text = "尊敬的客户，您的账户余额为12.50元，有效期至2026年12月20日。中国移动"
        sim.store(fake, sms_pdu.deliver_pdu("10086", text, T))
        await _announced(inbox, inbox.modem)
        (record,) = log
        assert record[8] == "10086" and record[9] == text and record[10] == "balance"
        assert record[13] == {"fen": 1250, "expires": "2026-12-20"} and record[14] == T
        assert sim.slots == {}  # the storage never fills up

    run(body)


def test_parts_wait_for_each_other_and_a_long_unknown_text_is_kept_whole():
    async def body(inbox, fake, sim, log, folder):
        text = "通知：" + "这是一条很长的未知短信。" * 40
        pieces = sms_pdu.split_text(text)
        assert len(pieces) > 2
        for seq in range(len(pieces), 0, -1):  # the last part first
            assert log == []  # nothing recorded while a part is missing
            sim.store(fake, sms_pdu.deliver_pdu("106581234", pieces[seq - 1], T, concat=(9, len(pieces), seq)))
            await _announced(inbox, inbox.modem)
        assert all(r[10] == "raw" for r in log)
        assert "".join(r[9] for r in log) == text and len(log) == -(-len(text) // CHUNK)
        assert [r.get(11) for r in log] == list(range(1, len(log) + 1)) and sim.slots == {}

    run(body)


def test_what_came_while_off_is_swept_and_a_repeat_after_a_power_cut_is_not_recorded_twice():
    async def body(inbox, fake, sim, log, folder):
        pdu = sms_pdu.deliver_pdu("10086", "您已成功充值50.00元，当前余额62.50元。", T)
        sim.store(fake, pdu, announce=False)
        sim.store(fake, "0011FF", announce=False)  # garbage in a slot
        await inbox.sweep(0)
        assert [r[10] for r in log] == ["topup", "undecodable"] and sim.slots == {}
        # A power cut after recording, before deleting: the same part is read again.
        again = Inbox(inbox.modem, inbox.record, folder + "/inbox")
        sim.store(fake, pdu)
        await _announced(again, inbox.modem)
        assert len(log) == 2 and sim.slots == {}

    run(body)


def test_two_messages_in_the_same_second_from_the_same_sender_are_both_kept():
    async def body(inbox, fake, sim, log, folder):
        for name in ("手机报", "游戏包"):
            sim.store(fake, sms_pdu.deliver_pdu("10086", "您已成功退订【%s】业务。中国移动" % name, T))
        await _announced(inbox, inbox.modem)
        assert [r[13]["service"] for r in log] == ["手机报", "游戏包"]

    run(body)


def test_a_part_whose_siblings_never_come_is_recorded_as_incomplete_after_a_day():
    async def body(inbox, fake, sim, log, folder):
        sim.store(fake, sms_pdu.deliver_pdu("10086", "前半段", T, concat=(4, 2, 1)))
        await _announced(inbox, inbox.modem, now=0)
        assert log == []
        await inbox.pump(PART_WAIT_MS)
        (record,) = log
        assert record[9] == "前半段" and record[10] == "raw" and record[13] == {"incomplete": True}

    run(body)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
