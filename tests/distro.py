"""Helpers for tests that need real interpreters: find them, ask pip inside them, and
build distro-like ones (a RHEL-style Python, root-owned copies other users can run).

Nothing here writes into a real interpreter's tree: distro-like interpreters are
copies, made under directories the caller owns.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

DEBIAN_PYTHON = "/usr/bin/python3"
MINORS = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")


@dataclass(frozen=True)
class Interpreter:
    label: str  # "3.9", "debian"...
    path: str
    exists: bool
    distro: bool = False  # its default scheme is a distributor's (posix_local...)


def pyenv_root() -> Path:
    env = os.environ.get("PYENV_ROOT")
    if env:
        return Path(env)
    try:
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    except OSError:
        pass
    return Path.home() / ".pyenv"


def find_interpreters() -> list[Interpreter]:
    """pyenv's CPython 3.8..3.13 (newest patch release of each) and Debian's python3."""
    versions = pyenv_root() / "versions"
    found = []
    for minor in MINORS:
        candidates = sorted(
            versions.glob(f"{minor}.*"),
            key=lambda p: [int(x) if x.isdigit() else 0 for x in p.name.split(".")],
        )
        candidates = [c for c in candidates if c.name.count(".") == 2]
        path = candidates[-1] / "bin" / "python" if candidates else versions / minor / "bin/python"
        found.append(Interpreter(minor, str(path), path.exists()))
    found.append(Interpreter("debian", DEBIAN_PYTHON, _is_debian(DEBIAN_PYTHON), distro=True))
    return found


def _is_debian(python: str) -> bool:
    if not os.path.exists(python):
        return False
    out = subprocess.run(
        [python, "-c", "import sysconfig; print('posix_local' in sysconfig.get_scheme_names())"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() == "True"


_PIP_SCRIPT = r"""
import json, os, sys
from pip._internal.locations import get_scheme
out = []
for kw in json.loads(sys.argv[1]):
    kw = dict(kw)
    s = get_scheme(kw.pop("dist_name"), **kw)
    out.append({k: os.path.normpath(getattr(s, k))
                for k in ("purelib", "platlib", "headers", "scripts", "data")})
print(json.dumps(out))
"""


def pip_schemes(python: str, cases: list[dict], env: dict | None = None) -> list[dict[str, str]]:
    """What ``pip._internal.locations.get_scheme`` answers inside ``python``, per case.

    Paths are normalised (pip leaves a trailing ``/`` on headers for an unnamed
    distribution in a venv; fastinst does not).
    """
    out = subprocess.run(
        [python, "-c", _PIP_SCRIPT, json.dumps(cases)],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",  # no setup.cfg or pip.conf from the test's directory
    )
    if out.returncode != 0:
        raise AssertionError(f"pip failed in {python}:\n{out.stderr}")
    return json.loads(out.stdout)


def pip_site_packages(python: str) -> str:
    """The directory ``pip`` is imported from in ``python``."""
    out = subprocess.run(
        [python, "-c", "import os, pip; print(os.path.dirname(os.path.dirname(pip.__file__)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def running_python() -> str:
    return sys.executable


def stdlib_dir() -> str:
    return sysconfig.get_path("stdlib")


def copy_tree(src: str | Path, dst: str | Path, *, ignore: tuple[str, ...] = ()) -> None:
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns(*ignore))
