"""A wheel read straight from its archive: the source without a cache, and the
one that fills it.

The core extracts members into directories by scheme key: the staging areas of
an install (`ArchiveSource`, no cache), or the tree of a cache entry being built
(``_cache``). One builder makes the core's tasks for both.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Union

from . import _backend
from ._errors import CoreFailure, RecordMismatch, core_error
from ._plan import Layout, Member, layout
from ._records import encode_hash
from ._scripts import EntryPoint, ScriptStream
from ._wheel import CRC, CSIZE, METHOD, NAME, OFFSET, USIZE, Wheel, iter_member

if TYPE_CHECKING:
    import threading
    from collections.abc import Iterator, Sequence

# (header_offset, method, compressed_size, file_size, crc32, dest, mode,
#  expected_sha256, expected_size, name): the core's extraction task;
#  expected_sha256 is RECORD's hash field (the core decodes it) or b"" (none)
Task = tuple[int, int, int, int, int, str, int, Union[bytes, str], int, str]


class ArchiveSource:
    """A wheel to install from its archive, members placed by scheme key."""

    def __init__(self, wheel: Wheel) -> None:
        self.wheel = wheel
        self.layout: Layout = layout(wheel)

    def __repr__(self) -> str:
        return f"ArchiveSource({self.wheel.path!r})"

    @property
    def path(self) -> str:
        return self.wheel.path

    @property
    def name(self) -> str:
        return self.wheel.name

    @property
    def version(self) -> str:
        return self.wheel.version

    @property
    def dist_info(self) -> str:
        return self.wheel.dist_info

    @property
    def requires_python(self) -> str | None:
        return self.wheel.requires_python

    @property
    def lib_key(self) -> int:
        return self.layout.lib_key

    @property
    def tops(self) -> list[list[str]]:
        return self.layout.tops

    @property
    def size(self) -> int:
        return sum(m.entry[USIZE] for m in self.layout.files + self.layout.scripts)

    @property
    def entry_points(self) -> list[EntryPoint]:
        return self.wheel.entry_points

    def script_files(self) -> list[ScriptStream]:
        """The ``.data/scripts`` files, read in pieces when asked, checked against
        the wheel's RECORD as they are read."""
        return [
            ScriptStream(m.path, _sha256_of(m), lambda m=m: checked_chunks(self.wheel, m))  # type: ignore[misc]
            for m in self.layout.scripts
        ]

    def listing(self) -> list[tuple[int, str, str]]:
        """``(key, path, hash)`` of every verbatim file (hash "" without RECORD)."""
        return [(m.key, m.path, m.expected.hash if m.expected else "") for m in self.layout.files]

    def paths(self) -> list[tuple[int, str]]:
        """``(key, path)`` of every verbatim file; `file_hash` gives one's hash."""
        return [(m.key, m.path) for m in self.layout.files]

    def file_hash(self, index: int) -> str:
        """The hash of verbatim file ``index`` (its RECORD row's, or read)."""
        m = self.layout.files[index]
        if m.expected is not None and m.expected.hash:
            return m.expected.hash
        h = hashlib.sha256()
        for chunk in iter_member(self.wheel.path, m.entry):
            h.update(chunk)
        return encode_hash(h.digest())


def tasks(
    wheel: Wheel,
    members: Sequence[Member],
    dests: Sequence[str],
    modes: Sequence[int],
) -> list[Task]:
    """The core's tasks extracting ``members`` of ``wheel`` to ``dests`` (one path
    per member) with ``modes``, checked against the wheel's RECORD (sha256 rows;
    other algorithms are checked after, by `check_other_algorithms`)."""
    out: list[Task] = []
    add = out.append
    for (e, _key, _path, _exec, row), dest, mode in zip(members, dests, modes):  # (Members)
        if row is not None and row.hash.startswith("sha256="):
            # the core decodes RECORD's hash field
            add((e[OFFSET], e[METHOD], e[CSIZE], e[USIZE], e[CRC], dest, mode, row.hash,
                 int(row.size) if row.size else -1, e[NAME]))  # fmt: skip
        else:
            add((e[OFFSET], e[METHOD], e[CSIZE], e[USIZE], e[CRC], dest, mode, b"", -1, e[NAME]))
    return out


def extract(
    jobs: list[tuple[Wheel, list[Member], list[Task]]],
    threads: int,
    counters: bytearray | None = None,
    stamps: list[bytearray] | None = None,
) -> list[bytes]:
    """Run the tasks of every wheel in one parallel core call; per wheel, the digests
    (and, with ``counters``, the bytes written so far, 8 bytes per wheel; with
    ``stamps``, each new file's size and mtime, 16 bytes per task: see the core).

    A failure is raised as the public error that names the wheel and the member.
    """
    try:
        return _backend.core.extract([(w.path, t) for w, _m, t in jobs], threads, counters, stamps)
    except CoreFailure as failure:
        wheel, members, todo = jobs[failure.job]
        raise core_error(
            failure, wheel.path, members[failure.index].entry[NAME], todo[failure.index][5]
        ) from None


class Extraction:
    """The core's extraction calls, started while the caller prepares more of them.

    ``add(wheel, members, tasks, dirs)`` hands over one wheel's tasks and the
    directories they need (parents first). With ``background``, a helper thread
    runs one core call (``make_dirs``, then `extract`) for everything added so
    far and, when it returns, one for what was added meanwhile: the core writes
    the first wheels (without the GIL) while the caller plans the next, and no
    core waits for the whole list. The helper runs nothing but those calls, so
    every piece of Python stays on the caller's thread. Without ``background``,
    all of it is one call, made by `done` (``counters``: bytes written, 8 per
    wheel, see `extract`). With ``stamps``, ``stamps[index]`` holds each new
    file's size and mtime once its wheel is done (16 bytes per task, see `extract`).

    `done` yields ``(index, digests)`` for each wheel, in the order added, as its
    call returns, and then raises the first call's failure, if any (the public
    error that names the wheel and the member, as `extract` raises it); `close`
    (always safe, also after a failure of the caller's) drops what has not
    started and waits for what has.
    """

    def __init__(
        self,
        threads: int,
        *,
        background: bool = True,
        counters: bytearray | None = None,
        stamps: bool = False,
    ) -> None:
        self.threads = threads
        self.background = background
        self.counters = counters
        self.stamps: list[bytearray] | None = [] if stamps else None
        self.jobs: list[tuple[Wheel, list[Member], list[Task]]] = []
        self.dirs: list[list[str]] = []
        self.started = 0  # jobs handed to the core
        self.results: list[tuple[int, list[bytes]]] = []  # (first job, digests) per call
        self.error: BaseException | None = None
        # ``busy``: the helper is in a core call on jobs it took; ``finished``: it
        # returned. Both are set by the helper itself, never by the thread that
        # starts it: an interrupt (Ctrl-C, SIGTERM) can land inside Thread.start(),
        # before or after the thread really started, and `close` must be right in
        # both cases (it waits on these, never joins a thread that may not exist).
        self.busy = False
        self.finished = False
        self.closed = False
        self.thread: threading.Thread | None = None
        if background:
            import threading

            self.wake = threading.Condition()

    def __enter__(self) -> Extraction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, wheel: Wheel, members: list[Member], tasks: list[Task], dirs: list[str]) -> None:
        if self.stamps is not None:
            self.stamps.append(bytearray(16 * len(tasks)))
        if not self.background:
            self.jobs.append((wheel, members, tasks))
            self.dirs.append(dirs)
            return
        import threading

        with self.wake:
            self.jobs.append((wheel, members, tasks))
            self.dirs.append(dirs)
            self.wake.notify_all()
            if self.thread is None and not self.closed:
                self.thread = threading.Thread(target=self._work, name="fastinst-extract")
                self.thread.daemon = True
                self.thread.start()

    def done(self) -> Iterator[tuple[int, bytes]]:
        if not self.background:
            blobs = self._call(0, len(self.jobs), self.counters)
            yield from enumerate(blobs)
            return
        with self.wake:
            self.closed = True  # nothing more is added
            self.wake.notify_all()
        given = 0
        while True:
            with self.wake:
                while len(self.results) == given and not self.finished:
                    self.wake.wait()
                if len(self.results) == given:
                    break
                first, blobs = self.results[given]
            given += 1
            for k, blob in enumerate(blobs):
                yield first + k, blob
        self.close()
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        if not self.background:
            return
        with self.wake:
            self.closed = True
            del self.jobs[self.started :]  # not started: dropped
            self.wake.notify_all()
            while self.busy:  # what the core writes now is waited for
                self.wake.wait()

    def _work(self) -> None:
        """The helper thread: core calls, one after the other, until closed."""
        try:
            while True:
                with self.wake:
                    while self.started == len(self.jobs) and not self.closed:
                        self.wake.wait()
                    first, end = self.started, len(self.jobs)
                    self.started = end
                    self.busy = first != end
                if first == end:
                    return
                blobs = self._call(first, end, None)
                with self.wake:
                    self.results.append((first, blobs))
                    self.busy = False
                    self.wake.notify_all()
        except BaseException as exc:  # raised by done(), on the caller's thread
            self.error = exc
        finally:
            with self.wake:
                self.busy = False
                self.finished = True
                self.wake.notify_all()

    def _call(self, first: int, end: int, counters: bytearray | None) -> list[bytes]:
        _backend.core.make_dirs([d for dirs in self.dirs[first:end] for d in dirs])
        stamps = self.stamps[first:end] if self.stamps is not None else None
        return extract(self.jobs[first:end], self.threads, counters, stamps)


def check_other_algorithms(wheel: Wheel, members: Sequence[Member], todo: Sequence[Task]) -> None:
    """Check the members whose RECORD row uses another algorithm than sha256 (rare)
    by reading the files that their tasks (``todo``, in order) wrote again."""
    # Only a task that the core checked against no sha256 can have such a row.
    for i in [i for i, task in enumerate(todo) if not task[7]]:
        m, path = members[i], todo[i][5]
        row = m.expected
        if row is None or not row.hash or row.hash.startswith("sha256="):
            continue
        assert row.algorithm is not None
        h = hashlib.new(row.algorithm)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        try:
            ok = h.digest() == row.digest()
        except ValueError:
            ok = False
        if not ok:
            raise RecordMismatch(wheel.path, f"{row.algorithm} differs from RECORD", m.entry[NAME])


def checked_chunks(wheel: Wheel, m: Member) -> Iterator[bytes]:
    """A member's bytes in pieces; after the last, `RecordMismatch` when they are
    not what its RECORD row says."""
    row = m.expected
    algorithm = (row.algorithm or "sha256") if row is not None and row.hash else None
    h = hashlib.new(algorithm) if algorithm is not None else None
    size = 0
    for chunk in iter_member(wheel.path, m.entry):
        if h is not None:
            h.update(chunk)
        size += len(chunk)
        yield chunk
    if row is None or h is None:
        return
    if row.size and int(row.size) != size:
        raise RecordMismatch(wheel.path, "size differs from RECORD", m.entry[NAME])
    try:
        ok = h.digest() == row.digest()
    except ValueError:
        ok = False
    if not ok:
        raise RecordMismatch(wheel.path, "hash differs from RECORD", m.entry[NAME])


def _sha256_of(m: Member) -> str:
    row = m.expected
    return row.hash if row is not None and row.hash.startswith("sha256=") else ""


def record_rows(
    members: Sequence[Member], blob: bytes, prefixes: Sequence[str]
) -> list[tuple[str, str, str]]:
    """RECORD rows of extracted members. A file checked against the wheel's RECORD
    keeps that row's hash and size strings (as pip does); otherwise the digest the
    core computed is used."""
    rows = []
    for i, m in enumerate(members):
        row = m.expected
        path = prefixes[m.key] + m.path
        if row is not None and row.hash and row.size:
            rows.append((path, row.hash, row.size))
        else:
            rows.append((path, encode_hash(blob[i * 32 : i * 32 + 32]), str(m.entry[USIZE])))
    return rows
