"""The first screen is clean (issue 14): installing the project, what `python3 dev.py`
does on first use, makes setuptools warn of nothing — no deprecated `project.license`
table, no "Editable installation" notice. pip shows a build backend's warnings; so
here the package's metadata and its editable wheel are built with setuptools' own
API (no network: the venv's setuptools, a dev dependency) and every warning counted."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

tomllib = pytest.importorskip("tomllib")

BUILD = """
import json, sys, warnings
out = sys.argv[1]  # build_meta rewrites sys.argv
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    from setuptools import build_meta
    build_meta.prepare_metadata_for_build_wheel(out)
    build_meta.build_editable(out)
print(json.dumps([{"category": w.category.__name__, "message": str(w.message).strip()[:300]} for w in caught]))
"""


def _pyproject():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def test_the_license_is_an_spdx_expression():
    project = _pyproject()
    assert isinstance(project["project"]["license"], str), "project.license must be an SPDX string, not a table"
    assert re.fullmatch(r"[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*", project["project"]["license"])
    assert "setuptools>=77" in project["build-system"]["requires"]  # the first setuptools to take it


def test_building_the_package_warns_of_nothing(tmp_path):
    setuptools = pytest.importorskip("setuptools")
    if tuple(int(part) for part in setuptools.__version__.split(".")[:2]) < (77, 0):
        pytest.skip("setuptools %s in the venv is older than the dev dependency (>=77): run python3 dev.py"
                    % setuptools.__version__)
    source = tmp_path / "edgemeter"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), source / name)
    for package in _pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = package.rstrip("*")
        shutil.copytree(os.path.join(ROOT, package), source / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path / "out"
    out.mkdir()
    built = subprocess.run([sys.executable, "-c", BUILD, str(out)], cwd=source, capture_output=True, text=True,
                           timeout=240)
    assert built.returncode == 0, built.stderr[-3000:]
    warned = json.loads(built.stdout.strip().splitlines()[-1])
    assert warned == [], warned
    assert any(name.endswith(".whl") for name in os.listdir(out)), os.listdir(out)
