"""The global cache of unpacked wheels, keyed by the SHA-256 of the wheel file.

Layout under the cache directory::

    wheels-v1/<sha256>/tree/...      the archive's members, unpacked, read-only
    wheels-v1/<sha256>/manifest.json what a warm install needs without the zip
    index-v1/<sha256 of the path>    (size, mtime, inode) of a wheel file -> its sha256
    tmp/                             entries being built; renamed into place when whole
    probe-v2/                        interpreter answers (see _probe_cache)

An entry is trusted only once its directory has its final name, and it gets that
name by one ``rename`` after everything in it was written and verified: a killed
or concurrent builder can never leave a half-filled entry that is used later.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from typing import NamedTuple

from . import _backend
from ._errors import FastinstError
from ._probe_cache import default_cache_dir as default_cache_dir  # one place for both caches
from ._records import RecordEntry, encode_hash
from ._wheel import ATTR, NAME, USIZE, Entry, EntryPoint, Wheel

logger = logging.getLogger("fastinst")

ENTRIES = "wheels-v1"
INDEX = "index-v1"
TMP = "tmp"
MANIFEST = "manifest.json"
TREE = "tree"
# Cached files are read-only, so that editing an installed file through a hardlink
# fails instead of silently changing the cache for every environment.
MODE_FILE = 0o444
MODE_EXEC = 0o555


class CacheEntry(NamedTuple):
    """One unpacked wheel in the cache."""

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

    def load(self, digest: str, wheel_path: str, *, verified: bool) -> Wheel | None:
        """The cached wheel for ``digest``, or ``None`` when there is no usable entry.

        An entry built without RECORD verification is not used for a verified
        install (it is rebuilt, with verification).
        """
        path = self.entry_path(digest)
        try:
            with open(os.path.join(path, MANIFEST), "rb") as f:
                manifest = json.loads(f.read())
        except (OSError, ValueError):
            return None
        if manifest.get("format") != 5 or (verified and not manifest["record_verified"]):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # last use, for `cache prune`
        return _wheel_from_manifest(manifest, wheel_path, os.path.join(path, TREE))

    # --- writing --------------------------------------------------------------------

    def populate_many(
        self, wheels: list[tuple[Wheel, str]], threads: int, *, verified: bool
    ) -> list[Wheel]:
        """Unpack each ``(wheel, digest)`` into the cache, all in one parallel pass;
        return the cached views, in order. RECORD is checked on the way in."""
        tmp_root = os.path.join(self.root, TMP)
        os.makedirs(tmp_root, exist_ok=True)
        os.makedirs(os.path.join(self.root, ENTRIES), exist_ok=True)
        builds: list[str] = []
        try:
            for _wheel, digest in wheels:
                build = os.path.join(tmp_root, f"{digest[:16]}-{os.getpid()}-{time.monotonic_ns()}")
                os.mkdir(build)
                builds.append(build)
            jobs, dirs = [], {os.path.join(b, TREE) for b in builds}
            for (wheel, _digest), build in zip(wheels, builds):
                jobs.append((wheel.path, _tasks(wheel, os.path.join(build, TREE), dirs)))
            _backend.core.make_dirs(sorted(dirs, key=lambda p: (p.count(os.sep), p)))
            blobs = _backend.core.extract(jobs, threads)
            for (wheel, digest), build, blob in zip(wheels, builds, blobs):
                digests = [blob[i * 32 : i * 32 + 32] for i in range(len(wheel.files))]
                manifest = _manifest(wheel, digests, verified=verified)
                _write_atomic(
                    os.path.join(build, MANIFEST), json.dumps(manifest).encode(), strict=True
                )
                self._publish(build, digest, verified=verified)
        finally:
            for build in builds:
                if os.path.lexists(build):
                    _rmtree_writable(build)
        result = []
        for wheel, digest in wheels:
            loaded = self.load(digest, wheel.path, verified=verified)
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
            # is as good as ours, unless it was built unverified and we need verified.
            if verified and not _is_verified(final):
                self.remove(digest)
                os.rename(build, final)

    def remove(self, digest: str) -> None:
        """Delete an entry (first moved out of the way, so no one sees it half-deleted)."""
        path = self.entry_path(digest)
        doomed = os.path.join(
            self.root, TMP, f"remove-{digest[:16]}-{os.getpid()}-{time.monotonic_ns()}"
        )
        os.makedirs(os.path.dirname(doomed), exist_ok=True)
        try:
            os.rename(path, doomed)
        except FileNotFoundError:
            return
        _rmtree_writable(doomed)

    # --- maintenance (``fastinst cache ...``) -----------------------------------------

    def entries(self) -> Iterator[CacheEntry]:
        base = os.path.join(self.root, ENTRIES)
        with contextlib.suppress(FileNotFoundError):
            for name in sorted(os.listdir(base)):
                yield CacheEntry(name, os.path.join(base, name))

    def info(self) -> dict[str, object]:
        """Location, entry count and size in bytes."""
        size = 0
        count = 0
        for entry in self.entries():
            count += 1
            for dirpath, _dirs, files in os.walk(entry.path):
                for f in files:
                    with contextlib.suppress(OSError):
                        size += os.lstat(os.path.join(dirpath, f)).st_size
        return {"path": self.root, "entries": count, "bytes": size}

    def verify(self, *, repair: bool = True) -> list[str]:
        """Re-hash every entry against its manifest; list the bad ones (removed if ``repair``)."""
        bad = []
        for entry in self.entries():
            problem = _verify_entry(entry)
            if problem:
                bad.append(f"{entry.digest}: {problem}")
                if repair:
                    self.remove(entry.digest)
        return bad

    def prune(self, days: float) -> list[str]:
        """Remove entries not used for ``days`` days, and stale temporary builds."""
        cutoff = time.time() - days * 86400
        removed = []
        for entry in self.entries():
            with contextlib.suppress(FileNotFoundError):
                if os.stat(entry.path).st_mtime < cutoff:
                    self.remove(entry.digest)
                    removed.append(entry.digest)
        self._clean_tmp(older_than=3600)
        return removed

    def clean(self) -> None:
        """Remove the whole cache."""
        for entry in list(self.entries()):
            self.remove(entry.digest)
        _rmtree_writable(os.path.join(self.root, INDEX))
        self._clean_tmp(older_than=0)

    def _clean_tmp(self, older_than: float) -> None:
        tmp = os.path.join(self.root, TMP)
        now = time.time()
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(tmp):
                path = os.path.join(tmp, name)
                with contextlib.suppress(FileNotFoundError):
                    if now - os.lstat(path).st_mtime >= older_than:
                        _rmtree_writable(path)


def _tasks(
    wheel: Wheel, tree: str, dirs: set[str]
) -> list[tuple[int, int, int, int, int, str, int, str | bytes, int, str]]:
    """Core tasks unpacking every member of ``wheel`` below ``tree`` (adds their dirs)."""
    from ._wheel import CRC, CSIZE, METHOD, OFFSET

    tasks = []
    for e in wheel.files:
        dest = os.path.join(tree, *e[NAME].split("/"))
        parent = os.path.dirname(dest)
        while parent not in dirs:
            dirs.add(parent)
            parent = os.path.dirname(parent)
        row = wheel.record.get(e[NAME]) if wheel.record is not None else None
        sha: str | bytes = b""
        size = -1
        if row is not None and row.hash.startswith("sha256="):
            sha = row.hash  # the core decodes RECORD's field
            size = int(row.size) if row.size else -1
        mode = MODE_EXEC if _is_exec(e) else MODE_FILE
        tasks.append(
            (e[OFFSET], e[METHOD], e[CSIZE], e[USIZE], e[CRC], dest, mode, sha, size, e[NAME])
        )
    return tasks


def _is_exec(e: Entry) -> bool:
    from ._paths import is_executable_mode

    return is_executable_mode(e[ATTR])


def _manifest(wheel: Wheel, digests: list[bytes], *, verified: bool) -> dict[str, object]:
    from ._scripts import posix_body

    return {
        # 4: entries made before reserved ".fastinst" names were refused are not trusted;
        # 5: METADATA checked, its Requires-Python kept
        "format": 5,
        "wheel": os.path.basename(wheel.path),
        "name": wheel.name,
        "version": wheel.version,
        "dist_info": wheel.dist_info,
        "requires_python": wheel.requires_python,
        "root_is_purelib": wheel.root_is_purelib,
        "record_verified": verified,
        "entry_points": [
            [ep.name, ep.module, ep.attr, ep.section, posix_body(ep).decode("utf-8")]
            for ep in wheel.entry_points
        ],
        # The hash in RECORD form, so that a warm install copies it into RECORD as is.
        "files": [
            [e[NAME], e[USIZE], e[ATTR], encode_hash(d)] for e, d in zip(wheel.files, digests)
        ],
    }


def _wheel_from_manifest(m: dict[str, object], wheel_path: str, tree: str) -> Wheel:
    files: list[Entry] = []
    record: dict[str, RecordEntry] = {}
    for name, size, attr, hash_ in m["files"]:  # type: ignore[attr-defined]
        files.append((name, 0, 0, 0, 0, size, 0, attr))
        record[name] = RecordEntry(name, hash_, str(size))
    dist_info = str(m["dist_info"])
    return Wheel(
        path=wheel_path,
        name=str(m["name"]),
        version=str(m["version"]),
        dist_info=dist_info,
        data_dir=dist_info[: -len(".dist-info")] + ".data",
        root_is_purelib=bool(m["root_is_purelib"]),
        files=files,
        record=record,
        entry_points=[
            EntryPoint(name, module, attr, section, body.encode("utf-8"))
            for name, module, attr, section, body in m["entry_points"]  # type: ignore[attr-defined]
        ],
        cache_tree=tree,
        requires_python=None if m["requires_python"] is None else str(m["requires_python"]),
    )


def _verify_entry(entry: CacheEntry) -> str | None:
    try:
        with open(os.path.join(entry.path, MANIFEST), "rb") as f:
            manifest = json.loads(f.read())
        files = manifest["files"]
    except (OSError, ValueError, KeyError) as exc:
        return f"unreadable manifest ({exc})"
    for name, size, _attr, hash_ in files:
        path = os.path.join(entry.path, TREE, *name.split("/"))
        try:
            if os.path.getsize(path) != size:
                return f"{name}: size changed"
            digest = bytes.fromhex(_backend.core.sha256_file(path))
            if encode_hash(digest) != hash_:
                return f"{name}: content changed"
        except OSError as exc:
            return f"{name}: {exc.strerror}"
    return None


def _is_verified(path: str) -> bool:
    try:
        with open(os.path.join(path, MANIFEST), "rb") as f:
            return bool(json.loads(f.read()).get("record_verified"))
    except (OSError, ValueError):
        return False


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
    """Remove a cache tree. Its files are read-only but its directories are not, so a
    plain rmtree works; errors are ignored because a concurrent remover may race us."""
    shutil.rmtree(path, ignore_errors=True)
