"""One ``install()`` call: open, plan, stage, publish; roll back on any failure."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple, Union

from . import _transaction
from ._errors import (
    CoreFailure,
    FastinstError,
    InvalidWheel,
)
from ._names import canonical_name as canonicalize_name
from ._plan import WheelPlan, plan_wheel
from ._probe_cache import DEFAULT_CACHE as DEFAULT_CACHE  # one sentinel for both caches
from ._probe_cache import _Default as _Default
from ._scheme import Scheme
from ._stage import (
    DamagedCacheEntry,
    Options,
    ProgressCallback,
    bulk_record_rows,
    compile_sources,
    core_error,
    current_umask,
    os_error,
    wheel_bytes,
    write_bulk,
    write_metadata,
    write_record,
    write_scripts,
)
from ._wheel import (
    NAME,
    Wheel,
    check_filename,
    open_wheel,
)

if TYPE_CHECKING:
    from ._cache import WheelCache
    from ._remove import RemovalPlan
    from ._tags import TargetInterpreter

logger = logging.getLogger("fastinst")

PathLike = Union[str, "os.PathLike[str]"]
SchemeLike = Union[Scheme, Mapping[str, str], None]


class InstallResult(NamedTuple):
    """What one distribution's install did (or, with ``dry_run``, would do).

    ``files`` are the absolute paths written (RECORD included); ``replaced`` is
    the version that was there before, if any, and ``removed`` the files of that
    version that are gone afterwards; ``from_cache`` says whether the wheel was
    already unpacked in the cache. ``already_installed``: with
    ``skip_installed``, the same version was there and nothing was written
    (``dist_info`` is the installed one). ``record_issues`` lists what is wrong
    with the wheel's own RECORD when it was installed with
    ``verify_record="report"`` (always empty otherwise: such a wheel is refused).
    """

    name: str
    version: str
    dist_info: str
    files: tuple[str, ...]
    wheel: str
    replaced: str | None = None
    removed: tuple[str, ...] = ()
    from_cache: bool = False
    already_installed: bool = False
    record_issues: tuple[str, ...] = ()


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
    - ``progress``: called as ``progress(event, wheel, done, total)``.
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
    present = _already_installed(order, resolved) if skip_installed else {}
    paths = [p for p in order if p not in present]
    remove = tuple(canonicalize_name(n) for n in remove)
    known = {os.path.abspath(os.fspath(k)): v.lower() for k, v in (sha256 or {}).items()}
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
    if dry_run:
        opened = [_open_for_dry_run(p, known.get(p), cache_dir, verify) for p in paths]
        plans = _plan_all(opened, resolved, options, skip_pycache, rp_target)
        dry = _embed.report_issues(_dry_run(plans, resolved, options), resolved, report, False)
        return _in_order(order, dry, present)
    if not paths and not remove:
        return _in_order(order, [], present)
    cache = _open_cache(cache_dir)
    for attempt in (1, 2):
        opened = _open_all(paths, cache, verify, jobs, known)
        plans = _plan_all(opened, resolved, options, skip_pycache, rp_target)
        both = sorted({canonicalize_name(p.wheel.name) for p in plans}.intersection(remove))
        if both:
            raise ValueError(f"{', '.join(both)}: both installed and removed by one call")
        try:
            results = _transact(plans, resolved, options, remove)
            return _in_order(order, _embed.report_issues(results, resolved, report, True), present)
        except DamagedCacheEntry as damaged:
            # A file vanished from a cache entry: drop the entry, unpack the wheel
            # again, and start over (nothing was published).
            if attempt == 2 or cache is None:
                raise FastinstError(f"cache entry {damaged.entry} is damaged") from None
            logger.warning("cache entry %s is damaged; unpacking the wheel again", damaged.entry)
            cache.remove(os.path.basename(damaged.entry))
    raise AssertionError("unreachable")


def _plan_all(
    opened: list[Wheel],
    scheme: Scheme,
    options: Options,
    skip_pycache: bool,
    target: TargetInterpreter | None,
) -> list[WheelPlan]:
    """Check the opened wheels together and plan each one."""
    from . import _embed

    _check_distinct(opened)
    if target is not None:  # None when Requires-Python is ignored
        from ._tags import check_requires_python

        check_requires_python(opened, target)
    if skip_pycache:
        _embed.drop_pycache(opened)
    plans = [plan_wheel(w, scheme.for_distribution(canonicalize_name(w.name))) for w in opened]
    _check_no_overlap(plans)
    _embed.check_plans(plans, options)
    return plans


def _transact(
    plans: list[WheelPlan], scheme: Scheme, options: Options, remove: tuple[str, ...] = ()
) -> list[InstallResult]:
    """Stage, publish and commit under the environment lock; roll back on any failure."""
    tx = _transaction.Transaction(journal_dir=scheme.purelib)
    try:
        tx.make_root(scheme.purelib)
        with _transaction.environment_lock(scheme.purelib):
            try:
                cleaned = _transaction.recover(_roots(scheme), scheme.purelib)
                if cleaned:  # one line: the slow start has a reason
                    logger.warning("finished an interrupted install first (%s)", "; ".join(cleaned))
                results = _install_locked(tx, plans, scheme, options, remove)
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


def _install_locked(
    tx: _transaction.Transaction,
    plans: list[WheelPlan],
    scheme: Scheme,
    options: Options,
    remove: tuple[str, ...] = (),
) -> list[InstallResult]:
    umask = current_umask()
    digests = write_bulk(tx, plans, options)
    written: list[list[tuple[str, str, str]]] = []
    for plan in plans:
        rows = bulk_record_rows(plan, digests.get(id(plan)))
        rows += write_scripts(tx, plan, umask)
        if options.compile_bytecode:
            rows += compile_sources(tx, plan, options)
        rows += write_metadata(
            tx,
            plan,
            options.installer_name,
            requested=plan.wheel.path in options.requested,
            direct_url=options.direct_urls.get(plan.wheel.path),
            extra=options.metadata.get(plan.wheel.path, {}),
        )
        rows.append(write_record(tx, plan, rows))
        written.append(rows)
        if options.progress is not None:  # every file of this wheel is staged
            total = wheel_bytes(plan)
            options.progress("wheel-done", plan.wheel.path, total, total)
    old = _move_old_versions_aside(tx, plans, scheme)
    if remove:
        _remove_others(tx, scheme, remove)
    _publish(tx, plans)
    results = []
    for plan, rows in zip(plans, written):
        files = tuple(_absolute(plan, path) for path, _h, _s in rows)
        replaced, old_files, _r = old.get(plan.wheel.name, (None, [], []))
        new = set(files)
        results.append(
            InstallResult(
                name=plan.wheel.name,
                version=plan.wheel.version,
                dist_info=plan.dist_info_dest,
                files=files,
                wheel=plan.wheel.path,
                replaced=replaced,
                removed=tuple(f for f in old_files if f not in new),
                from_cache=plan.wheel.cache_hit,
            )
        )
    return results


def _dry_run(plans: list[WheelPlan], scheme: Scheme, options: Options) -> list[InstallResult]:
    """What ``install`` would do, computed without writing anything."""
    from ._scripts import launcher_kind, make_launcher

    results = []
    kind = launcher_kind()
    old = _old_versions(plans, scheme)
    for plan in plans:
        files = [a.dest for a in plan.files] + [a.dest for a in plan.scripts]
        files += [
            scheme.scripts + "/" + make_launcher(ep, scheme.python, kind)[0]
            for ep in plan.launchers
        ]
        info = plan.dist_info_dest
        names = {"RECORD", *options.metadata.get(plan.wheel.path, {})}
        if options.installer_name is not None:
            names.add("INSTALLER")
        if plan.wheel.path in options.requested:
            names.add("REQUESTED")
        if plan.wheel.path in options.direct_urls:
            names.add("direct_url.json")
        files += [f"{info}/{name}" for name in sorted(names)]
        replaced, old_files, _r = old[plan.wheel.name]
        new = set(files)
        results.append(
            InstallResult(
                name=plan.wheel.name,
                version=plan.wheel.version,
                dist_info=info,
                files=tuple(files),
                wheel=plan.wheel.path,
                replaced=replaced,
                removed=tuple(f for f in old_files if f not in new),
            )
        )
    return results


# --- where the files come from: the cache or the archives ---------------------------


def _open_cache(cache_dir: PathLike | _Default | None) -> WheelCache | None:
    if cache_dir is None:
        return None
    from ._cache import WheelCache, default_cache_dir

    return WheelCache(default_cache_dir() if cache_dir is DEFAULT_CACHE else os.fspath(cache_dir))


def _open_all(
    paths: list[str],
    cache: WheelCache | None,
    verify_record: bool,
    jobs: int,
    known: Mapping[str, str],
) -> list[Wheel]:
    """Open every wheel: from the cache when it has it, else from the archive (and
    unpack it into the cache, all cold wheels in one parallel pass).

    ``known`` maps paths to the SHA-256 their wheels must have (a lock's): such a
    wheel is looked up in the cache by it, with no need for the file, and a file
    that is read is checked against it first.
    """
    if cache is None:
        for p in paths:
            if p in known:
                _check_sha256(p, known[p], None)
        return [open_wheel(p, verify_record=verify_record) for p in paths]
    wheels: list[Wheel] = []
    cold: list[tuple[int, Wheel, str]] = []
    for p in paths:
        digest = known.get(p)
        if digest is None:
            try:
                digest = cache.wheel_digest(p)
            except OSError as exc:
                raise InvalidWheel(p, f"cannot read wheel: {exc.strerror or exc}") from None
        cached = cache.load(digest, p, verified=verify_record)
        if cached is not None:
            check_filename(p, cached.dist_info)
            cached.cache_hit = True
            wheels.append(cached)
            continue
        if p in known:
            _check_sha256(p, digest, cache)
        wheel = open_wheel(p, verify_record=verify_record)
        cold.append((len(wheels), wheel, digest))
        wheels.append(wheel)
    if cold:
        try:
            populated = cache.populate_many(
                [(w, d) for _i, w, d in cold], jobs, verified=verify_record
            )
        except CoreFailure as failure:
            _i, wheel, _d = cold[failure.job]
            member = wheel.files[failure.index]
            raise core_error(failure, wheel.path, member[NAME], "") from None
        except OSError as exc:
            logger.info("cache %s not usable (%s); installing from the archives", cache.root, exc)
            return wheels
        for (i, _w, _d), w in zip(cold, populated):
            wheels[i] = w
    return wheels


def _open_for_dry_run(
    path: str, digest: str | None, cache_dir: PathLike | _Default | None, verify_record: bool
) -> Wheel:
    """The wheel, read without writing anything: a wheel of known hash from the cache
    when the cache has it (its file may be gone), else from its archive."""
    if digest is not None:
        cache = _open_cache(cache_dir)
        cached = None if cache is None else cache.load(digest, path, verified=verify_record)
        if cached is not None:
            check_filename(path, cached.dist_info)
            return cached
        _check_sha256(path, digest, None)
    return open_wheel(path, verify_record=verify_record)


def _check_sha256(path: str, want: str, cache: WheelCache | None) -> None:
    from ._errors import RecordMismatch

    try:
        if cache is not None:
            actual = cache.wheel_digest(path)  # remembered by (size, mtime, inode)
        else:
            from ._backend import core

            actual = core.sha256_file(path)
    except OSError as exc:
        raise InvalidWheel(path, f"cannot read wheel: {exc.strerror or exc}") from None
    if actual != want:
        raise RecordMismatch(path, f"its sha256 is {actual}, not the expected {want}")


# --- scheme and arguments -----------------------------------------------------------


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


def _already_installed(paths: list[str], scheme: Scheme) -> dict[str, InstallResult]:
    """The wheels among ``paths`` whose name and version (from the file name) are
    installed in the scheme's own library directories, with their results."""
    from ._installed import find_installed_many
    from ._wheel import _parse_filename

    named = {p: _parse_filename(p) for p in paths}
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


def _same_version(installed: str, version: object) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(installed) == version
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


def _check_distinct(wheels: list[Wheel]) -> None:
    seen: dict[str, str] = {}
    for w in wheels:
        key = canonicalize_name(w.name)
        if key in seen:
            raise InvalidWheel(w.path, f"{w.name} is already being installed from {seen[key]}")
        seen[key] = w.path


def _check_no_overlap(plans: list[WheelPlan]) -> None:
    """Two wheels of one install may not write the same file."""
    if len(plans) < 2:
        return
    owner: dict[str, str] = {}
    for plan in plans:
        dests = [a.dest for a in plan.files] + [a.dest for a in plan.scripts]
        dests += [plan.scheme.scripts + "/" + ep.name for ep in plan.launchers]
        for dest in dests:
            other = owner.setdefault(dest, plan.wheel.path)
            if other != plan.wheel.path:
                raise InvalidWheel(plan.wheel.path, f"{dest} is also installed by {other}")


def _roots(scheme: Scheme) -> list[str]:
    return [scheme.purelib, scheme.platlib, scheme.headers, scheme.scripts, scheme.data]


def _absolute(plan: WheelPlan, record_path: str) -> str:
    if "../" not in record_path:
        return plan.lib_root + "/" + record_path
    return os.path.normpath(os.path.join(plan.lib_root, record_path))


def _old_versions(
    plans: list[WheelPlan], scheme: Scheme
) -> dict[str, tuple[str | None, list[str], list[RemovalPlan]]]:
    """For each plan's distribution: the installed version, its files (dist-info
    last), and the plans that remove it (`_remove`, shared with uninstall)."""
    from ._remove import replaced_versions

    old: dict[str, tuple[str | None, list[str], list[RemovalPlan]]] = {}
    for name, removals in replaced_versions([p.wheel.name for p in plans], scheme).items():
        files = [f for r in removals for f in (*r.files, r.dist_info)]
        old[name] = (removals[0].dist.version if removals else None, files, removals)
    return old


def _move_old_versions_aside(
    tx: _transaction.Transaction, plans: list[WheelPlan], scheme: Scheme
) -> dict[str, tuple[str | None, list[str], list[RemovalPlan]]]:
    """Move every file of an installed version out of the way (back on rollback);
    after the commit they are gone, and so are the directories they left empty."""
    from ._remove import move_out

    old = _old_versions(plans, scheme)
    move_out(tx, [r for _v, _f, removals in old.values() for r in removals])
    return old


def _remove_others(tx: _transaction.Transaction, scheme: Scheme, names: tuple[str, ...]) -> None:
    """Uninstall ``names`` inside ``tx`` (for a sync), before anything is published:
    only copies in the scheme's own library directories, as an upgrade replaces them."""
    from ._remove import move_out, replaced_versions

    move_out(tx, [r for removals in replaced_versions(names, scheme).values() for r in removals])


def _publish(tx: _transaction.Transaction, plans: list[WheelPlan]) -> None:
    """Rename every staged file into place; every .dist-info last."""
    tx.publish_all({(p.lib_root, p.wheel.dist_info) for p in plans})
