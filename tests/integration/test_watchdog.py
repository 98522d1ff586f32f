"""A stuck firmware recovers by itself: the emulated board's watchdog (real time,
enforced by the emulator) resets a firmware that stops feeding it, and the next
boot says why; a modem gone silent is power-cycled, and the board is not reset."""

import os
import signal
import time

from cli_run import run, run_json
from conftest import IDLE, scenario_file
from records_workload import produce

from firmware import safe_mode
from host_tools.build import micropython_vm
from host_tools.emulator.process import EmulatorProcess
from protocol import records

WATCHDOG_S = 8.388  # board/emulated/board.json watchdog_max_ms: what the firmware's 8 s ask comes to, at most


def _safe_mode_again(emulator, capsys, old):
    """Wait out the crashes after the boot of pid `old`, until the board answers in safe mode."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            emulator.wait_ready(timeout=5)
            info = run_json(capsys, "info", "--port", emulator.port, "--json")
            if emulator.pid() != old and info["safe_mode"] is not None:
                return info["safe_mode"]
        except (TimeoutError, AssertionError):
            pass
        time.sleep(0.2)
    raise AssertionError("no safe mode:\n" + emulator.console()[-3000:])


def test_a_stopped_firmware_is_reset_by_the_watchdog_and_loses_nothing(emulator, tmp_path, capsys):
    assert produce(emulator.port, 20) == 20
    ledger = str(tmp_path / "ledger.sqlite")
    before = run_json(capsys, "status", "--port", emulator.port, "--json")
    old = emulator.pid()
    os.kill(old, signal.SIGSTOP)  # hung: no instruction runs, nothing feeds the watchdog
    stopped = time.monotonic()
    while emulator.pid() == old:
        assert time.monotonic() - stopped < WATCHDOG_S + 5, "the watchdog did not reset the stopped firmware"
        time.sleep(0.05)
    reset_after = time.monotonic() - stopped
    emulator.wait_ready()
    # The timeout from the last feed (at most a second before the stop), plus the emulator's
    # look every 0.1 s, the 0.1 s of a reset and a process start on a busy machine.
    assert reset_after <= WATCHDOG_S + 1.5
    assert "booted (watchdog)" in emulator.console()
    pulled = run_json(capsys, "pull", "--port", emulator.port, "--ledger", ledger, "--json")
    listed = run_json(capsys, "log", "--ledger", ledger, "--json")
    assert [r["seq"] for r in listed] == list(range(1, pulled["head_seq"] + 1))  # nothing lost
    assert sum(r["type"] == "config_changed" and r["fields"]["key"] == "clock" for r in listed) == 20
    boots = [r["fields"]["reason"] for r in listed if r["type"] == "boot"]
    assert boots[-1] == records.BOOT_WATCHDOG
    after = run_json(capsys, "status", "--port", emulator.port, "--json")
    assert 0 <= after["used"] - before["used"] <= 65536  # within the meter's budget per reset
    counters = run_json(capsys, "info", "--port", emulator.port, "--json")["statistics"]["watchdog"]
    assert counters["feeds"] >= 1 and counters["stuck"] == 0


def test_a_maintenance_boot_starts_neither_the_firmware_nor_its_watchdog(emulator, capsys):
    old = emulator.pid()
    status, out, _err = run(capsys, "reset", "--maintenance", "--port", emulator.port)
    assert status == 0 and "REPL" in out
    while emulator.pid() == old:
        time.sleep(0.05)
    emulator.wait_ready()  # the emulator boots it again, as the deploy's reset would
    assert "maintenance boot: the firmware and its watchdog do not start" in emulator.console()
    assert "booted (reset-command)" in emulator.console()


DAMAGE = os.path.join(os.path.dirname(__file__), "damaged_state_file.py")


def _write_state_file(state_dir, name, value):
    """While the board is off: one state file, well framed, in a shape the boot does not expect."""
    import cbor2

    done = micropython_vm.run([DAMAGE, os.path.join(state_dir, "flash.img"), name, cbor2.dumps(value).hex()],
                              heap="256k")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_boot_that_crashes_every_time_ends_in_a_safe_mode_a_technician_can_work_with(emulator, tmp_path, capsys):
    assert produce(emulator.port, 5) == 5
    state = emulator.state_dir
    # The reminder texts without their thresholds: the boot stops at them, every time.
    old = emulator.pid()
    os.kill(old, signal.SIGKILL)  # a power cut; while it is off, the damage
    _write_state_file(state, "texts", {"broken": 1})
    safe = _safe_mode_again(emulator, capsys, old)
    assert safe["crashes"] == safe_mode.CRASHES and safe["crash"].startswith("KeyError")
    assert safe["where"].startswith("firmware/metering/usage_service.py:"), safe
    assert "booted in SAFE MODE after 3 early crashes" in emulator.console()
    status, out, err = run(capsys, "status", "--port", emulator.port)  # metering is stopped: said in one line
    assert status == 1 and err.startswith("edgemeter: ") and len(err.splitlines()) == 1
    ledger = str(tmp_path / "ledger.sqlite")
    pulled = run_json(capsys, "pull", "--port", emulator.port, "--ledger", ledger, "--json")  # the records still come
    assert pulled["evidence"]["flagged"] == []
    listed = run_json(capsys, "log", "--ledger", ledger, "--json")
    assert [r["seq"] for r in listed] == list(range(1, pulled["head_seq"] + 1))
    assert [r["fields"]["reason"] for r in listed if r["type"] == "boot"][-3:] == [records.BOOT_WATCHDOG] * 3
    (entered,) = [r["fields"] for r in listed if r["type"] == "safe_mode"]
    assert entered["entered"] is True and entered["crashes"] == 3 and entered["where"] == safe["where"]

    # The signed reset leaves safe mode; the damage is still there: three crashes, safe mode again.
    old = emulator.pid()
    assert run(capsys, "reset", "--port", emulator.port)[0] == 0
    assert _safe_mode_again(emulator, capsys, old)["crashes"] == safe_mode.CRASHES
    # Mended while the power is off: a power cycle starts the count again, and the board meters.
    emulator.power_cut(timeout=30, before_power_on=lambda: _write_state_file(
        state, "texts", {"thresholds": [10485760, 5242880, 0], "texts": {}}))
    assert run_json(capsys, "info", "--port", emulator.port, "--json")["safe_mode"] is None
    assert run(capsys, "status", "--port", emulator.port)[0] == 0
    run_json(capsys, "pull", "--port", emulator.port, "--ledger", ledger, "--json")
    left = [r["fields"]["entered"] for r in run_json(capsys, "log", "--ledger", ledger, "--json")
            if r["type"] == "safe_mode"]
    assert left == [True, False, True]


def test_a_silent_modem_is_power_cycled_and_the_board_is_not_reset(tmp_path, capsys):
    scenario = dict(IDLE, traffic=[{"from": "+0s", "mbps": 0.01}],
                    faults=[{"at": "2026-12-01T00:05:00Z", "modem_silent": True}])
    board = EmulatorProcess(tmp_path / "board", "--scenario", scenario_file(tmp_path, scenario), "--speed", "20")
    try:
        board.wait_ready()
        pid = board.pid()
        modem_log = os.path.join(board.state_dir, "modem.log")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the fault at 5 simulated minutes (15 s), then the driver's timeouts
            with open(modem_log, encoding="utf-8") as f:
                log = f.read()
            hung = log.find("fault: modem_silent")
            if hung >= 0 and "power on: booting" in log[hung:]:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the silent modem was never power-cycled:\n" + log[-2000:])
        time.sleep(2)  # the modem boots and answers again
        status = run_json(capsys, "info", "--port", board.port, "--json")["statistics"]
        assert board.pid() == pid and status["watchdog"]["stuck"] == 0  # the board itself was never reset
        assert status["modem"]["resets"] >= 1
        assert run(capsys, "status", "--port", board.port)[0] == 0  # metering goes on
    finally:
        board.stop()
