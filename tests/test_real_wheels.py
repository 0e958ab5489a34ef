"""Acceptance on 3.8, 3.9, 3.11 and 3.13 targets: real wheels give pip's tree.

The set covers what differs between interpreters and installers: compiled
extensions (version-specific ``cpXY`` and ``abi3``), ``.data/headers`` (greenlet),
``.data/scripts`` with ``#!python`` (awscli), ``.data/data`` (ipykernel's kernel
spec), a ``.pth`` file (setuptools), an implicit namespace package shared by two
distributions (``jaraco``) and console-script entry points (wheel). Each target
interpreter's own pip downloads the wheels it would pick (once, into
``benchmarks/.work/real-wheels/<version>`` or ``$FASTINST_REAL_WHEELS_DIR``) and
installs them into one fresh venv; fastinst's command line installs the same
files into others (no cache, then cold and warm cache), and the trees must agree
(``benchmarks/compare_tree.py``). The installed compiled modules are imported.
"""

from __future__ import annotations

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
IMPORTS = "import greenlet, yaml, yaml._yaml, bcrypt, jaraco.functools, jaraco.context, awscli"
TARGETS = ("3.8", "3.9", "3.11", "3.13")
DEFAULT_DIR = BENCH / ".work" / "real-wheels"


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


def download(python: str, label: str) -> list[Path]:
    """The wheels the target's own pip picks for ``REAL_WHEELS`` (downloaded once)."""
    dest = Path(os.environ.get("FASTINST_REAL_WHEELS_DIR") or DEFAULT_DIR) / label
    marker = dest / ".complete"
    if not marker.exists():
        if not corpus.index_reachable():
            pytest.skip(f"the wheels are not in {dest} and {corpus.INDEX_HOST} cannot be reached")
        dest.mkdir(parents=True, exist_ok=True)
        # The machine's pip configuration may add local mirrors; the target's pip
        # is asked for exactly these pins from the package index.
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


@pytest.fixture(scope="module", params=TARGETS)
def target(request, tmp_path_factory) -> tuple[str, list[Path], Path, Path]:
    """(interpreter, wheels, pip's venv, a work directory) for one target version."""
    label = request.param
    python = _interpreter(label)
    wheels = download(python, label)
    work = tmp_path_factory.mktemp(f"real-{label}")
    reference = make_venv(python, work / "pip")
    run(
        [python, "-m", "pip", "--python", str(reference / "bin" / "python"), "install",
         "--no-deps", "--no-index", "--no-compile", "--no-cache-dir", "-q", *map(str, wheels)],
        f"pip install into {label}",
    )  # fmt: skip
    return python, wheels, reference, work


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


def assert_imports(env: Path) -> None:
    run([str(env / "bin" / "python"), "-c", IMPORTS], f"imports in {env}")


def test_no_cache_matches_pip(target):
    python, wheels, reference, work = target
    env = make_venv(python, work / "nocache")
    fastinst(env, wheels, "--no-cache")
    assert_same_tree(reference, env)
    assert_imports(env)


def test_cold_and_warm_cache_match_pip(target):
    python, wheels, reference, work = target
    cache = work / "cache"
    for name in ("cold", "warm"):
        env = make_venv(python, work / name)
        fastinst(env, wheels, "--cache-dir", str(cache))
        assert_same_tree(reference, env)
    assert_imports(env)
