"""Write one install's files into its staging area.

The bulk of the files is written by the core: extracted from the archives, or
linked out of the cache. Everything that is not a verbatim member is written
here in Python: ``#!python`` scripts, entry-point launchers, INSTALLER,
REQUESTED, direct_url.json, bytecode, and RECORD last. Nothing here is visible in
the environment until `_transaction` publishes it.
"""

from __future__ import annotations

import errno as errno_mod
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from . import _backend, _transaction
from ._errors import (
    CoreFailure,
    CorruptArchive,
    InstallIOError,
    PermissionDenied,
    RecordMismatch,
)
from ._plan import FileAction, WheelPlan
from ._records import encode_hash, format_record
from ._wheel import CRC, CSIZE, METHOD, NAME, OFFSET, USIZE

logger = logging.getLogger("fastinst")

# progress(event, wheel, done, total): "wheel-start" (done=0), "bytes", "wheel-done";
# done and total count the bytes of the wheel's files.
ProgressCallback = Callable[[str, str, int, int], None]


class Options(NamedTuple):
    """The per-call choices that the stages below need (one object, not ten arguments)."""

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


class DamagedCacheEntry(Exception):
    def __init__(self, entry: str) -> None:
        self.entry = entry


def write_bulk(
    tx: _transaction.Transaction, plans: list[WheelPlan], options: Options
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
                options.progress("wheel-start", plan.wheel.path, 0, wheel_bytes(plan))
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
                total = wheel_bytes(plan)
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
        filled += wheel_bytes(plan)
    return out


def wheel_bytes(plan: WheelPlan) -> int:
    return sum(a.entry[USIZE] for a in plan.files) + sum(a.entry[USIZE] for a in plan.scripts)


def compile_sources(
    tx: _transaction.Transaction, plan: WheelPlan, options: Options
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
            sha: str | bytes = b""
            size = -1
            if exp is not None:
                sha = exp.hash  # the core decodes RECORD's field (and checks sha256 only)
                size = int(exp.size) if exp.size else -1
            tasks.append(
                (
                    e[OFFSET],
                    e[METHOD],
                    e[CSIZE],
                    e[USIZE],
                    e[CRC],
                    dest,
                    action.mode,
                    sha,
                    size,
                    e[NAME],
                )
            )
            dirs.add(dest.rpartition("/")[0])
        core_jobs.append((plan.wheel.path, tasks))
    _backend.core.make_dirs(_with_parents(dirs, tx.stages.values()))
    try:
        blobs = _backend.core.extract(core_jobs, jobs)
    except CoreFailure as failure:
        plan = plans[failure.job]
        action = plan.files[failure.index]
        raise core_error(failure, plan.wheel.path, action.entry[NAME], action.dest) from None
    for plan in plans:
        for action in plan.files:
            if action.expected is not None and not action.expected.hash.startswith("sha256="):
                _check_other_algorithm(plan, action, tx)
    return {id(plan): blob for plan, blob in zip(plans, blobs)}


def _stage_paths(tx: _transaction.Transaction, actions: list[FileAction]) -> list[str]:
    """Register ``actions`` with the transaction; their staging paths, in order.

    Done a root at a time with list operations (a wheel's files nearly always
    share one root): this runs for every file of every install.
    """
    by_root: dict[str, list[int]] = {}
    for i, action in enumerate(actions):
        by_root.setdefault(action.root, []).append(i)
    if len(by_root) == 1:
        [root] = by_root
        rels = [a.rel for a in actions]
        stage = tx.stage_dir(root) + "/"
        tx.staged.setdefault(root, []).extend(rels)
        return [stage + rel for rel in rels]
    out = [""] * len(actions)
    for root, indexes in by_root.items():
        stage = tx.stage_dir(root) + "/"
        rels = [actions[i].rel for i in indexes]
        tx.staged.setdefault(root, []).extend(rels)
        for i, rel in zip(indexes, rels):
            out[i] = stage + rel
    return out


def bulk_record_rows(plan: WheelPlan, blob: bytes | None) -> list[tuple[str, str, str]]:
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
        dests = _stage_paths(tx, plan.files)
        dirs.update([d.rpartition("/")[0] for d in dests])
        srcs = [prefix + a.entry[NAME] for a in plan.files]
        for action, pair in zip(plan.files, zip(srcs, dests)):
            pairs = by_root.get(action.root)
            if pairs is None:
                pairs = by_root[action.root] = []
            pairs.append(pair)
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
                raise DamagedCacheEntry(os.path.dirname(str(tree))) from None
            raise os_error(err) from None


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


def core_error(failure: CoreFailure, wheel: str, member: str, dest: str) -> Exception:
    """The public error for a failure the core reported on ``member`` of ``wheel``."""
    kind = failure.kind
    if kind == "record-hash":
        return RecordMismatch(wheel, "malformed sha256 in RECORD", member)
    if kind in ("sha256", "record-size"):
        what = "sha256" if kind == "sha256" else "size"
        return RecordMismatch(wheel, f"{what} differs from RECORD", member)
    if kind in ("crc", "size", "inflate", "header", "method", "window", "name", "overlap"):
        reason = {
            "crc": "CRC-32 mismatch",
            "size": "size differs from the zip directory",
            "inflate": "corrupt compressed data",
            "header": "bad local file header",
            "method": "unsupported compression method",
            "window": "zstd window over 8 MiB (the most RFC 8878 asks decoders to support)",
            "name": "the local file header names another file",
            "overlap": "its data overlaps the next member (the layout of a zip bomb)",
        }[kind]
        return CorruptArchive(wheel, reason, member)
    return os_error(OSError(failure.errno, os.strerror(failure.errno), failure.detail or dest))


def os_error(exc: OSError) -> InstallIOError:
    cls = (
        PermissionDenied
        if exc.errno in (errno_mod.EACCES, errno_mod.EPERM, errno_mod.EROFS)
        else InstallIOError
    )
    err = cls(exc.errno, f"{exc.strerror}; nothing was installed", exc.filename)
    return err


def current_umask() -> int:
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


def write_scripts(
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


def write_metadata(
    tx: _transaction.Transaction,
    plan: WheelPlan,
    installer_name: str | None,
    *,
    requested: bool,
    direct_url: Mapping[str, object] | None,
    extra: Mapping[str, bytes] = {},
) -> list[tuple[str, str, str]]:
    """INSTALLER, REQUESTED, direct_url.json and the caller's ``extra`` files (which
    win over the first three), byte for byte; RECORD is written last, by `write_record`."""
    info = plan.wheel.dist_info
    root = plan.lib_root
    mode = 0o666 & ~current_umask()
    files: dict[str, bytes] = {}
    if installer_name is not None:
        files["INSTALLER"] = f"{installer_name}\n".encode()
    if requested:
        files["REQUESTED"] = b""
    if direct_url is not None:
        files["direct_url.json"] = json.dumps(direct_url, sort_keys=True).encode()
    files.update(extra)
    return [
        _write_generated(tx, plan, root, f"{info}/{name}", data, mode)
        for name, data in files.items()
    ]


def write_record(
    tx: _transaction.Transaction, plan: WheelPlan, rows: list[tuple[str, str, str]]
) -> tuple[str, str, str]:
    record_rel = f"{plan.wheel.dist_info}/RECORD"
    own = (record_rel, "", "")
    data = format_record(sorted([*rows, own]))
    path = tx.add(plan.lib_root, record_rel)
    _write_file(path, data, 0o666 & ~current_umask())
    return own
