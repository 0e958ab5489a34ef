"""Check installed distributions against their RECORDs: what was edited, lost or added.

Every file a RECORD lists with a hash is checked for its size and its hash (the
hashing runs in the core, on worker threads, without the GIL); files the RECORD
lists are checked to exist; the directories of a distribution's packages are
walked for files its RECORD does not list. Bytecode (``.pyc``) is written by
the interpreter whenever it likes and files listed without a hash cannot be
checked, so both are reported as notes, never as differences.

This is what catches an installed file edited in place, or a file hardlinked
from the cache and changed under every environment that shares it.
"""

from __future__ import annotations

import csv
import os
import stat
import threading
from collections.abc import Iterable, Mapping
from typing import NamedTuple, Union

from ._errors import NotInstalled
from ._installed import InstalledDistribution, find_installed_many, list_installed
from ._names import canonical_name
from ._paths import is_inside
from ._scheme import Scheme

SchemeLike = Union[Scheme, Mapping[str, str], None]

# Kinds of difference (each makes a distribution fail verification)...
MODIFIED = "modified"  # size or hash differs from RECORD
MISSING = "missing"  # listed in RECORD, not on disk
UNLISTED = "unlisted"  # inside one of the distribution's packages, not in any RECORD
NOT_A_FILE = "not a file"  # listed, but a directory, a FIFO, a device...
UNREADABLE = "unreadable"  # listed, but cannot be read (permissions)
OUTSIDE = "outside"  # a RECORD row outside the environment: not looked at
BAD_RECORD = "bad record"  # a RECORD that cannot be read, or a row with a malformed hash
# ...and kinds of note (reported, never a failure).
UNHASHED = "unhashed"  # listed without a hash (RECORD itself, and what the installer chose)
BYTECODE = "bytecode"  # a .pyc: written by the interpreter, not by the installer
NO_RECORD = "no RECORD"  # a legacy .egg-info or a distributor's .dist-info: nothing to check


class FileIssue(NamedTuple):
    """One thing found about one file: ``path`` is absolute, ``kind`` one of the
    module's kinds (``"modified"``, ``"missing"``, ``"unlisted"``... or the notes
    ``"unhashed"``, ``"bytecode"``, ``"no RECORD"``), ``detail`` says more."""

    path: str
    kind: str
    detail: str = ""


class VerifyResult(NamedTuple):
    """What `verify` found for one distribution.

    ``checked`` counts the files whose size and hash match RECORD;
    ``differences`` are the failures (empty when the distribution is intact);
    ``notes`` are what could not be checked and is not a failure (files listed
    without a hash, bytecode, a distribution without RECORD).
    """

    name: str
    version: str
    dist_info: str
    checked: int
    differences: tuple[FileIssue, ...]
    notes: tuple[FileIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.differences


def verify(
    names: Iterable[str] | None = None, scheme: SchemeLike = None, *, jobs: int = 0
) -> list[VerifyResult]:
    """Check installed distributions against their RECORDs; one result each.

    ``names`` picks distributions (normalised: ``babel`` finds ``Babel``;
    `NotInstalled` when one is not there); ``None`` checks every distribution in
    the scheme's library directories. ``scheme`` is a `Scheme`, a mapping of the
    five paths, or ``None`` for the running interpreter's. ``jobs`` hashing
    threads (0: one per CPU). Nothing is written.

    >>> import fastinst
    >>> [r for r in fastinst.verify() if not r.ok]  # doctest: +SKIP
    [VerifyResult(name='demo', ..., differences=(FileIssue(path='.../demo/__init__.py',
    kind='modified', detail='sha256 differs from RECORD'),), ...)]
    """
    resolved = _resolve_scheme(scheme)
    if names is None:
        dists = list_installed(resolved)
    else:
        wanted = list(dict.fromkeys(names))
        found = find_installed_many(wanted, resolved)
        for name in wanted:
            if not found[canonical_name(name)]:
                raise NotInstalled(name, resolved.library_dirs())
        dists = [found[canonical_name(n)][0] for n in wanted]
    plans = [_plan(d) for d in dists]
    tasks = [t for p in plans for t in p.tasks]
    outcomes = _check_all(tasks, jobs or os.cpu_count() or 1)
    owners = _Owners()
    results = []
    start = 0
    for plan in plans:
        end = start + len(plan.tasks)
        results.append(_result(plan, outcomes[start:end], owners))
        start = end
    return results


# --- planning: what each RECORD says ---------------------------------------------------


class _Task(NamedTuple):
    """One listed, hashed file to check: its path, algorithm, digest and size (-1: none)."""

    path: str
    algorithm: str
    digest: str  # hex
    size: int


class _Plan:
    """One distribution's RECORD read: the files to hash, and what was found already."""

    def __init__(self, dist: InstalledDistribution) -> None:
        self.dist = dist
        self.tasks: list[_Task] = []
        self.listed: set[str] = set()
        self.differences: list[FileIssue] = []
        self.notes: list[FileIssue] = []
        self.packages: set[str] = set()


def _plan(dist: InstalledDistribution) -> _Plan:
    plan = _Plan(dist)
    record = os.path.join(dist.dist_info, "RECORD")
    if dist.is_legacy or not os.path.isfile(record):
        plan.notes.append(FileIssue(record, NO_RECORD, "nothing to check"))
        return plan
    try:
        with open(record, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        plan.differences.append(FileIssue(record, BAD_RECORD, f"cannot be read ({exc})"))
        return plan
    location = os.path.normpath(dist.location)
    record = os.path.normpath(record)
    # Rows that are plain relative names below the distribution's directory (nearly
    # all of them) need no normpath and no check against every root.
    plain_ok = any(is_inside(location, r) for r in dist.roots)
    prefix = location.rstrip(os.sep) + os.sep
    for row in rows:
        if not row or not row[0]:
            continue
        rel = row[0]
        if plain_ok and _is_plain(rel):
            path = prefix + rel
            first, sep, _rest = rel.partition("/")
            top = prefix + first if sep and first != "__pycache__" else None
        else:
            path = os.path.normpath(os.path.join(location, rel))
            if path in dist.roots or not any(is_inside(path, r) for r in dist.roots):
                if path not in plan.listed:
                    plan.listed.add(path)
                    plan.differences.append(
                        FileIssue(path, OUTSIDE, "RECORD row outside the environment")
                    )
                continue
            top = _package_dir(path, location)
        if path in plan.listed:
            continue
        plan.listed.add(path)
        if top is not None:
            plan.packages.add(top)
        hash_field = row[1] if len(row) > 1 else ""
        if path.endswith(".pyc"):
            continue  # judged after the walk, as bytecode
        if not hash_field:
            if path == record:
                continue  # a RECORD cannot hold its own hash: nothing to note
            if os.path.lexists(path):
                plan.notes.append(FileIssue(path, UNHASHED, "RECORD gives no hash"))
            else:
                plan.differences.append(FileIssue(path, MISSING))
            continue
        task = _task(path, hash_field, row[2] if len(row) > 2 else "")
        if task is None:
            plan.differences.append(
                FileIssue(path, BAD_RECORD, f"malformed RECORD row: {hash_field[:30]!r}")
            )
        else:
            plan.tasks.append(task)
    return plan


def _is_plain(rel: str) -> bool:
    """A relative name with no empty, ``.`` or ``..`` segment (``a/b.py``, not ``../x``)."""
    return not (
        rel.startswith(("/", "./", "../"))
        or rel.endswith(("/", "/.", "/.."))
        or "//" in rel
        or "/./" in rel
        or "/../" in rel
        or rel in (".", "..")
        or os.sep != "/"
    )


_URLSAFE = str.maketrans("-_", "+/")
_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64, "sha3_256": 32, "sha3_384": 48,
          "sha3_512": 64, "blake2b": 64, "blake2s": 32}  # fmt: skip


def _task(path: str, hash_field: str, size_field: str) -> _Task | None:
    import binascii

    algorithm, sep, encoded = hash_field.partition("=")
    if not sep or algorithm not in _SIZES:
        return None
    try:
        digest = binascii.a2b_base64(encoded.translate(_URLSAFE) + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(digest) != _SIZES[algorithm]:
        return None
    if size_field and not (size_field.isdigit() and size_field.isascii() and len(size_field) <= 19):
        return None
    return _Task(path, algorithm, digest.hex(), int(size_field) if size_field else -1)


def _package_dir(path: str, location: str) -> str | None:
    """The top-level directory below ``location`` that ``path`` lies in, if any
    (``site-packages/demo`` for ``site-packages/demo/sub/x.py``; not for a
    top-level module, nor for the ``__pycache__`` that top-level modules share)."""
    if not is_inside(path, location) or path == location:
        return None
    rel = path[len(location.rstrip(os.sep)) + 1 :]
    first, sep, _rest = rel.partition(os.sep)
    if not sep or first == "__pycache__":
        return None
    return os.path.join(location, first)


# --- hashing, in parallel -------------------------------------------------------------


def _check_all(tasks: list[_Task], threads: int) -> list[str | None]:
    """For each task, ``None`` when the file matches, else ``"kind: detail"``.

    The biggest files start first; the hashing itself runs in the core, which
    releases the GIL, so the threads hash in parallel.
    """
    outcomes: list[str | None] = [None] * len(tasks)
    order = iter(sorted(range(len(tasks)), key=lambda i: -tasks[i].size))

    def work() -> None:
        for i in order:  # a shared iterator: next() on it is atomic under the GIL
            outcomes[i] = _check(tasks[i])

    threads = max(1, min(threads, len(tasks)))
    if threads == 1:
        work()
        return outcomes
    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return outcomes


def _check(task: _Task) -> str | None:
    from . import _backend

    try:
        st = os.stat(task.path)
        if not stat.S_ISREG(st.st_mode):
            return f"{NOT_A_FILE}:RECORD lists a file, this is not one"
        if task.size >= 0 and st.st_size != task.size:
            return f"{MODIFIED}:size is {st.st_size}, RECORD says {task.size}"
        if task.algorithm == "sha256":
            actual: str = _backend.core.sha256_file(task.path)
        else:
            actual = _hash_file(task.path, task.algorithm)
    except (FileNotFoundError, NotADirectoryError):
        return f"{MISSING}:"
    except OSError as exc:
        return f"{UNREADABLE}:{exc.strerror or exc}"
    if actual != task.digest:
        return f"{MODIFIED}:{task.algorithm} differs from RECORD"
    return None


def _hash_file(path: str, algorithm: str) -> str:
    import hashlib

    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- unlisted files and bytecode --------------------------------------------------------


class _Owners:
    """Every path listed by any RECORD in a directory, read once per directory and
    only when needed: a file in a namespace package shared by two distributions
    belongs to the other one, not to no one."""

    def __init__(self) -> None:
        self._by_location: dict[str, set[str]] = {}

    def listed_in(self, location: str) -> set[str]:
        owned = self._by_location.get(location)
        if owned is None:
            owned = set()
            try:
                names = os.listdir(location)
            except OSError:
                names = []
            for entry in names:
                if entry.endswith(".dist-info"):
                    owned |= _record_paths(os.path.join(location, entry), location)
            self._by_location[location] = owned
        return owned


def _record_paths(dist_info: str, location: str) -> set[str]:
    try:
        with open(os.path.join(dist_info, "RECORD"), encoding="utf-8", newline="") as f:
            return {os.path.normpath(os.path.join(location, r[0])) for r in csv.reader(f) if r}
    except (OSError, UnicodeDecodeError, csv.Error):
        return set()


def _walk_files(top: str) -> list[str]:
    """Every non-directory below ``top``, without following symlinked directories;
    iterative, so a deep tree cannot exhaust the stack."""
    found: list[str] = []
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                    else:
                        found.append(e.path)
        except OSError:
            continue
    return found


def _result(plan: _Plan, outcomes: list[str | None], owners: _Owners) -> VerifyResult:
    dist = plan.dist
    differences = list(plan.differences)
    notes = list(plan.notes)
    checked = 0
    for task, outcome in zip(plan.tasks, outcomes):
        if outcome is None:
            checked += 1
            continue
        kind, _, detail = outcome.partition(":")
        differences.append(FileIssue(task.path, kind, detail))
    for path in sorted(p for p in plan.listed if p.endswith(".pyc")):
        there = os.path.lexists(path)
        detail = "listed in RECORD" + ("" if there else ", not on disk")
        notes.append(FileIssue(path, BYTECODE, detail + "; written by the interpreter"))
    location = os.path.normpath(dist.location)
    for top in sorted(plan.packages):
        candidates = [p for p in _walk_files(top) if p not in plan.listed]
        if not candidates:
            continue
        others = owners.listed_in(location)
        for path in sorted(candidates):
            if path in others:
                continue
            if path.endswith(".pyc"):
                notes.append(FileIssue(path, BYTECODE, "not in RECORD; written by the interpreter"))
            else:
                differences.append(FileIssue(path, UNLISTED, "not in RECORD"))
    return VerifyResult(
        name=dist.name,
        version=dist.version,
        dist_info=dist.dist_info,
        checked=checked,
        differences=tuple(sorted(differences)),
        notes=tuple(notes),
    )


def _resolve_scheme(scheme: SchemeLike) -> Scheme:
    if isinstance(scheme, Scheme):
        return scheme
    if scheme is not None:
        return Scheme.from_mapping(scheme)
    from ._scheme import get_scheme

    return get_scheme()
