"""The LTE modem driver (firmware/modem/driver.py) against a scripted fake modem, on both VMs:
answers, errors, URCs, echo, the "> " prompt, line framing and the Quectel helpers.

Init, timeouts, recovery, restarts and serialisation are in test_modem_recovery.py
(one file would not compile in MicroPython's 64 KB heap). The fake and the
harness are in fake_modem_stream.py.
"""

# The driver, asyncio, the fake modem and this file take 38 KB of the unix port's heap as
# bytecode (a board keeps it in flash), and the URC test fills the 48-entry queue:
# its floor is 58.5 KB (bench/device_heap.py), so 72 KB keeps the 8 KB margin of
# tests/test_device_suites.py.
HEAP = "72k"

from fake_modem_stream import OK, raises, run, settle
from firmware.modem.driver import MAX_LINE, ModemError, ModemTimeout

SMS_TO = 'AT+CMGS="+8613800138000"'


def test_simple_ok_and_info_lines():
    async def body(modem, fake):
        assert await modem.command("AT") == []
        fake.answers["AT+CGACT?"] = "\r\n+CGACT: 1,1\r\n+CGACT: 2,0\r\n\r\nOK\r\n"
        assert await modem.command("AT+CGACT?") == ["+CGACT: 1,1", "+CGACT: 2,0"]
        assert bytes(fake.wire) == b"AT\rAT+CGACT?\r"

    run(body)


def test_urc_in_the_middle_of_a_response_goes_to_the_handler():
    async def body(modem, fake):
        seen = []
        modem.on_urc(seen.append)
        fake.answers["AT+QGDCNT?"] = '\r\n+QGDCNT: 100,200\r\n+CMTI: "SM",3\r\n\r\n+CEREG: 5\r\nOK\r\n'
        assert await modem.command("AT+QGDCNT?") == ["+QGDCNT: 100,200"]
        assert seen == ['+CMTI: "SM",3', "+CEREG: 5"]
        assert modem.take_urcs() == seen and modem.take_urcs() == []

    run(body)


def test_urcs_while_idle_are_handled_and_queued_never_lost():
    async def body(modem, fake):
        seen = []
        modem.on_urc(seen.append)
        modem.on_urc(lambda line: 1 / 0)  # a broken handler stops nothing
        fake.inject('\r\n+CMTI: "SM",4\r\n\r\n+CUSD: 0,"Balance 10MB",15\r\n')
        assert await modem.next_urc() == '+CMTI: "SM",4'
        assert await modem.next_urc() == '+CUSD: 0,"Balance 10MB",15'
        assert seen == ['+CMTI: "SM",4', '+CUSD: 0,"Balance 10MB",15']
        assert modem.handler_errors == 2
        for i in range(modem.urc_queue_len + 4):
            fake.inject("+CEREG: %d\r\n" % (i % 6))
        await settle()
        assert len(modem.take_urcs()) == modem.urc_queue_len and modem.urcs_dropped == 4
        assert len(seen) == 2 + modem.urc_queue_len + 4  # the handler saw every one

    run(body)


# PDU lines as the modem shows them (hex; the driver does not decode them).
REPORT = "0891683108100005F006640D91683108108300F0622110809050236221108090652300"
DELIVER = "0891683108100005F0040D91683108108300F00008622110809050230400610062"


def test_a_pdu_urc_is_handed_out_whole_never_half():
    async def body(modem, fake):
        seen = []
        modem.on_urc(seen.append)
        fake.inject("\r\n+CDS: 25\r\n")
        await settle()
        assert modem.take_urcs() == [] and seen == []  # its PDU has not come yet
        fake.inject(REPORT + "\r\n")
        await settle()
        assert modem.take_urcs() == ["+CDS: 25\n" + REPORT] == seen
        fake.answers["AT+CGACT?"] = "\r\n+CGACT: 1,1\r\n+CMT: ,30\r\n%s\r\n\r\nOK\r\n" % DELIVER
        assert await modem.command("AT+CGACT?") == ["+CGACT: 1,1"]  # in the middle of an answer
        assert modem.take_urcs() == ["+CMT: ,30\n" + DELIVER]
        fake.inject("\r\n+CDS: 25\r\n\r\nRDY\r\n")  # restarted before the PDU: no half report
        await settle()
        assert modem.take_urcs() == ["RDY"] and modem.reboots_seen == 1 and modem.lines_dropped == 1

    run(body)


def test_cme_and_cms_errors_carry_their_code():
    async def body(modem, fake):
        fake.answers["AT+CGACT=1,1"] = "\r\n+CME ERROR: 30\r\n"
        exc = await raises(ModemError, modem.set_data(True))
        assert not isinstance(exc, ModemTimeout)
        assert exc.code == 30 and exc.text == "+CME ERROR: 30" and exc.command == "AT+CGACT=1,1"
        fake.answers["AT+CMGD=1"] = "\r\n+CMS ERROR: 321\r\n"
        assert (await raises(ModemError, modem.command("AT+CMGD=1"))).code == 321

    run(body)


def test_plain_error_has_its_text_and_no_code():
    async def body(modem, fake):
        exc = await raises(ModemError, modem.command("AT+BOGUS"))  # the fake answers ERROR
        assert exc.code is None and exc.text == "ERROR" and "ERROR" in str(exc)
        fake.answers["ATD*99#"] = "\r\nNO CARRIER\r\n"
        assert (await raises(ModemError, modem.command("ATD*99#"))).text == "NO CARRIER"
        assert await modem.command("AT") == []

    run(body)


def test_prompt_flow_sends_payload_and_ctrl_z():
    async def body(modem, fake):
        fake.answers[SMS_TO] = "\r\n> "
        fake.after_payload[SMS_TO] = "\r\n+CMGS: 12\r\n\r\nOK\r\n"
        assert await modem.command_with_prompt(SMS_TO, "Left: 10MB") == ["+CMGS: 12"]
        assert bytes(fake.wire) == SMS_TO.encode() + b"\rLeft: 10MB\x1a"
        assert fake.payloads == [b"Left: 10MB"]

    run(body)


def test_prompt_refused_or_missing():
    async def body(modem, fake):
        fake.answers[SMS_TO] = "\r\n+CMS ERROR: 304\r\n"
        assert (await raises(ModemError, modem.command_with_prompt(SMS_TO, b"x"))).code == 304
        assert b"\x1a" not in fake.wire
        fake.answers[SMS_TO] = None
        await raises(ModemTimeout, modem.command_with_prompt(SMS_TO, b"x", timeout_ms=300))
        assert bytes(fake.wire).endswith(b"\x1b") and b"\x1a" not in fake.wire  # ESC, no text
        await raises(ValueError, modem.command_with_prompt(SMS_TO, b"a\x1ab"))

    run(body)


def test_echoed_command_lines_are_ignored():
    async def body(modem, fake):
        fake.echo = True
        fake.answers["AT+CGACT?"] = "\r\n+CGACT: 1,1\r\n\r\nOK\r\n"
        assert await modem.command("AT+CGACT?") == ["+CGACT: 1,1"]
        fake.answers["AT+CGSN"] = "\r\n866123456789012\r\n\r\nOK\r\n"
        assert await modem.command("AT+CGSN", expect_raw=True) == ["866123456789012"]
        assert modem.take_urcs() == []

    run(body)


def test_raw_answers_keep_urcs_apart():
    async def body(modem, fake):
        fake.answers["AT+CGSN"] = '\r\n866123456789012\r\n+CMTI: "SM",1\r\nRING\r\n\r\nOK\r\n'
        assert await modem.command("AT+CGSN", expect_raw=True) == ["866123456789012"]
        assert modem.take_urcs() == ['+CMTI: "SM",1', "RING"]

    run(body)


def test_lone_cr_and_blank_lines():
    async def body(modem, fake):
        fake.answers["AT+CGACT?"] = "\r\r+CGACT: 1,1\r\r\n\n\rOK\r"
        assert await modem.command("AT+CGACT?") == ["+CGACT: 1,1"]

    run(body)


def test_overlong_and_undecodable_lines_are_dropped_and_bounded():
    async def body(modem, fake):
        for _ in range(12):
            fake.inject(b"x" * 250)
            await settle()
            assert len(modem._rx) <= MAX_LINE
        fake.inject(b'garbage tail\r\n\xff\xfe\r\n+CMTI: "SM",1\r\n')
        await settle()
        assert modem.lines_dropped == 2
        assert modem.take_urcs() == ['+CMTI: "SM",1']
        assert await modem.command("AT") == []

    run(body)


def test_data_counters_beyond_32_bits():
    async def body(modem, fake):
        fake.answers["AT+QGDCNT?"] = "\r\n+QGDCNT: 5000000000,123456789012345\r\n\r\nOK\r\n"
        assert await modem.data_counters() == (5000000000, 123456789012345)
        assert bytes(fake.wire) == b"AT+QGDCNT?\r"
        fake.answers["AT+QGDCNT?"] = "\r\n+QGDCNT: \r\n\r\nOK\r\n"
        await raises(ModemError, modem.data_counters())

    run(body)


def test_data_context_and_registration_helpers():
    async def body(modem, fake):
        fake.answers["AT+CGACT=1,1"] = OK
        fake.answers["AT+CGACT=0,1"] = OK
        await modem.set_data(True)
        await modem.set_data(False)
        assert bytes(fake.wire) == b"AT+CGACT=1,1\rAT+CGACT=0,1\r"
        for answer, active in (("+CGACT: 1,1", True), ("+CGACT: 1,0", False), ("+CGACT: 2,1", False)):
            fake.answers["AT+CGACT?"] = "\r\n%s\r\n\r\nOK\r\n" % answer
            assert await modem.data_active() is active
        for answer, registered in (
            ("+CEREG: 0,1", True),
            ('+CEREG: 2,5,"1A2B","01A2B3C4",7', True),
            ("+CEREG: 0,2", False),
            ("+CEREG: 1,0", False),
        ):
            fake.answers["AT+CEREG?"] = "\r\n%s\r\n\r\nOK\r\n" % answer
            assert await modem.registered() is registered

    run(body)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
