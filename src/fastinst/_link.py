"""Link a cache entry's files into an install's staging area: reflink, hardlink or copy.

The mode is decided once per destination directory and install, by trying it on
one file, not by failing on every file: a cache on another device cannot be
hardlinked from, a filesystem without reflinks cannot clone, a read-only cache of
files owned by someone else cannot be hardlinked (``fs.protected_hardlinks``).
What still fails for single files (a file at the filesystem's link limit,
``EMLINK``) is copied by the core, which says how many.

A hardlink shares the cache's mode (0o444 or 0o555, whatever the umask of the
process that filled the cache). Under a umask that keeps files from other users
(077, 027), pip's files are private: hardlinks are not used then, and each file
is cloned or copied, as a new file that the umask shapes.
"""

from __future__ import annotations

import errno
import os

from . import _backend
from ._entry import FILE, KEY_NAMES, CacheEntry, DamagedCacheEntry
from ._errors import CoreFailure, os_error, suppress
from ._log import logger
from ._plan import Targets
from ._transaction import Transaction

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from ._core_py import LinkJob

LINK_MODES = ("auto", "clone", "hardlink", "copy")
_CORE_MODE = {"clone": 0, "hardlink": 1, "copy": 2}
_FALLBACK = {"clone": "hardlink", "hardlink": "copy"}
_warned: set[str] = set()  # explicit modes whose fallback was reported already


def choose_mode(requested: str, sample: str, stage_dir: str) -> str:
    """The link mode to use from the cache file ``sample`` into ``stage_dir``.

    ``auto`` tries clone, then hardlink, then copy. An explicit ``clone`` that the
    filesystem cannot do is an error that says so; an explicit ``hardlink`` that
    cannot be done falls back to copies with a warning (once per process).
    """
    if requested != "auto":
        if requested not in _CORE_MODE:
            raise ValueError(f"link_mode must be one of {', '.join(LINK_MODES)}, not {requested!r}")
        reason = None if requested == "copy" else _try(requested, sample, stage_dir)
        if reason is None:
            return requested
        target = os.path.dirname(stage_dir)
        if requested == "clone":
            from ._errors import InstallIOError

            raise InstallIOError(
                errno.EOPNOTSUPP,
                f"link mode 'clone': the filesystem of {target} does not support clones "
                f"(reflinks) from the cache ({reason}); use another link mode (auto picks "
                "the fastest that works)",
            )
        if requested not in _warned:
            _warned.add(requested)
            logger.warning(
                "link mode 'hardlink': cannot hardlink from the cache into %s (%s); copying",
                target,
                reason,
            )
        return "copy"
    mode = "clone"
    reasons = []
    while mode != "copy":
        reason = _try(mode, sample, stage_dir)
        if reason is None:
            break
        reasons.append(f"{mode}: {reason}")
        mode = _FALLBACK[mode]
    if reasons:
        logger.info("linking from the cache by %s (%s)", mode, "; ".join(reasons))
    return mode


def _try(mode: str, sample: str, stage_dir: str) -> str | None:
    """None when ``mode`` works from ``sample`` into ``stage_dir``, else why not."""
    probe = os.path.join(stage_dir, ".fastinst-link-probe")
    try:
        if mode == "hardlink":
            os.link(sample, probe, follow_symlinks=False)
        else:
            import fcntl

            src = os.open(sample, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                dst = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
                try:
                    fcntl.ioctl(dst, 0x40049409, src)  # FICLONE
                finally:
                    os.close(dst)
            finally:
                os.close(src)
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        with suppress(OSError):
            os.unlink(probe)
    return None


class Linker:
    """Links cache entries into one install's staging areas (the mode chosen once
    per staging directory)."""

    def __init__(self, tx: Transaction, requested: str, jobs: int, umask: int = 0o022) -> None:
        self.tx = tx
        self.requested = requested
        self.jobs = jobs
        self.umask = umask
        self.modes: dict[str, int] = {}

    def start(
        self,
        wheels: list[tuple[CacheEntry, Targets, bytes | None]],
        counters: bytearray | None = None,
    ) -> Linking:
        """Start linking every file of each ``(entry, targets, skip)`` into the
        staging areas of its targets: all wheels in one core call (so that every
        thread has work until the last file, whatever the sizes of the wheels), on
        a helper thread, while the caller writes the install's other files.
        `Linking.join` gives the RECORD text of each wheel's files.
        ``counters``: 8 bytes per wheel, see the core's ``link_trees``."""
        jobs: list[LinkJob] = []
        for entry, targets, skip in wheels:
            stages: list[str | None] = [None] * len(KEY_NAMES)
            how = [_CORE_MODE["copy"]] * len(KEY_NAMES)
            for key, names in enumerate(entry.tops):
                if names:
                    stage = stages[key] = self.tx.stage_dir(targets.roots[key])
                    how[key] = self._mode(entry, stage)
            jobs.append((entry.table, entry.sources(), stages, targets.prefixes, how, skip))
        return Linking(self.tx, wheels, jobs, self.jobs, counters)

    def link(
        self,
        wheels: list[tuple[CacheEntry, Targets, bytes | None]],
        counters: bytearray | None = None,
    ) -> list[bytes]:
        """`start`, then `Linking.join`."""
        return self.start(wheels, counters).join()

    def _mode(self, entry: CacheEntry, stage: str) -> int:
        """The core's link mode into ``stage`` (chosen on its first wheel)."""
        mode = self.modes.get(stage)
        if mode is None:
            name = choose_mode(self.requested, os.path.join(entry.path, FILE), stage)
            if name == "hardlink" and self.umask & 0o044:
                logger.info(
                    "copying from the cache, not hardlinking: the umask (%03o) keeps "
                    "files from other users, and a hardlink has the cache's mode",
                    self.umask,
                )
                name = "copy"
            mode = self.modes[stage] = _CORE_MODE[name]
        return mode


class Linking:
    """One ``link_trees`` call under way on a helper thread.

    The core holds no GIL while it links, so the calling thread writes the
    install's other files meanwhile (launchers, scripts, ``.dist-info`` files,
    an old version moved aside): that Python ran with one core idle before.
    The transaction is only touched on the calling thread (before the call, and
    in `join`). A raw ``_thread`` (a warm install does not import ``threading``,
    6 ms with what it imports).
    """

    def __init__(
        self,
        tx: Transaction,
        wheels: list[tuple[CacheEntry, Targets, bytes | None]],
        jobs: list[LinkJob],
        threads: int,
        counters: bytearray | None,
    ) -> None:
        import _thread

        self.tx = tx
        self.wheels = wheels
        self.done: list[tuple[bytes, list[list[str]], int]] = []
        self.error: BaseException | None = None
        self.over = False  # the core has returned
        self.finished = _thread.allocate_lock()
        self.finished.acquire()
        try:
            _thread.start_new_thread(self._run, (jobs, threads, counters))
        except RuntimeError:  # no thread to be had: link on this one
            self._run(jobs, threads, counters)

    def _run(self, jobs: list[LinkJob], threads: int, counters: bytearray | None) -> None:
        try:
            self.done = _backend.core.link_trees(jobs, threads, counters)
        except BaseException as exc:  # raised again by `join`, on the calling thread
            self.error = exc
        finally:
            self.over = True
            self.finished.release()

    def wait(self) -> None:
        """Until the core has returned: whatever happens meanwhile (an interrupt),
        no rollback may remove the staging areas while it writes into them. An
        exception raised while waiting is raised once it has returned."""
        pending: BaseException | None = None
        while not self.over:  # (set before the lock is released: no second acquire)
            try:
                self.finished.acquire()
            except BaseException as exc:  # KeyboardInterrupt, the CLI's SIGTERM
                pending = pending or exc
        if pending is not None:
            raise pending

    def join(self) -> list[bytes]:
        """`wait`; the RECORD text of each wheel's files. The top-level names made
        are registered with the transaction; a failure is raised here."""
        self.wait()
        failure = self.error
        if failure is not None:
            self.error = None
            if isinstance(failure, CoreFailure):
                raise _failure(self.wheels[failure.job][0], failure) from None
            raise failure
        records = []
        for (entry, targets, _skip), (record, made, copied) in zip(self.wheels, self.done):
            if copied:
                logger.info(
                    "%s: %d files copied where a hardlink or clone was refused", entry.wheel, copied
                )
            for key, names in enumerate(made):
                if names:
                    self.tx.add_tops(targets.roots[key], names)
            records.append(record)
        return records


def _failure(entry: CacheEntry, failure: CoreFailure) -> Exception:
    if failure.kind == "table":
        return DamagedCacheEntry(entry, entry.path, f"row {failure.index}: {failure.detail}")
    if failure.kind == "changed" or (
        failure.errno == errno.ENOENT and failure.detail.startswith(entry.path + "/")
    ):
        why = "missing" if failure.errno == errno.ENOENT else "changed since it was cached"
        return DamagedCacheEntry(entry, failure.detail, why)
    return os_error(OSError(failure.errno, os.strerror(failure.errno), failure.detail))
