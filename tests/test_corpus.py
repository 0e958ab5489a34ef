"""Acceptance: the 29-wheel corpus installed by fastinst gives pip's tree, file for file.

The corpus (119 MB) is downloaded once into ``benchmarks/.work/wheels``, or into
``$FASTINST_CORPUS_DIR``; the test is skipped only when it is not there and the
package index cannot be reached. pip installs it into one fresh venv; fastinst's
command line installs it into others: straight from the archives, into an empty
cache, and from that warm cache by its default link mode and by copies. Every
tree must match pip's (``benchmarks/compare_tree.py`` says what is compared).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402
from compare_tree import compare_envs  # noqa: E402


@pytest.fixture(scope="module")
def wheels() -> list[Path]:
    dest = Path(os.environ.get("FASTINST_CORPUS_DIR") or corpus.DEFAULT_DIR)
    try:
        return corpus.ensure_corpus(dest, python=sys.executable, log=lambda msg: None)
    except corpus.CorpusUnavailable as exc:
        if not corpus.index_reachable():
            pytest.skip(f"the corpus is not in {dest} and {corpus.INDEX_HOST} cannot be reached")
        raise AssertionError(f"the corpus could not be downloaded into {dest}: {exc}") from exc


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("corpus")


def fresh_venv(path: Path) -> Path:
    venv.create(path, with_pip=False, symlinks=True)
    return path


def check(proc: subprocess.CompletedProcess, what: str) -> None:
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


@pytest.fixture(scope="module")
def pip_env(wheels, workdir) -> Path:
    """The reference: pip, no deps, no index, no bytecode."""
    env = fresh_venv(workdir / "pip")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install",
         "--no-deps", "--no-index", "--no-compile", "--no-cache-dir",
         "--disable-pip-version-check", "-q", *map(str, wheels)],
        capture_output=True, text=True, env=clean_env(),
    )  # fmt: skip
    check(proc, "pip install")
    return env


def fastinst(env: Path, wheels: list[Path], *options: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fastinst", "install", "--python", str(env / "bin" / "python"),
         "-q", *options, *map(str, wheels)],
        capture_output=True, text=True, env=clean_env(),
    )  # fmt: skip
    check(proc, f"fastinst install {' '.join(options)}")


def assert_same_tree(reference: Path, env: Path) -> None:
    diffs = compare_envs(reference, env)
    shown = "\n".join(diffs[:40]) + (f"\n... and {len(diffs) - 40} more" if len(diffs) > 40 else "")
    assert not diffs, f"{len(diffs)} difference(s) between pip's tree and fastinst's:\n{shown}"


def test_reference_is_complete(pip_env, wheels):
    site = next(pip_env.glob("lib/python*/site-packages"))
    for wheel in wheels:
        assert (site / corpus.dist_info_name(wheel) / "RECORD").is_file(), wheel.name


def test_no_cache_matches_pip(pip_env, wheels, workdir):
    env = fresh_venv(workdir / "nocache")
    fastinst(env, wheels, "--no-cache")
    assert_same_tree(pip_env, env)


def test_cold_then_warm_cache_match_pip(pip_env, wheels, workdir):
    cache = workdir / "cache"
    cold = fresh_venv(workdir / "cold")
    fastinst(cold, wheels, "--cache-dir", str(cache))
    assert_same_tree(pip_env, cold)

    warm = fresh_venv(workdir / "warm")
    fastinst(warm, wheels, "--cache-dir", str(cache))
    assert_same_tree(pip_env, warm)

    copied = fresh_venv(workdir / "warm-copy")
    fastinst(copied, wheels, "--cache-dir", str(cache), "--link-mode", "copy")
    assert_same_tree(pip_env, copied)
