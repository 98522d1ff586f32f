"""The meter's durability apart from the log's usage evidence (firmware/metering/usage_service.py,
issue 16) on both VMs: over three hours of steady traffic across midnight, a
checkpoint in the journal every 64 KB, but a USAGE record only for each local
hour (written at its first poll with the count and time of the hour's last),
each with that hour's bytes, at most a poll's bytes (within the meter's 64 KB
budget) on the wrong side of midnight."""

# The metering stack's bytecode lives in the unix port's heap (see test_usage_service.py).
HEAP = "224k"

import flash_fixture  # noqa: F401  first: its flash buffer is allocated while the heap is empty

from metering_line import ms, run, types
from firmware.metering.meter import BUDGET_BYTES, unpacked
from protocol import records
from protocol.units import MB

RATE = 10 * 1024  # bytes a second, all day
START = "2026-12-01T22:30:00+08:00"
END = "2026-12-02T01:30:00+08:00"
MIDNIGHT = ms("2026-12-02T00:00:00+08:00")


def test_hourly_usage_records_and_checkpoints_every_64_kb():
    async def body(service, line, clock, log):
        service.write({"quota": 10000 * MB})
        started = clock.ms
        line.counting = lambda: (clock.ms - started) * RATE // 1000
        puts_before = service.checkpoints.puts
        times = []  # of the USAGE records, in ms

        def record(rtype, fields, at=None):
            log.append((rtype, fields))
            if rtype == records.USAGE:
                times.append(clock.ms if at is None else at * 1000)

        service.record = record
        interval = 1000
        while clock.ms < ms(END):
            interval = await service._poll(interval, interval)
            await clock.sleep_ms(interval)
            line.fake.wire, line.fake.commands = b"", []  # the fake modem keeps all it was told: not for 1,600 polls
        usage = types(log, records.USAGE)
        total = service.meter.total
        # One for each hour that ended: up to 23:00, 00:00 and 01:00, each of the time of its hour's last poll.
        assert len(usage) == 3, [u[records.USAGE__TOTAL_BYTES] for u in usage]
        assert sum(u[records.USAGE__UP_BYTES] + u[records.USAGE__DOWN_BYTES] for u in usage) == usage[-1][records.USAGE__TOTAL_BYTES]
        hourly = [u[records.USAGE__DOWN_BYTES] for u in usage]
        assert abs(hourly[0] - 1800 * RATE) <= BUDGET_BYTES and all(abs(b - 3600 * RATE) <= BUDGET_BYTES for b in hourly[1:]), hourly
        assert [t // 3600000 for t in times] == [ms(h) // 3600000 - 1 for h in ("2026-12-01T23:00:00+08:00",
                                                                            "2026-12-02T00:00:00+08:00",
                                                                            "2026-12-02T01:00:00+08:00")], times
        # Before midnight by the records' times, and by the clock: within one poll's bytes.
        recorded = sum(u[records.USAGE__DOWN_BYTES] for u, t in zip(usage, times) if t < MIDNIGHT)
        assert 0 <= (MIDNIGHT - started) * RATE // 1000 - recorded <= BUDGET_BYTES, recorded
        # The count itself was saved every 64 KB or so: bytes in the journal, not records.
        puts = service.checkpoints.puts - puts_before
        assert total // BUDGET_BYTES <= puts <= total // BUDGET_BYTES + 2 * len(usage) + 2, (puts, total)
        # It knows where the last record left off: after a power cut the next one goes on from there.
        assert unpacked(service.checkpoints.get())["rec"] == [0, usage[-1][records.USAGE__TOTAL_BYTES]]

    run(body, start=START)


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
