"""One ``install()`` call: open and plan every wheel, stage, publish; roll back on any failure.

Each wheel comes from one of two sources: a cache entry (``_entry``: linked by
one core call for all such wheels) or its archive (``_archive``: extracted by one
core call for all such wheels). Everything else here is per wheel, never per file.
"""

from __future__ import annotations

import errno
import os
import stat

from . import _log, _transaction
from ._entry import KEY_NAMES, PLATLIB, PURELIB, SCRIPTS, CacheEntry, DamagedCacheEntry
from ._errors import FastinstError, InvalidWheel, os_error
from ._log import logger
from ._names import canonical_name
from ._overlaps import Skips
from ._plan import Targets, targets
from ._probe_cache import DEFAULT_CACHE as DEFAULT_CACHE  # one sentinel for both caches
from ._probe_cache import _Default as _Default
from ._scheme import Scheme
from ._tuples import NamedTuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from typing import Callable, Union, overload

    from ._archive import ArchiveSource
    from ._cache import WheelCache
    from ._distinfo import Row
    from ._link import Linker
    from ._plan import Member
    from ._remove import RemovalPlan
    from ._tags import TargetInterpreter

    Source = Union[ArchiveSource, CacheEntry]
    PathLike = Union[str, os.PathLike[str]]
    SchemeLike = Union[Scheme, Mapping[str, str], None]
    # progress(event, wheel, done, total): "wheel-start" (done=0), "bytes", "wheel-done";
    # done and total count the bytes of the wheel's files.
    ProgressCallback = Callable[[str, str, int, int], None]
else:  # collections.abc's classes without importing collections (os has imported them)
    from _collections_abc import Sequence


class RecordFiles(Sequence[str]):
    """The absolute paths an install wrote, read from its RECORD when first indexed.

    A sequence (not a tuple): its length is known at once, the paths are parsed
    from the RECORD text only when they are asked for.
    """

    __slots__ = ("_base", "_paths", "_record")

    def __init__(self, record: bytes, base: str) -> None:
        self._record = record
        self._base = base  # the directory of the .dist-info: RECORD paths are relative to it
        self._paths: tuple[str, ...] | None = None

    def _load(self) -> tuple[str, ...]:
        if self._paths is None:
            import csv

            base = self._base
            out = []
            for row in csv.reader(self._record.decode("utf-8").splitlines()):
                path = row[0]
                out.append(
                    base + "/" + path
                    if "../" not in path
                    else os.path.normpath(os.path.join(base, path))
                )
            self._paths = tuple(out)
        return self._paths

    def __len__(self) -> int:
        return self._record.count(b"\n") if self._paths is None else len(self._paths)

    if TYPE_CHECKING:

        @overload
        def __getitem__(self, index: int) -> str: ...
        @overload
        def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._load()[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __contains__(self, path: object) -> bool:
        return path in self._load()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._load())

    def __repr__(self) -> str:
        return f"RecordFiles({list(self)!r})"


class InstallResult(NamedTuple):
    """What one distribution's install did (or, with ``dry_run``, would do).

    ``files`` are the absolute paths written (RECORD included): a sequence whose
    length is known at once and whose paths are read from the installed RECORD's
    text when first asked for. ``replaced`` is the version that was there before,
    if any, and ``removed`` the files of that version that are gone afterwards;
    ``from_cache`` says whether the wheel was already unpacked in the cache.
    ``already_installed``: with ``skip_installed``, the same version was there and
    nothing was written (``dist_info`` is the installed one). ``record_issues``
    lists what is wrong with the wheel's own RECORD when it was installed with
    ``verify_record="report"`` (always empty otherwise: such a wheel is refused).
    """

    name: str
    version: str
    dist_info: str
    files: Sequence[str]
    wheel: str
    replaced: str | None = None
    removed: tuple[str, ...] = ()
    from_cache: bool = False
    already_installed: bool = False
    record_issues: tuple[str, ...] = ()


class Options(NamedTuple):
    """The per-call choices that staging needs (one object, not ten arguments)."""

    jobs: int
    link_mode: str
    requested: frozenset[str]
    direct_urls: Mapping[str, Mapping[str, object]]
    installer_name: str | None
    compile_bytecode: bool
    optimization_levels: tuple[int, ...]
    invalidation_mode: str | None
    progress: ProgressCallback | None
    # wheel path -> further .dist-info files, written byte for byte
    metadata: Mapping[str, Mapping[str, bytes]] = {}


class Planned:
    """One wheel of an install: where its files come from and where they go."""

    __slots__ = ("from_cache", "skips", "source", "started", "targets", "wheel")

    def __init__(self, source: Source, wheel: str, targets: Targets, from_cache: bool) -> None:
        self.source = source
        self.wheel = wheel  # the wheel's path as the caller gave it
        self.targets = targets
        self.from_cache = from_cache  # the cache had it before this call
        self.skips = Skips()
        self.started = not from_cache and isinstance(source, CacheEntry)  # "wheel-start" sent

    @property
    def dist_info(self) -> str:
        return self.targets.lib_root + "/" + self.source.dist_info

    # What `_tags.check_requires_python` reads: the wheel's path, name, version and
    # Requires-Python.
    @property
    def path(self) -> str:
        return self.wheel

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def version(self) -> str:
        return self.source.version

    @property
    def requires_python(self) -> str | None:
        return self.source.requires_python


def install(
    wheels: Iterable[PathLike],
    scheme: SchemeLike = None,
    *,
    verify_record: bool | str = True,
    jobs: int = 0,
    requested: bool | Iterable[PathLike] = False,
    direct_url: Mapping[PathLike, Mapping[str, object]] | None = None,
    metadata: Mapping[PathLike, Mapping[str, bytes]] | None = None,
    installer_name: str | None = "fastinst",
    interpreter: PathLike | None = None,
    skip_pycache: bool = False,
    cache_dir: PathLike | _Default | None = None,
    link_mode: str = "auto",
    compile_bytecode: bool = False,
    optimization_levels: Iterable[int] = (0,),
    invalidation_mode: str | None = None,
    progress: ProgressCallback | None = None,
    dry_run: bool = False,
    skip_installed: bool = False,
    remove: Iterable[str] = (),
    sha256: Mapping[PathLike, str] | None = None,
    ignore_requires_python: bool = False,
    ignore_tags: bool = False,
) -> list[InstallResult]:
    """Install ``wheels`` into ``scheme``, all of them or none.

    ``scheme`` is a `Scheme`, a mapping with the five scheme keys (other keys,
    such as sysconfig's ``include`` or ``stdlib``, are ignored), or ``None`` for
    the running interpreter's default (its venv when run inside one, with pip's
    fall-back to the user site when site-packages is not writable).
    ``interpreter`` is the Python that launchers, ``#!python`` scripts and
    bytecode are for; it overrides the scheme's. A mapping scheme needs it (or a
    ``"python"`` key) as soon as a wheel has scripts or bytecode is compiled.

    - ``verify_record``: ``True`` checks every file against the wheel's RECORD as
      it is written and refuses a wheel that does not match; ``"report"`` installs
      such a wheel and lists the problems in ``InstallResult.record_issues`` (what
      installer-based tools do); ``False`` does not read the wheel's RECORD.
    - ``jobs``: worker threads (0: one per CPU).
    - ``requested``: ``True`` for all wheels, or the wheels the user asked for by
      name; they get a ``REQUESTED`` file. ``direct_url`` maps a wheel path to its
      PEP 610 ``direct_url.json`` content. ``installer_name`` goes into ``INSTALLER``
      (``None``: no ``INSTALLER`` file). ``metadata`` maps a wheel path to further
      ``.dist-info`` files, ``{name: bytes}``, written byte for byte (a name given
      there replaces fastinst's own ``INSTALLER``, ``REQUESTED`` or
      ``direct_url.json``).
    - ``skip_pycache``: leave out the wheel's own ``__pycache__`` members, with a
      warning, as installer does (they are installed otherwise, as pip does).
    - ``cache_dir``: ``None`` (the default) extracts straight from the archives;
      a directory, or `DEFAULT_CACHE` for the user's cache, unpacks wheels once
      into that cache and links them from it by ``link_mode`` (``"auto"``,
      ``"clone"``, ``"hardlink"`` or ``"copy"``).
    - ``compile_bytecode``: compile the installed ``.py`` files with the target
      interpreter, at ``optimization_levels``, with ``invalidation_mode``
      (``"timestamp"``, ``"checked-hash"``, ``"unchecked-hash"``, or ``None`` for
      py_compile's default); the ``.pyc`` files go into RECORD.
    - ``progress``: called as ``progress(event, wheel, done, total)`` with ``done``
      and ``total`` in bytes of the wheel's files: ``"wheel-start"``, ``"bytes"``
      while a big wheel is written (from a helper thread), and ``"wheel-done"``
      once the wheel is wholly staged.
    - ``dry_run``: touch nothing; return what would be written, replaced, removed.
    - ``skip_installed``: leave a wheel alone when its distribution is installed at
      that version already (as pip and uv do without ``--force-reinstall``); its
      result says ``already_installed``. By default an installed version is
      always replaced.
    - ``sha256``: maps wheel paths to the SHA-256 (hex) each must have, as a lock
      file gives them: a file is checked against it before anything is written,
      and a wheel whose unpacked entry the cache has by that hash needs no file.
    - ``remove``: names of installed distributions to uninstall in the same
      transaction (what a sync does); those not installed in the scheme's own
      library directories are skipped. Not for the wheels' own distributions,
      which are replaced anyway.
    - Each wheel must suit the scheme's interpreter (``scheme.python``): its file
      name's tags (as pip's wheel selection) and its METADATA's Requires-Python
      (as pip, against the interpreter's ``X.Y.Z``), else `IncompatibleWheel`.
      ``ignore_tags`` and ``ignore_requires_python`` (pip's
      ``--ignore-requires-python``) skip these checks, for callers that
      selected the wheels for that interpreter already.

    Two wheels that ship the same file are installed as pip installs them one
    after the other: the later wheel's file is kept (both RECORDs list it), with
    a warning when the contents differ.

    Raises a `FastinstError` subclass on any failure, after rolling back.

    >>> import fastinst
    >>> fastinst.install(["dist/demo-1.0-py3-none-any.whl"], scheme=None)  # doctest: +SKIP
    [InstallResult(name='demo', version='1.0', ...)]
    """
    from ._link import LINK_MODES

    if link_mode not in LINK_MODES:
        raise ValueError(f"link_mode must be one of {', '.join(LINK_MODES)}, not {link_mode!r}")
    from . import _embed

    verify, report = _embed.record_mode(verify_record)
    resolved = _resolve_scheme(scheme, interpreter)
    order = [os.path.abspath(os.fspath(w)) for w in wheels]
    if skip_installed and not dry_run:
        # A killed install may have published a version and left its journal: finish
        # it first, or "already installed" would leave its staging and backups behind.
        _finish_interrupted(resolved, lock=True)
    present = _already_installed(order, resolved) if skip_installed else {}
    known = {os.path.abspath(os.fspath(k)): _hex(v) for k, v in (sha256 or {}).items()}
    items = [(p, known.get(p)) for p in order if p not in present]
    paths = [p for p, _pin in items]
    removed = tuple(canonical_name(n) for n in remove)
    options = Options(
        jobs=jobs,
        link_mode=link_mode,
        requested=frozenset(_requested_set(paths, requested)),
        direct_urls={os.path.abspath(os.fspath(k)): v for k, v in (direct_url or {}).items()},
        installer_name=installer_name,
        compile_bytecode=compile_bytecode,
        optimization_levels=_embed.optimization_levels(optimization_levels),
        invalidation_mode=invalidation_mode,
        progress=progress,
        metadata=_embed.metadata_files(metadata),
    )
    target = None
    if not (ignore_tags and ignore_requires_python):
        from ._tags import TargetInterpreter, check_compatible

        target = TargetInterpreter(resolved.python, cache_dir=cache_dir)
        if not ignore_tags:
            check_compatible(paths, target)  # by file name: before anything is read
    rp_target = None if ignore_requires_python else target
    if not items and not removed and not dry_run:
        return _in_order(order, [], present)
    cache = _open_cache(cache_dir)
    with _collector_paused():
        return _attempts(
            order, present, items, resolved, cache, verify, report, options,
            dry_run=dry_run, skip_pycache=skip_pycache, target=rp_target, removed=removed,
        )  # fmt: skip


def _attempts(
    order: list[str],
    present: dict[str, InstallResult],
    items: list[tuple[str, str | None]],
    resolved: Scheme,
    cache: WheelCache | None,
    verify: bool,
    report: bool,
    options: Options,
    *,
    dry_run: bool,
    skip_pycache: bool,
    target: TargetInterpreter | None,
    removed: tuple[str, ...],
) -> list[InstallResult]:
    """Open, plan and install (or report a dry run); once more after a damaged
    cache entry was dropped."""
    from . import _embed

    for attempt in (1, 2):
        try:
            planned = _open_and_plan(
                items,
                resolved,
                cache,
                verify,
                options,
                fill=not dry_run,
                skip_pycache=skip_pycache,
                target=target,
            )
            if dry_run:
                dry = _dry_run(planned, resolved, options)
                return _in_order(order, _embed.report_issues(dry, resolved, report, False), present)
            both = sorted({canonical_name(p.source.name) for p in planned}.intersection(removed))
            if both:
                raise ValueError(f"{', '.join(both)}: both installed and removed by one call")
            results = _transact(planned, resolved, options, removed)
            return _in_order(order, _embed.report_issues(results, resolved, report, True), present)
        except DamagedCacheEntry as damaged:
            # A cached file was changed (through a hardlink, say) or removed: drop
            # the entry, unpack the wheel again, and start over (nothing was published).
            entry = damaged.entry
            if attempt == 2 or cache is None:
                raise FastinstError(f"cache entry {entry.path} is damaged ({damaged})") from None
            logger.warning(
                "cache entry of %s is damaged (%s: %s); unpacking the wheel again",
                entry.wheel, os.path.relpath(damaged.path, entry.path), damaged.reason,
            )  # fmt: skip
            cache.remove(entry.digest)
    raise AssertionError("unreachable")


class _collector_paused:
    """The cyclic garbage collector paused for the duration (when it was running).

    Opening and planning a set of wheels makes objects for every member (entries,
    RECORD rows, tasks) that live until the install ends and form no reference
    cycles: the collector only walks them, again and again, on the thread the
    install waits for, and the full collection they set off (the RECORD rows tip
    it over) finds nothing to free. What the install made is freed by reference
    counting before the collector runs again: `_attempts` has returned by then.
    """

    def __enter__(self) -> None:
        import gc

        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            import gc

            gc.enable()


# --- open and plan (the same for dry runs and installs) ------------------------------


def _open_and_plan(
    items: list[tuple[str, str | None]],
    scheme: Scheme,
    cache: WheelCache | None,
    verify: bool,
    options: Options,
    *,
    fill: bool,
    skip_pycache: bool = False,
    target: TargetInterpreter | None = None,
) -> list[Planned]:
    """Open every wheel (from the cache, else its archive, unpacked into the cache
    when ``fill``), check them together (and their Requires-Python against
    ``target``'s version, unless None) and decide where each file goes."""
    from . import _embed
    from ._destinations import Places, check_destinations
    from ._overlaps import resolve

    sources, hits = _open_all(
        items, cache, verify, options.jobs, fill=fill, progress=options.progress
    )
    _check_distinct(sources, [p for p, _ in items])
    planned = [
        Planned(s, p, _targets(scheme, s), hit) for s, (p, _pin), hit in zip(sources, items, hits)
    ]
    if target is not None:
        from ._tags import check_requires_python

        check_requires_python(planned, target)
    if skip_pycache:
        _embed.drop_pycache(planned)
    _drop_own_copies(planned, options)
    places = Places(scheme)
    for p in planned:
        check_destinations(p.source, p.targets, scheme, p.wheel, places)
    if len(planned) > 1 or any(_roots_shared(p) for p in planned):
        resolve(
            sources,
            [p.targets for p in planned],
            [p.wheel for p in planned],
            [p.skips for p in planned],
        )
    _embed.check_plans(planned, scheme, options)
    return planned


def _drop_own_copies(planned: list[Planned], options: Options) -> None:
    """Leave out a wheel's own INSTALLER, REQUESTED or direct_url.json where the
    install writes that file itself (as pip replaces them)."""
    from ._distinfo import generated_names, own_copies

    for p in planned:
        names = generated_names(
            options.installer_name,
            requested=p.wheel in options.requested,
            direct_url=options.direct_urls.get(p.wheel),
        )
        p.skips.dropped |= own_copies(p.source, p.targets, names)


def _targets(scheme: Scheme, source: Source) -> Targets:
    """Where the files of ``source`` go (headers in a directory of the distribution's
    name where the scheme says so, as pip)."""
    if scheme.headers_per_distribution:
        scheme = scheme.for_distribution(canonical_name(source.name))
    roots = (scheme.purelib, scheme.platlib, scheme.headers, scheme.scripts, scheme.data)
    return targets(roots, source.lib_key)


def _in_the_way(exc: NotADirectoryError, planned: list[Planned]) -> OSError:
    """The error for a file (not one of a version being replaced: those were moved
    aside) where a wheel has a directory: refused, as pip and uv refuse it, naming
    the wheel and one of its members below that directory."""
    from ._errors import InstallIOError

    place = os.path.normpath(str(exc.filename))
    what = "a symbolic link" if os.path.islink(place) else "a file"
    for p in planned:
        member = _member_below(p, place)
        if member is not None:
            return InstallIOError(
                exc.errno,
                f"{place} is {what}, but {p.wheel} installs the directory of {member} there;"
                " nothing was installed",
                place,
            )
    return exc


def _member_below(p: Planned, place: str) -> str | None:
    """A member of ``p``'s wheel that installs below the directory ``place``."""
    source, t = p.source, p.targets
    stem = source.dist_info[: -len(".dist-info")]
    for key, root in enumerate(t.roots):
        if not place.startswith(root + "/"):
            continue
        below = place[len(root) + 1 :] + "/"
        if key == SCRIPTS:
            for ep in source.entry_points:
                if ep.name.startswith(below):
                    return f"{source.dist_info}/entry_points.txt"
            for script in source.script_files():
                if script.path.startswith(below):
                    return f"{stem}.data/scripts/{script.path}"
        for k, path, _h in source.listing():
            if k == key and path.startswith(below):
                return path if k == source.lib_key else f"{stem}.data/{KEY_NAMES[k]}/{path}"
    return None


def _roots_shared(p: Planned) -> bool:
    """Whether two keys with files go to one directory (purelib and platlib of a venv)."""
    roots = [p.targets.roots[k] for k, tops in enumerate(p.source.tops) if tops]
    return len(set(roots)) != len(roots)


def _open_all(
    items: list[tuple[str, str | None]],
    cache: WheelCache | None,
    verify: bool,
    jobs: int,
    *,
    fill: bool,
    progress: ProgressCallback | None,
) -> tuple[list[Source], list[bool]]:
    """Each wheel's source: its cache entry, else its archive (all cold wheels
    unpacked into the cache in one parallel pass when ``fill``); and for each,
    whether the cache had it already."""
    sources: list[Source | None] = []
    cold: list[tuple[int, ArchiveSource, str]] = []
    # Without a progress bar to feed, wheels are unpacked into the cache while the
    # next ones are opened (`_cache.EntryBuilder`); one wheel alone is unpacked on
    # this thread (nothing to open meanwhile, and no helper thread's malloc arena).
    background = cache is not None and fill and progress is None and len(items) > 1
    builder = None  # made for the first cold wheel: a warm install needs none of it
    try:
        for path, pin in items:
            digest = None
            if cache is not None:
                digest = pin or _wheel_digest(cache, path)
                entry = cache.load(digest, verified=verify)
                if entry is not None:
                    if os.path.basename(path) != entry.wheel:  # the same bytes, another name
                        from ._wheel import check_filename

                        check_filename(path, entry.dist_info)
                    sources.append(entry)
                    continue
            if pin is not None:
                if not os.path.exists(path):
                    where = "in the cache" if cache is not None else "in a cache (none is used)"
                    raise InvalidWheel(
                        path, f"the wheel is not {where} and the file does not exist"
                    )
                digest = _wheel_digest(cache, path)
                if digest != pin:
                    from ._errors import RecordMismatch

                    raise RecordMismatch(path, f"its sha256 is {digest}, not the expected {pin}")
            from ._archive import ArchiveSource
            from ._wheel import open_wheel

            source = ArchiveSource(open_wheel(path, verify_record=verify))
            if cache is not None and fill:
                assert digest is not None
                cold.append((len(sources), source, digest))
                sources.append(None)
                if background:
                    assert cache is not None
                    if builder is None:
                        builder = cache.builder(jobs, verified=verify)
                    builder.add(source, digest)
            else:
                sources.append(source)
        if cold:
            assert cache is not None
            try:
                if builder is not None:
                    filled = builder.close()
                else:
                    with _ByteProgress([(items[i][0], s.size) for i, s, _d in cold], progress) as c:
                        filled = cache.populate_many(
                            [(s, d) for _i, s, d in cold], jobs, verified=verify, counters=c
                        )
            except OSError as exc:
                if isinstance(exc, FastinstError) and not _in_cache(exc, cache):
                    raise
                # Writing into the cache failed (a full cache filesystem, say): the
                # environment may well have room.
                _cache_unusable(cache, exc)
                filled = [s for _i, s, _d in cold]  # type: ignore[misc]
            for (i, _w, _d), made in zip(cold, filled):
                sources[i] = made
    finally:
        if builder is not None:
            builder.abort()
    cold_at = {i for i, _w, _d in cold}
    hits = [i not in cold_at and isinstance(s, CacheEntry) for i, s in enumerate(sources)]
    return [s for s in sources if s is not None], hits


def _in_cache(exc: OSError, cache: WheelCache) -> bool:
    """Whether ``exc`` is about a path in the cache (not the wheel, not the environment)."""
    name = exc.filename
    return isinstance(name, str) and os.path.abspath(name).startswith(cache.root + os.sep)


def _cache_unusable(cache: WheelCache, exc: OSError) -> None:
    """Say that the install goes on from the archives: a warning when the cache's
    filesystem is full (or over quota), which the user may want to know about."""
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    reason = exc.strerror or str(exc)
    if reason.endswith("; nothing was installed"):  # an InstallIOError's wording
        reason = reason[: -len("; nothing was installed")]
    logger.log(
        _log.WARNING if full else _log.INFO,
        "cache %s not usable (%s); installing from the archives",
        cache.root,
        reason,
    )


def _wheel_digest(cache: WheelCache | None, path: str) -> str:
    from . import _backend

    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        regular = False
    if not regular:  # before hashing it: a FIFO or /dev/zero never ends
        from ._wheel import check_wheel_file  # (a warm install does not import _wheel)

        check_wheel_file(path)  # says what it is
    try:
        return cache.wheel_digest(path) if cache is not None else _backend.core.sha256_file(path)
    except OSError as exc:
        raise InvalidWheel(path, f"cannot read wheel: {exc.strerror or exc}") from None


def _check_distinct(sources: Sequence[Source], paths: Sequence[str]) -> None:
    seen: dict[str, str] = {}
    for source, path in zip(sources, paths):
        key = canonical_name(source.name)
        if key in seen:
            raise InvalidWheel(path, f"{source.name} is already being installed from {seen[key]}")
        seen[key] = path


# --- stage, publish, commit -----------------------------------------------------------


def _transact(
    planned: list[Planned], scheme: Scheme, options: Options, remove: tuple[str, ...] = ()
) -> list[InstallResult]:
    """Stage, publish and commit under the environment lock; roll back on any failure."""
    tx = _transaction.Transaction(journal_dir=scheme.purelib)
    try:
        tx.make_root(scheme.purelib)
        with _transaction.environment_lock(scheme.purelib):
            try:
                _finish_interrupted(scheme, lock=False)
                results = _install_locked(tx, planned, scheme, options, remove)
                tx.commit()
            except BaseException:
                # Still under the lock: once it is released, another install may
                # publish over the files this one would move back.
                tx.rollback()
                raise
    except BaseException as exc:
        tx.rollback()  # again: a failure before the lock; a no-op after the one above
        if isinstance(exc, OSError) and not isinstance(exc, FastinstError):
            raise os_error(exc) from exc
        raise
    return results


def _finish_interrupted(scheme: Scheme, *, lock: bool) -> None:
    """Finish or undo what killed installs left in ``scheme`` (its journals and
    staging areas). ``lock``: take the environment lock for it, when a journal is
    there at all (the caller does not hold the lock)."""
    if lock:
        try:
            names = os.listdir(scheme.purelib)
        except OSError:
            return
        if not any(n.startswith(_transaction.JOURNAL_PREFIX) for n in names):
            return
        with _transaction.environment_lock(scheme.purelib):
            _finish_interrupted(scheme, lock=False)
        return
    cleaned = _transaction.recover(_roots(scheme), scheme.purelib)
    if cleaned:  # one line: the slow start has a reason
        logger.warning("finished an interrupted install first (%s)", "; ".join(cleaned))


def _install_locked(
    tx: _transaction.Transaction,
    planned: list[Planned],
    scheme: Scheme,
    options: Options,
    remove: tuple[str, ...] = (),
) -> list[InstallResult]:
    from ._distinfo import current_umask, write_metadata, write_record
    from ._link import Linker
    from ._scripts import exec_mode, write_scripts

    umask = current_umask()
    file_mode = 0o666 & ~umask
    progress = options.progress
    bulk = _extract_archives(
        tx, [p for p in planned if not isinstance(p.source, CacheEntry)], options
    )
    own: list[list[Row]] = []
    with _Linked(
        Linker(tx, options.link_mode, options.jobs, umask),
        [p for p in planned if isinstance(p.source, CacheEntry)],
        progress,
    ) as linked:
        # While the core links the cached files (without the GIL, on other threads),
        # this thread writes what depends on no linked file.
        for p in planned:
            source, t = p.source, p.targets
            rows = write_scripts(
                tx, source, t.scripts, t.prefixes[SCRIPTS], scheme.python, exec_mode(umask),
                p.skips.generated,
            )  # fmt: skip
            rows += write_metadata(
                tx,
                t.lib_root,
                source.dist_info,
                options.installer_name,
                file_mode,
                requested=p.wheel in options.requested,
                direct_url=options.direct_urls.get(p.wheel),
                extra=options.metadata.get(p.wheel, {}),
            )
            own.append(rows)
        old = _move_old_versions_aside(tx, planned, scheme)
        if remove:
            _remove_others(tx, scheme, remove)
    bulk.update(linked.records)
    records = []
    for p, rows in zip(planned, own):
        source, t = p.source, p.targets
        if options.compile_bytecode:
            rows += _compile(tx, p, scheme, options)
        records.append(write_record(tx, t.lib_root, source.dist_info, bulk[id(p)], rows, file_mode))
        if progress is not None:
            progress("wheel-done", p.wheel, _size(source), _size(source))
    try:
        tx.publish_all({(p.targets.lib_root, p.source.dist_info) for p in planned})
    except NotADirectoryError as exc:
        raise _in_the_way(exc, planned) from None
    return [_result(p, RecordFiles(r, p.targets.lib_root), old) for p, r in zip(planned, records)]


class _Linked:
    """``with _Linked(linker, planned, progress) as linked:`` links the files of
    the wheels read from cache entries into the staging areas (one core call, on
    a helper thread) while the body runs; then ``linked.records`` holds, by
    ``id(planned)``, the RECORD text of those files. Whatever the body raises,
    the core has returned before the exception leaves (a rollback must not
    remove staging areas it writes into). Wheels whose entry this call unpacked
    reported their bytes already."""

    def __init__(
        self, linker: Linker, planned: list[Planned], progress: ProgressCallback | None
    ) -> None:
        self.order = [p for p in planned if not p.started] + [p for p in planned if p.started]
        self.linker = linker
        reported = [(p.wheel, p.source.size) for p in self.order if not p.started]
        self.progress = _ByteProgress(reported, progress, slots=len(self.order))
        self.records: dict[int, bytes] = {}

    def __enter__(self) -> _Linked:
        if not self.order:
            return self
        wheels = []
        for p in self.order:
            entry = p.source
            assert isinstance(entry, CacheEntry)
            wheels.append((entry, p.targets, p.skips.mask(entry.files)))
        counters = self.progress.__enter__()
        try:
            self.linking = self.linker.start(wheels, counters)
        except BaseException:
            self.progress.__exit__()
            raise
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if not self.order:
            return
        try:
            if exc is not None:
                self.linking.wait()
                return
            records = self.linking.join()
        finally:
            self.progress.__exit__()
        for p, record in zip(self.order, records):
            p.started = True
            self.records[id(p)] = record


class _ByteProgress:
    """Byte counters for the core to fill, reported by a thread while it works.

    ``with _ByteProgress([(wheel, total), ...], progress) as counters:`` gives
    ``None`` when ``progress`` is; otherwise a ``bytearray`` of 8 bytes per wheel
    that the core adds to (without the GIL), and a thread that sends ``"bytes"``
    events every 0.1 s for the wheels whose count moved, and a last one for each
    (``done == total``) when the core is done.
    """

    def __init__(
        self, wheels: list[tuple[str, int]], progress: ProgressCallback | None, slots: int = 0
    ) -> None:
        self.wheels = wheels
        self.progress = progress
        # ``slots``: counters for more jobs than are reported (the first ones are)
        self.counters = bytearray(8 * max(len(wheels), slots))
        self.sent = [0] * len(wheels)

    def __enter__(self) -> bytearray | None:
        if self.progress is None:
            return None
        import threading

        for wheel, total in self.wheels:
            self.progress("wheel-start", wheel, 0, total)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self.counters

    def _send(self) -> None:
        assert self.progress is not None
        for i, (wheel, total) in enumerate(self.wheels):
            done = min(int.from_bytes(self.counters[8 * i : 8 * i + 8], "little"), total)
            if done != self.sent[i]:
                self.sent[i] = done
                self.progress("bytes", wheel, done, total)

    def _run(self) -> None:
        while not self.done.wait(0.1):
            self._send()

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.done.set()
            self.thread.join()
            for wheel, total in self.wheels:
                self.progress("bytes", wheel, total, total)


def _extract_archives(
    tx: _transaction.Transaction, planned: list[Planned], options: Options
) -> dict[int, bytes]:
    """Extract the files of the wheels read from their archives into the staging
    areas; by ``id(planned)``, the RECORD text of those files. Every wheel was
    planned already: the core starts on the first wheel's tasks while the next
    wheels' are made (`_archive.Extraction`), and each wheel's RECORD text is made
    while the core writes the later ones (with a progress callback, one core call
    for all, whose byte counters feed it)."""
    if not planned:
        return {}
    from . import _archive
    from ._records import format_record

    jobs = []
    dirs: set[str] = set()
    wheels = [(p.wheel, p.source.size) for p in planned]
    with (
        _ByteProgress(wheels, options.progress) as counters,
        _archive.Extraction(
            options.jobs, background=counters is None and len(planned) > 1, counters=counters
        ) as extraction,
    ):
        for p in planned:
            source = p.source
            assert not isinstance(source, CacheEntry)
            skipped = p.skips.rows | p.skips.dropped
            members = [m for i, m in enumerate(source.layout.files) if i not in skipped]
            stages = [""] * len(KEY_NAMES)
            for key in sorted({m.key for m in members}):
                root = p.targets.roots[key]
                stages[key] = tx.stage_dir(root) + "/"
                tx.add_tops(root, {m.path.partition("/")[0] for m in members if m.key == key})
            dests = [stages[m.key] + m.path for m in members]
            new: list[str] = []
            for parent in {d.rpartition("/")[0] for d in dests}:
                while parent + "/" not in stages and parent not in dirs:
                    dirs.add(parent)
                    new.append(parent)
                    parent = parent.rpartition("/")[0]
            modes = [0o777 if m.executable else 0o666 for m in members]
            todo = _archive.tasks(source.wheel, members, dests, modes)
            jobs.append((source.wheel, members, todo))
            extraction.add(source.wheel, members, todo, sorted(new, key=lambda d: d.count("/")))
        out: dict[int, bytes] = {}
        for index, blob in extraction.done():
            p = planned[index]
            wheel, members, todo = jobs[index]
            _archive.check_other_algorithms(wheel, members, todo)
            out[id(p)] = format_record(_archive_rows(p, members, blob))
            p.started = True
    return out


def _archive_rows(p: Planned, members: list[Member], blob: bytes) -> list[tuple[str, str, str]]:
    """RECORD rows of a wheel's extracted files, and of those a later wheel writes."""
    from ._archive import ArchiveSource, record_rows

    source = p.source
    assert isinstance(source, ArchiveSource)
    rows = record_rows(members, blob, p.targets.prefixes)
    if p.skips.rows:
        for i in sorted(p.skips.rows):
            m = source.layout.files[i]
            rows.append((p.targets.prefixes[m.key] + m.path, source.file_hash(i), str(m.entry[5])))
    return rows


def _size(source: Source) -> int:
    return source.size


def _compile(
    tx: _transaction.Transaction, p: Planned, scheme: Scheme, options: Options
) -> list[tuple[str, str, str]]:
    """Compile the wheel's staged ``.py`` files; the rows of the ``.pyc`` files."""
    from ._bytecode import compile_staged

    t = p.targets
    skipped = p.skips.rows | p.skips.dropped
    libs = (PURELIB, PLATLIB)
    sources = [
        (t.roots[key], path)
        for i, (key, path, _h) in enumerate(p.source.listing())
        if key in libs and path.endswith(".py") and i not in skipped
    ]
    return compile_staged(
        tx,
        scheme.python,
        sources,
        {t.roots[key]: t.prefixes[key] for key in libs},
        optimization_levels=options.optimization_levels,
        invalidation_mode=options.invalidation_mode,
        workers=options.jobs,
    )


# --- results ---------------------------------------------------------------------------


def _result(
    p: Planned,
    files: Sequence[str],
    old: Mapping[str, tuple[str | None, list[str], list[RemovalPlan]]],
) -> InstallResult:
    """The result of one wheel: installed with ``files``, or (dry run) to be."""
    replaced, old_files, _removals = old.get(p.source.name, (None, [], []))
    removed: tuple[str, ...] = ()
    if old_files:
        new = set(files)
        removed = tuple(f for f in old_files if f not in new)
    return InstallResult(
        name=p.source.name,
        version=p.source.version,
        dist_info=p.dist_info,
        files=files,
        wheel=p.wheel,
        replaced=replaced,
        removed=removed,
        from_cache=p.from_cache,
    )


def _dry_run(planned: list[Planned], scheme: Scheme, options: Options) -> list[InstallResult]:
    """What installing the wheels would write, replace and remove, touching nothing."""
    old = _old_versions(planned, scheme)
    return [_result(p, _would_write(p, scheme, options), old) for p in planned]


def _would_write(p: Planned, scheme: Scheme, options: Options) -> tuple[str, ...]:
    """The absolute paths that installing one wheel would write."""
    from ._distinfo import generated_names
    from ._scripts import launcher_kind, make_launcher

    t, source = p.targets, p.source
    dropped = p.skips.dropped
    files = [
        t.absolute(t.prefixes[key] + path)
        for i, (key, path, _h) in enumerate(source.listing())
        if i not in dropped
    ]
    files += [t.absolute(t.prefixes[SCRIPTS] + s.path) for s in source.script_files()]
    kind = launcher_kind()
    files += [
        t.scripts + "/" + make_launcher(ep, scheme.python, kind)[0] for ep in source.entry_points
    ]
    info = p.dist_info
    names = {"RECORD", *options.metadata.get(p.wheel, {})}
    names.update(
        generated_names(
            options.installer_name,
            requested=p.wheel in options.requested,
            direct_url=options.direct_urls.get(p.wheel),
        )
    )
    files += [f"{info}/{name}" for name in sorted(names)]
    return tuple(files)


# --- scheme and arguments -----------------------------------------------------------


def _open_cache(cache_dir: PathLike | _Default | None) -> WheelCache | None:
    if cache_dir is None:
        return None
    from ._cache import default_cache_dir, open_cache

    return open_cache(default_cache_dir() if cache_dir is DEFAULT_CACHE else os.fspath(cache_dir))


def _hex(digest: str) -> str:
    """A SHA-256 in hex, lower case; ValueError for anything else."""
    pin = digest.lower()
    if len(pin) != 64 or not all(c in "0123456789abcdef" for c in pin):
        raise ValueError(f"not a SHA-256 in hex: {digest!r}")
    return pin


def _resolve_scheme(scheme: SchemeLike, interpreter: PathLike | None = None) -> Scheme:
    python = None if interpreter is None else os.fspath(interpreter)
    if isinstance(scheme, Scheme):
        resolved = scheme
    elif scheme is not None:
        # A mapping may name its interpreter ("python"); if not, the calling
        # tool's own (sys.executable) is usually the wrong one, so there is none
        # yet, and `_embed.check_plans` asks for it once a wheel needs it.
        python = python or scheme.get("python") or ""
        return Scheme.from_mapping(scheme, python=python)
    else:
        from ._scheme import choose_install_scheme

        resolved, notice = choose_install_scheme()
        if notice:
            logger.warning("%s", notice)
    if python is None or python == resolved.python:
        return resolved
    fields = {name: getattr(resolved, name) for name in Scheme._FIELDS}
    return Scheme(**{**fields, "python": python})


def _requested_set(paths: list[str], requested: bool | Iterable[PathLike]) -> set[str]:
    if requested is True:
        return set(paths)
    if requested is False:
        return set()
    return {os.path.abspath(os.fspath(p)) for p in requested}


def _roots(scheme: Scheme) -> list[str]:
    return [scheme.purelib, scheme.platlib, scheme.headers, scheme.scripts, scheme.data]


# --- versions installed already, distributions removed --------------------------------


def _already_installed(paths: list[str], scheme: Scheme) -> dict[str, InstallResult]:
    """The wheels among ``paths`` whose name and version (from the file name) are
    installed in the scheme's own library directories, with their results."""
    from ._installed import find_installed_many

    named = {p: _name_and_version(p) for p in paths}
    found = find_installed_many([name for name, _v in named.values()], scheme)
    own = {os.path.normpath(scheme.purelib), os.path.normpath(scheme.platlib)}
    present = {}
    for path, (name, version) in named.items():
        for dist in found[name]:
            if os.path.normpath(dist.location) in own and _same_version(dist.version, version):
                logger.info(
                    "%s %s is already installed; %s left alone", dist.name, dist.version, path
                )
                present[path] = InstallResult(
                    name=dist.name,
                    version=dist.version,
                    dist_info=dist.dist_info,
                    files=(),
                    wheel=path,
                    already_installed=True,
                )
                break
    return present


def _name_and_version(path: str) -> tuple[str, object]:
    """The normalised name and the version of a wheel file name: the version as
    written when the name has the usual form (compared as a string first, see
    `_same_version`), else as packaging parses it."""
    stem = os.path.basename(path)
    if stem.endswith(".whl"):
        parts = stem[:-4].split("-")
        if len(parts) in (5, 6) and all(parts) and "__" not in parts[0]:
            return canonical_name(parts[0]), parts[1]
    from ._wheel import _parse_filename

    return _parse_filename(path)


def _same_version(installed: str, version: object) -> bool:
    """Whether an installed version is ``version`` (a string from a file name, or a
    packaging ``Version``); packaging is only imported when the strings differ."""
    if isinstance(version, str) and installed == version:
        return True
    from packaging.version import InvalidVersion, Version

    try:
        return Version(installed) == (Version(version) if isinstance(version, str) else version)
    except InvalidVersion:
        return installed == str(version)


def _in_order(
    order: list[str], results: list[InstallResult], present: dict[str, InstallResult]
) -> list[InstallResult]:
    """``results`` and the already installed ``present`` ones, in the order asked."""
    if not present:
        return results
    done = {r.wheel: r for r in results}
    return [present.get(p) or done[p] for p in order]


def _remove_others(tx: _transaction.Transaction, scheme: Scheme, names: tuple[str, ...]) -> None:
    """Uninstall ``names`` inside ``tx`` (for a sync), before anything is published:
    only copies in the scheme's own library directories, as an upgrade replaces them."""
    from ._remove import move_out, replaced_versions

    move_out(tx, [r for removals in replaced_versions(names, scheme).values() for r in removals])


# --- the version installed before -------------------------------------------------------


def _old_versions(
    planned: list[Planned], scheme: Scheme
) -> dict[str, tuple[str | None, list[str], list[RemovalPlan]]]:
    """For each wheel's distribution: the installed version, its files (dist-info
    last), and the plans that remove it (`_remove`, shared with uninstall)."""
    from ._installed import find_installed_many

    names = [p.source.name for p in planned]
    old: dict[str, tuple[str | None, list[str], list[RemovalPlan]]] = {}
    own = {os.path.normpath(scheme.purelib), os.path.normpath(scheme.platlib)}
    found = find_installed_many(names, scheme)
    if not any(os.path.normpath(d.location) in own for ds in found.values() for d in ds):
        return {name: (None, [], []) for name in names}  # (and `_remove` not imported)
    from ._remove import replaced_versions

    for name, removals in replaced_versions(names, scheme).items():
        files = [f for r in removals for f in (*r.files, r.dist_info)]
        old[name] = (removals[0].dist.version if removals else None, files, removals)
    return old


def _move_old_versions_aside(
    tx: _transaction.Transaction, planned: list[Planned], scheme: Scheme
) -> dict[str, tuple[str | None, list[str], list[RemovalPlan]]]:
    """Move every file of an installed version out of the way (back on rollback);
    after the commit they are gone, and so are the directories they left empty."""
    old = _old_versions(planned, scheme)
    removals = [r for _v, _f, plans in old.values() for r in plans]
    if removals:
        from ._remove import move_out

        move_out(tx, removals)
    return old
