"""One ``install()`` call: open, plan, stage, publish; roll back on any failure."""

from __future__ import annotations

import enum
import errno as errno_mod
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple, Union

from . import _backend, _transaction
from ._errors import (
    CoreFailure,
    CorruptArchive,
    FastinstError,
    InstallIOError,
    InvalidWheel,
    PermissionDenied,
    RecordMismatch,
)
from ._names import canonical_name as canonicalize_name
from ._plan import FileAction, WheelPlan, plan_wheel
from ._records import encode_hash, format_record
from ._scheme import Scheme
from ._wheel import (
    CRC,
    CSIZE,
    METHOD,
    NAME,
    OFFSET,
    USIZE,
    Wheel,
    check_filename,
    open_wheel,
)

if TYPE_CHECKING:
    from ._cache import WheelCache

logger = logging.getLogger("fastinst")

PathLike = Union[str, "os.PathLike[str]"]
SchemeLike = Union[Scheme, Mapping[str, str], None]


class InstallResult(NamedTuple):
    """What one distribution's install did (or, with ``dry_run``, would do).

    ``files`` are the absolute paths written (RECORD included); ``replaced`` is
    the version that was there before, if any, and ``removed`` the files of that
    version that are gone afterwards; ``from_cache`` says whether the wheel was
    already unpacked in the cache.
    """

    name: str
    version: str
    dist_info: str
    files: tuple[str, ...]
    wheel: str
    replaced: str | None = None
    removed: tuple[str, ...] = ()
    from_cache: bool = False


class _Default(enum.Enum):
    """Sentinel type: the user's cache directory (``$FASTINST_CACHE_DIR`` or platformdirs')."""

    CACHE = "default"


DEFAULT_CACHE = _Default.CACHE

# progress(event, wheel, done, total): "wheel-start" (done=0), "bytes", "wheel-done";
# done and total count the bytes of the wheel's files.
ProgressCallback = Callable[[str, str, int, int], None]


class _Options(NamedTuple):
    """The per-call choices that the stages below need (one object, not ten arguments)."""

    jobs: int
    link_mode: str
    requested: frozenset[str]
    direct_urls: Mapping[str, Mapping[str, object]]
    installer_name: str
    compile_bytecode: bool
    optimization_levels: tuple[int, ...]
    invalidation_mode: str | None
    progress: ProgressCallback | None


def install(
    wheels: Iterable[PathLike],
    scheme: SchemeLike = None,
    *,
    verify_record: bool = True,
    jobs: int = 0,
    requested: bool | Iterable[PathLike] = False,
    direct_url: Mapping[PathLike, Mapping[str, object]] | None = None,
    installer_name: str = "fastinst",
    cache_dir: PathLike | _Default | None = DEFAULT_CACHE,
    link_mode: str = "auto",
    compile_bytecode: bool = False,
    optimization_levels: Iterable[int] = (0,),
    invalidation_mode: str | None = None,
    progress: ProgressCallback | None = None,
    dry_run: bool = False,
) -> list[InstallResult]:
    """Install ``wheels`` into ``scheme``, all of them or none.

    ``scheme`` is a `Scheme`, a mapping with the five scheme keys, or ``None`` for
    the running interpreter's default (its venv when run inside one, with pip's
    fall-back to the user site when site-packages is not writable).

    - ``verify_record``: check every file against the wheel's RECORD as it is written.
    - ``jobs``: worker threads (0: one per CPU).
    - ``requested``: ``True`` for all wheels, or the wheels the user asked for by
      name; they get a ``REQUESTED`` file. ``direct_url`` maps a wheel path to its
      PEP 610 ``direct_url.json`` content. ``installer_name`` goes into ``INSTALLER``.
    - ``cache_dir``: wheels are unpacked once into this cache and linked from it by
      ``link_mode`` (``"auto"``, ``"clone"``, ``"hardlink"`` or ``"copy"``);
      ``None`` extracts straight from the archives.
    - ``compile_bytecode``: compile the installed ``.py`` files with the target
      interpreter, at ``optimization_levels``, with ``invalidation_mode``
      (``"timestamp"``, ``"checked-hash"``, ``"unchecked-hash"``, or ``None`` for
      py_compile's default); the ``.pyc`` files go into RECORD.
    - ``progress``: called as ``progress(event, wheel, done, total)``.
    - ``dry_run``: touch nothing; return what would be written, replaced, removed.

    Raises a `FastinstError` subclass on any failure, after rolling back.

    >>> import fastinst
    >>> fastinst.install(["dist/demo-1.0-py3-none-any.whl"], scheme=None)  # doctest: +SKIP
    [InstallResult(name='demo', version='1.0', ...)]
    """
    from ._link import LINK_MODES

    if link_mode not in LINK_MODES:
        raise ValueError(f"link_mode must be one of {', '.join(LINK_MODES)}, not {link_mode!r}")
    resolved = _resolve_scheme(scheme)
    paths = [os.path.abspath(os.fspath(w)) for w in wheels]
    options = _Options(
        jobs=jobs,
        link_mode=link_mode,
        requested=frozenset(_requested_set(paths, requested)),
        direct_urls={os.path.abspath(os.fspath(k)): v for k, v in (direct_url or {}).items()},
        installer_name=installer_name,
        compile_bytecode=compile_bytecode,
        optimization_levels=tuple(optimization_levels),
        invalidation_mode=invalidation_mode,
        progress=progress,
    )
    if dry_run:
        opened = [open_wheel(p, verify_record=verify_record) for p in paths]
        _check_distinct(opened)
        plans = [plan_wheel(w, resolved) for w in opened]
        _check_no_overlap(plans)
        return _dry_run(plans, resolved, options)
    cache = _open_cache(cache_dir)
    for attempt in (1, 2):
        opened = _open_all(paths, cache, verify_record, jobs)
        _check_distinct(opened)
        plans = [plan_wheel(w, resolved) for w in opened]
        _check_no_overlap(plans)
        try:
            return _transact(plans, resolved, options)
        except _DamagedCacheEntry as damaged:
            # A file vanished from a cache entry: drop the entry, unpack the wheel
            # again, and start over (nothing was published).
            if attempt == 2 or cache is None:
                raise FastinstError(f"cache entry {damaged.entry} is damaged") from None
            logger.warning("cache entry %s is damaged; unpacking the wheel again", damaged.entry)
            cache.remove(os.path.basename(damaged.entry))
    raise AssertionError("unreachable")


class _DamagedCacheEntry(Exception):
    def __init__(self, entry: str) -> None:
        self.entry = entry


def _transact(plans: list[WheelPlan], scheme: Scheme, options: _Options) -> list[InstallResult]:
    """Stage, publish and commit under the environment lock; roll back on any failure."""
    tx = _transaction.Transaction(journal_dir=scheme.purelib)
    try:
        tx.make_root(scheme.purelib)
        with _transaction.environment_lock(scheme.purelib):
            try:
                for line in _transaction.recover(_roots(scheme), scheme.purelib):
                    logger.info("%s", line)
                results = _install_locked(tx, plans, scheme, options)
                tx.commit()
            except BaseException:
                # Still under the lock: once it is released, another install may
                # publish over the files this one would move back.
                tx.rollback()
                raise
    except BaseException as exc:
        tx.rollback()  # again: a failure before the lock; a no-op after the one above
        if isinstance(exc, OSError) and not isinstance(exc, FastinstError):
            raise _os_error(exc) from exc
        raise
    if options.progress is not None:
        for plan in plans:
            total = _wheel_bytes(plan)
            options.progress("wheel-done", plan.wheel.path, total, total)
    return results


def _install_locked(
    tx: _transaction.Transaction, plans: list[WheelPlan], scheme: Scheme, options: _Options
) -> list[InstallResult]:
    umask = _current_umask()
    digests = _write_bulk(tx, plans, options)
    written: list[list[tuple[str, str, str]]] = []
    for plan in plans:
        rows = _bulk_record_rows(plan, digests.get(id(plan)))
        rows += _write_scripts(tx, plan, umask)
        if options.compile_bytecode:
            rows += _compile(tx, plan, options)
        rows += _write_metadata(
            tx,
            plan,
            options.installer_name,
            requested=plan.wheel.path in options.requested,
            direct_url=options.direct_urls.get(plan.wheel.path),
        )
        rows.append(_write_record(tx, plan, rows))
        written.append(rows)
    old = _move_old_versions_aside(tx, plans, scheme)
    _publish(tx, plans)
    results = []
    for plan, rows in zip(plans, written):
        files = tuple(_absolute(plan, path) for path, _h, _s in rows)
        replaced, old_files = old.get(plan.wheel.name, (None, []))
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


def _write_bulk(
    tx: _transaction.Transaction, plans: list[WheelPlan], options: _Options
) -> dict[int, bytes]:
    """Write every bulk file: extracted from archives, or linked from the cache.

    Without a progress callback this is one parallel call for everything; with
    one, wheels go in batches of about 64 MB so that progress can be reported
    between them (at a small cost in parallelism at each batch's end).
    """
    batches = [plans] if options.progress is None else _batches(plans, 64 << 20)
    digests: dict[int, bytes] = {}
    for batch in batches:
        if options.progress is not None:
            for plan in batch:
                options.progress("wheel-start", plan.wheel.path, 0, _wheel_bytes(plan))
        digests.update(
            _extract_all(tx, [p for p in batch if p.wheel.cache_tree is None], options.jobs)
        )
        _link_all(
            tx,
            [p for p in batch if p.wheel.cache_tree is not None],
            options.link_mode,
            options.jobs,
        )
        if options.progress is not None:
            for plan in batch:
                total = _wheel_bytes(plan)
                options.progress("bytes", plan.wheel.path, total, total)
    return digests


def _batches(plans: list[WheelPlan], size: int) -> list[list[WheelPlan]]:
    out: list[list[WheelPlan]] = [[]]
    filled = 0
    for plan in plans:
        if out[-1] and filled >= size:
            out.append([])
            filled = 0
        out[-1].append(plan)
        filled += _wheel_bytes(plan)
    return out


def _wheel_bytes(plan: WheelPlan) -> int:
    return sum(a.entry[USIZE] for a in plan.files) + sum(a.entry[USIZE] for a in plan.scripts)


def _compile(
    tx: _transaction.Transaction, plan: WheelPlan, options: _Options
) -> list[tuple[str, str, str]]:
    """Compile the wheel's ``.py`` files in the staging area; their RECORD rows."""
    from ._bytecode import compile_files

    libs = {plan.scheme.purelib, plan.scheme.platlib}
    sources = [a for a in plan.files if a.rel.endswith(".py") and a.root in libs]
    if not sources:
        return []
    items = [(tx.stages[a.root] + "/" + a.rel, a.dest) for a in sources]
    written, failed = compile_files(
        plan.scheme.python,
        items,
        optimization_levels=options.optimization_levels,
        invalidation_mode=options.invalidation_mode,
        workers=options.jobs,
    )
    for message in failed:
        logger.warning("not compiled: %s", message)
    stage_of = {tx.stages[r]: r for r in libs if r in tx.stages}
    rows = []
    for pyc in written:
        for stage, root in stage_of.items():
            if pyc.startswith(stage + "/"):
                rel = pyc[len(stage) + 1 :]
                tx.staged[root].append(rel)
                with open(pyc, "rb") as f:
                    data = f.read()
                digest = encode_hash(hashlib.sha256(data).digest())
                rows.append((plan.record_path(root, rel), digest, str(len(data))))
                break
    return rows


def _dry_run(plans: list[WheelPlan], scheme: Scheme, options: _Options) -> list[InstallResult]:
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
        files += [info + "/INSTALLER", info + "/RECORD"]
        if plan.wheel.path in options.requested:
            files.append(info + "/REQUESTED")
        if plan.wheel.path in options.direct_urls:
            files.append(info + "/direct_url.json")
        replaced, old_files = old[plan.wheel.name]
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
    paths: list[str], cache: WheelCache | None, verify_record: bool, jobs: int
) -> list[Wheel]:
    """Open every wheel: from the cache when it has it, else from the archive (and
    unpack it into the cache, all cold wheels in one parallel pass)."""
    if cache is None:
        return [open_wheel(p, verify_record=verify_record) for p in paths]
    wheels: list[Wheel] = []
    cold: list[tuple[int, Wheel, str]] = []
    for p in paths:
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
            raise _core_error(failure, wheel.path, member[NAME], "") from None
        except OSError as exc:
            logger.info("cache %s not usable (%s); installing from the archives", cache.root, exc)
            return wheels
        for (i, _w, _d), w in zip(cold, populated):
            wheels[i] = w
    return wheels


# --- scheme and arguments -----------------------------------------------------------


def _resolve_scheme(scheme: SchemeLike) -> Scheme:
    if isinstance(scheme, Scheme):
        return scheme
    if scheme is not None:
        return Scheme.from_mapping(scheme)
    from ._scheme import choose_install_scheme

    resolved, notice = choose_install_scheme()
    if notice:
        logger.warning("%s", notice)
    return resolved


def _requested_set(paths: list[str], requested: bool | Iterable[PathLike]) -> set[str]:
    if requested is True:
        return set(paths)
    if requested is False:
        return set()
    return {os.path.abspath(os.fspath(p)) for p in requested}


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


# --- writing into the staging area --------------------------------------------------


def _extract_all(
    tx: _transaction.Transaction, plans: list[WheelPlan], jobs: int
) -> dict[int, bytes]:
    """Extract every bulk member of every wheel with the core, in one parallel call.

    Returns, by ``id(plan)``, the SHA-256 digests of ``plan.files`` (32 bytes each,
    concatenated in order).
    """
    if not plans:
        return {}
    dirs: set[str] = set()
    core_jobs = []
    for plan in plans:
        tasks = []
        for action, dest in zip(plan.files, _stage_paths(tx, plan.files)):
            e, exp = action.entry, action.expected
            sha, size = b"", -1
            if exp is not None:
                sha = _expected_sha256(plan, action)
                size = int(exp.size) if exp.size else -1
            tasks.append(
                (e[OFFSET], e[METHOD], e[CSIZE], e[USIZE], e[CRC], dest, action.mode, sha, size)
            )
            dirs.add(dest.rpartition("/")[0])
        core_jobs.append((plan.wheel.path, tasks))
    _backend.core.make_dirs(_with_parents(dirs, tx.stages.values()))
    try:
        blobs = _backend.core.extract(core_jobs, jobs)
    except CoreFailure as failure:
        plan = plans[failure.job]
        action = plan.files[failure.index]
        raise _core_error(failure, plan.wheel.path, action.entry[NAME], action.dest) from None
    for plan in plans:
        for action in plan.files:
            if action.expected is not None and not action.expected.hash.startswith("sha256="):
                _check_other_algorithm(plan, action, tx)
    return {id(plan): blob for plan, blob in zip(plans, blobs)}


def _stage_paths(tx: _transaction.Transaction, actions: list[FileAction]) -> list[str]:
    """Register ``actions`` with the transaction; their staging paths, in order."""
    out = []
    for action in actions:
        out.append(tx.add(action.root, action.rel))
    return out


def _expected_sha256(plan: WheelPlan, action: FileAction) -> bytes:
    """The raw SHA-256 that RECORD promises for ``action`` (b"" for other algorithms)."""
    exp = action.expected
    if exp is None or not exp.hash.startswith("sha256="):
        return b""
    try:
        digest = exp.digest()
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise RecordMismatch(plan.wheel.path, "malformed sha256 in RECORD", action.entry[NAME])
    return digest


def _bulk_record_rows(plan: WheelPlan, blob: bytes | None) -> list[tuple[str, str, str]]:
    """RECORD rows of the files the core wrote or linked.

    A file that was checked against the wheel's RECORD keeps that row's hash and
    size strings (as pip does); otherwise the digest the core computed is used.
    """
    rows = []
    lib_root = plan.lib_root
    for i, action in enumerate(plan.files):
        path = action.rel if action.root == lib_root else plan.record_path(action.root, action.rel)
        exp = action.expected
        if exp is not None and exp.hash and exp.size:
            rows.append((path, exp.hash, exp.size))
        else:
            assert blob is not None, "an unverified file must come from the extraction"
            rows.append((path, encode_hash(blob[i * 32 : i * 32 + 32]), str(action.entry[USIZE])))
    return rows


def _absolute(plan: WheelPlan, record_path: str) -> str:
    if "../" not in record_path:
        return plan.lib_root + "/" + record_path
    return os.path.normpath(os.path.join(plan.lib_root, record_path))


def _link_all(
    tx: _transaction.Transaction, plans: list[WheelPlan], link_mode: str, jobs: int
) -> None:
    """Link the bulk files of cached wheels into the staging area, one mode per root."""
    from ._link import choose_mode, link_files

    by_root: dict[str, list[tuple[str, str]]] = {}
    dirs: set[str] = set()
    for plan in plans:
        tree = plan.wheel.cache_tree
        assert tree is not None
        prefix = tree + "/"
        for action, dest in zip(plan.files, _stage_paths(tx, plan.files)):
            dirs.add(dest.rpartition("/")[0])
            by_root.setdefault(action.root, []).append((prefix + action.entry[NAME], dest))
    if not by_root:
        return
    _backend.core.make_dirs(_with_parents(dirs, tx.stages.values()))
    for root, pairs in by_root.items():
        mode = choose_mode(link_mode, pairs[0][0], tx.stages[root])
        try:
            link_files(pairs, mode, jobs)
        except CoreFailure as failure:
            src, dst = pairs[failure.index]
            err = OSError(failure.errno, os.strerror(failure.errno), failure.detail or dst)
            if failure.errno == errno_mod.ENOENT and not os.path.exists(src):
                tree = next(
                    p.wheel.cache_tree for p in plans if src.startswith(p.wheel.cache_tree or "\0")
                )
                raise _DamagedCacheEntry(os.path.dirname(str(tree))) from None
            raise _os_error(err) from None


def _with_parents(dirs: Iterable[str], stops: Iterable[str]) -> list[str]:
    """``dirs`` and their parents up to the staging roots, parents first."""
    stop = set(stops)
    out: set[str] = set()
    for d in dirs:
        while d not in stop and d not in out:
            out.add(d)
            d = os.path.dirname(d)
    return sorted(out, key=lambda p: (p.count(os.sep), p))


def _check_other_algorithm(
    plan: WheelPlan, action: FileAction, tx: _transaction.Transaction
) -> None:
    """A RECORD row hashed with something other than sha256 is checked here (rare)."""
    exp = action.expected
    assert exp is not None and exp.algorithm is not None
    h = hashlib.new(exp.algorithm)
    with open(tx.stages[action.root] + "/" + action.rel, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    try:
        ok = h.digest() == exp.digest()
    except ValueError:
        ok = False
    if not ok:
        raise RecordMismatch(
            plan.wheel.path, f"{exp.algorithm} differs from RECORD", action.entry[NAME]
        )


def _core_error(failure: CoreFailure, wheel: str, member: str, dest: str) -> Exception:
    """The public error for a failure the core reported on ``member`` of ``wheel``."""
    kind = failure.kind
    if kind in ("sha256", "record-size"):
        what = "sha256" if kind == "sha256" else "size"
        return RecordMismatch(wheel, f"{what} differs from RECORD", member)
    if kind in ("crc", "size", "inflate", "header", "method"):
        reason = {
            "crc": "CRC-32 mismatch",
            "size": "size differs from the zip directory",
            "inflate": "corrupt compressed data",
            "header": "bad local file header",
            "method": "unsupported compression method",
        }[kind]
        return CorruptArchive(wheel, reason, member)
    return _os_error(OSError(failure.errno, os.strerror(failure.errno), failure.detail or dest))


def _os_error(exc: OSError) -> InstallIOError:
    cls = (
        PermissionDenied
        if exc.errno in (errno_mod.EACCES, errno_mod.EPERM, errno_mod.EROFS)
        else InstallIOError
    )
    err = cls(exc.errno, f"{exc.strerror}; nothing was installed", exc.filename)
    return err


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_file(path: str, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _write_generated(
    tx: _transaction.Transaction, plan: WheelPlan, root: str, rel: str, data: bytes, mode: int
) -> tuple[str, str, str]:
    """Write a file that is not a verbatim member; return its RECORD row."""
    path = tx.add(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _write_file(path, data, mode)
    return plan.record_path(root, rel), encode_hash(hashlib.sha256(data).digest()), str(len(data))


def _write_scripts(
    tx: _transaction.Transaction, plan: WheelPlan, umask: int
) -> list[tuple[str, str, str]]:
    """``.data/scripts`` files (``#!python`` rewritten) and entry-point launchers."""
    from ._scripts import fix_script, launcher_kind, make_launcher

    # pip's mode for scripts: the default file mode plus every execute bit.
    exec_mode = (0o777 & ~umask) | 0o111
    rows = []
    wheel = plan.wheel
    for action in plan.scripts:
        data = wheel.read(action.entry)
        exp = action.expected
        if exp is not None and exp.hash:
            if exp.size and int(exp.size) != len(data):
                raise RecordMismatch(wheel.path, "size differs from RECORD", action.entry[NAME])
            try:
                ok = hashlib.new(exp.algorithm or "sha256", data).digest() == exp.digest()
            except ValueError:
                ok = False
            if not ok:
                raise RecordMismatch(wheel.path, "hash differs from RECORD", action.entry[NAME])
        rows.append(
            _write_generated(
                tx, plan, action.root, action.rel, fix_script(data, plan.scheme.python), exec_mode
            )
        )
    kind = launcher_kind()
    for ep in plan.launchers:
        name, data = make_launcher(ep, plan.scheme.python, kind)
        rows.append(_write_generated(tx, plan, plan.scheme.scripts, name, data, exec_mode))
    return rows


def _write_metadata(
    tx: _transaction.Transaction,
    plan: WheelPlan,
    installer_name: str,
    *,
    requested: bool,
    direct_url: Mapping[str, object] | None,
) -> list[tuple[str, str, str]]:
    """INSTALLER, REQUESTED, direct_url.json, and RECORD last (it lists the others)."""
    info = plan.wheel.dist_info
    root = plan.lib_root
    mode = 0o666 & ~_current_umask()
    rows = [
        _write_generated(tx, plan, root, f"{info}/INSTALLER", f"{installer_name}\n".encode(), mode)
    ]
    if requested:
        rows.append(_write_generated(tx, plan, root, f"{info}/REQUESTED", b"", mode))
    if direct_url is not None:
        data = json.dumps(direct_url, sort_keys=True).encode()
        rows.append(_write_generated(tx, plan, root, f"{info}/direct_url.json", data, mode))
    return rows


def _write_record(
    tx: _transaction.Transaction, plan: WheelPlan, rows: list[tuple[str, str, str]]
) -> tuple[str, str, str]:
    record_rel = f"{plan.wheel.dist_info}/RECORD"
    own = (record_rel, "", "")
    data = format_record(sorted([*rows, own]))
    path = tx.add(plan.lib_root, record_rel)
    _write_file(path, data, 0o666 & ~_current_umask())
    return own


def _old_versions(
    plans: list[WheelPlan], scheme: Scheme
) -> dict[str, tuple[str | None, list[str]]]:
    """For each plan's distribution: the installed version, and its files (dist-info last).

    Only copies in this scheme's own library directories count: a copy in the
    user site or a system directory belongs to another environment (pip leaves
    those alone too). One scan of the library directories for all plans.
    """
    from ._installed import find_installed_many, installed_files

    own = {os.path.normpath(scheme.purelib), os.path.normpath(scheme.platlib)}
    found = find_installed_many([p.wheel.name for p in plans], scheme)
    old: dict[str, tuple[str | None, list[str]]] = {}
    for plan in plans:
        version = None
        files: list[str] = []
        for dist in found[canonicalize_name(plan.wheel.name)]:
            if os.path.normpath(dist.location) not in own:
                continue
            version = dist.version
            files += [p for p in installed_files(dist, scheme) if not os.path.isdir(p)]
            files.append(dist.dist_info)
        old[plan.wheel.name] = (version, files)
    return old


def _move_old_versions_aside(
    tx: _transaction.Transaction, plans: list[WheelPlan], scheme: Scheme
) -> dict[str, tuple[str | None, list[str]]]:
    """Move every file of an installed version out of the way (back on rollback).

    Returns name -> (replaced version, its files). After the commit the files are
    gone, and so are the directories they leave empty.
    """
    old = _old_versions(plans, scheme)
    for plan in plans:
        # The .dist-info first: the old version stops being listed before any of its
        # files goes, so a process killed here never shows it half there.
        paths = old[plan.wheel.name][1]
        for path in sorted(paths, key=lambda p: not p.endswith(".dist-info")):
            if os.path.lexists(path):
                tx.move_aside(path, _root_of(path, scheme) or plan.lib_root)
    return old


def _root_of(path: str, scheme: Scheme) -> str | None:
    """The deepest scheme directory that contains ``path``."""
    from ._paths import is_inside

    inside = [r for r in _roots(scheme) if is_inside(path, r)]
    return max(inside, key=len) if inside else None


def _publish(tx: _transaction.Transaction, plans: list[WheelPlan]) -> None:
    """Rename every staged file into place; every .dist-info last."""
    tx.publish_all({(p.lib_root, p.wheel.dist_info) for p in plans})
