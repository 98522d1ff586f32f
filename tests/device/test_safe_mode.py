"""Safe mode's count (firmware/safe_mode.py) on both VMs: early crashes in a row bring it,
anything else starts the count again, a clean run or a signed reset leaves it."""

import flash_fixture  # first: its flash buffer is allocated while the heap is empty
import os

from firmware import safe_mode as sm
from protocol import records


class Clock:
    def __init__(self):
        self.ms = 0

    def monotonic_ms(self):
        return self.ms


def _boots(folder):
    """A function that runs one boot: (its SafeMode, the records it wrote, its clock)."""
    path = folder + "/crashes"

    def boot(reason, crash=None, run_s=1):
        written, clock = [], Clock()
        mode = sm.SafeMode(path, lambda rtype, fields: written.append((rtype, fields)), clock)
        active = mode.boot(reason)
        clock.ms = run_s * 1000
        mode.step()
        if crash is not None:
            mode.crashed(crash)
        return mode, active, written, clock

    return boot


def _folder(name):
    folder = flash_fixture.fresh_dir(name, 256, 16)
    os.mkdir(folder)
    return folder


def _raise_key_error():
    return {}["thresholds"]


def _crash():
    try:
        _raise_key_error()
    except KeyError as error:
        return error


def test_three_early_crashes_in_a_row_bring_safe_mode_with_the_last_crash():
    boot = _boots(_folder("safe1"))
    assert boot(records.BOOT_POWER_ON, crash=_crash())[1] is False
    assert boot(records.BOOT_WATCHDOG, crash=_crash())[1] is False  # 1 crash counted
    assert boot(records.BOOT_WATCHDOG, crash=_crash())[1] is False  # 2
    mode, active, written, _clock = boot(records.BOOT_WATCHDOG)  # 3: safe
    assert active and mode.active
    ((rtype, fields),) = written
    assert rtype == records.SAFE_MODE and fields[records.SAFE_MODE__ENTERED] is True
    assert fields[records.SAFE_MODE__CRASHES] == sm.CRASHES
    assert fields[records.SAFE_MODE__CRASH].startswith("KeyError")
    assert fields[records.SAFE_MODE__WHERE].endswith("test_safe_mode.py:%s" % fields[records.SAFE_MODE__WHERE]
                                                     .rsplit(":", 1)[1])
    summary = mode.summary()
    assert summary["crashes"] == 3 and summary["crash"] == fields[records.SAFE_MODE__CRASH]
    again = boot(records.BOOT_WATCHDOG)  # still crashing: still safe, but entered only once
    assert again[1] and again[2] == []


def test_a_hang_the_watchdog_ended_counts_as_a_crash():
    boot = _boots(_folder("safe2"))
    boot(records.BOOT_POWER_ON)
    for _ in range(sm.CRASHES - 1):
        assert boot(records.BOOT_WATCHDOG)[1] is False
    assert boot(records.BOOT_WATCHDOG)[1] is True


def test_a_settled_boot_a_power_cut_or_a_signed_reset_starts_the_count_again():
    boot = _boots(_folder("safe3"))
    boot(records.BOOT_POWER_ON, crash=_crash())
    boot(records.BOOT_WATCHDOG, crash=_crash())
    boot(records.BOOT_WATCHDOG, run_s=sm.EARLY_S)  # settled: past the early window
    assert boot(records.BOOT_WATCHDOG, crash=_crash())[1] is False  # a late crash is not early
    boot(records.BOOT_WATCHDOG, crash=_crash())
    assert boot(records.BOOT_POWER_LOSS, crash=_crash())[1] is False  # somebody cut the power
    boot(records.BOOT_WATCHDOG, crash=_crash())
    mode, active, _written, _clock = boot(records.BOOT_RESET_COMMAND)  # a signed reset
    assert active is False and mode.state["early"] == 0


def test_safe_mode_is_left_by_a_clean_run_or_a_signed_reset():
    boot = _boots(_folder("safe4"))
    boot(records.BOOT_POWER_ON, crash=_crash())
    for _ in range(sm.CRASHES - 1):
        boot(records.BOOT_WATCHDOG, crash=_crash())
    mode, active, written, clock = boot(records.BOOT_WATCHDOG)
    assert active
    clock.ms = (sm.CLEAN_RUN_S - 1) * 1000
    assert mode.step() is False
    clock.ms = sm.CLEAN_RUN_S * 1000
    assert mode.step() is True  # time to reset and try again
    mode.leave()
    assert written[-1][1][records.SAFE_MODE__ENTERED] is False and not mode.active
    assert boot(records.BOOT_RESET_COMMAND)[1] is False


def test_a_damaged_count_file_starts_again_and_never_crashes_the_boot():
    folder = _folder("safe5")
    with open(folder + "/crashes", "wb") as f:
        f.write(b"\x00\x05garbage")
    assert _boots(folder)(records.BOOT_WATCHDOG)[1] is False


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
