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

import contextlib
import errno
import logging
import os

from . import _backend
from ._entry import FILE, KEY_NAMES, CacheEntry, DamagedCacheEntry
from ._errors import CoreFailure, os_error
from ._plan import Targets
from ._transaction import Transaction

logger = logging.getLogger("fastinst")

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
        with contextlib.suppress(OSError):
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

    def link(
        self,
        entry: CacheEntry,
        targets: Targets,
        skip: bytes | None = None,
        counter: bytearray | None = None,
    ) -> bytes:
        """Link every file of ``entry`` into the staging areas of ``targets``; the
        RECORD text of those files. The top-level names made are registered with
        the transaction."""
        stages: list[str | None] = [None] * len(KEY_NAMES)
        how = [_CORE_MODE["copy"]] * len(KEY_NAMES)
        for key, names in enumerate(entry.tops):
            if names:
                stage = self.tx.stage_dir(targets.roots[key])
                stages[key] = stage
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
                how[key] = mode
        try:
            record, made, copied = _backend.core.link_tree(
                entry.table,
                entry.sources(),
                stages,
                targets.prefixes,
                how,
                self.jobs,
                skip,
                counter,
            )
        except CoreFailure as failure:
            raise _failure(entry, failure) from None
        if copied:
            logger.info(
                "%s: %d files copied where a hardlink or clone was refused", entry.wheel, copied
            )
        for key, names in enumerate(made):
            if names:
                self.tx.add_tops(targets.roots[key], names)
        return record


def _failure(entry: CacheEntry, failure: CoreFailure) -> Exception:
    if failure.kind == "table":
        return DamagedCacheEntry(entry, entry.path, f"row {failure.index}: {failure.detail}")
    if failure.kind == "changed" or (
        failure.errno == errno.ENOENT and failure.detail.startswith(entry.path + "/")
    ):
        why = "missing" if failure.errno == errno.ENOENT else "changed since it was cached"
        return DamagedCacheEntry(entry, failure.detail, why)
    return os_error(OSError(failure.errno, os.strerror(failure.errno), failure.detail))
