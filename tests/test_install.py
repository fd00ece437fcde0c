"""A plain (non-editable) install into a fresh virtual environment works outside the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from test_scenarios import EXPECTED_IDS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_install_lists_the_shipped_scenarios(tmp_path):
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(target)
    python = target / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k not in ("WORKBOOK_EXERCISES", "PYTHONPATH")}
    result = subprocess.run(
        [str(target / "bin" / "workbook"), "list", "--format", "json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert {row["id"] for row in json.loads(result.stdout)} == set(EXPECTED_IDS)
    where = subprocess.run(
        [str(python), "-c", "import workbook.scenario as s; print(s.shipped_exercises_dir())"],
        capture_output=True, text=True, cwd=tmp_path, env=env,
    )
    assert str(target) in where.stdout  # read from the installed package, not the checkout
    assert sys.prefix not in where.stdout
    notebooks = subprocess.run(
        [str(python), "-c", "from workbook.notebooks import shipped_notebooks_dir as d; print(d())"],
        capture_output=True, text=True, cwd=tmp_path, env=env,
    )
    assert str(target) in notebooks.stdout  # the practice notebook ships inside the wheel
    calibrated = subprocess.run(
        [str(target / "bin" / "workbook"), "calibrate", "--format", "json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )
    assert calibrated.returncode == 0, calibrated.stderr  # the shipped calibration set comes with the wheel
    shipped = json.loads(calibrated.stdout)
    assert shipped["sets"] >= 448 and set(shipped["per_set"]) == {"original", "blind", "blind2", "blind3", "blind4", "blind5", "blind6"}
