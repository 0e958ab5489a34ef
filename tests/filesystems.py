"""Real filesystems for tests: a tmpfs (another device), a reflink-capable XFS
image, a small filesystem that fills up. Mounting needs root; tests that need one
skip with the reason when it cannot be had."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a filesystem needs root")


@contextlib.contextmanager
def tmpfs(where: Path, size: str = "256m") -> Iterator[Path]:
    """A fresh tmpfs mounted at ``where`` (a different device from the test's tmp dir)."""
    _need_root()
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@contextlib.contextmanager
def xfs_with_reflink(where: Path, size_mb: int = 320) -> Iterator[Path]:
    """A loop-mounted XFS image made with ``reflink=1``, so FICLONE really works."""
    _need_root()
    if shutil.which("mkfs.xfs") is None:
        pytest.skip("mkfs.xfs is not installed (xfsprogs); scripts/setup.sh installs it as root")
    image = where.parent / f"{where.name}.img"
    with open(image, "wb") as f:
        f.truncate(size_mb << 20)
    subprocess.run(["mkfs.xfs", "-q", "-m", "reflink=1", str(image)], check=True)
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-o", "loop", str(image), str(where)], capture_output=True)
    if mounted.returncode != 0:
        image.unlink()
        pytest.skip(f"cannot loop-mount an image here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        image.unlink(missing_ok=True)
