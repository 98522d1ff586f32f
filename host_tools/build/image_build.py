"""Build the MicroPython image a board runs, with edgemeter frozen in, by MicroPython's own build.

    invoke image --board emulated      # build/image/emulated/micropython: the unix port, 32-bit
    invoke image --board pico_ec25     # build/image/pico_ec25/firmware.uf2: the rp2 port

The manifest is the one `invoke build --board B` writes (board_build.py), so the
image freezes exactly the modules a .mpy deploy copies; the source is
micropython_source.py's (MICROPY_SRC, or ../shared/micropython: v1.28.0),
built out of tree (it may be read-only) into build/image-work/<board>/.
The emulated board's image is the unix port built 32-bit (board.json's make
line: MICROPY_FORCE_32BIT=1, Debian's gcc-multilib), so that its objects, and
the heap they take, are the size they are on the ESP32 and RP2040 it stands for
(the 64-bit port's take about 1.7 times as much). Each image is checked before it is kept:

- its frozen content (the build's frozen_content.c) names every module of the
  board's sources, and asyncio: a manifest that is not picked up still builds,
  silently, without the application;
- a real board's flash (text + data) and static RAM (data + bss) fit the
  limits in its board.json "image" (the rp2 port leaves the rest of RAM to the heap).

build/image/<board>/image.json says what was built: sizes, the source's
version, a digest of the modules frozen (`current()`: an image of the code as
it is now, not of an older one). The esp32 port needs ESP-IDF, which
cannot be installed from the registries here: with IDF_PATH set (ESP-IDF's
export.sh) it is built the same way, otherwise ImageError says how.
"""

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess

from host_tools.build import board_build
from host_tools.build.micropython_source import source_dir
from host_tools.build.mpy_build import BuildError

IMAGE_ROOT = os.path.join(board_build.BUILD_ROOT, "image")
WORK_ROOT = os.path.join(board_build.BUILD_ROOT, "image-work")
JOBS = "-j2"  # this machine's two cores
# What a port's build needs on PATH, and the Debian packages that have it.
TOOLS = {
    "unix": {"make": "make", "cc": "gcc"},
    "rp2": {"make": "make", "cmake": "cmake", "arm-none-eabi-gcc": "gcc-arm-none-eabi",
            "arm-none-eabi-size": "binutils-arm-none-eabi"},
}
PORT_MODULES = ("asyncio/core.py",)  # what the firmware needs of the port's own frozen modules
RP2_PACKAGES = ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "libstdc++-arm-none-eabi-newlib", "cmake")
# The unix port without what the emulated board has no use for (and that would need more libraries).
UNIX_OPTIONS = ("MICROPY_PY_BTREE=0", "MICROPY_PY_SSL=0", "MICROPY_SSL_AXTLS=0", "MICROPY_PY_FFI=0")


class ImageError(BuildError):
    """An image that cannot be built here, or that is not right: one line says why."""


def image_dir(board):
    return os.path.join(IMAGE_ROOT, board)


def built(board):
    """The image.json of the board's last image, or None if none was built."""
    try:
        with open(os.path.join(image_dir(board), "image.json"), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def sources_digest(board):
    """SHA-256 over the board's modules as they are now (what an image freezes)."""
    digest = hashlib.sha256()
    for rel in board_build.board_sources(board):
        with open(os.path.join(board_build.REPO, rel), "rb") as f:
            digest.update(rel.encode() + b"\0" + f.read() + b"\0")
    return digest.hexdigest()


def current(board):
    """Path of the board's image file if one was built from the sources as they are now, else None."""
    info = built(board)
    if not info or info.get("sources") != sources_digest(board):
        return None
    return os.path.join(image_dir(board), info["files"][0])


def has_source():
    """Whether MicroPython's source is where micropython_source.py looks."""
    return os.path.exists(os.path.join(source_dir(), "py", "mkrules.mk"))


def build_image(board, log=print):
    """Build the board's image; its image.json (a dict). ImageError if it cannot be built or checked."""
    spec = board_build.definition(board)
    port = spec["micropython"]["port"]
    src = source_dir()
    if not has_source():
        raise ImageError("no MicroPython source at %s: set MICROPY_SRC to a v1.28 checkout" % src)
    if port not in BUILDERS:
        raise ImageError("board %s: no image build for the %s port" % (board, port))
    _check_tools(board, port, spec)
    manifest = os.path.join(board_build.build_board(board), "manifest.py")
    work = os.path.join(WORK_ROOT, board)
    os.makedirs(work, exist_ok=True)
    mpy_cross = _mpy_cross(src, log)
    # makemanifest regenerates the frozen content only when a module is newer than it:
    # a module gone from the manifest would stay frozen. Each build makes it anew.
    for stale in glob.glob(os.path.join(work, "*", "frozen_content.c")):
        os.remove(stale)
    built_files, frozen_c = BUILDERS[port](src, work, mpy_cross, manifest, spec, log)
    missing = _not_frozen(frozen_c, board_build.board_sources(board) + list(PORT_MODULES))
    if missing:
        raise ImageError("the image of %s does not freeze %d of its modules (%s ...): its manifest was not picked up"
                         % (board, len(missing), ", ".join(missing[:3])))
    out = image_dir(board)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for name, path in built_files.items():
        shutil.copy2(path, os.path.join(out, name))
    info = {"board": board, "port": port, "files": sorted(built_files), "micropython": _version(src),
            "frozen_modules": len(board_build.board_sources(board)), "sources": sources_digest(board)}
    info.update(_sizes(port, built_files))
    _check_limits(board, spec, info)
    with open(os.path.join(out, "image.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1)
    return info


def compiles_32bit():
    """Whether gcc builds 32-bit programs (gcc-multilib): the emulated board's image is a
    32-bit build, as its boards are. Standard library only: dev.py asks it before .venv exists."""
    if not shutil.which("gcc"):
        return False
    done = subprocess.run(["gcc", "-m32", "-x", "c", "-o", os.devnull, "-"], input="int main(void){return 0;}",
                          capture_output=True, text=True)
    return done.returncode == 0


def _check_tools(board, port, spec):
    if port == "esp32" and not (os.environ.get("IDF_PATH") and shutil.which("idf.py")):
        raise ImageError(
            "board %s: the esp32 port builds with ESP-IDF (v5.2 to v5.4) and Espressif's Xtensa tool chain, "
            "which are not installed here: install ESP-IDF, run its export.sh, then invoke image --board %s again "
            "(docs/adding-a-board.md, \"Building an image\")" % (board, board))
    missing = sorted({package for tool, package in TOOLS.get(port, {}).items() if not shutil.which(tool)})
    if port == "unix" and "MICROPY_FORCE_32BIT=1" in spec["micropython"]["make"] and not compiles_32bit():
        missing.append("gcc-multilib")
    if missing:
        packages = RP2_PACKAGES if port == "rp2" else missing
        raise ImageError("the %s build needs %s: apt-get install %s" % (port, ", ".join(missing), " ".join(packages)))


def _make(args, log, env=None, what="make"):
    log("$ make " + " ".join(args))
    done = subprocess.run(["make", *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-15:]
        raise ImageError("%s failed (exit %d):\n%s" % (what, done.returncode, "\n".join(tail)))


def _mpy_cross(src, log):
    build = os.path.join(WORK_ROOT, "mpy-cross")  # one for every port: it runs on this machine
    _make(["-C", os.path.join(src, "mpy-cross"), JOBS, "BUILD=" + build], log, what="mpy-cross")
    return os.path.join(build, "mpy-cross")


def _build_dir(work, port, spec):
    # One build folder per make line: make does not rebuild what another line's flags compiled.
    line = spec["micropython"]["make"]
    return os.path.join(work, "%s-%s" % (port, hashlib.sha256(line.encode()).hexdigest()[:8]))


def _unix(src, work, mpy_cross, manifest, spec, log):
    build = _build_dir(work, "unix", spec)
    _make(["-C", os.path.join(src, "ports", "unix"), JOBS, "BUILD=" + build, *spec["micropython"]["make"].split(),
           "MICROPY_MPYCROSS=" + mpy_cross, "MICROPY_MPYCROSS_DEPENDENCY=" + mpy_cross, *UNIX_OPTIONS,
           "FROZEN_MANIFEST=" + manifest], log, what="the unix port's build")
    return {"micropython": os.path.join(build, "micropython")}, os.path.join(build, "frozen_content.c")


def _picotool(src, log):
    # pico-sdk 2.x makes its UF2 with picotool: built once, from the source beside MicroPython's.
    installed = os.path.join(WORK_ROOT, "picotool")
    config = os.path.join(installed, "lib", "cmake", "picotool")
    if os.path.isdir(config):
        return config
    picotool_src = os.environ.get("PICOTOOL_SRC") or os.path.join(os.path.dirname(src), "picotool")
    if not os.path.exists(os.path.join(picotool_src, "CMakeLists.txt")):
        raise ImageError("no picotool source at %s: set PICOTOOL_SRC to picotool 2.2.0" % picotool_src)
    build = os.path.join(WORK_ROOT, "picotool-build")
    command = ["cmake", "-S", picotool_src, "-B", build, "-DPICO_SDK_PATH=" + os.path.join(src, "lib", "pico-sdk"),
               "-DPICOTOOL_NO_LIBUSB=1", "-DCMAKE_INSTALL_PREFIX=" + installed]
    log("$ " + " ".join(command))
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ImageError("picotool's cmake failed:\n" + "\n".join(done.stderr.strip().splitlines()[-10:]))
    _make(["-C", build, JOBS, "install"], log, what="picotool's build")
    return config


def _rp2(src, work, mpy_cross, manifest, spec, log):
    picotool = _picotool(src, log)
    build = _build_dir(work, "rp2", spec)
    env = dict(os.environ, MICROPY_MPYCROSS=mpy_cross)
    # MICROPY_FROZEN_MANIFEST inside CMAKE_ARGS: a CMAKE_ARGS given on the command line
    # replaces the one the Makefile would build from FROZEN_MANIFEST.
    _make(["-C", os.path.join(src, "ports", "rp2"), JOBS, *spec["micropython"]["make"].split(), "BUILD=" + build,
           "CMAKE_ARGS=-Dpicotool_DIR=%s -DMICROPY_FROZEN_MANIFEST=%s" % (picotool, manifest)],
          log, env=env, what="the rp2 port's build")
    files = {"firmware.uf2": os.path.join(build, "firmware.uf2"), "firmware.elf": os.path.join(build, "firmware.elf")}
    return files, os.path.join(build, "frozen_content.c")


def _esp32(src, work, mpy_cross, manifest, spec, log):
    # ESP-IDF's build (idf.py under the port's Makefile) takes the manifest as the others do.
    build = _build_dir(work, "esp32", spec)
    env = dict(os.environ, MICROPY_MPYCROSS=mpy_cross)
    _make(["-C", os.path.join(src, "ports", "esp32"), *spec["micropython"]["make"].split(), "BUILD=" + build,
           "FROZEN_MANIFEST=" + manifest], log, env=env, what="the esp32 port's build")
    return {"firmware.bin": os.path.join(build, "firmware.bin")}, os.path.join(build, "frozen_content.c")


BUILDERS = {"unix": _unix, "rp2": _rp2, "esp32": _esp32}


def _not_frozen(frozen_c, sources):
    """The board's modules that frozen_content.c does not name (the frozen names are their paths)."""
    try:
        with open(frozen_c, encoding="utf-8", errors="replace") as f:
            content = f.read()
    except OSError:
        return list(sources)
    names = set(re.findall(r'"([\w/]+\.py)"', content))
    return [rel for rel in sources if rel not in names]


def _version(src):
    with open(os.path.join(src, "py", "mpconfig.h"), encoding="utf-8") as f:
        text = f.read()
    parts = [re.search(r"#define MICROPY_VERSION_%s (\d+)" % part, text).group(1) for part in ("MAJOR", "MINOR", "MICRO")]
    return "v" + ".".join(parts)


def _sizes(port, files):
    if port == "unix":
        return {"image_bytes": os.path.getsize(files["micropython"])}
    if port == "esp32":
        size = os.path.getsize(files["firmware.bin"])
        return {"image_bytes": size, "flash_bytes": size}
    done = subprocess.run(["arm-none-eabi-size", "-A", files["firmware.elf"]], capture_output=True, text=True, check=True)
    sections = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1].isdigit():
            sections[parts[0]] = int(parts[1])
    # Flash: what the image programs (the UF2's payload); static RAM: what the linker
    # reserves before the heap (.data copied from flash, .bss zeroed, and the stacks).
    uf2 = os.path.getsize(files["firmware.uf2"])
    ram = sum(size for name, size in sections.items() if name in (".data", ".bss", ".ram_vector_table", ".stack_dummy",
                                                                   ".uninitialized_data", ".tdata", ".tbss"))
    return {"image_bytes": uf2, "flash_bytes": uf2 // 2, "static_ram_bytes": ram}


def summary(info):
    """The lines `invoke image` prints: where the image is, its sizes against the board's limits."""
    lines = ["%s: %s (MicroPython %s, %d edgemeter modules frozen)"
             % (info["board"], os.path.relpath(os.path.join(image_dir(info["board"]), info["files"][-1 if info["port"] == "rp2" else 0])),
                info["micropython"], info["frozen_modules"])]
    limits = board_build.definition(info["board"]).get("image") or {}
    for key, what in (("image_bytes", "image file"), ("flash_bytes", "flash"), ("static_ram_bytes", "static RAM")):
        if key in info:
            limit = " of %s allowed" % format(limits[key], ",") if key in limits else ""
            lines.append("  %-11s %s bytes%s" % (what, format(info[key], ","), limit))
    return "\n".join(lines)


def _check_limits(board, spec, info):
    limits = spec.get("image") or {}
    for key, what in (("flash_bytes", "flash"), ("static_ram_bytes", "static RAM")):
        if key in limits and key in info and info[key] > limits[key]:
            raise ImageError("the image of %s takes %d bytes of %s, more than the %d its board.json allows"
                             % (board, info[key], what, limits[key]))
