"""Small real files the tests need from the package index, downloaded once.

Each is pinned by name and SHA-256 and kept in ``benchmarks/.work/downloads``
(or ``$FASTINST_DOWNLOADS_DIR``), beside the corpus. A test that needs one is
skipped only when it is not there and the index cannot be reached.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "benchmarks" / ".work" / "downloads"

# packaging releases for targets that fastinst's own packaging does not run on
# (3.8, 3.9), and for checking the tag computation against older releases that
# fastinst supports (packaging>=23).
PACKAGING = {
    "23.0": "714ac14496c3e68c99c29b00845f7a2b85f3bb6f1078fd9f72fd20f0570002b2",
    "24.2": "09abb1bccd265c01f4a3aa3f7a7db064b36514d2cba19a2f694fe6150451a759",
    "25.0": "29572ef2b1f17581046b3a2227d5c611fb25ec70ca1ba8554b24b0e69331a484",
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _index_reachable() -> bool:
    import socket

    try:
        with socket.create_connection(("pypi.org", 443), timeout=5):
            return True
    except OSError:
        return False


def packaging_wheel(version: str) -> Path:
    """The wheel of ``packaging==version`` (a zip that can go on ``sys.path`` as it is)."""
    dest = Path(os.environ.get("FASTINST_DOWNLOADS_DIR") or DEFAULT_DIR)
    path = dest / f"packaging-{version}-py3-none-any.whl"
    digest = PACKAGING[version]
    if path.is_file() and _sha256(path) == digest:
        return path
    dest.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "-q", "-d", str(dest), f"packaging=={version}"],
        capture_output=True, text=True,
    )  # fmt: skip
    if path.is_file() and _sha256(path) == digest:
        return path
    if not _index_reachable():
        pytest.skip(f"{path.name} is not in {dest} and the package index cannot be reached")
    raise AssertionError(f"could not download {path.name}: {proc.stderr[-2000:]}")
