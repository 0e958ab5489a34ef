"""Shared fixtures: both cores, real wheels, fresh schemes and venvs."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import fastinst
from fastinst import _backend

CORES = ["compiled", "python"]


def pytest_addoption(parser):
    parser.addoption(
        "--soak",
        action="store_true",
        help="run the kill, fault and concurrency tests many more times (minutes, not seconds)",
    )


@pytest.fixture(scope="session")
def soak(request) -> bool:
    """Whether ``--soak`` was given: the reliability tests repeat far more."""
    return bool(request.config.getoption("--soak"))


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Never touch the user's real cache: every test session gets its own."""
    path = tmp_path_factory.mktemp("fastinst-cache")
    old = os.environ.get("FASTINST_CACHE_DIR")
    os.environ["FASTINST_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("FASTINST_CACHE_DIR", None)
    else:
        os.environ["FASTINST_CACHE_DIR"] = old


def load_core(kind: str):
    if kind == "compiled":
        if os.environ.get("FASTINST_NO_EXTENSIONS"):
            pytest.skip("FASTINST_NO_EXTENSIONS is set")
        return importlib.import_module("fastinst._core")
    return importlib.import_module("fastinst._core_py")


@pytest.fixture(params=CORES)
def core(request, monkeypatch):
    """Run the test once with each core selected as the one fastinst uses."""
    module = load_core(request.param)
    monkeypatch.setattr(_backend, "core", module)
    return module


@pytest.fixture
def scheme(tmp_path) -> fastinst.Scheme:
    """A scheme of five separate, not yet existing directories."""
    root = tmp_path / "env"
    return fastinst.Scheme(
        purelib=str(root / "purelib"),
        platlib=str(root / "platlib"),
        headers=str(root / "include" / "demo"),
        scripts=str(root / "bin"),
        data=str(root / "data"),
        python="/usr/bin/python3-test",
    )


@pytest.fixture
def wheel_dir(tmp_path) -> Path:
    d = tmp_path / "wheels"
    d.mkdir()
    return d


@pytest.fixture(scope="session")
def venv_factory(tmp_path_factory):
    """Make fresh venvs (without pip, fast) for the running interpreter."""

    def make(name: str = "venv") -> Path:
        path = tmp_path_factory.mktemp("venvs") / name
        venv.create(path, with_pip=False, symlinks=True)
        return path

    return make


def tree_snapshot(
    root: Path, exclude: tuple[str, ...] = ("cache",)
) -> dict[str, tuple[int, bytes]]:
    """Every path below ``root`` with its mode and content (b"" for directories).

    Top-level names in ``exclude`` are left out (the tests' cache directory lives
    beside the environment and is allowed to change).
    """
    snap: dict[str, tuple[int, bytes]] = {}
    if not root.exists():
        return snap
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root:
            dirnames[:] = [d for d in dirnames if d not in exclude]
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            data = p.read_bytes() if p.is_file() and not p.is_symlink() else b""
            snap[str(p.relative_to(root))] = (st.st_mode, data)
    return snap


def run_cli(*args: str, env: dict | None = None, python: str = sys.executable):
    if env is None:
        # An activated venv or conda environment is the CLI's default target (as
        # uv's): the tests say where they install, whatever shell runs them.
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    return subprocess.run(
        [python, "-m", "fastinst", *args], capture_output=True, text=True, env=env
    )
