"""The metering loop (firmware/metering/usage_service.py) on both VMs: the real modem driver
against the scripted modem, state files on (RAM) LittleFS, a clock the test sets.

Each test moves the modem's byte counter and the clock, runs one poll (`step`),
and checks what the subscriber would see: SMS texts typed to the modem, the data
session switched with AT+CGACT, and the figures `read()` reports.
"""

# The whole metering stack's bytecode (~95 KB: modem driver, plan, reminders,
# settings, SMS codec and outbox, CBOR), and this file's, compiled at import,
# live in the unix port's heap; on a board the code is frozen in flash. It passes
# in 192 KB; 224 KB leaves the suites' margin (tests/test_device_suites.py).
HEAP = "224k"

import flash_fixture  # noqa: F401  first: its flash buffer is allocated while the heap is empty

from fake_modem_stream import OK, settle
from metering_line import SUBSCRIBER, run, service as _service, types as _types, use as _use
from protocol import records, sms_pdu
from protocol.units import MB


def test_cut_at_zero_then_snooze_meters_overage_apart():
    async def body(service, line, clock, log):
        service.write({"quota": 20 * MB, "at_zero": "cut"})
        await _use(service, line, clock, 20 * MB)
        assert line.session == [1, 0] and not service.read()["data_on"]
        assert len(line.sms_texts()) == 3 and "剩余0MB" in line.sms_texts()[2]

        state = service.snooze(True)
        assert state["snoozed"]
        await _use(service, line, clock, 23 * MB)
        state = service.read()
        assert line.session == [1, 0, 1] and state["data_on"]
        assert state["remaining"] == 0 and state["overage"] == 3 * MB and state["used"] == 23 * MB
        assert [f[8] for f in _types(log, records.DATA_RESUMED)] == [records.REASON_SNOOZE]
        assert len(line.sms_texts()) == 3  # no reminder again for the same zero

        service.snooze(False)
        await _use(service, line, clock, 24 * MB)
        assert line.session == [1, 0, 1, 0]

    run(body)


def test_snooze_ends_with_the_cycle():
    async def body(service, line, clock, log):
        service.write({"quota": 20 * MB, "at_zero": "cut"})
        await _use(service, line, clock, 21 * MB)
        service.snooze(True)
        await _use(service, line, clock, 22 * MB)
        assert service.read()["data_on"]
        # Next cycle: a fresh quota, so data stays on; then it runs out again and is cut.
        await _use(service, line, clock, 30 * MB, at="2027-01-01T00:00:01+08:00")
        assert service.read()["used"] == 0 and not service.read()["snoozed"] and service.read()["data_on"]
        await _use(service, line, clock, 50 * MB)
        assert not service.read()["data_on"] and line.session == [1, 0, 1, 0]

    run(body)


def test_an_add_on_rearms_the_reminders_it_lifts_above():
    async def body(service, line, clock, log):
        service.write({"quota": 20 * MB, "at_zero": "cut"})
        await _use(service, line, clock, 16 * MB)  # 4 MB left: 10 MB and 5 MB reminders
        assert len(line.sms_texts()) == 2
        service.write({"addon": 8 * MB})  # 12 MB left: both re-armed
        await _use(service, line, clock, 16 * MB)
        assert [s for _t, s, _why in service.read()["thresholds"]] == ["armed"] * 3
        await _use(service, line, clock, 28 * MB)
        texts = line.sms_texts()
        assert len(texts) == 5 and "10MB" in texts[2] and "5MB" in texts[3] and "剩余0MB" in texts[4]
        assert line.session == [1, 0]

    run(body)


def test_a_multi_month_pack_carries_what_is_left_to_the_next_cycles():
    async def body(service, line, clock, log):
        service.write({"quota": 100 * MB, "at_zero": "warn"})
        service.write({"pack": 300 * MB, "months": 3})
        assert service.read()["quota"] == 400 * MB
        await _use(service, line, clock, 150 * MB)  # 50 MB from the pack
        await _use(service, line, clock, 150 * MB, at="2027-01-01T00:00:00+08:00")
        assert service.read()["quota"] == 350 * MB
        await _use(service, line, clock, 150 * MB + 400 * MB)  # 300 MB from the pack: 50 left, 50 over
        state = service.read()
        assert state["overage"] == 50 * MB and state["data_on"]  # warn only: never cut
        await _use(service, line, clock, 550 * MB, at="2027-02-01T00:00:00+08:00")
        assert service.read()["quota"] == 100 * MB  # the pack is used up
        await _use(service, line, clock, 550 * MB, at="2027-03-01T00:00:00+08:00")
        assert service.read()["quota"] == 100 * MB and service.read()["plan"]["packs"] == []
        rollovers = _types(log, records.CYCLE_ROLLOVER)
        assert [r[9] for r in rollovers] == [150 * MB, 400 * MB, 0]

    run(body)


def test_a_modem_that_reboots_gets_its_session_back_once_registered_and_no_byte_is_lost():
    async def body(service, line, clock, log):
        service.write({"quota": 100 * MB, "at_zero": "cut"})
        await _use(service, line, clock, 3 * MB)
        assert line.session == [1]
        line.fake.inject("\r\nRDY\r\n")  # restarted by itself: counters from 0, no session
        line.fake.answers["AT+CEREG?"] = "\r\n+CEREG: 0,2\r\n" + OK  # searching
        await settle()
        await _use(service, line, clock, 4 * MB)  # from 0 again, though above the last reading
        assert line.session == [1] and len(_types(log, records.MODEM_RESET)) == 1
        line.fake.answers["AT+CEREG?"] = "\r\n+CEREG: 0,1\r\n" + OK
        await _use(service, line, clock, 5 * MB)
        assert line.session == [1, 1] and len(_types(log, records.MODEM_RESET)) == 1
        assert service.read()["used"] == 8 * MB

    run(body)


def test_own_thresholds_and_a_long_text_go_out_as_concatenated_parts():
    async def body(service, line, clock, log):
        long_text = "尊敬的客户，您的流量还剩{mb}MB。" + "请合理使用。" * 60  # ~380 characters
        service.write({"quota": 30 * MB, "thresholds": [20 * MB, 0], "texts": {20 * MB: long_text}})
        assert [t for t, _s, _why in service.read()["thresholds"]] == [20 * MB, 0]
        await _use(service, line, clock, 12 * MB)  # 18 MB left
        pdus = [sms_pdu.decode_submit(p.decode()) for p in line.fake.payloads]
        assert len(pdus) == 6 and all(p["concat"][1] == 6 for p in pdus)
        assert "".join(p["text"] for p in pdus) == long_text.replace("{mb}", "20")
        try:
            service.write({"texts": {5 * MB: "not a threshold in use"}})
        except ValueError:
            pass
        else:
            raise AssertionError("a text for an unknown threshold was taken")

    run(body)


def test_reminders_also_go_to_the_cc_numbers_once_each():
    async def body(service, line, clock, log):
        service.write({"quota": 20 * MB, "at_zero": "warn"})
        service.write({"cc": ["+8613900000001", SUBSCRIBER, "+8613900000002"]})
        await _use(service, line, clock, 11 * MB)  # 9 MB left: the 10 MB reminder
        to = [sms_pdu.decode_submit(p.decode())["to"] for p in line.fake.payloads]
        assert to == [SUBSCRIBER, "+8613900000001", "+8613900000002"]
        try:
            service.write({"cc": ["1", "2", "3", "4", "5"]})
        except ValueError:
            pass
        else:
            raise AssertionError("five cc numbers taken")

    run(body)


def test_the_plan_and_reminder_states_survive_a_reboot():
    async def body(service, line, clock, log):
        service.write({"quota": 20 * MB, "at_zero": "cut", "subscriber": "+8613900000009"})  # a new number: stored
        service.write({"pack": 30 * MB, "months": 2, "thresholds": [15 * MB, 10 * MB, 0], "texts": {0: "0"}})
        await _use(service, line, clock, 42 * MB)  # 8 MB left: the 10 MB reminder
        service._checkpoint()
        again = _service(service.modem, clock, log, service.state_dir, None)
        again.resume(modem_kept_power=True)
        assert again.read() == service.read()

    run(body)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
