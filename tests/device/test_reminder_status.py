"""What `status` says of each reminder, and a corrected number (firmware/metering/usage_service.py
with firmware/sms/outbox.py), on both VMs.

A reminder is armed, queued, sent (the SMS centre took it), delivered (its status
report says so) or failed (with the reason). One refused for good (a mistyped
number) never blocks the others, and once the number is corrected, each reminder
of the cycle that never reached the phone goes to the new number, once.
"""

# The metering stack's bytecode lives in the unix port's heap (see test_usage_service.py).
HEAP = "224k"

import flash_fixture  # noqa: F401  first: its flash buffer is allocated while the heap is empty

from fake_modem_stream import OK
from metering_line import SUBSCRIBER, run, types, use
from protocol import records, sms_pdu
from protocol.units import MB

WRONG = "+8613900000000"  # a digit short of the subscriber's: the network knows no such line


def _network(line):
    """The SMS centre: refuses WRONG (+CMS ERROR: 1), takes the rest with references 1, 2, ..."""
    taken = []

    def answer(payload):
        to = sms_pdu.decode_submit(payload.decode())["to"]
        if to == WRONG:
            return "\r\n+CMS ERROR: 1\r\n"
        taken.append(to)
        return "\r\n+CMGS: %d\r\n%s" % (len(taken), OK)

    line.fake.payload_answer = answer
    return taken


def _status(service):
    return {t // MB: (s, why) for t, s, why in service.read()["thresholds"]}


def _delivered(service, mr, to):
    report = sms_pdu.decode_status_report(sms_pdu.status_report_pdu(mr, to, 0, 1796000000, 1796000001))
    service.outbox.report(report, 0)


def test_a_wrong_number_shows_failed_and_the_corrected_one_gets_the_reminder_once():
    async def body(service, line, clock, log):
        taken = _network(line)
        service.write({"quota": 20 * MB, "at_zero": "warn", "subscriber": WRONG})
        await use(service, line, clock, 11 * MB)  # 9 MB left: the 10 MB reminder, refused
        state, why = _status(service)[10]
        assert state == "failed" and "+CMS ERROR: 1" in why and "unassigned" in why, why
        assert _status(service)[5] == ("armed", None)
        (failed,) = types(log, records.REMINDER_FAILED)
        assert failed[15] is True  # given up at once: no retry can mend a wrong number

        service.write({"subscriber": SUBSCRIBER})
        assert _status(service)[10] == ("queued", None)
        await service.outbox.pump(clock.monotonic_ms())
        assert taken == [SUBSCRIBER] and _status(service)[10] == ("sent", None)
        _delivered(service, 1, SUBSCRIBER)
        assert _status(service)[10] == ("delivered", None)

        await use(service, line, clock, 16 * MB)  # 4 MB left: the 5 MB reminder, to the right number
        assert taken == [SUBSCRIBER, SUBSCRIBER] and _status(service)[5] == ("sent", None)
        await use(service, line, clock, 16 * MB)
        assert taken == [SUBSCRIBER, SUBSCRIBER]  # nothing twice

        # Another correction: only what never reached the phone goes again.
        service.write({"subscriber": "+8613800000001"})
        await service.outbox.pump(clock.monotonic_ms())
        assert taken == [SUBSCRIBER, SUBSCRIBER, "+8613800000001"]
        assert "5MB" in line.sms_texts()[-1]
        withdrawn = types(log, records.REMINDER_FAILED)[-1]
        assert withdrawn[8] == 5 * MB and "number changed" in withdrawn[13]

    run(body)


def test_a_refused_send_shows_queued_with_its_reason_until_it_goes():
    async def body(service, line, clock, log):
        line.fake.payload_answer = "\r\n+CMS ERROR: 331\r\n"  # no network service: try again later
        service.write({"quota": 20 * MB})
        await use(service, line, clock, 11 * MB)
        assert _status(service)[10] == ("queued", "+CMS ERROR: 331")
        line.fake.payload_answer = "\r\n+CMGS: 1\r\n" + OK
        await clock.sleep_ms(60000)  # past the first backoff
        await service.outbox.pump(clock.monotonic_ms())
        assert _status(service)[10] == ("sent", None)

    run(body)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
