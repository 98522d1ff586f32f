"""`invoke image` (host_tools/build/image_build.py): MicroPython's own build, with edgemeter frozen in.

The emulated board's image is the unix port, 32-bit as its boards are; it runs the
firmware with nothing imported from the file system. The Pico's is the rp2 port's
firmware.uf2, within its board's flash and static RAM. An image whose manifest was
not picked up is refused, and so is a build that cannot run here, in one line.
Needs MicroPython's source (../shared or MICROPY_SRC): without it these tests skip.
"""

import json
import os
import subprocess

import pytest

from host_tools.build import board_build, image_build

pytestmark = pytest.mark.skipif(not image_build.has_source(), reason="no MicroPython source: set MICROPY_SRC")


def _frozen_run(image, code, tmp_path):
    done = subprocess.run([image, "-X", "heapsize=110k", "-c", code], env=dict(os.environ, MICROPYPATH=".frozen"),
                          cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.split()


def test_the_emulated_image_is_32_bit_and_runs_the_firmware_frozen(tmp_path):
    info = image_build.build_image("emulated", log=lambda line: None)
    image = image_build.current("emulated")
    assert image and info["frozen_modules"] == len(board_build.board_sources("emulated"))
    code = "import sys, firmware.main, board.emulated.wiring; print(sys.maxsize, firmware.main.__file__, '|'.join(sys.path))"
    maxsize, where, path = _frozen_run(image, code, tmp_path)
    assert maxsize == str(2**31 - 1)  # the objects, and the heap they take, of a 32-bit MCU
    assert where == "firmware/main.py" and path.split("|")[-1] == ".frozen"  # frozen, not a file beside it


def test_an_image_that_froze_older_code_is_not_current(tmp_path, monkeypatch):
    image_build.build_image("emulated", log=lambda line: None)
    real = image_build.sources_digest
    monkeypatch.setattr(image_build, "sources_digest", lambda board: real(board)[::-1])
    assert image_build.current("emulated") is None  # edgemeter emulate then boots the .mpy files


def test_a_manifest_that_is_not_picked_up_is_refused(tmp_path, monkeypatch):
    real = board_build.build_board

    def without_the_application(name):
        folder = real(name)
        with open(os.path.join(folder, "manifest.py"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        with open(os.path.join(folder, "manifest.py"), "w", encoding="utf-8") as f:
            f.write("\n".join(line for line in lines if not line.startswith("package(")) + "\n")
        return folder

    monkeypatch.setattr(board_build, "build_board", without_the_application)
    monkeypatch.setattr(image_build, "IMAGE_ROOT", str(tmp_path / "image"))
    with pytest.raises(image_build.ImageError, match="does not freeze .* its manifest was not picked up"):
        image_build.build_image("emulated", log=lambda line: None)
    assert not os.path.exists(tmp_path / "image" / "emulated")  # nothing kept


def test_the_pico_image_builds_within_its_boards_flash_and_ram():
    info = image_build.build_image("pico_ec25", log=lambda line: None)
    limits = board_build.definition("pico_ec25")["image"]
    assert 300_000 < info["flash_bytes"] <= limits["flash_bytes"]
    assert 0 < info["static_ram_bytes"] <= limits["static_ram_bytes"]
    folder = image_build.image_dir("pico_ec25")
    with open(os.path.join(folder, "firmware.uf2"), "rb") as f:
        assert f.read(8) == b"UF2\nWQ]\x9e"  # the UF2 block magic: what picotool and the BOOTSEL drive take
    with open(os.path.join(folder, "image.json"), encoding="utf-8") as f:
        assert json.load(f)["frozen_modules"] == len(board_build.board_sources("pico_ec25"))
    assert "flash" in image_build.summary(info) and "of 655,360 allowed" in image_build.summary(info)


def test_what_cannot_be_built_here_is_said_in_one_line(monkeypatch):
    monkeypatch.delenv("IDF_PATH", raising=False)
    with pytest.raises(image_build.ImageError, match="ESP-IDF .* not installed here"):
        image_build.build_image("esp32s3_sim7600", log=lambda line: None)
    monkeypatch.setattr(image_build.shutil, "which", lambda tool: None if tool.startswith("arm-none-eabi") else "/bin/" + tool)
    with pytest.raises(image_build.ImageError, match="apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi"):
        image_build.build_image("pico_ec25", log=lambda line: None)
    monkeypatch.setenv("MICROPY_SRC", "/nonexistent")
    with pytest.raises(image_build.ImageError, match="no MicroPython source at /nonexistent"):
        image_build.build_image("emulated", log=lambda line: None)
