"""Feed the board's watchdog only while every long-lived task shows progress.

    supervisor = Supervisor(board.watchdog(WATCHDOG_MS), board.real_clock(), record)
    metering = supervisor.watch("metering", 180000)
    ...  metering.beat()       # in the task's loop, at each round
    ...  metering.waiting()    # before an open-ended wait for input (a request, a URC)
    asyncio.create_task(supervisor.run())

Each watched task has a deadline in real milliseconds: it is stuck when it has
neither beaten within its deadline nor said it is waiting for input (a wait
that ends only when input comes is idle, not stuck; its next beat ends it). The
supervisor looks every FEED_MS and feeds the watchdog while no task is stuck.
When one is, it writes one WATCHDOG record naming the task and how long it was
silent, and stops feeding: the watchdog resets the board within its timeout. If
the asyncio loop itself is stuck (a busy loop, a deadlock in a driver) nothing
feeds it either. A modem that stops answering is not this: its commands time
out and the driver power-cycles it, and the metering loop goes on beating.

Time is real time (board.real_clock()), as the watchdog counts: the emulated
board's scaled clock does not shorten a deadline.
"""

from protocol import records

WATCHDOG_MS = 8000  # the timeout asked of the board's watchdog (rp2 takes at most 8388)
FEED_MS = 1000  # how often the tasks are looked at and the watchdog fed


class Progress:
    """One task's side: beat() at each round of its loop, waiting() before an open-ended wait."""

    def __init__(self, now_ms, deadline_ms):
        self._now_ms = now_ms
        self.deadline_ms = deadline_ms
        self.last_ms = now_ms()
        self.idle = False

    def beat(self):
        self.last_ms = self._now_ms()
        self.idle = False

    def waiting(self):
        self.last_ms = self._now_ms()
        self.idle = True


class Supervisor:
    def __init__(self, watchdog, clock, record):
        """`clock`: monotonic_ms() and sleep_ms() in real time."""
        self._watchdog = watchdog
        self._clock = clock
        self._now_ms = clock.monotonic_ms
        self._record = record
        self._tasks = []  # (name, Progress)
        self.feeds = 0  # watchdog feeds (statistics group "watchdog")
        self.stuck = 0  # tasks found stuck
        self.stuck_task = None  # the name of the task found stuck, once one is

    def watch(self, name, deadline_ms):
        """The Progress a task named `name` reports to; stuck after `deadline_ms` of silence."""
        progress = Progress(self._now_ms, deadline_ms)
        self._tasks.append((name, progress))
        return progress

    def check(self):
        """(name, silent ms) of the first stuck task, or None."""
        now = self._now_ms()
        for name, progress in self._tasks:
            silent = now - progress.last_ms
            if not progress.idle and silent > progress.deadline_ms:
                return name, silent
        return None

    def tick(self):
        """Once every FEED_MS: feed the watchdog, or, when a task is stuck, say which and stop."""
        if self.stuck_task is not None:
            return  # starving the watchdog: the board resets
        stuck = self.check()
        if stuck is None:
            self._watchdog.feed()
            self.feeds += 1
            return
        self.stuck_task, silent = stuck
        self.stuck += 1
        print("watchdog: task %s made no progress for %d ms: the board resets" % stuck)
        try:
            self._record(records.WATCHDOG, {records.WATCHDOG__TASK: self.stuck_task,
                                            records.WATCHDOG__SILENT_MS: silent})
        except Exception as error:  # a full flash or heap: the reset must come anyway
            print("watchdog: record not written: %r" % (error,))

    async def run(self):
        while True:
            self.tick()
            await self._clock.sleep_ms(FEED_MS)
