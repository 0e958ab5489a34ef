"""Walk and remove directory trees: without recursion, without following symlinks.

Every tree fastinst walks (staging areas in a rollback or a recovery, an old
``.dist-info``, cache entries) may be as deep as whatever made it: a tree
deeper than Python's recursion limit must not make every later run fail with
``RecursionError`` (``shutil.rmtree`` and ``os.walk`` recurse before Python
3.12 and 3.13), nor one deeper than ``PATH_MAX`` fail by its path length. So
removal works relative to open directory descriptors, holds at most
`MAX_OPEN_DIRS` of them whatever the depth, and never follows a symlink.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterator

MAX_OPEN_DIRS = 32
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class _Dir:
    """A directory being emptied: its name in its parent, its descriptor (closed
    while it is far from the deepest one), its identity, its subdirectories left."""

    __slots__ = ("dev", "fd", "ino", "name", "subdirs")

    def __init__(self, name: str, fd: int) -> None:
        st = os.fstat(fd)
        self.name = name
        self.fd: int | None = fd
        self.dev, self.ino = st.st_dev, st.st_ino
        self.subdirs: list[str] = []


def remove_tree(path: str, *, ignore_errors: bool = False) -> None:
    """Remove ``path`` and everything below it; a missing ``path`` is fine.

    A symlink (even to a directory) is removed, never followed. With
    ``ignore_errors``, what cannot be removed is left and the rest goes (as
    ``shutil.rmtree(ignore_errors=True)`` does); otherwise the first error is
    raised.

    >>> remove_tree("/tmp/no-such-tree")
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError:
        if ignore_errors:
            return
        raise
    try:
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(path)
            return
        parent, name = os.path.split(os.path.abspath(path))
        parent_fd = os.open(parent, _OPEN_DIR & ~os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    except OSError:
        if ignore_errors:
            return
        raise
    try:
        _remove_below(parent_fd, name, ignore_errors)
    finally:
        os.close(parent_fd)


def _remove_below(parent_fd: int, name: str, ignore_errors: bool) -> None:
    """Remove the directory ``name`` of the directory open as ``parent_fd``."""
    stack: list[_Dir] = []
    try:
        top = _enter(parent_fd, name, ignore_errors)
        if top is None:
            return
        stack.append(top)
        while stack:
            here = stack[-1]
            if here.subdirs:
                child = _enter(_fd_of(stack, len(stack) - 1), here.subdirs.pop(), ignore_errors)
                if child is not None:
                    stack.append(child)
                    if len(stack) > MAX_OPEN_DIRS:
                        far = stack[-1 - MAX_OPEN_DIRS]
                        if far.fd is not None:
                            os.close(far.fd)
                            far.fd = None
                continue
            stack.pop()
            above = _fd_of(stack, len(stack) - 1, below=here) if stack else parent_fd
            if here.fd is not None:
                os.close(here.fd)
                here.fd = None
            try:
                os.rmdir(here.name, dir_fd=above)
            except FileNotFoundError:
                pass
            except OSError:
                if not ignore_errors:
                    raise
    finally:
        for d in stack:
            if d.fd is not None:
                os.close(d.fd)


def _fd_of(stack: list[_Dir], i: int, below: _Dir | None = None) -> int:
    """The descriptor of ``stack[i]``, opened again (through ``..`` of the
    directory just left, ``below``) if it was closed to bound the open ones."""
    d = stack[i]
    if d.fd is None:
        assert below is not None and below.fd is not None, "only a parent is reopened"
        fd = os.open("..", _OPEN_DIR & ~os.O_NOFOLLOW, dir_fd=below.fd)
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (d.dev, d.ino):
            os.close(fd)
            raise OSError(f"{d.name}: the tree was moved while it was being removed")
        d.fd = fd
    return d.fd


def _enter(parent_fd: int, name: str, ignore_errors: bool) -> _Dir | None:
    """Open the directory ``name`` and remove every entry of it but its
    subdirectories (listed in the result); ``None`` when it is gone or not a
    directory any more (then removed as a file)."""
    try:
        fd = os.open(name, _OPEN_DIR, dir_fd=parent_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        # Replaced by a symlink or a file meanwhile (ELOOP, ENOTDIR): remove that.
        try:
            os.unlink(name, dir_fd=parent_fd)
        except FileNotFoundError:
            pass
        except OSError:
            if not ignore_errors:
                raise exc from None
        return None
    d = _Dir(name, fd)
    try:
        with os.scandir(fd) as entries:
            names = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
    except OSError:
        if not ignore_errors:
            os.close(fd)
            raise
        names = []
    for entry, is_dir in names:
        if is_dir:
            d.subdirs.append(entry)
            continue
        try:
            os.unlink(entry, dir_fd=fd)
        except FileNotFoundError:
            pass
        except OSError:
            if not ignore_errors:
                os.close(fd)
                raise
    return d


def iter_files(top: str, *, dirs: bool = False) -> Iterator[os.DirEntry[str]]:
    """Every entry below the directory ``top`` that is not a directory (symlinks
    are listed, not followed), without recursion; an unreadable directory is skipped.
    With ``dirs``, the directories below ``top`` too (each before what it holds).

    >>> sum(1 for _ in iter_files("/no/such/dir"))
    0
    """
    stack = [top]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    if dirs:
                        yield entry
                else:
                    yield entry
