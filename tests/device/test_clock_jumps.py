"""A clock that jumps never blinds the meter (firmware/metering/usage_service.py, rtc_check.py),
on both VMs.

The wall clock is set (a date-time write, minutes to a year, either way) or comes
up at 2000-01-01 after a flat RTC battery. Polls, checkpoints and the cut run on
the monotonic clock, so no byte goes unmetered or counts twice and no reminder is
skipped; the billing cycle follows the wall clock forward only: one rollover for a
jump across the cycle day, none back.
"""

# The metering stack's bytecode lives in the unix port's heap (see test_usage_service.py).
HEAP = "224k"

import flash_fixture  # first: its flash buffer is allocated while the heap is empty

import asyncio

from metering_line import ms, run, types, use
from firmware.metering import rtc_check
from firmware.metering.meter import unpacked
from firmware.metering import usage_service
from protocol import records
from protocol.units import MB

HOUR_MS = 3600 * 1000
YEAR_MS = 365 * 24 * HOUR_MS


def _reminders_queued(service_):
    return sorted((m["kind"] for m in service_.outbox.messages), reverse=True)


async def _until(clock, mono_ms, done=lambda: False):
    """Let the metering loop run until the monotonic clock reaches `mono_ms` (or `done()`)."""
    while clock.mono < mono_ms and not done():
        await asyncio.sleep(0)


def test_a_clock_set_9_hours_back_never_stalls_the_polls_and_the_cut_holds():
    async def body(service_, line, clock, log):
        service_.write({"quota": 100 * MB, "at_zero": "cut"})
        rate = MB // 2  # bytes a second while the session is up
        state = {"bytes": 0, "mono": 0, "at_cut": None}

        def counting():
            if line.session and line.session[-1] == 1:
                state["bytes"] += rate * (clock.mono - state["mono"]) // 1000
            elif line.session and state["at_cut"] is None:
                state["at_cut"] = state["bytes"]
            state["mono"] = clock.mono
            return state["bytes"]

        line.counting = counting
        answer = line.fake.answers["AT+QGDCNT?"]
        polls = {"jumped": None, "last": 0, "first_gap": None, "longest_gap": 0}

        def reading(command):  # the polls after the jump: how soon, how far apart
            if polls["jumped"] is None and clock.mono >= 60000:  # 30 MB used
                # The technician corrects a fast clock: the date-time write comes
                # while a poll waits for the modem's answer.
                clock.set_ms(clock.ms - 9 * HOUR_MS)
                polls["jumped"] = clock.mono
            elif polls["jumped"] is not None:
                if polls["first_gap"] is None:
                    polls["first_gap"] = clock.mono - polls["jumped"]
                else:
                    polls["longest_gap"] = max(polls["longest_gap"], clock.mono - polls["last"])
            polls["last"] = clock.mono
            line.fake.wire = bytearray()  # hundreds of polls: keep the fake's transcript small
            del line.fake.commands[:]
            return answer(command)

        line.fake.answers["AT+QGDCNT?"] = reading
        # Hundreds of checkpoints: keep every record but the usage summaries.
        service_.record = lambda rtype, fields: rtype == records.USAGE or log.append((rtype, fields))
        loop = asyncio.create_task(service_.run())
        try:
            await _until(clock, 400000, lambda: state["at_cut"] is not None)
            await _until(clock, clock.mono + 2000)
        finally:
            loop.cancel()
            await asyncio.sleep(0)
        assert polls["first_gap"] is not None and polls["first_gap"] <= usage_service.MAX_POLL_MS, polls
        assert polls["longest_gap"] <= usage_service.MAX_POLL_MS, polls
        assert state["at_cut"] is not None, "never cut"
        assert 0 <= state["at_cut"] - 100 * MB <= MB, state["at_cut"] - 100 * MB  # cut within 1 MB of zero
        assert service_.meter.total == line.received  # nothing unmetered, nothing twice
        assert _reminders_queued(service_) == [10 * MB, 5 * MB, 0]  # each once
        assert not types(log, records.CYCLE_ROLLOVER)

    run(body)


def test_a_full_heap_while_the_modem_starts_does_not_end_metering():
    """A MemoryError in the modem's start (a fragmented heap after a power cut) is a
    fault, counted; the loop starts the modem again and meters on."""

    async def body(service_, line, clock, log):
        service_.write({"quota": 100 * MB, "at_zero": "cut"})
        start = service_.modem.init
        tries = []

        async def init():
            tries.append(clock.mono)
            if len(tries) == 1:
                raise MemoryError("memory allocation failed, allocating 1280 bytes")
            await start()

        service_.modem.init = init
        said = []  # the console line (kept here: the suite's runner reads the VM's output for MemoryErrors)
        service_._console.say = lambda now_ms, text: said.append(text)
        line.received = 3 * MB
        loop = asyncio.create_task(service_.run())
        try:
            await _until(clock, 60000, lambda: loop.done() or service_.meter.total == 3 * MB)
        finally:
            loop.cancel()
            await asyncio.sleep(0)
        assert len(tries) == 2 and service_.faults == 1
        assert len(said) == 1 and said[0].startswith("metering: modem start failed: MemoryError(")
        assert service_.meter.total == 3 * MB  # metered after the second start

    run(body)


def test_a_jump_forward_across_the_cycle_day_rolls_over_once_however_far():
    for jump_ms in (10 * 60 * 1000, 40 * 24 * HOUR_MS, YEAR_MS):

        async def body(service_, line, clock, log):
            service_.write({"quota": 20 * MB, "at_zero": "warn", "cycle_day": 1})
            await use(service_, line, clock, 11 * MB, at="2026-12-31T23:55:00+08:00")  # 10 MB reminder
            clock.set_ms(clock.ms + jump_ms)
            await use(service_, line, clock, 12 * MB)
            await use(service_, line, clock, 13 * MB)
            # The first reading after the jump still counts in the old cycle (as at
            # any rollover: the poll reads, then rolls over).
            (rollover,) = types(log, records.CYCLE_ROLLOVER)
            assert rollover[9] == 12 * MB
            state = service_.read()
            assert state["used"] == 1 * MB and state["cycle_start"] * 1000 <= clock.ms < state["cycle_end"] * 1000
            assert [s for _t, s, _why in state["thresholds"]] == ["armed"] * 3  # re-armed for the new cycle

        run(body)


def test_a_jump_back_across_the_cycle_day_never_unrolls_a_cycle_or_resends_its_reminders():
    async def body(service_, line, clock, log):
        service_.write({"quota": 20 * MB, "at_zero": "cut", "cycle_day": 1})
        await use(service_, line, clock, 1 * MB, at="2026-12-31T20:00:00+08:00")
        await use(service_, line, clock, 2 * MB, at="2027-01-01T04:00:00+08:00")  # a clock running fast
        await use(service_, line, clock, 13 * MB)  # 9 MB left in the new cycle: its 10 MB reminder
        assert len(line.sms_texts()) == 1 and len(types(log, records.CYCLE_ROLLOVER)) == 1
        january = service_.read()["cycle_start"]
        clock.set_ms(ms("2026-12-31T19:00:00+08:00"))  # corrected: back across the cycle day
        await use(service_, line, clock, 19 * MB)  # 3 MB left: the 5 MB reminder, not the 10 MB again
        await use(service_, line, clock, 24 * MB, at="2026-12-31T23:00:00+08:00")  # zero: the cut
        state = service_.read()
        assert len(types(log, records.CYCLE_ROLLOVER)) == 1 and state["cycle_start"] == january
        assert state["used"] == 22 * MB and not state["data_on"]
        assert ["10MB" in t for t in line.sms_texts()] == [True, False, False] and "5MB" in line.sms_texts()[1]
        await use(service_, line, clock, 24 * MB, at="2027-02-01T00:00:01+08:00")  # the next cycle, once
        assert len(types(log, records.CYCLE_ROLLOVER)) == 2 and service_.read()["data_on"]

    run(body)


def test_an_rtc_at_2000_keeps_the_cycle_its_add_ons_and_its_reminders():
    async def body(service_, line, clock, log):
        service_.write({"quota": 20 * MB, "at_zero": "cut"})
        service_.write({"addon": 10 * MB})
        await use(service_, line, clock, 5 * MB)
        december = service_.read()["cycle_start"]
        clock.set_ms(ms("2000-01-01T00:00:00Z"))  # a flat RTC battery
        service_.write({"addon": 5 * MB})  # bought now: counts in the cycle the device is in
        state = service_.read()
        assert state["cycle_start"] == december and state["quota"] == 35 * MB and state["remaining"] == 30 * MB
        await use(service_, line, clock, 26 * MB)  # 9 MB left
        await use(service_, line, clock, 31 * MB)  # 4 MB left
        await use(service_, line, clock, 36 * MB)  # zero: the cut
        assert len(line.sms_texts()) == 3 and not service_.read()["data_on"]
        assert not types(log, records.CYCLE_ROLLOVER)
        assert [s for _t, s, _why in service_.read()["thresholds"]] == ["sent"] * 3

    run(body)


def test_a_clock_set_saves_the_count_with_the_new_time_and_polls_at_once():
    async def body(service_, line, clock, log):
        service_.write({"quota": 20 * MB})
        await use(service_, line, clock, 3 * MB)
        clock.set_ms(clock.ms - 9 * HOUR_MS)
        service_.clock_set()
        saved = unpacked(flash_fixture.journal(service_.state_dir).get())  # as the next boot finds it
        assert saved["wall"] == clock.ms and saved["up"] + saved["down"] == 3 * MB
        assert types(log, records.USAGE)[-1][11] == 3 * MB and service_._poked

    run(body)


def test_a_boot_finds_an_rtc_behind_the_last_checkpoint_and_puts_it_back():
    async def body(service_, line, clock, log):
        saved = lambda: flash_fixture.journal(service_.state_dir).get()  # noqa: E731  (as a boot finds it)
        assert rtc_check.restore(clock, saved()) is None  # a new board: nothing to go by
        service_.write({"quota": 20 * MB})
        await use(service_, line, clock, 1 * MB)
        service_._checkpoint()
        saved_at = clock.ms
        clock.ms += HOUR_MS
        assert rtc_check.restore(clock, saved()) is None and clock.ms == saved_at + HOUR_MS  # a sane RTC stays
        clock.set_ms(ms("2000-01-01T00:00:00Z"))
        assert rtc_check.restore(clock, saved()) == (ms("2000-01-01T00:00:00Z"), saved_at)
        assert clock.ms == saved_at

    run(body)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
