"""Link cached files into an install's staging area: reflink, hardlink or copy.

The mode is decided once per destination filesystem, by trying it on one file,
not by failing on every file: a cache on another device cannot be hardlinked
from, a filesystem without reflinks cannot clone, a read-only cache of files
owned by someone else cannot be hardlinked (``fs.protected_hardlinks``).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Sequence

from . import _backend
from ._errors import CoreFailure

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
        _backend.core.link_files([(sample, probe)], _CORE_MODE[mode], 1)
    except CoreFailure as failure:
        return os.strerror(failure.errno) if failure.errno else failure.detail
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
    return None


def link_files(pairs: Sequence[tuple[str, str]], mode: str, jobs: int) -> None:
    """Link every ``(src, dst)``; fall back to copies for files a hardlink cannot take.

    ``EMLINK`` (a file already has the filesystem's maximum number of links) can
    hit some files and not others, so it is handled after the fact: the pairs
    not yet done are copied instead.
    """
    try:
        _backend.core.link_files(list(pairs), _CORE_MODE[mode], jobs)
    except CoreFailure as failure:
        if mode != "hardlink" or failure.errno not in (errno.EMLINK, errno.EPERM, errno.EXDEV):
            raise
        logger.info("hardlink failed (%s); copying the rest", os.strerror(failure.errno))
        rest = [(s, d) for s, d in pairs if not os.path.lexists(d)]
        _backend.core.link_files(rest, _CORE_MODE["copy"], jobs)
