"""Run `edgemeter emulate` as a child process, the way a technician starts it.

Used by the demo, the integration tests and the bench: start it, read the pty
path from its first line, find the firmware pid, cut the power, stop it.
"""

import os
import signal
import subprocess
import sys
import time

EDGEMETER = os.path.join(os.path.dirname(sys.executable), "edgemeter")


class EmulatorProcess:
    def __init__(self, state_dir, *extra_args, action="run"):
        """`edgemeter emulate ACTION --state STATE_DIR EXTRA_ARGS…` (ACTION: run or repl)."""
        self.state_dir = str(state_dir)
        self.process = subprocess.Popen(
            [EDGEMETER, "emulate", action, "--state", self.state_dir, *extra_args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        first = self.process.stdout.readline().strip()
        if not first.startswith("serial: "):
            self.process.kill()
            raise RuntimeError("emulator did not start: %r %s" % (first, self.process.stdout.read()))
        self.port = first[len("serial: "):]

    def pid(self, timeout=10.0):
        """The running firmware's pid (waits until the board has booted)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(os.path.join(self.state_dir, "firmware.pid")) as f:
                    pid = int(f.read())
                os.kill(pid, 0)
                return pid
            except (FileNotFoundError, ValueError, ProcessLookupError):
                time.sleep(0.02)
        raise TimeoutError("no firmware process in %s" % self.state_dir)

    def wait_ready(self, timeout=15.0):
        """Wait until the firmware answers SMP echo (it ignores what came before it booted)."""
        from smp import packet
        from smpclient.requests.os_management import EchoWrite

        from host_tools.device.session import DeviceError, open_port

        self.pid(timeout)
        ping = b"".join(packet.encode(EchoWrite(d="ready?").BYTES))
        deadline = time.monotonic() + timeout
        while True:  # a command of the user's may hold the port for a moment (exclusive: "port busy")
            try:
                conn = open_port(self.port)
                break
            except DeviceError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)
        conn.timeout = 0.3
        try:
            while time.monotonic() < deadline:
                conn.write(ping)
                if conn.read_until(b"\n").startswith(b"\x06\x09"):
                    return
        finally:
            conn.close()
        raise TimeoutError("the firmware does not answer on %s:\n%s" % (self.port, self.console()))

    def power_cut(self, timeout=10.0, before_power_on=None):
        """SIGKILL the firmware, wait until the board is back and answering; returns the new pid.
        `before_power_on()` runs while the board is off (within its --power-on-delay)."""
        old = self.pid()
        os.kill(old, signal.SIGKILL)
        if before_power_on is not None:
            before_power_on()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = self.pid(timeout)
            if new != old:
                self.wait_ready(timeout)
                return new
            time.sleep(0.02)
        raise TimeoutError("board did not power on again")

    @property
    def console_path(self):
        return os.path.join(self.state_dir, "console.log")

    def console(self):
        with open(self.console_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        output = self.process.stdout.read()
        self.process.stdout.close()
        return output
