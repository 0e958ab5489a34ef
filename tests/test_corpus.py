"""Acceptance: the 29-wheel corpus installed by fastinst gives pip's tree, file for file.

The corpus (119 MB) is downloaded once into ``benchmarks/.work/wheels``, or into
``$FASTINST_CORPUS_DIR``; the test is skipped only when it is not there and the
package index cannot be reached. pip installs it into one fresh venv; fastinst's
command line installs it into others: straight from the archives, into an empty
cache, and from that warm cache by its default link mode and by copies. Every
tree must match pip's (``benchmarks/compare_tree.py`` says what is compared).
Small synthetic trees check that the comparator sees each kind of difference.
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


# The comparator itself: an acceptance test is only as good as what it can see.


def fake_env(root: Path, python_name: str = "python") -> Path:
    """A venv-shaped tree: one module, one dist-info, one launcher, one script."""
    site = root / "lib" / "python3.11" / "site-packages"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "__init__.py").write_text("x = 1\n")
    (site / "pkg" / "tool.so").write_bytes(b"\x7fELF")
    (site / "pkg" / "tool.so").chmod(0o755)
    dist = site / "pkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Name: pkg\nVersion: 1.0\n")
    (dist / "INSTALLER").write_text(root.name + "\n")
    (dist / "RECORD").write_text(
        "pkg/__init__.py,,\npkg/tool.so,,\npkg-1.0.dist-info/METADATA,,\n"
        "pkg-1.0.dist-info/RECORD,,\n../../../bin/pkg-cli,,\n../../../bin/pkg-script,,\n"
        "../../../share/man/man1/pkg.1,,\n"
    )
    (root / "share" / "man" / "man1").mkdir(parents=True)
    (root / "share" / "man" / "man1" / "pkg.1").write_text(".TH PKG 1\n")
    bindir = root / "bin"
    bindir.mkdir()
    (bindir / "python").symlink_to(sys.executable)
    (bindir / "activate").write_text(f"VIRTUAL_ENV={root}\n")
    python = bindir / python_name
    (bindir / "pkg-cli").write_text(
        f"#!{python}\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n"
        "from pkg.cli import main\nif __name__ == '__main__':\n"
        f"    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
        "    sys.exit(main())\n"
    )
    (bindir / "pkg-script").write_text(f"#!{python}\nprint('hello')\n")
    for name in ("pkg-cli", "pkg-script"):
        (bindir / name).chmod(0o755)
    return root


def test_compare_envs_agrees_on_equal_trees(tmp_path):
    a, b = fake_env(tmp_path / "a"), fake_env(tmp_path / "b")
    (b / "lib/python3.11/site-packages/pkg/__init__.py").chmod(0o444)  # only x bits count
    assert compare_envs(a, b) == []


def test_compare_envs_sees_each_kind_of_difference(tmp_path):
    a, b = fake_env(tmp_path / "a"), fake_env(tmp_path / "b")
    site = b / "lib/python3.11/site-packages"
    (site / "pkg" / "__init__.py").write_text("x = 2\n")
    (site / "pkg" / "tool.so").chmod(0o644)
    (site / "pkg" / "extra.py").write_text("")
    (b / "bin" / "pkg-cli").write_text(
        (b / "bin" / "pkg-cli")
        .read_text()
        .replace("from pkg.cli import main", "from pkg import main")
    )
    (b / "bin" / "pkg-script").write_text("#!/usr/bin/python3\nprint('hello')\n")
    record = site / "pkg-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text().replace("pkg/tool.so,,\n", ""))
    (b / "share" / "man" / "man1" / "pkg.1").write_text(".TH PKG 2\n")
    text = "\n".join(compare_envs(a, b))
    assert "pkg/__init__.py: contents differ" in text
    assert "pkg/tool.so: executable bits" in text
    assert "pkg/extra.py: only in B" in text
    assert "launcher calls pkg.cli:main vs pkg:main" in text
    assert "B's shebang runs '/usr/bin/python3'" in text
    assert "lists lib/python3.11/site-packages/pkg/tool.so only in A" in text
    assert "data file share/man/man1/pkg.1: contents differ" in text


def test_compare_envs_reads_the_sh_exec_shebang(tmp_path):
    from compare_tree import split_shebang

    python = str(tmp_path / "a dir" / "bin" / "python")
    data = f"#!/bin/sh\n'''exec' '{python}' \"$0\" \"$@\"\n' '''\nimport sys\n".encode()
    assert split_shebang(data) == (python, b"import sys\n")
