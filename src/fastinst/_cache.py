"""The global cache of unpacked wheels, keyed by the SHA-256 of the wheel file.

Layout under the cache directory::

    wheels-v2/<sha256>/tree/<key>/...  the wheel's files in scheme layout, read-only
    wheels-v2/<sha256>/entry           header and file table (``_entry``)
    index-v1/<sha256 of the path>      (size, mtime, inode) of a wheel file -> its sha256
    tmp/                               entries being built; renamed into place when whole
    probe-v2/                          interpreter answers (see _probe_cache)

An entry is trusted only once its directory has its final name, and it gets that
name by one ``rename`` after everything in it was written and verified: a killed
or concurrent builder can never leave a half-filled entry that is used later.
Entries of older formats (``wheels-v1/``) are never read; ``cache prune`` and
``cache clean`` remove them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from . import _backend
from ._entry import KEY_NAMES, SCRIPTS, TREE, CacheEntry, read_entry, write_entry
from ._errors import FastinstError
from ._probe_cache import default_cache_dir as default_cache_dir  # one place for both caches
from ._tree import iter_files, remove_tree

if TYPE_CHECKING:  # a warm install does not import them
    from ._plan import Member
    from ._wheel import Wheel

logger = logging.getLogger("fastinst")

ENTRIES = "wheels-v2"
OLD_ENTRIES = ("wheels-v1",)
INDEX = "index-v1"
TMP = "tmp"
# Cached files are read-only, so that editing an installed file through a hardlink
# fails instead of silently changing the cache for every environment.
MODE_FILE = 0o444
MODE_EXEC = 0o555


class EntryDir(NamedTuple):
    """One entry directory of the cache, for the maintenance commands."""

    digest: str
    path: str

    @property
    def tree(self) -> str:
        return os.path.join(self.path, TREE)


class WheelCache:
    """A cache directory; every method is safe to run from several processes at once."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)

    # --- keys -----------------------------------------------------------------------

    def wheel_digest(self, path: str) -> str:
        """The SHA-256 of a wheel file, remembered by (size, mtime, inode)."""
        st = os.stat(path)
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]
        index = os.path.join(self.root, INDEX, _path_key(path))
        with contextlib.suppress(OSError, ValueError):
            with open(index, encoding="utf-8") as f:
                saved = json.load(f)
            if saved["stamp"] == stamp:
                return str(saved["sha256"])
        digest: str = _backend.core.sha256_file(path)
        _write_atomic(index, json.dumps({"path": path, "stamp": stamp, "sha256": digest}).encode())
        return digest

    def entry_path(self, digest: str) -> str:
        return os.path.join(self.root, ENTRIES, digest)

    # --- reading --------------------------------------------------------------------

    def load(self, digest: str, *, verified: bool) -> CacheEntry | None:
        """The entry of the wheel whose SHA-256 is ``digest``, or ``None`` when there
        is no usable one. An entry built without RECORD verification is not used
        for a verified install (it is rebuilt, with verification)."""
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a SHA-256 in hex: {digest!r}")
        path = self.entry_path(digest)
        entry = read_entry(path, digest)
        if entry is None or (verified and not entry.record_verified):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # last use, for `cache prune`
        return entry

    # --- writing --------------------------------------------------------------------

    def populate_many(
        self,
        wheels: list[tuple[Wheel, str]],
        threads: int,
        *,
        verified: bool,
        counters: bytearray | None = None,
    ) -> list[CacheEntry]:
        """Unpack each ``(wheel, digest)`` into the cache, all in one parallel pass;
        return the entries, in order. RECORD is checked on the way in. ``counters``:
        bytes written so far, 8 bytes per wheel (see the core's ``extract``)."""
        from . import _archive
        from ._plan import layout

        tmp_root = os.path.join(self.root, TMP)
        os.makedirs(tmp_root, exist_ok=True)
        os.makedirs(os.path.join(self.root, ENTRIES), exist_ok=True)
        builds: list[str] = []
        try:
            jobs = []
            made: set[str] = set()  # the builds: made already, and where parents stop
            dirs: set[str] = set()
            for wheel, digest in wheels:
                build = os.path.join(tmp_root, f"{digest[:16]}-{os.getpid()}-{time.monotonic_ns()}")
                os.mkdir(build)
                builds.append(build)
                made.add(build)
                tree = os.path.join(build, TREE)
                lay = layout(wheel)
                members = lay.files + lay.scripts
                keys = [f"{tree}/{k}/" for k in KEY_NAMES]
                for m in members:
                    parent = (keys[m.key] + m.path).rpartition("/")[0]
                    while parent not in dirs and parent not in made:
                        dirs.add(parent)
                        parent = parent.rpartition("/")[0]
                todo = _archive.tasks(
                    wheel,
                    members,
                    lambda m, keys=keys: keys[m.key] + m.path,  # type: ignore[misc]
                    lambda m: MODE_EXEC if m.executable else MODE_FILE,
                )
                jobs.append((wheel, members, todo))
            _backend.core.make_dirs(sorted(dirs, key=lambda p: (p.count("/"), p)))
            blobs = _archive.extract(jobs, threads, counters)
            for (wheel, digest), build, (_w, members, todo), blob in zip(
                wheels, builds, jobs, blobs
            ):
                _archive.check_other_algorithms(wheel, members, [t[5] for t in todo])
                _finish(build, wheel, members, blob, threads, verified=verified)
                self._publish(build, digest, verified=verified)
        finally:
            for build in builds:
                if os.path.lexists(build):
                    _rmtree_writable(build)
        result = []
        for _wheel, digest in wheels:
            loaded = self.load(digest, verified=verified)
            if loaded is None:
                raise FastinstError(f"cache entry {self.entry_path(digest)} vanished while in use")
            result.append(loaded)
        return result

    def _publish(self, build: str, digest: str, *, verified: bool) -> None:
        final = self.entry_path(digest)
        try:
            os.rename(build, final)
        except OSError:
            # Another process finished the same entry first (ENOTEMPTY/EEXIST): theirs
            # is as good as ours, unless it was built unverified and we need verified,
            # or it is damaged (an entry found changed is replaced by a new build).
            current = read_entry(final, digest)
            if current is None or (verified and not current.record_verified):
                self.remove(digest)
                os.rename(build, final)

    def remove(self, digest: str) -> None:
        """Delete an entry (first moved out of the way, so no one sees it half-deleted)."""
        self._remove_dir(self.entry_path(digest), digest[:16])

    def _remove_dir(self, path: str, label: str) -> None:
        doomed = os.path.join(self.root, TMP, f"remove-{label}-{os.getpid()}-{time.monotonic_ns()}")
        os.makedirs(os.path.dirname(doomed), exist_ok=True)
        try:
            os.rename(path, doomed)
        except FileNotFoundError:
            return
        _rmtree_writable(doomed)

    # --- maintenance (``fastinst cache ...``) -----------------------------------------

    def entries(self) -> Iterator[EntryDir]:
        base = os.path.join(self.root, ENTRIES)
        with contextlib.suppress(FileNotFoundError):
            for name in sorted(os.listdir(base)):
                yield EntryDir(name, os.path.join(base, name))

    def info(self) -> dict[str, object]:
        """Location, entry count and size in bytes."""
        size = 0
        count = 0
        for entry in self.entries():
            count += 1
            for file in iter_files(entry.path):
                with contextlib.suppress(OSError):
                    size += file.stat(follow_symlinks=False).st_size
        return {"path": self.root, "entries": count, "bytes": size}

    def verify(self, *, repair: bool = True) -> list[str]:
        """Re-hash every entry against its table; list the bad ones (removed if ``repair``)."""
        bad = []
        for entry in self.entries():
            problem = _verify_entry(entry)
            if problem:
                bad.append(f"{entry.digest}: {problem}")
                if repair:
                    self.remove(entry.digest)
        return bad

    def prune(self, days: float) -> list[str]:
        """Remove entries not used for ``days`` days, entries of older formats, and
        stale temporary builds."""
        cutoff = time.time() - days * 86400
        removed = []
        for entry in self.entries():
            with contextlib.suppress(FileNotFoundError):
                if os.stat(entry.path).st_mtime < cutoff:
                    self.remove(entry.digest)
                    removed.append(entry.digest)
        self._remove_old_formats()
        self._clean_tmp(older_than=3600)
        return removed

    def clean(self) -> None:
        """Remove the whole cache."""
        for entry in list(self.entries()):
            self.remove(entry.digest)
        self._remove_old_formats()
        _rmtree_writable(os.path.join(self.root, INDEX))
        self._clean_tmp(older_than=0)

    def _remove_old_formats(self) -> None:
        for name in OLD_ENTRIES:
            if os.path.isdir(os.path.join(self.root, name)):
                self._remove_dir(os.path.join(self.root, name), name)

    def _clean_tmp(self, older_than: float) -> None:
        tmp = os.path.join(self.root, TMP)
        now = time.time()
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(tmp):
                path = os.path.join(tmp, name)
                with contextlib.suppress(FileNotFoundError):
                    if now - os.lstat(path).st_mtime >= older_than:
                        _rmtree_writable(path)


def _finish(
    build: str, wheel: Wheel, members: list[Member], blob: bytes, threads: int, *, verified: bool
) -> None:
    """Write the ``entry`` file of a build whose tree is extracted (``blob``: the
    members' SHA-256 digests, in order)."""
    from ._entry import FLAG_EXEC
    from ._records import encode_hash
    from ._scripts import posix_body
    from ._wheel import USIZE

    tree = os.path.join(build, TREE)
    rows: list[tuple[int, str, int, bytes]] = []
    scripts: list[list[object]] = []
    places = set()
    size = 0
    for i, m in enumerate(members):
        digest = blob[i * 32 : i * 32 + 32]
        size += m.entry[USIZE]
        places.add((m.key, m.path.partition("/")[0]))
        if m.key == SCRIPTS:
            # A script that starts with #!python is rewritten for each environment;
            # any other is linked as it is (executable, as pip makes it).
            with open(f"{tree}/scripts/{m.path}", "rb") as f:
                if f.read(8) == b"#!python":
                    scripts.append([m.path, m.entry[USIZE], encode_hash(digest)])
                    continue
        rows.append((m.key, m.path, FLAG_EXEC if m.executable else 0, digest))
    # Sorted, so that the files of a directory are neighbours in the table.
    rows.sort(key=lambda r: (r[0], r[1]))
    tops: list[list[str]] = [[] for _ in KEY_NAMES]
    for key, top in sorted(places):
        tops[key].append(top)
    table = _backend.core.make_table([f"{tree}/{k}" for k in KEY_NAMES], rows, threads)
    header: dict[str, object] = {
        "wheel": os.path.basename(wheel.path),
        "name": wheel.name,
        "version": wheel.version,
        "dist_info": wheel.dist_info,
        "root_is_purelib": wheel.root_is_purelib,
        "record_verified": verified,
        "requires_python": wheel.requires_python,
        "entry_points": [
            [ep.name, ep.module, ep.attr, ep.section, posix_body(ep).decode("utf-8")]
            for ep in wheel.entry_points
        ],
        "scripts": scripts,
        "tops": tops,
        "files": len(rows),
        "bytes": size,
    }
    write_entry(build, header, table, len(rows))


def _verify_entry(entry: EntryDir) -> str | None:
    loaded = read_entry(entry.path, entry.digest)
    if loaded is None:
        return "unreadable or outdated entry file"
    from ._errors import CoreFailure
    from ._records import encode_hash

    try:
        rows = _backend.core.read_table(loaded.table)
    except CoreFailure as failure:
        return f"bad table row {failure.index}: {failure.detail}"
    sources = loaded.sources()
    checks = [
        (f"{sources[key]}/{path}", path, size, encode_hash(sha))
        for key, path, size, _m, _f, sha in rows
    ]
    checks += [(f"{sources[SCRIPTS]}/{s.path}", s.path, s.size, s.hash) for s in loaded.scripts]
    for full, path, size, hash_ in checks:
        try:
            if not os.path.isfile(full) or os.path.islink(full):
                return f"{path}: not a regular file"
            if os.path.getsize(full) != size:
                return f"{path}: size changed"
            if encode_hash(bytes.fromhex(_backend.core.sha256_file(full))) != hash_:
                return f"{path}: content changed"
        except OSError as exc:
            return f"{path}: {exc.strerror}"
    return None


def _path_key(path: str) -> str:
    import hashlib

    return hashlib.sha256(os.path.realpath(path).encode("utf-8", "surrogateescape")).hexdigest()


def _write_atomic(path: str, data: bytes, *, strict: bool = False) -> None:
    """Write via a temporary name and rename; unless ``strict``, skip quietly when the
    cache is not writable (the index is an optimisation, not a requirement)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        if strict:
            raise
        logger.debug("cannot write %s: %s", path, exc)
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _rmtree_writable(path: str) -> None:
    """Remove a cache tree, however deep. Its files are read-only but its directories
    are not, so unlinking works; errors are ignored because a concurrent remover
    may race us."""
    remove_tree(path, ignore_errors=True)
