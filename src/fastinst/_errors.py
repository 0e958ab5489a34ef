"""The exceptions fastinst raises: one base class, and builtins mixed in where they fit."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import TracebackType


class FastinstError(Exception):
    """Base class of every error fastinst raises on purpose."""


class InvalidWheel(FastinstError, ValueError):
    """A wheel is malformed, hostile, or does not match its RECORD.

    ``wheel`` is the archive's path, ``member`` the archive member at fault (or
    ``None`` when the problem is the archive as a whole), ``reason`` says what is
    wrong in a few words.
    """

    def __init__(self, wheel: str, reason: str, member: str | None = None) -> None:
        self.wheel = wheel
        self.member = member
        self.reason = reason
        where = f"{wheel}: {member}" if member is not None else wheel
        super().__init__(f"{where}: {reason}")


class CorruptArchive(InvalidWheel):
    """The file is not a well-formed zip archive (truncated, bad CRC, bad offsets)."""


class UnsafePath(InvalidWheel):
    """A member name or RECORD row would write outside its destination."""


class RecordMismatch(InvalidWheel):
    """A member's hash or size differs from RECORD, or it is missing from RECORD."""


class IncompatibleWheel(InvalidWheel):
    """The wheel's tags do not match the target interpreter."""


class SchemeError(FastinstError, ValueError):
    """The install scheme cannot be resolved or is not usable as asked."""


class ExternallyManaged(FastinstError):
    """The target interpreter is marked EXTERNALLY-MANAGED (PEP 668)."""

    def __init__(self, message: str, marker: str) -> None:
        self.marker = marker
        super().__init__(message)


class InstallIOError(FastinstError, OSError):
    """An operating-system error while installing; the install was rolled back."""


class PermissionDenied(InstallIOError, PermissionError):
    """The target is not writable; the install was rolled back."""


class NotInstalled(FastinstError, LookupError):
    """No distribution of that name is installed in the scheme."""

    def __init__(self, name: str, where: Sequence[str]) -> None:
        import os

        self.name = name
        self.where = list(where)  # every directory looked in, existing or not
        # The message names those that exist: a Debian venv would otherwise list three
        # dist-packages directories that its interpreter would read, were they there.
        shown = [d for d in self.where if os.path.isdir(d)] or self.where
        super().__init__(f"{name} is not installed in {', '.join(shown) or 'the scheme'}")


class MissingRecord(FastinstError, LookupError):
    """An installed distribution has no RECORD, so its files are not known."""

    def __init__(self, dist_info: str) -> None:
        self.dist_info = dist_info
        super().__init__(
            f"{dist_info} has no RECORD (a legacy or foreign install); "
            "fastinst does not guess which files are its own"
        )


class LockError(FastinstError, ValueError):
    """A lock file cannot be used as asked.

    ``lock`` is the lock file's path; ``problems`` says what is wrong, one entry
    per package at fault (all of them at once, not only the first).
    """

    def __init__(self, lock: str, problems: Sequence[str], summary: str = "") -> None:
        self.lock = lock
        self.problems = tuple(problems)
        text = "; ".join(self.problems)
        if summary:
            text = f"{summary}: {text}"
        super().__init__(f"{lock}: {text}")


class WheelsNotFound(LockError, LookupError):
    """Locked wheels that are nowhere fastinst may look (nothing is downloaded).

    ``missing`` maps each wheel's file name to the places that were looked at.
    """

    def __init__(self, lock: str, missing: Mapping[str, Sequence[str]]) -> None:
        self.missing = {k: tuple(v) for k, v in missing.items()}
        problems = [f"{name} (looked {', '.join(where)})" for name, where in missing.items()]
        count = len(problems)
        super().__init__(
            lock, problems, f"{count} locked {'wheel' if count == 1 else 'wheels'} not found"
        )


class HashMismatch(LockError):
    """Wheel files whose hash is not the one the lock gives; nothing was written.

    ``files`` maps each such file's path to ``(expected, actual)``, as
    ``algorithm:hex`` strings.
    """

    def __init__(self, lock: str, files: Mapping[str, tuple[str, str]]) -> None:
        self.files = dict(files)
        problems = [
            f"{p} has {actual}, the lock says {want}" for p, (want, actual) in files.items()
        ]
        count = len(problems)
        super().__init__(
            lock,
            problems,
            f"{count} {'wheel does' if count == 1 else 'wheels do'} not match the lock's hashes",
        )


class CoreFailure(FastinstError):
    """A failure inside the core's extraction or link loop (internal).

    The install layer turns it into a public error that names the wheel and the
    member; it only escapes when the core is called directly.
    """

    def __init__(self, kind: str, job: int, index: int, errno: int = 0, detail: str = "") -> None:
        self.kind = kind
        self.job = job
        self.index = index
        self.errno = errno
        self.detail = detail
        super().__init__(f"{kind} failure in job {job}, task {index}: {detail or errno}")


class MemberFailure(Exception):
    """One member's failure inside a core, before it becomes a `CoreFailure` (internal).

    ``kind`` is one of the core's failure kinds; ``on_archive`` says whether the
    failing path is the archive (an error reading it) or the member's destination.
    """

    def __init__(self, kind: str, errno: int = 0, on_archive: bool = False) -> None:
        self.kind = kind
        self.errno = errno
        self.on_archive = on_archive
        super().__init__(kind)


# --- from the core's and the OS's errors to the public ones (internal) -----------------


def core_error(failure: CoreFailure, wheel: str, member: str, dest: str) -> Exception:
    """The public error for a failure the core reported on ``member`` of ``wheel``."""
    kind = failure.kind
    if kind == "record-hash":
        return RecordMismatch(wheel, "malformed sha256 in RECORD", member)
    if kind in ("sha256", "record-size"):
        what = "sha256" if kind == "sha256" else "size"
        return RecordMismatch(wheel, f"{what} differs from RECORD", member)
    reason = _ARCHIVE_FAILURES.get(kind)
    if reason is not None:
        return CorruptArchive(wheel, reason, member)
    import os

    return os_error(OSError(failure.errno, os.strerror(failure.errno), failure.detail or dest))


_ARCHIVE_FAILURES = {
    "crc": "CRC-32 mismatch",
    "size": "size differs from the zip directory",
    "inflate": "corrupt compressed data",
    "header": "bad local file header",
    "method": "unsupported compression method",
    "window": "zstd window over 8 MiB (the most RFC 8878 asks decoders to support)",
    "name": "the local file header names another file",
    "overlap": "its data overlaps the next member (the layout of a zip bomb)",
}


def os_error(exc: OSError) -> InstallIOError:
    """An `OSError` met while installing, as the public error (the install was rolled back)."""
    import errno

    denied = exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
    cls = PermissionDenied if denied else InstallIOError
    return cls(exc.errno, f"{exc.strerror}; nothing was installed", exc.filename)


class suppress:
    """``contextlib.suppress``: ``with suppress(OSError): ...`` ignores an `OSError`
    raised inside. Here because ``contextlib`` imports ``functools`` and
    ``collections``, as much as a warm install of a small wheel spends on its work.

    >>> with suppress(KeyError):
    ...     {}["x"]
    """

    __slots__ = ("_kinds",)

    def __init__(self, *kinds: type[BaseException]) -> None:
        self._kinds = kinds

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        return kind is not None and issubclass(kind, self._kinds)
