"""Installed distributions: list them, find one by name, read its RECORD, uninstall it.

Uninstalling is split in two so that the install layer can wrap it in a
transaction: `plan_removal` computes what would go (and refuses RECORD rows
that escape the scheme) without touching anything; `remove` does it.

Legacy ``.egg-info`` entries (distutils, ``setup.py install``, ``develop``)
are listed and found, as pip lists them, but have no RECORD: `plan_removal`
refuses them with `MissingRecord` rather than guessing which files are theirs.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from ._errors import MissingRecord, NotInstalled, UnsafePath
from ._names import canonical_name as canonicalize_name
from ._paths import is_inside
from ._scheme import Scheme

if TYPE_CHECKING:
    from ._transaction import Transaction

logger = logging.getLogger("fastinst")

_SUFFIXES = (".dist-info", ".egg-info")


class InstalledDistribution(NamedTuple):
    """One installed distribution.

    ``dist_info`` is the path of its ``.dist-info`` (or legacy ``.egg-info``),
    ``location`` the directory that holds it, ``installer`` the contents of its
    INSTALLER file (``None`` when absent). ``roots`` are the directories its
    RECORD paths may reach, fixed when it was found in a scheme.
    """

    name: str
    version: str
    dist_info: str
    location: str
    installer: str | None
    roots: tuple[str, ...] = ()

    @property
    def is_legacy(self) -> bool:
        return self.dist_info.endswith(".egg-info")


class RemovalPlan(NamedTuple):
    """What uninstalling one distribution removes, computed before anything is.

    ``files`` (files and symlinks, from RECORD plus the bytecode of its ``.py``
    files) are unlinked, then the ``dist_info`` tree, then each of ``dirs``
    that is empty by then (deepest first).
    """

    dist: InstalledDistribution
    files: tuple[str, ...]
    dist_info: str
    dirs: tuple[str, ...]


class UninstallResult(NamedTuple):
    """What `uninstall` removed."""

    name: str
    version: str
    dist_info: str
    files: tuple[str, ...]
    dirs: tuple[str, ...]


# --- listing ---------------------------------------------------------------------------


def list_installed(scheme: Scheme) -> list[InstalledDistribution]:
    """Every distribution in the scheme's library directories, sorted by name.

    Reads purelib, platlib and the scheme's ``site_dirs`` (``lib`` and ``lib64``,
    the user site...); a directory that does not exist is empty, not an error.
    The same name found in two directories is listed twice.

    >>> list_installed(Scheme.from_mapping({k: "/nonexistent" for k in
    ...     ("purelib", "platlib", "headers", "scripts", "data")}))
    []
    """
    found = [_load(scheme, location, entry) for location, entry in _entries(scheme)]
    return sorted(found, key=lambda d: (canonicalize_name(d.name), d.location))


def find_installed(name: str, scheme: Scheme) -> list[InstalledDistribution]:
    """The installed distributions called ``name`` (normalised: ``babel`` finds ``Babel``).

    In library-directory order, so the first is the one a plain install
    would replace first.
    """
    return find_installed_many([name], scheme)[canonicalize_name(name)]


def find_installed_many(
    names: Iterable[str], scheme: Scheme
) -> dict[str, list[InstalledDistribution]]:
    """`find_installed` for several names with one scan of the library directories.

    Keyed by normalised name; a name with no installed copy maps to ``[]``.
    """
    wanted: dict[str, list[InstalledDistribution]] = {canonicalize_name(n): [] for n in names}
    for location, entry in _entries(scheme):
        candidates = _candidate_names(entry).intersection(wanted)
        if not candidates:
            continue
        dist = _load(scheme, location, entry)
        key = canonicalize_name(dist.name)
        if key in candidates:
            wanted[key].append(dist)
    return wanted


def _entries(scheme: Scheme) -> Iterator[tuple[str, str]]:
    for location in scheme.library_dirs():
        try:
            names = sorted(os.listdir(location))
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            continue
        except PermissionError as exc:
            logger.info("cannot list %s (%s); skipped", location, exc)
            continue
        for entry in names:
            if entry.endswith(_SUFFIXES) and not entry.startswith("."):
                yield location, entry


def _candidate_names(entry: str) -> set[str]:
    """Every name a directory ``foo-bar-1.0.dist-info`` may be for: foo, foo-bar, ...

    Names written by old tools may contain ``-``; METADATA settles it.
    """
    stem = entry.rsplit(".", 1)[0]
    parts = stem.split("-")
    return {canonicalize_name("-".join(parts[:i])) for i in range(1, len(parts) + 1)}


def _load(scheme: Scheme, location: str, entry: str) -> InstalledDistribution:
    path = os.path.join(location, entry)
    stem = entry.rsplit(".", 1)[0]
    dir_name, _, dir_version = stem.rpartition("-")
    if not dir_name:  # "name.egg-info" without a version
        dir_name, dir_version = stem, ""
    meta_name = "PKG-INFO" if entry.endswith(".egg-info") else "METADATA"
    meta_path = os.path.join(path, meta_name) if os.path.isdir(path) else path
    headers = read_headers(meta_path)
    installer = None
    try:
        with open(os.path.join(path, "INSTALLER"), encoding="utf-8") as f:
            installer = f.read().strip() or None
    except OSError:
        pass
    return InstalledDistribution(
        name=headers.get("name") or dir_name.replace("_", "-"),
        version=headers.get("version") or dir_version,
        dist_info=path,
        location=location,
        installer=installer,
        roots=_roots_for(scheme, location),
    )


def read_headers(path: str, keys: tuple[str, ...] = ("name", "version")) -> dict[str, str]:
    """The first value of each of ``keys`` (lower-case) in a METADATA / PKG-INFO
    header block; the body is not read, a missing file gives ``{}``."""
    headers: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break
                key, sep, value = line.partition(":")
                key = key.strip().lower()
                if sep and key in keys and key not in headers:
                    headers[key] = value.strip()
                    if len(headers) == len(keys):
                        break
    except OSError:
        pass
    return headers


def metadata_path(dist: InstalledDistribution) -> str:
    """The METADATA (or a legacy install's PKG-INFO) file of ``dist``."""
    if not os.path.isdir(dist.dist_info):
        return dist.dist_info  # a legacy single-file .egg-info
    return os.path.join(dist.dist_info, "PKG-INFO" if dist.is_legacy else "METADATA")


def _roots_for(scheme: Scheme, location: str) -> tuple[str, ...]:
    """The directories RECORD paths of a distribution in ``location`` may reach.

    A distribution in the scheme's purelib or platlib may reach the scheme's
    five directories; one found in another site directory may reach that
    directory's own prefix (or the user base), as the scheme records it.
    """
    location = os.path.normpath(location)
    own = {os.path.normpath(scheme.purelib), os.path.normpath(scheme.platlib)}
    if location in own:
        # headers ends in one distribution's name ("UNKNOWN" for a scheme
        # resolved without one): its parent holds every distribution's headers.
        headers = os.path.dirname(os.path.normpath(scheme.headers))
        keys = (scheme.purelib, scheme.platlib, headers, scheme.scripts, scheme.data)
        return tuple(dict.fromkeys(os.path.normpath(k) for k in keys))
    roots = [location]
    roots += [os.path.normpath(r) for d, r in scheme.site_roots if os.path.normpath(d) == location]
    return tuple(dict.fromkeys(roots))


# --- RECORD ------------------------------------------------------------------------------


def read_installed_record(dist: InstalledDistribution) -> list[str]:
    """The absolute paths a distribution's RECORD lists, each once, in RECORD order.

    Paths are relative to ``dist.location`` (``../../../bin/tool`` reaches
    the scripts directory). A row that resolves outside ``dist.roots``, or
    onto one of them, raises `UnsafePath`: a RECORD is data from the wheel,
    and uninstall must not be talked into deleting anything else.
    """
    record = os.path.join(dist.dist_info, "RECORD")
    if dist.is_legacy or not os.path.isfile(record):
        raise MissingRecord(dist.dist_info)
    try:
        with open(record, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as exc:
        # Not judged, so not trusted: removing by it could reach anything.
        raise UnsafePath(record, f"RECORD cannot be read ({exc})") from None
    paths: dict[str, None] = {}
    for row in rows:
        if not row or not row[0]:
            continue
        path = os.path.normpath(os.path.join(dist.location, row[0]))
        # normpath, not realpath: where the *name* points is the question here;
        # symlinks already on disk are checked again just before removal.
        if path in dist.roots or not any(is_inside(path, r) for r in dist.roots):
            raise UnsafePath(record, "RECORD path is outside the scheme", member=row[0])
        paths.setdefault(path, None)
    return list(paths)


def installed_files(dist: InstalledDistribution, scheme: Scheme | None = None) -> list[str]:
    """The files of ``dist`` that exist: its RECORD's, and the bytecode of its ``.py`` files.

    ``scheme`` is accepted for the install layer's calls; the roots were fixed
    when ``dist`` was found.
    """
    return list(plan_removal(dist).files)


# --- uninstall --------------------------------------------------------------------------


def plan_removal(dist: InstalledDistribution) -> RemovalPlan:
    """Everything uninstalling ``dist`` would remove, without removing anything."""
    recorded = read_installed_record(dist)
    files: dict[str, None] = {}
    dirs: dict[str, None] = {}
    info = os.path.normpath(dist.dist_info)
    for path in recorded:
        if is_inside(path, info):
            continue  # the whole .dist-info goes at once
        if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
            files.setdefault(path, None)
        if path.endswith(".py"):
            for pyc in _bytecode_of(path):
                files.setdefault(pyc, None)
                dirs.setdefault(os.path.dirname(pyc), None)
        dirs.setdefault(os.path.dirname(path), None)
    # Parents up to (not including) the root each lies in, deepest first.
    parents: dict[str, None] = {}
    for d in dirs:
        root = _root_of(d, dist.roots)
        while root is not None and d != root and is_inside(d, root):
            parents.setdefault(d, None)
            d = os.path.dirname(d)
    ordered = sorted(parents, key=lambda p: (-p.count(os.sep), p))
    return RemovalPlan(dist=dist, files=tuple(files), dist_info=info, dirs=tuple(ordered))


_PYC_TAIL = re.compile(r"\.[^.]+(\.opt-\d+)?\.pyc$")


def _bytecode_of(py: str) -> list[str]:
    """The cached bytecode of ``py`` for any interpreter (``__pycache__/m.<tag>.pyc``).

    pip removes the running interpreter's; the target may be another one, so
    every tag goes. Legacy ``m.pyc`` / ``m.pyo`` beside the source too.
    """
    directory, filename = os.path.split(py)
    stem = filename[:-3]
    found = [p for p in (py[:-3] + ".pyc", py[:-3] + ".pyo") if os.path.isfile(p)]
    cache = os.path.join(directory, "__pycache__")
    try:
        names = os.listdir(cache)
    except OSError:
        return found
    for name in names:
        if name.startswith(stem + ".") and _PYC_TAIL.fullmatch(name[len(stem) :]):
            found.append(os.path.join(cache, name))
    return found


def _root_of(path: str, roots: tuple[str, ...]) -> str | None:
    inside = [r for r in roots if is_inside(path, r)]
    return max(inside, key=len) if inside else None


def remove(plan: RemovalPlan) -> UninstallResult:
    """Carry out a `RemovalPlan`: files, then the ``.dist-info``, then emptied directories.

    Before each unlink the real path of the file's directory is checked to be
    inside a real root, so a symlinked directory cannot redirect a removal.
    """
    real_roots = tuple(os.path.realpath(r) for r in plan.dist.roots)
    removed = []
    for path in plan.files:
        parent = os.path.realpath(os.path.dirname(path))
        if not any(is_inside(parent, r) for r in real_roots):
            raise UnsafePath(plan.dist_info, "a directory on the path is a symlink out", path)
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue
        removed.append(path)
    if os.path.isdir(plan.dist_info) and not os.path.islink(plan.dist_info):
        shutil.rmtree(plan.dist_info)
    elif os.path.lexists(plan.dist_info):
        os.unlink(plan.dist_info)
    gone = []
    for d in plan.dirs:
        try:
            os.rmdir(d)
        except OSError:
            continue  # not empty (files the distribution did not record), or gone
        gone.append(d)
    return UninstallResult(
        name=plan.dist.name,
        version=plan.dist.version,
        dist_info=plan.dist_info,
        files=tuple(removed),
        dirs=tuple(gone),
    )


def uninstall(name: str, scheme: Scheme) -> UninstallResult:
    """Remove the distribution ``name`` from ``scheme`` by its RECORD.

    The first copy in library-directory order goes (purelib and platlib come
    first). Raises `NotInstalled` when there is none, `UnsafePath` when its
    RECORD reaches outside the scheme (nothing is removed then), and
    `MissingRecord` for a legacy install without RECORD.

    >>> uninstall("surely-not-installed", Scheme.from_mapping({k: "/nonexistent" for k in
    ...     ("purelib", "platlib", "headers", "scripts", "data")}))
    Traceback (most recent call last):
    fastinst._errors.NotInstalled: surely-not-installed is not installed in /nonexistent
    """
    from . import _transaction

    with contextlib.ExitStack() as stack:
        # Under the install lock, after undoing what a killed install left: never
        # alongside an install, never on a half-published tree. (Where we may not
        # write, no install ran either, and NotInstalled must stay the answer.)
        locked = os.path.isdir(scheme.purelib) and os.access(scheme.purelib, os.W_OK)
        if locked:
            stack.enter_context(_transaction.environment_lock(scheme.purelib))
            roots = [scheme.purelib, scheme.platlib, scheme.headers, scheme.scripts, scheme.data]
            for line in _transaction.recover(roots, scheme.purelib):
                logger.info("%s", line)
        found = find_installed(name, scheme)
        if not found:
            raise NotInstalled(name, scheme.library_dirs())
        plan = plan_removal(found[0])
        if not locked:
            return remove(plan)
        # Moved into staging (journalled), then deleted on commit: a process killed
        # half-way leaves the distribution whole (after recover) or gone, never half.
        tx = _transaction.Transaction(journal_dir=scheme.purelib)
        try:
            removed = _move_out(plan, tx)
            tx.commit()
        except BaseException:
            tx.rollback()
            raise
        return UninstallResult(
            name=plan.dist.name,
            version=plan.dist.version,
            dist_info=plan.dist_info,
            files=tuple(removed),
            dirs=tuple(d for d in plan.dirs if not os.path.isdir(d)),
        )


def _move_out(plan: RemovalPlan, tx: Transaction) -> list[str]:
    """`remove` as renames into ``tx``'s staging, the ``.dist-info`` first (so that it
    is never listed without its files); every path is checked before any moves."""
    real_roots = tuple(os.path.realpath(r) for r in plan.dist.roots)
    for path in plan.files:
        parent = os.path.realpath(os.path.dirname(path))
        if not any(is_inside(parent, r) for r in real_roots):
            raise UnsafePath(plan.dist_info, "a directory on the path is a symlink out", path)
    location = plan.dist.location
    if os.path.lexists(plan.dist_info):
        tx.move_aside(plan.dist_info, location)
    removed = []
    for path in plan.files:
        if os.path.lexists(path):
            tx.move_aside(path, _root_of(path, plan.dist.roots) or location)
            removed.append(path)
    return removed
