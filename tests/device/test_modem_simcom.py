"""The SIMCom dialect of the modem driver (firmware/modem/simcom.py) against the scripted
fake modem, on both VMs: the data counters built on the TCP sockets' counts, and the
TCP/IP stack's URCs.
"""

import fake_modem_stream
from fake_modem_stream import OK, raises, settle
from firmware.modem.driver import Modem, ModemError, ModemTimeout
from firmware.modem.simcom import SimcomModem

TCP1 = '+CIPOPEN: 1,"TCP","183.230.174.137",6031,-1'
TCP3 = '+CIPOPEN: 3,"TCP","120.25.115.20",443,-1'
UDP5 = '+CIPOPEN: 5,"UDP","183.230.174.137",6031,-1'
SERVER7 = '+CIPOPEN: 7,"UDPSERVER","0.0.0.0",8888,-1'


def run(body, init=True):
    """fake_modem_stream.run with the SIMCom driver."""
    fake_modem_stream.run(body, init, SimcomModem)


def links(*open_lines):
    """The AT+CIPOPEN? answer with these links open and the others of 0-9 idle."""
    lines = []
    for link in range(10):
        found = [line for line in open_lines if line.startswith("+CIPOPEN: %d," % link)]
        lines.append(found[0] if found else "+CIPOPEN: %d" % link)
    return "\r\n" + "\r\n".join(lines) + "\r\n\r\nOK\r\n"


def acked(sent, received):
    """The AT+CIPACK answer; the peer has acknowledged a little less than was sent."""
    return "\r\n+CIPACK: %d,%d,%d\r\n\r\nOK\r\n" % (sent, sent - sent // 10, received)


def test_counters_add_up_the_tcp_sockets_from_the_first_reading_on():
    async def body(modem, fake):
        fake.answers["AT+CIPOPEN?"] = links(TCP1, UDP5, SERVER7)
        fake.answers["AT+CIPACK=1"] = acked(1000, 5000)
        assert await modem.data_counters() == (0, 0)  # open before us: the baseline
        assert bytes(fake.wire) == b"AT+CIPOPEN?\rAT+CIPACK=1\r"  # UDP and idle links: not asked
        fake.answers["AT+CIPOPEN?"] = links(TCP1, TCP3, UDP5, SERVER7)
        fake.answers["AT+CIPACK=1"] = acked(1500, 9000)
        fake.answers["AT+CIPACK=3"] = acked(200, 70000)
        assert await modem.data_counters() == (500 + 200, 4000 + 70000)

    run(body)


def test_a_closed_socket_keeps_its_bytes_and_a_new_one_on_its_link_counts_whole():
    async def body(modem, fake):
        fake.answers["AT+CIPOPEN?"] = links()
        assert await modem.data_counters() == (0, 0)
        fake.answers["AT+CIPOPEN?"] = links(TCP1)
        fake.answers["AT+CIPACK=1"] = acked(100, 800)
        assert await modem.data_counters() == (100, 800)
        fake.answers["AT+CIPOPEN?"] = links()  # closed: what it counted stays counted
        assert await modem.data_counters() == (100, 800)
        fake.answers["AT+CIPOPEN?"] = links(TCP1)  # a new socket to the same server
        fake.answers["AT+CIPACK=1"] = acked(40, 50)
        assert await modem.data_counters() == (140, 850)
        fake.answers["AT+CIPOPEN?"] = links(TCP1.replace("6031", "8080"))  # at once another server
        fake.answers["AT+CIPACK=1"] = acked(150, 900)
        assert await modem.data_counters() == (290, 1750)
        fake.answers["AT+CIPACK=1"] = acked(10, 1000)  # a count went down: a new socket again
        assert await modem.data_counters() == (300, 2750)
        fake.answers["AT+CIPACK=1"] = acked(20, 5)  # the other count went down
        assert await modem.data_counters() == (320, 2755)

    run(body)


def test_a_socket_that_closes_between_the_two_commands_is_skipped_quietly():
    async def body(modem, fake):
        fake.answers["AT+CIPOPEN?"] = links(TCP1, TCP3)
        fake.answers["AT+CIPACK=1"] = "\r\n+IPERROR: Connection is not created\r\n\r\nERROR\r\n"
        fake.answers["AT+CIPACK=3"] = acked(5, 6)
        assert await modem.data_counters() == (0, 0)
        fake.answers["AT+CIPACK=3"] = acked(7, 9)
        assert await modem.data_counters() == (2, 3)
        assert modem.take_urcs() == []  # +IPERROR belonged to the answer

    run(body)


def test_no_socket_service_means_no_sockets_not_an_error():
    async def body(modem, fake):
        fake.answers["AT+CIPOPEN?"] = "\r\n+CME ERROR: 4\r\n"
        assert await modem.data_counters() == (0, 0)
        fake.answers["AT+CIPOPEN?"] = None  # silence is still a timeout
        await raises(ModemTimeout, modem.data_counters())

    run(body)


def test_a_timeout_or_a_restart_while_reading_a_socket_is_not_a_closed_socket():
    async def body(modem, fake):
        fake.answers["AT+CIPOPEN?"] = links(TCP1)
        fake.answers["AT+CIPACK=1"] = None
        await raises(ModemTimeout, modem.data_counters())
        fake.answers["AT+CIPACK=1"] = "\r\nRDY\r\n"  # it restarted instead of answering
        error = await raises(ModemError, modem.data_counters())
        assert "RDY" in error.text

    run(body)


def test_a_modem_restart_starts_the_counters_again_and_counts_new_sockets_whole():
    async def body(modem, fake):
        fake.answers["AT+CIPOPEN?"] = links(TCP1)
        fake.answers["AT+CIPACK=1"] = acked(100, 200)
        assert await modem.data_counters() == (0, 0)
        fake.answers["AT+CIPACK=1"] = acked(400, 900)
        assert await modem.data_counters() == (300, 700)
        fake.inject("\r\nRDY\r\n")  # restarted on its own: its sockets are gone
        await settle()
        fake.answers["AT+CIPACK=1"] = acked(50, 60)
        assert await modem.data_counters() == (50, 60)
        assert modem.reboots_seen == 1

    run(body)


def test_init_waits_longer_for_a_sim7600_to_answer_at():
    async def body(modem, fake):
        probes = []
        fake.answers["AT"] = lambda line: probes.append(1) or (OK if len(probes) >= 8 else None)
        await modem.init()  # the Quectel driver gives up after 5 probes
        assert len(probes) == 8

    run(body, init=False)


def test_the_tcp_ip_stack_urcs_stay_out_of_raw_answers():
    async def body(modem, fake):
        urcs = "+IPCLOSE: 1,1\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n"
        fake.answers["AT+CGSN"] = "\r\n866123456789012\r\n" + urcs + OK
        assert await modem.command("AT+CGSN", expect_raw=True) == ["866123456789012"]
        assert modem.take_urcs() == ["+IPCLOSE: 1,1", "+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY"]
        assert "+IPCLOSE:" not in Modem.URC_PREFIXES  # the Quectel driver would keep it

    run(body)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
