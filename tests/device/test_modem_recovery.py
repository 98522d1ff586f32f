"""The LTE modem driver (firmware/modem/driver.py) against a scripted fake modem, on both VMs:
init, timeouts, the power-cycle recovery, restarts of the modem, one command at a time.
"""

import asyncio

from fake_modem_stream import INIT, OK, raises, run, settle
from firmware.modem.driver import ModemError, ModemTimeout


def test_init_turns_echo_off_and_sets_error_and_sms_modes():
    async def body(modem, fake):
        fake.echo = True  # as after power-on
        await modem.init()
        assert fake.commands == INIT
        assert not fake.echo

    run(body, init=False)


def test_init_retries_at_until_a_slow_modem_answers():
    async def body(modem, fake):
        probes = []
        fake.answers["AT"] = lambda line: probes.append(1) or (OK if len(probes) >= 3 else None)
        await modem.init()
        assert fake.commands == ["AT", "AT"] + INIT

    run(body, init=False)


def test_first_command_runs_init_when_nobody_did():
    async def body(modem, fake):
        assert await modem.command("AT") == []
        assert fake.commands == INIT + ["AT"]

    run(body, init=False)


def test_timeout_then_a_late_answer_is_dropped_as_stray():
    async def body(modem, fake):
        fake.answers["AT+QGDCNT?"] = None
        exc = await raises(ModemTimeout, modem.command("AT+QGDCNT?", timeout_ms=300))
        assert isinstance(exc, ModemError) and exc.command == "AT+QGDCNT?"
        fake.inject("\r\n+QGDCNT: 1,2\r\n\r\nOK\r\n")
        await settle()
        assert modem.stray_results == 1
        assert await modem.command("AT") == []

    run(body)


def test_timeouts_not_in_a_row_do_not_power_cycle():
    async def body(modem, fake):
        fake.answers["AT+CSQ"] = None
        for _ in range(2):
            await raises(ModemTimeout, modem.command("AT+CSQ", timeout_ms=300))
        await modem.command("AT")  # an answer: the count starts again
        for _ in range(2):
            await raises(ModemTimeout, modem.command("AT+CSQ", timeout_ms=300))
        assert modem.resets == 0 and fake.power_log == []

    run(body)


def test_three_timeouts_in_a_row_power_cycle_and_reinit():
    async def body(modem, fake):
        fake.dead = True
        for _ in range(3):
            await raises(ModemTimeout, modem.command("AT+CSQ", timeout_ms=300))
        assert fake.power_log == [False, True]
        assert modem.resets == 1 and modem.reboots_seen == 0  # our own RDY is not a surprise
        assert fake.commands == ["AT+CSQ"] * 3 + INIT  # the modem booted with echo on
        assert not fake.echo
        fake.answers["AT+CSQ"] = "\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
        assert await modem.command("AT+CSQ") == ["+CSQ: 20,99"]

    run(body)


def test_recover_reports_a_modem_that_stays_dead():
    async def body(modem, fake):
        fake.dead = True
        pin = []
        modem._power = pin.append  # a pin that does not reach the modem
        modem.probe_timeout_ms = 300
        assert await modem.recover() is False
        assert pin == [False, True] and modem.resets == 1
        assert fake.commands == ["AT"] * modem.init_attempts

    run(body)


def test_spontaneous_rdy_is_counted_and_init_runs_again():
    async def body(modem, fake):
        seen = []
        modem.on_urc(seen.append)
        fake.echo = True  # what a restarted modem does
        fake.inject("\r\nRDY\r\n")
        await settle()
        assert modem.reboots_seen == 1 and seen == ["RDY"]
        fake.answers["AT+CGACT?"] = "\r\n+CGACT: 1,0\r\n\r\nOK\r\n"
        assert await modem.data_active() is False
        assert fake.commands == INIT + ["AT+CGACT?"]

    run(body)


def test_rdy_during_a_command_fails_it_at_once():
    async def body(modem, fake):
        fake.answers["AT+CGACT?"] = "\r\nRDY\r\n"  # the modem restarts instead of answering
        exc = await raises(ModemError, modem.command("AT+CGACT?", timeout_ms=10**6))
        assert not isinstance(exc, ModemTimeout) and modem.reboots_seen == 1

    run(body)


def test_one_command_at_a_time():
    async def body(modem, fake):
        fake.answers["AT+CGACT?"] = None  # held back until the test answers
        fake.answers["AT+QGDCNT?"] = "\r\n+QGDCNT: 1,2\r\n\r\nOK\r\n"
        first = asyncio.create_task(modem.command("AT+CGACT?", timeout_ms=10**5))
        second = asyncio.create_task(modem.command("AT+QGDCNT?"))
        await settle()
        assert fake.commands == ["AT+CGACT?"]  # the second waits for the first's answer
        fake.inject("\r\n+CGACT: 1,1\r\n\r\nOK\r\n")
        assert await first == ["+CGACT: 1,1"]
        assert await second == ["+QGDCNT: 1,2"]
        assert bytes(fake.wire) == b"AT+CGACT?\rAT+QGDCNT?\r"

    run(body)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
