"""asyncio on a virtual clock, for device tests on MicroPython: a run takes the same
steps, so allocates the same, however fast or loaded the machine is.

When no task is ready, asyncio's loop waits in poll() for its streams or its
earliest timer. In these tests nothing outside the process makes a stream ready
(the fake modem answers inside the driver's write), so here the loop polls
without waiting and moves its clock on to the earliest timer at once: a 5 s modem
timeout (50 ms at the fake's board speed) takes no time. Nor does the clock follow
the real one while tasks run: it moves on a millisecond every STEPS_PER_MS turns
of the loop (about the VM's own pace), so a test that spins with sleep(0) still
sees its timers come, at the same turn every run. With the real clock a timer
came after more or fewer turns as the machine was faster or slower, and the heap
a suite needed at its limit differed from run to run (test_clock_jumps.py by a
few hundred bytes, in 7 runs out of 8).

Before each poll it asks the streams (their ioctl) whether any is ready, and polls
only then: the unix port's poll() sleeps a millisecond each time it watches an
object without a file descriptor, such as the fake modem, even with a timeout of 0.

`install()` patches MicroPython's asyncio (asyncio.core: its `ticks`, and
IOQueue.wait_io_event); importing fake_modem_stream installs it. On CPython it
does nothing. asyncio's C part (TaskQueue.push without a time, Task.cancel)
stamps the tasks it makes ready with the real clock: the virtual one runs AHEAD
of it, so such a task is due at once, as it would be.
"""

import sys

_POLL = 3  # MP_STREAM_POLL
_POLLIN = 1
_POLLOUT = 4

AHEAD = 1 << 28  # ms the clock starts ahead of the real one (ticks wrap at 2**30)
STEPS_PER_MS = 10  # the loop's turns that make a millisecond: about the VM's real pace

_state = {}


def install():
    if sys.implementation.name != "micropython" or _state:
        return
    import asyncio.core as core
    from time import ticks_add, ticks_diff, ticks_ms

    _state["skipped"] = 0
    _state["steps"] = 0
    start = ticks_add(ticks_ms(), AHEAD)

    def ticks():
        return ticks_add(start, _state["skipped"] + _state["steps"] // STEPS_PER_MS)

    wait = core.IOQueue.wait_io_event

    def ready(queue):
        """Whether a stream asyncio waits on is ready; None if one is not a Python
        object that says so through ioctl (then only poll() can tell)."""
        for reader, writer, stream in queue.map.values():
            ioctl = getattr(stream, "ioctl", None)
            if ioctl is None:
                return None
            if ioctl(_POLL, (_POLLIN if reader is not None else 0) | (_POLLOUT if writer is not None else 0)):
                return True
        return False

    def wait_io_event(self, dt):
        _state["steps"] += 1
        if dt < 0:  # only I/O can wake anything: as before
            return wait(self, dt)
        # poll() takes a millisecond whenever it watches an object without a file
        # descriptor, even with nothing to wait for: ask the streams first.
        if ready(self) is not False:
            wait(self, 0)  # the streams that are ready now, without waiting
        if dt:
            head = core._task_queue.peek()
            if head is not None:
                ahead = ticks_diff(head.ph_key, ticks())
                if ahead > 0:  # nothing before the earliest timer: go to it
                    _state["skipped"] += ahead

    core.ticks = ticks
    core.IOQueue.wait_io_event = wait_io_event


def elapsed_ms():
    """Virtual milliseconds since install(): waits skipped and turns run (0 on CPython)."""
    return _state.get("skipped", 0) + _state.get("steps", 0) // STEPS_PER_MS
