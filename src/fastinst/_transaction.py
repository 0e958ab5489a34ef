"""Stage, publish and roll back: an install is visible whole or not at all.

Files are written into a staging directory ``.fastinst-stage-<txid>`` inside each
scheme directory that receives files, so that publishing is a ``rename`` on the
same filesystem. A new top-level directory (``numpy/``) is published with one
rename; only directories that exist already are descended into.

The journal ``.fastinst-journal-<txid>`` (in purelib, one JSON value a line) is
opened before the first staging directory is made, and lists, each before it
happens: the directories made (``[path]``: missing scheme roots, staging areas)
and every rename of the publish (``[src, dst]``); then ``"committed"`` (the commit
point) or ``"undone"``. A process killed anywhere is undone by the next one's
`recover`: a rename is atomic, and undoing renames in reverse order (``dst`` back
to ``src`` where ``src`` is gone and ``dst`` is there) restores the environment
whatever point the kill came at; after a marker only the staging goes.

A live transaction holds an ``flock`` on its journal and staging areas, and each
staging area names its journal (`OWNER`), so that `recover` in another
environment that shares a scheme directory (two user sites share
``~/.local/bin``) removes neither a live staging area nor one whose journal may
still need the old files in it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat

from . import _jsontext
from ._errors import suppress
from ._log import logger
from ._tree import remove_tree

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterable

STAGE_PREFIX = ".fastinst-stage-"
JOURNAL_PREFIX = ".fastinst-journal-"
LOCK_NAME = ".fastinst.lock"
# In each staging area: the path of the journal it belongs to. Another environment
# that shares the directory (two user sites share ~/.local/bin) must leave the
# staging of a killed install alone while its journal may still need the backups.
OWNER = ".fastinst-journal"


class environment_lock:
    """Hold an exclusive lock on the environment whose library dir is ``directory``:
    ``with environment_lock(directory): ...``.

    ``flock`` is released by the kernel when the process dies, so a killed
    installer never leaves a stale lock. The lock file is removed on release; a
    waiter that locked the removed file notices (its inode no longer matches the
    path) and locks again. (A class, not ``contextlib.contextmanager``: a warm
    install does without ``contextlib``.)
    """

    __slots__ = ("_fd", "_path", "directory")

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._path = os.path.join(directory, LOCK_NAME)
        self._fd = -1

    def __enter__(self) -> None:
        directory, path = self.directory, self._path
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except FileNotFoundError:
                # A failed install that had created ``directory`` removed it again
                # after releasing the lock: make it again and take the lock.
                os.makedirs(directory, exist_ok=True)
                continue
            except OSError as exc:
                # The lock file is fastinst's business: what cannot be written is the
                # environment's directory, so that is what the error names.
                raise type(exc)(exc.errno, exc.strerror, directory) from None
            try:
                _wait_for_lock(fd, path, directory)
                try:
                    same = os.fstat(fd).st_ino == os.stat(path).st_ino
                except FileNotFoundError:
                    same = False
            except BaseException:
                os.close(fd)
                raise
            if same:
                break
            os.close(fd)
        with suppress(OSError):  # who holds it, for those who wait (best effort)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def __exit__(self, *exc_info: object) -> None:
        fd, self._fd = self._fd, -1
        # Tidiness only (a waiter copes with the file staying): a filesystem gone
        # read-only must not replace the install's own error with this one.
        with suppress(OSError):
            os.unlink(self._path)
        os.close(fd)


# After this long waiting for the lock, say why nothing happens (and who holds it).
LOCK_NOTICE_SECONDS = 1.0


def _wait_for_lock(fd: int, path: str, directory: str) -> None:
    """``flock(fd)``; if another process holds it for over a second, log who (its
    pid is in the lock file) and whether it is stopped, once."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    import threading

    def notice() -> None:
        holder = ""
        with suppress(OSError, ValueError):
            with open(path, "rb") as f:
                pid = int(f.read(32) or b"0")
            if pid > 0:
                holder = f" (pid {pid}{_stopped(pid)})"
        logger.warning("waiting for another fastinst process%s to finish in %s", holder, directory)

    timer = threading.Timer(LOCK_NOTICE_SECONDS, notice)
    timer.daemon = True
    timer.start()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    finally:
        timer.cancel()


def _stopped(pid: int) -> str:
    """``", which is stopped: ..."`` for a suspended process (Ctrl-Z), else ``""``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):
        return ""
    if state in (b"T", b"t"):
        return f", which is stopped: resume it (fg, or kill -CONT {pid}) or end it"
    return ""


def recover(roots: Iterable[str], journal_dir: str) -> list[str]:
    """Undo publishes and remove staging left by killed processes. Call under the lock.

    A journal or staging area that a live process holds (``flock``) is left alone.
    Returns a description of what was cleaned, for the log.
    """
    cleaned = []
    with suppress(FileNotFoundError):
        for name in sorted(os.listdir(journal_dir)):
            if name.startswith(JOURNAL_PREFIX):
                path = os.path.join(journal_dir, name)
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    continue
                try:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # its install is alive (rolling back outside the lock)
                    moves, created, state = _read_journal(fd)
                    # After a marker nothing is renamed: the staging may be gone already.
                    forged = _forged(path, moves if state is None else [], created)
                    if forged:
                        logger.warning("ignoring %s: %s", path, forged)
                        continue
                    if state is None:  # neither committed nor undone: undo it
                        _undo(moves)
                    _remove_created(created)
                    os.unlink(path)
                finally:
                    os.close(fd)
                what = "rolled back" if state is None else f"cleaned up after ({state})"
                cleaned.append(f"{what}: an interrupted install, {name}")
    for root in set(roots):
        with suppress(FileNotFoundError, NotADirectoryError):
            for name in os.listdir(root):
                if name.startswith(STAGE_PREFIX):
                    stage = os.path.join(root, name)
                    if _in_use(stage) or _journal_pending(stage):
                        # A live install into another environment that shares
                        # root, or a killed one whose journal there still needs
                        # what is in it: that environment's recover removes it.
                        continue
                    remove_tree(stage, ignore_errors=True)
                    cleaned.append(f"removed leftover staging {stage}")
    return cleaned


def _forged(journal: str, moves: list[tuple[str, str]], created: list[str]) -> str | None:
    """Why the journal at ``journal`` was not written by a fastinst install, or None.

    Recovery renames whatever a journal lists, so a journal planted in site-packages
    (a wheel member of that name) would be a rename-anything primitive. A real one
    only lists normalised absolute paths, and each rename has one side in a
    staging area of its own install, whose `OWNER` file names this very journal.
    """
    stage = STAGE_PREFIX + os.path.basename(journal)[len(JOURNAL_PREFIX) :]
    owned: dict[str, bool] = {}

    def owns(directory: str) -> bool:
        if directory not in owned:
            try:
                with open(os.path.join(directory, OWNER), "rb") as f:
                    owned[directory] = os.fsdecode(f.read()) == journal
            except OSError:
                owned[directory] = False
        return owned[directory]

    def staged(path: str) -> bool:
        head, sep, _rest = path.partition("/" + stage + "/")
        return bool(sep) and owns(head + "/" + stage)

    for path in [p for m in moves for p in m] + created:
        if not (os.path.isabs(path) and os.path.normpath(path) == path):
            return f"{path!r} is not a normalised absolute path"
    for src, dst in moves:
        if not (staged(src) or staged(dst)):
            return f"the rename of {src!r} is not into or out of its own staging area"
    for path in created:
        if os.path.basename(path).startswith(STAGE_PREFIX) and os.path.basename(path) != stage:
            return f"{path!r} is another install's staging area"
    return None


def _journal_pending(stage: str) -> bool:
    """Whether the journal that ``stage`` belongs to (its `OWNER` file) still exists."""
    try:
        with open(os.path.join(stage, OWNER), "rb") as f:
            journal = os.fsdecode(f.read())
    except OSError:
        return False  # killed before it said: nothing was moved into it yet
    return os.path.lexists(journal)


def _lock_dir(path: str) -> int:
    """Open ``path`` and hold a shared ``flock`` on it (released when the fd is closed)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _in_use(stage: str) -> bool:
    """Whether a live process holds ``stage`` (see `Transaction.stage_dir`)."""
    try:
        fd = os.open(stage, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def _read_journal(fd: int) -> tuple[list[tuple[str, str]], list[str], str | None]:
    """The renames (``[src, dst]`` lines), created directories and staging areas
    (``[path]``) of a journal, and its final state (a ``"committed"`` or ``"undone"``
    line), if it got that far."""
    moves: list[tuple[str, str]] = []
    created: list[str] = []
    state = None
    with open(fd, encoding="utf-8", closefd=False) as f:
        for line in f:
            try:
                entry = _jsontext.loads(line)
            except ValueError:
                break  # a torn last line: what it announces never started
            if isinstance(entry, str):
                state = entry
            elif len(entry) == 1:
                created.append(entry[0])
            else:
                moves.append((entry[0], entry[1]))
    return moves, created, state


def _remove_created(created: list[str]) -> None:
    """Remove the staging areas of an install, then the directories it created for
    them where they are empty (children first)."""
    for path in reversed(created):
        if os.path.basename(path).startswith(STAGE_PREFIX):
            remove_tree(path, ignore_errors=True)
            continue
        with suppress(OSError):
            os.rmdir(path)


def _undo(moves: list[tuple[str, str]]) -> None:
    for src, dst in reversed(moves):
        if not os.path.lexists(src) and os.path.lexists(dst):
            parent = os.path.dirname(src)
            if not os.path.isdir(parent):
                if STAGE_PREFIX in src:
                    # A staging area that is gone (removed by a recover() that did
                    # not know this journal): moving the file there would only
                    # delete it. Leave it where it is.
                    continue
                # A package directory that the commit pruned: make it again.
                os.makedirs(parent, exist_ok=True)
            os.rename(dst, src)


class Transaction:
    """One install's staging areas, publish journal and rollback.

    Use as: ``stage_dir(root)`` for every root files go to, write the files there,
    then ``publish(...)``, then ``commit()``; ``rollback()`` on any failure.
    """

    # A plain class, not a dataclass: `dataclasses` costs about 7 ms to import on
    # every CLI run, and `secrets` (for the id) pulls in `random` and `hmac`.
    def __init__(self, journal_dir: str, txid: str | None = None) -> None:
        self.journal_dir = journal_dir
        self.txid = txid or f"{os.getpid()}-{os.urandom(4).hex()}"
        self.stages: dict[str, str] = {}  # root -> staging dir
        self.staged: dict[str, set[str]] = {}  # root -> top-level names staged there
        self.emptied: dict[str, str] = {}  # dir an old file left -> its root
        self.created_roots: list[str] = []
        self.moves: list[tuple[str, str]] = []  # renames done, in order
        self._journal: int | None = None
        self._backup_count = 0
        self._stage_fds: list[int] = []
        self._abandoned = False
        self._journal_made = False

    def __repr__(self) -> str:
        return f"Transaction({self.txid!r}, {len(self.stages)} staging, {len(self.moves)} moves)"

    def stage_dir(self, root: str) -> str:
        """The staging directory for ``root``, created (with ``root``) on first use.

        The journal is opened first, so that the directories made for ``root`` are
        in it: a process killed while staging leaves no empty directories behind.
        Call under the environment lock.
        """
        stage = self.stages.get(root)
        if stage is None:
            if self._journal is None:
                self._open_journal()
            self.make_root(root)
            stage = os.path.join(root, STAGE_PREFIX + self.txid)
            self._write_journal([stage])
            os.mkdir(stage)
            self.stages[root] = stage
            self._stage_fds.append(_lock_dir(stage))
            journal = os.path.join(self.journal_dir, JOURNAL_PREFIX + self.txid)
            fd = os.open(os.path.join(stage, OWNER), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, os.fsencode(journal))
            finally:
                os.close(fd)
        return stage

    def add(self, root: str, rel: str) -> str:
        """Register a file to stage at ``root``/``rel``; return its staging path."""
        self.add_tops(root, (rel.partition("/")[0],))
        return (self.stages.get(root) or self.stage_dir(root)) + "/" + rel

    def add_tops(self, root: str, names: Iterable[str]) -> None:
        """Register top-level names (files or whole trees) staged in ``root``'s staging
        directory, by the core or by `add`: publish renames exactly these."""
        staged = self.staged.get(root)
        if staged is None:
            staged = self.staged[root] = set()
        staged.update(names)

    def write(self, root: str, rel: str, data: bytes, mode: int) -> str:
        """Stage a new file with ``data`` at ``root``/``rel`` (``mode`` as given, no
        umask: the caller applied it); its parent directories are made as needed."""
        path = self.add(root, rel)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            if "/" not in rel:
                raise
            # Its directory is not staged yet (usually it is: a .dist-info's files)
            os.makedirs(path.rpartition("/")[0], exist_ok=True)
            fd = os.open(path, flags, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        return path

    def make_root(self, root: str) -> None:
        """Create ``root`` and missing parents, remembering them for rollback."""
        missing = []
        path = os.path.abspath(root)
        while not os.path.isdir(path):
            missing.append(path)
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
        for path in reversed(missing):
            if self._journal is not None:
                self._write_journal([path])  # before the mkdir, like a rename
            try:
                os.mkdir(path)
            except FileExistsError:
                continue
            self.created_roots.append(path)

    def _open_journal(self) -> None:
        """Create this install's journal (with the roots made so far) and hold an
        ``flock`` on it, so that no other process's `recover` replays it while this
        one lives."""
        self.make_root(self.journal_dir)
        path = os.path.join(self.journal_dir, JOURNAL_PREFIX + self.txid)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BaseException:
            os.close(fd)
            raise
        self._journal = fd
        self._journal_made = True
        for created in self.created_roots:
            self._write_journal([created])

    def _write_journal(self, entry: list[str] | str) -> None:
        assert self._journal is not None
        os.write(self._journal, (_jsontext.dumps(entry) + "\n").encode())

    def _record(self, src: str, dst: str) -> None:
        """Journal a rename, then do it."""
        if self._journal is None:
            self._open_journal()
        self._write_journal([src, dst])
        # Listed before it is done: undoing a rename that did not happen is a
        # no-op, but one that happened and was not listed (a KeyboardInterrupt
        # between the two) would never be undone.
        self.moves.append((src, dst))
        os.rename(src, dst)

    def backup_path(self, path: str, root: str) -> str:
        """A fresh place in ``root``'s staging area to move an old file aside to."""
        self._backup_count += 1
        backup = os.path.join(self.stage_dir(root), ".old")
        if self._backup_count == 1 or not os.path.isdir(backup):
            os.makedirs(backup, exist_ok=True)
        return os.path.join(backup, str(self._backup_count))

    def move_aside(self, path: str, root: str, *, prune: bool = True) -> None:
        """Move an existing file or directory out of the way (restored on rollback).

        With ``prune``, its directory (and the parents up to ``root``) are removed
        after the commit if that leaves them empty; `_remove` removes its own
        directories, only those it empties.
        """
        self._record(path, self.backup_path(path, root))
        if prune:
            self.emptied[os.path.dirname(path)] = root

    def publish_all(self, last: set[tuple[str, str]]) -> None:
        """Rename every staged top-level name into place; those in ``last`` (``(root,
        name)``: the ``.dist-info`` directories) after everything else."""
        deferred = []
        for root, names in self.staged.items():
            stage = self.stages[root]
            for name in sorted(names):
                if (root, name) in last:
                    deferred.append((root, name))
                else:
                    self._publish(stage + "/" + name, root + "/" + name, root)
        for root, name in deferred:
            self._publish(self.stages[root] + "/" + name, root + "/" + name, root)

    def _publish(self, src: str, dst: str, root: str) -> None:
        """Rename ``src`` to ``dst``; where ``dst`` is a directory already (a namespace
        package, ``bin/``, an upgrade), merge into it, walking ``src`` (iteratively:
        a tree may be deeper than Python's recursion limit)."""
        todo = [(src, dst)]
        while todo:
            src, dst = todo.pop()
            try:
                st = os.lstat(dst)
            except FileNotFoundError:
                self._record(src, dst)
                continue
            if stat.S_ISDIR(st.st_mode):
                if not os.path.isdir(src) or os.path.islink(src):
                    raise IsADirectoryError(errno.EISDIR, "a directory is in the way", dst)
                with os.scandir(src) as entries:
                    todo.extend((e.path, dst + "/" + e.name) for e in entries)
                continue
            if os.path.isdir(src) and not os.path.islink(src):
                # Not a file of the version being replaced (those were moved aside
                # already): someone's file, not the install's to delete.
                raise NotADirectoryError(
                    errno.ENOTDIR, "a file is where the install needs a directory", dst
                )
            self.move_aside(dst, root)
            self._record(src, dst)

    def rollback(self) -> None:
        """Undo every rename, remove staging and the directories this install created.

        If undoing fails (a target gone read-only, an I/O error), the journal and
        the staging areas are kept as they are: they hold the old files, and the
        next install's `recover` finishes the job. Safe to call again.
        """
        if self._abandoned:
            return
        try:
            _undo(self.moves)
        except BaseException as exc:
            self._abandon()
            if isinstance(exc, OSError):
                from ._errors import InstallIOError

                raise InstallIOError(
                    exc.errno,
                    f"{exc.strerror}; the install failed and could not be rolled back yet"
                    " (the next fastinst run in this environment finishes it)",
                    exc.filename,
                ) from exc
            raise
        self.moves.clear()
        # Marked undone before the staging goes: replaying the journal after that
        # would move restored files into a half-deleted staging area.
        if self._journal is not None:
            try:
                self._write_journal("undone")
            except OSError as exc:
                # A full disk has no room for the line: drop the journal instead
                # (only the empty directories it lists are then left behind).
                try:
                    self._close_journal(remove=True, quiet=False)
                except OSError:
                    logger.warning("cannot finish the rollback (%s); the next install does", exc)
                    self._abandon()
                    return
        self._remove_staging()
        for path in reversed(self.created_roots):
            with suppress(OSError):
                os.rmdir(path)  # kept in the list: a second rollback after the lock is gone
        self._close_journal(remove=True)

    def commit(self) -> None:
        """Make the publish final: remove the directories that old files left empty,
        mark the journal committed (the commit point), remove backups and staging,
        then the journal."""
        # Pruned before the commit point: a process killed after it must leave the
        # new tree exactly, and an undo before it makes the directories again.
        for directory in sorted(self.emptied, key=len, reverse=True):
            _prune_empty(directory, self.emptied[directory])
        if self._journal is not None:
            self._write_journal("committed")
        # From here on a rollback (after an interrupt in the cleanup below) must
        # not undo the publish, and neither would a recover().
        self.moves.clear()
        self.created_roots.clear()
        self._remove_staging()
        self._close_journal(remove=True)

    def _abandon(self) -> None:
        """Leave journal and staging to the next `recover`; release them to it."""
        self._abandoned = True
        self._release_journal()
        self._release_stages()

    def _release_journal(self) -> None:
        # Forget the descriptor before closing it: a SIGTERM raised between the two
        # (the CLI turns it into an exception) would otherwise have the rollback
        # close it again and report EBADF instead of the termination.
        fd, self._journal = self._journal, None
        if fd is not None:
            os.close(fd)

    def _close_journal(self, remove: bool, quiet: bool = True) -> None:
        self._release_journal()
        if remove and self._journal_made:  # none was made: none to remove (nor to warn of)
            try:
                os.unlink(os.path.join(self.journal_dir, JOURNAL_PREFIX + self.txid))
            except FileNotFoundError:
                pass
            except OSError as exc:  # it is marked: a replay only removes what is left
                if not quiet:
                    raise
                logger.warning("cannot remove the journal (%s); the next install does", exc)

    def _remove_staging(self) -> None:
        for stage in self.stages.values():
            remove_tree(stage, ignore_errors=True)
        self.stages.clear()
        self._release_stages()

    def _release_stages(self) -> None:
        while self._stage_fds:
            os.close(self._stage_fds.pop())


def _prune_empty(directory: str, root: str) -> None:
    """Remove ``directory`` and its parents while they are empty, stopping at ``root``."""
    root = os.path.normpath(root)
    directory = os.path.normpath(directory)
    while directory != root and directory.startswith(root + os.sep):
        try:
            os.rmdir(directory)
        except OSError:
            return
        directory = os.path.dirname(directory)
