"""The emulated board's clock: simulated time that can run N times faster.

Simulated time is `sim_start_ms + (real_ms - real_start_ms) * speed`, the same
formula the emulator's network uses, so firmware and carrier share one clock.
The RTC is battery-backed: a date-time write stores its offset from simulated
time in a small file that survives power cuts. Without that file the RTC has
lost its battery: it comes up at RTC_RESET_MS (2000-01-01T00:00:00Z), as an
RTC chip does (the emulator writes the file, offset 0, when it makes a new
state folder: the board was installed with its clock set). The monotonic
clock is simulated time itself, which no date-time write moves. Sleeps shrink
by `speed`.
"""

import asyncio
import time

from board.base import Clock

RTC_RESET_MS = 946684800000  # 2000-01-01T00:00:00Z: what a flat RTC battery leaves


class SimClock(Clock):
    def __init__(self, sim_start_ms, real_start_ms, speed, rtc_path):
        self.sim_start_ms = sim_start_ms
        self.real_start_ms = real_start_ms
        self.speed = speed
        self._rtc_path = rtc_path
        self._carry_ms = 0.0
        try:
            with open(rtc_path) as f:
                self._offset_ms = int(f.read())
        except (OSError, ValueError):
            self._offset_ms = RTC_RESET_MS - self._hardware_ms()

    def monotonic_ms(self):
        return self._hardware_ms()

    def _hardware_ms(self):
        real_ms = time.time_ns() // 1000000
        return self.sim_start_ms + int((real_ms - self.real_start_ms) * self.speed)

    def set_ms(self, epoch_ms):
        Clock.set_ms(self, epoch_ms)
        with open(self._rtc_path, "w") as f:
            f.write(str(self._offset_ms))

    async def sleep_ms(self, ms):
        # Real sleeps are whole milliseconds: carry the fraction over, so that
        # many short simulated sleeps (a second each at 10,000x is 0.1 ms) still
        # add up to the right real time instead of rounding to nothing.
        real = max(0, ms) / self.speed + self._carry_ms
        whole = int(real)
        self._carry_ms = real - whole
        await asyncio.sleep_ms(whole)
