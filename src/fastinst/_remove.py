"""Removing installed distributions: uninstall, and an upgrade's old version, by one path.

`plan_removals` reads RECORDs and decides, touching nothing, what goes: the
files a RECORD lists and their bytecode, the ``.dist-info``, and the
directories that this empties. `move_out` carries plans out inside a
`Transaction`, so that an install removes old versions (or other
distributions) in its own transaction; `uninstall` is that step alone, under
the environment lock. Journalled either way: a process killed anywhere leaves
each distribution whole or gone.

Never removed, with a warning instead (pip and uv delete some of these): a
RECORD row outside the environment, the interpreter, ``pyvenv.cfg``,
fastinst's own ``.fastinst*`` files, a file that another installed
distribution's RECORD lists, and anything below a directory that is a symlink
leading out of the environment. A directory goes only when the removal emptied
it and it held the distribution's files, or (in the library directory) their
packages: ``share/jupyter/kernels`` or a prefix's ``share/man`` stay.
"""

from __future__ import annotations

import os
import stat

from ._errors import FastinstError, InstallIOError, NotInstalled, PermissionDenied, suppress
from ._installed import (
    InstalledDistribution,
    _entries,
    _load,
    find_installed_many,
    record_paths,
)
from ._log import logger
from ._names import canonical_name
from ._paths import is_inside
from ._scheme import Scheme
from ._tuples import NamedTuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Union

    from ._transaction import Transaction

    SchemeLike = Union[Scheme, Mapping[str, str], None]


class RemovalPlan(NamedTuple):
    """What removing one distribution does, decided before anything is touched.

    ``files`` (files and symlinks: RECORD's, and the bytecode of its ``.py``
    files) go, after the ``.dist-info``; then each of ``dirs`` that is empty by
    then (deepest first). ``kept`` are the RECORD rows left alone, each with
    the reason (``"row: why"``), warned about when planned.
    """

    dist: InstalledDistribution
    files: tuple[str, ...]
    dirs: tuple[str, ...]
    kept: tuple[str, ...] = ()

    @property
    def dist_info(self) -> str:
        return os.path.normpath(self.dist.dist_info)


class UninstallResult(NamedTuple):
    """What removing one distribution did: the files and directories that are gone,
    and the RECORD rows it left alone (``"row: why"``)."""

    name: str
    version: str
    dist_info: str
    files: tuple[str, ...]
    dirs: tuple[str, ...]
    kept: tuple[str, ...] = ()


# --- the library's uninstall -------------------------------------------------------------


def uninstall(
    names: str | Iterable[str], scheme: SchemeLike = None, *, missing_ok: bool = False
) -> list[UninstallResult]:
    """Remove the distributions ``names`` from ``scheme`` by their RECORDs, all or none.

    ``scheme`` is a `Scheme`, a mapping with the five scheme keys, or ``None``
    for the running interpreter's environment (refused with `ExternallyManaged`
    where PEP 668 forbids changing it). For each name the first copy in
    library-directory order goes (purelib and platlib first). A name that is
    not installed raises `NotInstalled` before anything is removed, or with
    ``missing_ok`` is skipped with a warning. A legacy install without RECORD
    raises `MissingRecord`. Runs under the environment's lock, after finishing
    what a killed install left, and is journalled like an install.

    >>> uninstall("surely-not-installed", Scheme.from_mapping({k: "/nonexistent" for k in
    ...     ("purelib", "platlib", "headers", "scripts", "data")}))
    Traceback (most recent call last):
    fastinst._errors.NotInstalled: surely-not-installed is not installed in /nonexistent
    """
    from . import _transaction

    resolved = _resolve(scheme)
    given = [names] if isinstance(names, str) else names
    wanted = list({canonical_name(n): n for n in given}.values())
    own = os.path.normpath(resolved.purelib)
    import contextlib

    with contextlib.ExitStack() as stack:
        locked: set[str] = set()

        def lock(home: str, roots: Iterable[str]) -> None:
            try:
                stack.enter_context(_transaction.environment_lock(home))
            except PermissionError as exc:
                raise PermissionDenied(
                    exc.errno, f"cannot uninstall: {exc.strerror}", home
                ) from None
            locked.add(home)
            cleaned = _transaction.recover(roots, home)
            if cleaned:  # one line, as an install says it (#11)
                logger.warning("finished an interrupted install first (%s)", "; ".join(cleaned))

        # Under the lock, after undoing what a killed install left: never alongside
        # an install, never on a half-published tree. (Where we may not write, no
        # install ran either, and NotInstalled must stay the answer.)
        if os.path.isdir(own) and os.access(own, os.W_OK):
            lock(own, _scheme_roots(resolved))
        while True:
            dists, missing = _find(wanted, resolved, missing_ok)
            # A distribution in another environment's directory (the user site seen
            # from a system scheme) is removed under that environment's lock.
            homes = {_home(d, resolved) for d in dists}
            if homes <= locked:
                break
            for home in sorted(homes - locked):
                lock(home, {r for d in dists if _home(d, resolved) == home for r in d.roots})
        for name in missing:
            logger.warning("Skipping %s as it is not installed", name)
        if not dists:
            return []
        plans = plan_removals(dists, resolved)
        results: dict[str, UninstallResult] = {}
        for home in sorted(homes):
            group = [p for p in plans if _home(p.dist, resolved) == home]
            tx = _transaction.Transaction(journal_dir=home)
            try:
                for result in move_out(tx, group):
                    results[result.dist_info] = result
                tx.commit()
            except BaseException as exc:
                tx.rollback()
                if isinstance(exc, OSError) and not isinstance(exc, FastinstError):
                    raise _os_error(exc) from exc
                raise
        return [results[p.dist_info] for p in plans]


def _find(
    wanted: list[str], scheme: Scheme, missing_ok: bool
) -> tuple[list[InstalledDistribution], list[str]]:
    """The first installed copy of each name, and the names not installed."""
    found = find_installed_many(wanted, scheme)
    dists, missing = [], []
    for name in wanted:
        copies = found[canonical_name(name)]
        if copies:
            dists.append(copies[0])
        elif not missing_ok:
            raise NotInstalled(name, scheme.library_dirs())
        else:
            missing.append(name)
    return dists, missing


def _resolve(scheme: SchemeLike) -> Scheme:
    if isinstance(scheme, Scheme):
        return scheme
    if scheme is not None:
        return Scheme.from_mapping(scheme)
    from ._scheme import check_externally_managed, get_scheme

    check_externally_managed()
    return get_scheme()


def _home(dist: InstalledDistribution, scheme: Scheme) -> str:
    """The directory whose lock and journal cover removing ``dist``: the scheme's
    purelib for its own library directories, else the directory ``dist`` is in."""
    location = os.path.normpath(dist.location)
    if location in (os.path.normpath(scheme.purelib), os.path.normpath(scheme.platlib)):
        return os.path.normpath(scheme.purelib)
    return location


def _scheme_roots(scheme: Scheme) -> list[str]:
    return [scheme.purelib, scheme.platlib, scheme.headers, scheme.scripts, scheme.data]


def _os_error(exc: OSError) -> InstallIOError:
    import errno

    denied = exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
    cls = PermissionDenied if denied else InstallIOError
    return cls(exc.errno, f"{exc.strerror}; nothing was uninstalled", exc.filename)


# --- the step an install shares -----------------------------------------------------------


def replaced_versions(names: Iterable[str], scheme: Scheme) -> dict[str, list[RemovalPlan]]:
    """For each of ``names`` (as given): the plans that remove its installed copies.

    Only copies in this scheme's own library directories count: a copy in the
    user site or a system directory belongs to another environment (pip leaves
    those alone too). One scan of the library directories for all names.
    """
    names = list(names)
    own = {os.path.normpath(scheme.purelib), os.path.normpath(scheme.platlib)}
    found = find_installed_many(names, scheme)
    dists = {
        name: [d for d in found[canonical_name(name)] if os.path.normpath(d.location) in own]
        for name in names
    }
    plans = iter(plan_removals([d for ds in dists.values() for d in ds], scheme))
    return {name: [next(plans) for _d in ds] for name, ds in dists.items()}


def move_out(tx: Transaction, plans: Sequence[RemovalPlan]) -> list[UninstallResult]:
    """Carry ``plans`` out inside ``tx``: every ``.dist-info`` first (a distribution
    stops being listed before any of its files goes), then the files, moved into
    the staging areas (journalled, put back by a rollback or `recover`; gone at
    the commit), then the directories this emptied.

    The directories go now rather than at the commit, so that a new version that
    has a file where the old one had a directory can be published; undoing a
    move makes the directories of the file again.
    """
    for plan in plans:
        if os.path.lexists(plan.dist_info):
            tx.move_aside(plan.dist_info, plan.dist.location, prune=False)
    moved = []
    for plan in plans:
        files = []
        for path in plan.files:
            if os.path.lexists(path):
                root = _root_of(path, plan.dist.roots) or plan.dist.location
                tx.move_aside(path, root, prune=False)
                files.append(path)
        moved.append(tuple(files))
    gone = set()
    for directory in _deepest_first({d for p in plans for d in p.dirs}):
        try:
            os.rmdir(directory)
        except OSError:
            continue  # not empty (files the distribution did not record), or gone
        gone.add(directory)
    return [
        UninstallResult(
            name=plan.dist.name,
            version=plan.dist.version,
            dist_info=plan.dist_info,
            files=files,
            dirs=tuple(d for d in plan.dirs if d in gone),
            kept=plan.kept,
        )
        for plan, files in zip(plans, moved)
    ]


# --- planning -----------------------------------------------------------------------------


def plan_removals(dists: Sequence[InstalledDistribution], scheme: Scheme) -> list[RemovalPlan]:
    """What removing ``dists`` together would do, without touching anything.

    Files that one of them shares with another installed distribution (one not
    in ``dists``) stay. What stays is logged as a warning.
    """
    guard = _Guard(scheme, dists)
    bytecode = _Bytecode()
    drafts = []
    for dist in dists:
        inside, outside = record_paths(dist)
        kept = [f"{row}: outside the environment" for row in outside]
        info = os.path.normpath(dist.dist_info) + os.sep
        files: dict[str, None] = {}
        for path in inside:
            if path.startswith(info):
                continue  # the whole .dist-info goes at once
            try:
                if stat.S_ISDIR(os.lstat(path).st_mode):
                    continue  # RECORD lists files (a symlink to a directory is one)
            except (OSError, ValueError):
                continue  # gone already (or a name no file can have: a NUL in it)
            reason = guard.refuses(path, dist)
            if reason is not None:
                kept.append(f"{path}: {reason}")
                continue
            files.setdefault(path, None)
            if path.endswith(".py"):
                for pyc in bytecode.of(path):
                    files.setdefault(pyc, None)
        drafts.append((dist, files, kept))
    shared = guard.listed_elsewhere({f for _d, files, _k in drafts for f in files})
    plans = []
    for dist, files, kept in drafts:
        for path in [f for f in files if f in shared]:
            del files[path]
            kept.append(f"{path}: {shared[path]} lists it too")
        for reason in kept:
            logger.warning("%s %s: not removing %s", dist.name, dist.version, reason)
        plans.append(
            RemovalPlan(
                dist=dist, files=tuple(files), dirs=_emptied_dirs(dist, files), kept=tuple(kept)
            )
        )
    return plans


def _emptied_dirs(dist: InstalledDistribution, files: Iterable[str]) -> tuple[str, ...]:
    """The directories that removing ``files`` may empty, deepest first.

    Those that hold one of the files; inside the library directory also their
    parents up to it (packages, and namespace packages that hold only packages).
    Elsewhere a parent that held none of the files stays even when it ends up
    empty: it may have been there before the install (``share/jupyter/kernels``
    in a venv, the skeleton of a prefix). Scheme directories always stay.
    """
    library = os.path.normpath(dist.location)
    dirs: dict[str, None] = {}
    for directory in {os.path.dirname(f) for f in files}:
        root = _root_of(directory, dist.roots)
        if root is None or directory == root:
            continue
        dirs.setdefault(directory, None)
        if is_inside(directory, library):
            parent = os.path.dirname(directory)
            while parent != library and is_inside(parent, library):
                dirs.setdefault(parent, None)
                parent = os.path.dirname(parent)
    return tuple(_deepest_first(dirs))


def _deepest_first(dirs: Iterable[str]) -> list[str]:
    return sorted(dirs, key=lambda p: (-p.count(os.sep), p))


_PYC_TAIL = r"\.[^.]+(\.opt-\d+)?\.pyc$"  # compiled (and cached) by re when used


class _Bytecode:
    """The cached bytecode of ``.py`` files for any interpreter
    (``__pycache__/m.<tag>.pyc``), each ``__pycache__`` listed once.

    pip removes the running interpreter's; the target may be another one, so
    every tag goes. Legacy ``m.pyc`` / ``m.pyo`` beside the source too.
    """

    def __init__(self) -> None:
        self.listed: dict[str, dict[str, list[str]]] = {}  # directory -> stem -> pycs

    def of(self, py: str) -> list[str]:
        import re  # (not at import: a warm install needs none)

        directory, filename = os.path.split(py)
        listed = self.listed.get(directory)
        if listed is None:
            listed = self.listed[directory] = self._list(directory)
        stem = filename[:-3]
        found = [
            p
            for p in listed.get(stem.partition(".")[0], ())
            if os.path.basename(p).startswith(stem + ".")
            and re.fullmatch(_PYC_TAIL, os.path.basename(p)[len(stem) :])
        ]
        legacy = {stem + ".pyc", stem + ".pyo"}.intersection(listed.get("", ()))
        return [os.path.join(directory, n) for n in sorted(legacy)] + found

    @staticmethod
    def _list(directory: str) -> dict[str, list[str]]:
        """``__pycache__``'s files by the first dotted part of their name; under
        ``""`` the names of legacy ``.pyc``/``.pyo`` files beside the sources."""
        listed: dict[str, list[str]] = {}
        cache = os.path.join(directory, "__pycache__")
        with suppress(OSError):
            for name in os.listdir(cache):
                if name.endswith(".pyc"):
                    listed.setdefault(name.partition(".")[0], []).append(os.path.join(cache, name))
        with suppress(OSError):
            listed[""] = [n for n in os.listdir(directory) if n.endswith((".pyc", ".pyo"))]
        return listed


def _root_of(path: str, roots: Iterable[str]) -> str | None:
    """The deepest of ``roots`` that contains ``path``."""
    inside = [r for r in roots if is_inside(path, r)]
    return max(inside, key=len) if inside else None


# The names a venv or a prefix gives its interpreter: python, python3, python3.13,
# python3.13t (free-threaded), pypy3.10.
_INTERPRETER = r"(python|pypy)(\d+(\.\d+)?t?)?"  # compiled (and cached) by re when used


class _Guard:
    """What a removal from ``scheme`` must leave alone, whatever a RECORD lists."""

    def __init__(self, scheme: Scheme, removing: Sequence[InstalledDistribution]) -> None:
        self.scheme = scheme
        self.removing = {os.path.normpath(d.dist_info) for d in removing}
        python = os.path.abspath(scheme.python)
        self.interpreter = {os.path.normpath(python), os.path.realpath(python)}
        scripts = os.path.normpath(scheme.scripts)
        self.bin_dirs = {scripts, os.path.dirname(python)}
        # pyvenv.cfg is in the environment's root: the parent of bin/ (and data/).
        self.env_roots = {os.path.normpath(scheme.data), os.path.dirname(scripts)}
        self.env_roots.add(os.path.dirname(os.path.dirname(python)))
        self.real_roots: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.real_dirs: dict[str, bool] = {}  # directory -> inside a real root

    def refuses(self, path: str, dist: InstalledDistribution) -> str | None:
        """Why ``path`` (listed in ``dist``'s RECORD) must stay, or ``None``."""
        import re  # (not at import: a warm install needs none)

        head, name = os.path.split(path)
        if "/.fastinst" in path:
            return "a file of fastinst's own"
        if path in self.interpreter or (head in self.bin_dirs and re.fullmatch(_INTERPRETER, name)):
            return "the environment's interpreter"
        if name == "pyvenv.cfg" and head in self.env_roots:
            return "the environment's pyvenv.cfg"
        real_roots = self.real_roots.get(dist.roots)
        if real_roots is None:
            real_roots = self.real_roots[dist.roots] = tuple(
                os.path.realpath(r) for r in dist.roots
            )
        # The name is inside (record_paths checked it); a symlinked directory on
        # the way must not lead the unlink elsewhere.
        inside = self.real_dirs.get(head)
        if inside is None:
            real = os.path.realpath(head)
            inside = self.real_dirs[head] = any(is_inside(real, r) for r in real_roots)
        if not inside:
            return "a directory on its path is a symlink that leads outside the environment"
        return None

    def listed_elsewhere(self, paths: set[str]) -> dict[str, str]:
        """Those of ``paths`` that an installed distribution not being removed lists
        in its RECORD, each with that distribution's name and version.

        Every other RECORD is read, but parsed only when its text holds one of
        the paths' first components (a few ``in`` tests, not a parse per row).
        """
        if not paths:
            return {}
        shared: dict[str, str] = {}
        needles: dict[str, list[str]] = {}
        for location, entry in _entries(self.scheme):
            info = os.path.join(location, entry)
            if os.path.normpath(info) in self.removing or not entry.endswith(".dist-info"):
                continue
            location = os.path.normpath(location)
            if location not in needles:
                needles[location] = _needles(paths, location)
            try:
                with open(os.path.join(info, "RECORD"), encoding="utf-8") as f:
                    text = "\n" + f.read()
            except (OSError, UnicodeDecodeError):
                continue
            if not any(n in text for n in needles[location]):
                continue
            other = _load(self.scheme, location, entry)  # read METADATA only for a hit
            import csv  # (here: csv imports re, which a warm install does without)

            with suppress(csv.Error):
                for row in csv.reader(text.splitlines()):
                    if row and row[0]:
                        path = os.path.normpath(os.path.join(location, row[0]))
                        if path in paths:
                            shared.setdefault(path, f"{other.name} {other.version}")
        return shared


def _needles(paths: Iterable[str], location: str) -> list[str]:
    """Strings that a RECORD of a distribution in ``location`` holds if it lists
    one of ``paths``, spelled as installers write rows (relative, ``/``)."""
    out: set[str] = set()
    for path in paths:
        if is_inside(path, location):
            first = path[len(location) + 1 :].split("/", 1)[0]
            out.update((f"\n{first}/", f"\n{first},", f'\n"{first}'))
        else:
            rel = os.path.relpath(path, location)
            out.update((f"\n{rel},", f'\n"{rel}', f"\n{path},", f'\n"{path}'))
    return sorted(out)
