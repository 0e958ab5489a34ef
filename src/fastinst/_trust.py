"""The trust rule for the directories fastinst keeps state in (the cache, interpreter answers).

What the cache holds decides what an install writes: whoever can change it can change
every environment made from it, as whoever runs the install (root, for a system
install). So a cache directory is used only when it and every directory above it are
safe from other users:

* the directory itself is owned by the current user and no one else can write to it;
* every directory above it is owned by the current user or by root, and no one else
  can write to it either, unless it is sticky (as ``/tmp``: others may add their own
  names there, but not rename or remove ours);

where "no one else can write" counts the group as no one else when it is the user's
private group (named as the user, no other member: what ``umask 002`` systems give
every directory). Otherwise fastinst warns once and goes without the directory, as pip
disables a cache that is not the current user's. Symbolic links on the way are
resolved first and the real path is checked: the caller works on that path, so no one
can point a link elsewhere after the check.

Inside a trusted directory, fastinst still opens nothing blindly (see ``_entry`` and the
core's checks of each cached file), and makes its own directories writable by the user
alone (`make_dirs`), whatever the umask.
"""

from __future__ import annotations

import os
import stat

from ._log import logger

# Directories we make: never writable by the group or others, whatever the umask
# (which can only take bits away).
DIR_MODE = 0o755

_warned: set[tuple[str, str]] = set()


def _private_group(gid: int) -> bool:
    """Whether ``gid`` is the current user's private group (only looked up for a
    directory the group can write)."""
    try:
        import grp
        import pwd

        user = pwd.getpwuid(os.geteuid()).pw_name
        group = grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    return group.gr_name == user and all(member == user for member in group.gr_mem)


def _others_can_write(st: os.stat_result) -> bool:
    if st.st_mode & 0o002:
        return True
    return bool(st.st_mode & 0o020) and not _private_group(st.st_gid)


def dir_problem(st: os.stat_result) -> str | None:
    """Why a directory of the cache itself (or one inside it) is not trusted, or ``None``."""
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a directory"
    if st.st_uid != os.geteuid():
        return f"it is owned by another user (uid {st.st_uid})"
    if _others_can_write(st):
        return "other users can write to it"
    return None


def file_problem(st: os.stat_result) -> str | None:
    """Why a file in the cache is not trusted (not a regular file of ours that only
    we can change), or ``None``."""
    if not stat.S_ISREG(st.st_mode):
        return "it is not a regular file"
    if st.st_uid != os.geteuid():
        return f"it is owned by another user (uid {st.st_uid})"
    if st.st_mode & 0o022:
        return "other users can write to it"
    return None


def _parent_problem(path: str, st: os.stat_result) -> str | None:
    if st.st_uid not in (os.geteuid(), 0):
        return f"{path} is owned by another user (uid {st.st_uid})"
    if _others_can_write(st) and not st.st_mode & stat.S_ISVTX:
        return f"other users can write to {path}"
    return None


def problem(directory: str) -> tuple[str, str | None]:
    """The real path of ``directory`` and why it is not trusted (``None``: it is, or
    it does not exist yet and every directory above it is safe).

    The directory itself is looked at first: its own problem is the one to report.
    """
    real = os.path.realpath(directory)
    try:
        why = dir_problem(os.lstat(real))
    except FileNotFoundError:
        why = None  # we make it, and what is missing above it (make_dirs)
    except OSError as exc:
        why = exc.strerror or str(exc)
    if why is not None:
        return real, why
    parts = real.split(os.sep)
    for depth in range(1, len(parts)):
        path = os.sep.join(parts[:depth]) or os.sep
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return real, None
        except OSError as exc:
            return real, f"{path}: {exc.strerror}"
        if not stat.S_ISDIR(st.st_mode):
            return real, f"{path} is not a directory"
        why = _parent_problem(path, st)
        if why is not None:
            return real, why
    return real, None


def check(directory: str, what: str) -> str | None:
    """The real path of ``directory`` if it may be used for ``what`` (how the warning
    names its contents), else ``None`` after a warning (once per directory and reason)."""
    real, why = problem(directory)
    if why is None:
        return real
    warn(what, real, why)
    return None


def warn(what: str, directory: str, why: str) -> None:
    """Say once that ``what`` in ``directory`` is not used, and why."""
    if (directory, why) not in _warned:
        _warned.add((directory, why))
        logger.warning("%s in %s are not used: %s", what, directory, why)


def make_dirs(path: str) -> None:
    """``mkdir -p`` with `DIR_MODE` for every level made (``os.makedirs`` gives the
    levels above the last the umask's mode, which may let the group write)."""
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for p in reversed(missing):
        try:
            os.mkdir(p, DIR_MODE)
        except FileExistsError:
            if not os.path.isdir(p):
                raise
