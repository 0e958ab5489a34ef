"""Safety checks for archive member names and RECORD paths.

Everything here is string work on names as stored: a name is judged before any
file exists, so the checks cannot be fooled by what is on disk.
"""

from __future__ import annotations

import os
import stat

from ._errors import UnsafePath

# A Windows drive ("C:") or a UNC/device prefix is as absolute as "/x" is.
_DRIVE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def member_problem(name: str) -> str | None:
    """Why the archive member ``name`` is unsafe to extract, or ``None``.

    Names use ``/`` as the separator (the zip spec says so); a backslash is
    refused rather than interpreted, because Windows would treat it as a
    separator and a name like ``..\\x`` would escape there.
    """
    if not name:
        return "empty member name"
    if "\x00" in name:
        return "member name contains a NUL byte"
    if "\n" in name or "\r" in name:
        # _wheel's whole-list check joins names with newlines and relies on this.
        return "member name contains a line break"
    if "\\" in name:
        return "member name contains a backslash"
    if name.startswith("/"):
        return "absolute member name"
    if len(name) >= 2 and name[1] == ":" and name[0] in _DRIVE_CHARS:
        return "member name starts with a drive letter"
    parts = name.rstrip("/").split("/")
    if any(p == ".." for p in parts):
        return "member name contains a '..' segment"
    if any(p in ("", ".") for p in parts):
        return "member name contains an empty or '.' segment"
    if any(p.startswith(".fastinst") for p in parts):
        # Staging areas, journals and the lock: a journal planted in site-packages
        # would tell the next install's recovery what to rename.
        return "member name uses fastinst's reserved '.fastinst' prefix"
    return None


def check_member_name(wheel: str, name: str) -> None:
    """Raise `UnsafePath` when ``name`` may not be extracted."""
    problem = member_problem(name)
    if problem is not None:
        raise UnsafePath(wheel, problem, member=name)


def is_executable_mode(external_attr: int) -> bool:
    """Whether a member is a regular file with an execute bit, by pip's rule."""
    mode = external_attr >> 16
    return bool(mode and stat.S_ISREG(mode) and mode & 0o111)


def is_inside(path: str, root: str) -> bool:
    """Whether the absolute, normalised ``path`` lies inside ``root``.

    Uses `os.path.normpath` rather than `os.path.realpath`: the question is where
    a *name* points, and following symlinks already in the environment would
    make the answer depend on the disk.
    """
    path = os.path.normpath(path)
    root = os.path.normpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
