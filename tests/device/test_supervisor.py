"""The watchdog's supervisor (firmware/supervisor.py) on both VMs: fed while every task
shows progress, a stuck task named in one WATCHDOG record, then starved for good."""

import asyncio

from firmware import supervisor as sv
from protocol import records


class Clock:
    """Real time as the supervisor reads it, moved by the test (sleeping moves it too)."""

    def __init__(self):
        self.ms = 0

    def monotonic_ms(self):
        return self.ms

    async def sleep_ms(self, ms):
        self.ms += ms
        await asyncio.sleep(0)


class Watchdog:
    def __init__(self):
        self.feeds = 0

    def feed(self):
        self.feeds += 1


def _supervised():
    clock, dog, written = Clock(), Watchdog(), []
    sup = sv.Supervisor(dog, clock, lambda rtype, fields: written.append((rtype, fields)))
    return clock, dog, written, sup


def test_fed_while_every_task_beats_within_its_deadline():
    clock, dog, written, sup = _supervised()
    fast, slow = sup.watch("smp", 3000), sup.watch("metering", 10000)
    for second in range(1, 60):
        clock.ms = second * 1000
        fast.beat()
        if second % 9 == 0:
            slow.beat()
        sup.tick()
    assert dog.feeds == 59 and sup.feeds == 59 and written == [] and sup.check() is None


def test_a_silent_task_is_named_once_and_the_watchdog_starves():
    clock, dog, written, sup = _supervised()
    link = sup.watch("smp", 20000)
    metering = sup.watch("metering", 10000)
    sup.tick()
    clock.ms = 10000
    sup.tick()  # exactly at the deadline: still fed
    assert dog.feeds == 2
    clock.ms = 10001
    sup.tick()
    assert sup.stuck_task == "metering" and sup.stuck == 1
    assert written == [(records.WATCHDOG, {records.WATCHDOG__TASK: "metering", records.WATCHDOG__SILENT_MS: 10001})]
    metering.beat()  # too late: once found stuck, the board resets
    link.beat()
    for _ in range(5):  # no feed again, no second record: the board resets
        clock.ms += 1000
        sup.tick()
    assert dog.feeds == 2 and len(written) == 1


def test_a_task_waiting_for_input_is_idle_not_stuck_until_it_works_again():
    clock, dog, written, sup = _supervised()
    link = sup.watch("smp", 3000)
    link.waiting()
    clock.ms = 3600 * 1000  # an hour without a request
    sup.tick()
    assert dog.feeds == 1 and sup.check() is None
    link.beat()  # a request came: handling it has the deadline again
    clock.ms += 3001
    assert sup.check() == ("smp", 3001)


def test_a_record_that_cannot_be_written_does_not_stop_the_reset():
    clock, dog = Clock(), Watchdog()

    def full(rtype, fields):
        raise OSError(28)

    sup = sv.Supervisor(dog, clock, full)
    sup.watch("sms", 100)
    clock.ms = 101
    sup.tick()
    clock.ms = 2000
    sup.tick()
    assert sup.stuck_task == "sms" and dog.feeds == 0


def test_run_feeds_every_feed_interval_on_the_event_loop():
    clock, dog, written, sup = _supervised()
    beats = sup.watch("metering", 60000)

    async def main():
        task = asyncio.create_task(sup.run())
        for _ in range(30):  # the loop turns: the supervisor's sleeps move the clock 1 s each
            await asyncio.sleep(0)
        task.cancel()

    asyncio.run(main())
    assert clock.ms >= 10 * sv.FEED_MS and dog.feeds == clock.ms // sv.FEED_MS  # fed at each look
    assert sup.stuck_task is None  # 10+ s, within the 60 s deadline
    beats.beat()


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
