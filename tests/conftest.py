"""Shared test setup: isolated Jupyter folders, the venv's kernel, and "no skips in CI".

Generic on purpose: nothing here knows about particular notebooks or scenarios.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_DIR_VARS = ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR")
KERNEL_NAME = "python3"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skip is a failure: a missing browser or kernel must not pass unnoticed."""
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped in CI (CI=true forbids skips): {reason}"


def isolated_jupyter_env(base: Path) -> dict[str, str]:
    """Environment variables that keep Jupyter, IPython and matplotlib out of $HOME.

    JUPYTER_DATA_DIR moves too; kernel specs are still found because
    `ipykernel install --sys-prefix` puts them in sys.prefix/share/jupyter, which
    jupyter_core always searches.
    """
    env = {}
    for name in JUPYTER_DIR_VARS:
        path = base / name.lower()
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    return env


@pytest.fixture(scope="session")
def jupyter_env(tmp_path_factory) -> dict[str, str]:
    """Session-wide isolated Jupyter folders, set in os.environ (kernels inherit them)."""
    env = isolated_jupyter_env(tmp_path_factory.mktemp("jupyter-home"))
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield env


@pytest.fixture(scope="session")
def kernel_name(jupyter_env) -> str:
    """The venv's kernel spec; fails (never skips) with the fix when it is missing."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    assert KERNEL_NAME in specs, f"kernel spec {KERNEL_NAME!r} not found (have {sorted(specs)}); run `make install`"
    resource_dir = Path(specs[KERNEL_NAME]).resolve()
    assert Path(sys.prefix).resolve() in resource_dir.parents, (
        f"kernel {KERNEL_NAME!r} resolves to {resource_dir}, outside this venv ({sys.prefix}); "
        "run `.venv/bin/python -m ipykernel install --sys-prefix --name python3`"
    )
    return KERNEL_NAME
