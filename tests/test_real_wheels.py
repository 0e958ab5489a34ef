"""Acceptance on 3.8, 3.9, 3.11 and 3.13 targets: real wheels give pip's tree (#10).

The set covers what differs between interpreters and installers: compiled
extensions (version-specific ``cpXY`` and ``abi3``), ``.data/headers`` (greenlet:
in the distribution's own directory), ``.data/scripts`` with ``#!python``
(awscli), ``.data/data`` (ipykernel's kernel spec), a ``.pth`` file (setuptools),
an implicit namespace package shared by two distributions (``jaraco``) and
console-script entry points (wheel). Each target interpreter's own pip downloads
the wheels it would pick from the package index, once: they are kept beside
pytest's temporary directories between runs (as tests/test_plugins.py keeps its
tools), or in ``$FASTINST_REAL_WHEELS_DIR``. pip installs them into one fresh venv;
fastinst's command line installs the same files into others (no cache, then a
cold and a warm cache), and the trees must agree (``benchmarks/compare_tree.py``).
The compiled modules are imported, and the namespace found, in each.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from distro import find_interpreters

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402
from compare_tree import compare_envs  # noqa: E402

# Versions that publish wheels for every target from 3.8 to 3.13.
REAL_WHEELS = (
    "greenlet==3.1.1",  # cpXY, headers
    "pyyaml==6.0.2",  # cpXY
    "bcrypt==4.2.1",  # abi3
    "awscli==1.33.44",  # .data/scripts with #!python
    "ipykernel==6.29.5",  # .data/data/share/jupyter/kernels
    "setuptools==75.3.0",  # distutils-precedence.pth
    "jaraco.functools==4.1.0",  # the jaraco namespace ...
    "jaraco.context==6.0.1",  # ... shared with this one
    "wheel==0.45.1",  # a console-script entry point
)
# Installed without their dependencies: import what needs none (the compiled
# modules), and find the two halves of the namespace without running them.
IMPORTS = (
    "import greenlet, yaml, yaml._yaml, bcrypt, importlib.util as u; "
    "assert u.find_spec('jaraco.functools') and u.find_spec('jaraco.context')"
)
TARGETS = ("3.8", "3.9", "3.11", "3.13")


def _interpreter(label: str) -> str:
    for interp in find_interpreters():
        if interp.label == label and interp.exists:
            return interp.path
    pytest.skip(f"no Python {label} on this machine")


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(cmd: list[str], what: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=clean_env())
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="session")
def wheels_dir(tmp_path_factory) -> Path:
    env = os.environ.get("FASTINST_REAL_WHEELS_DIR")
    return Path(env) if env else tmp_path_factory.getbasetemp().parent / "fastinst-real-wheels"


def download(python: str, label: str, base: Path) -> list[Path]:
    """The wheels the target's own pip picks for ``REAL_WHEELS`` (downloaded once)."""
    dest = base / label
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs at once download once
        marker = dest / ".complete"
        if not marker.exists() or marker.read_text() != "\n".join(REAL_WHEELS) + "\n":
            if not corpus.index_reachable():
                pytest.skip(f"the wheels are not in {dest} and {corpus.INDEX_HOST} is unreachable")
            for old in dest.glob("*.whl"):
                old.unlink()
            dest.mkdir(parents=True, exist_ok=True)
            # The machine's pip configuration may add local mirrors; the target's
            # pip is asked for exactly these pins from the package index.
            run(
                [python, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                 "-d", str(dest), "--index-url", "https://pypi.org/simple", *REAL_WHEELS],
                f"pip download for {label}",
            )  # fmt: skip
            marker.write_text("\n".join(REAL_WHEELS) + "\n")
    wheels = sorted(dest.glob("*.whl"))
    assert len(wheels) == len(REAL_WHEELS), f"{dest}: {[w.name for w in wheels]}"
    return wheels


def make_venv(python: str, path: Path) -> Path:
    run([python, "-m", "venv", "--without-pip", str(path)], f"venv {path}")
    return path


def fastinst(env: Path, wheels: list[Path], *options: str) -> None:
    run(
        [sys.executable, "-m", "fastinst", "install", "--python", str(env / "bin" / "python"),
         "-q", *options, *map(str, wheels)],
        f"fastinst install {' '.join(options)} into {env}",
    )  # fmt: skip


def assert_same_tree(reference: Path, env: Path) -> None:
    diffs = compare_envs(reference, env)
    shown = "\n".join(diffs[:40])
    assert not diffs, f"{len(diffs)} difference(s) between pip's tree and fastinst's:\n{shown}"


@pytest.mark.parametrize("label", TARGETS)
def test_real_wheels_give_pips_tree(label, wheels_dir, tmp_path):
    python = _interpreter(label)
    wheels = download(python, label, wheels_dir)
    reference = make_venv(python, tmp_path / "pip")
    run(
        [python, "-m", "pip", "--python", str(reference / "bin" / "python"), "install",
         "--no-deps", "--no-index", "--no-compile", "--no-cache-dir", "-q", *map(str, wheels)],
        f"pip install into {label}",
    )  # fmt: skip
    headers = list(reference.glob("include/site/python*/greenlet/greenlet.h"))
    assert headers, "pip keeps greenlet's header in the distribution's directory"
    cache = tmp_path / "cache"
    runs = {"nocache": ["--no-cache"], "cold": ["--cache-dir", str(cache)]}
    runs["warm"] = runs["cold"]
    for name, options in runs.items():
        env = make_venv(python, tmp_path / name)
        fastinst(env, wheels, *options)
        assert_same_tree(reference, env)
        run([str(env / "bin" / "python"), "-c", IMPORTS], f"imports in {env}")
