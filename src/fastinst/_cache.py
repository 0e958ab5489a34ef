"""The global cache of unpacked wheels, keyed by the SHA-256 of the wheel file.

Layout under the cache directory::

    wheels-v2/<sha256>/tree/<key>/...  the wheel's files in scheme layout, read-only
    wheels-v2/<sha256>/entry           header and file table (``_entry``)
    index-v1/<sha256 of the path>      (size, mtime, ctime, inode) of a wheel file -> its sha256
    tmp/                               entries being built; renamed into place when whole
    probe-v2/                          interpreter answers (see _probe_cache)

An entry is trusted only once its directory has its final name, and it gets that
name by one ``rename`` after everything in it was written and verified: a killed
or concurrent builder can never leave a half-filled entry that is used later.
Entries of older formats (``wheels-v1/``) are never read; ``cache prune`` and
``cache clean`` remove them.

A cache is used only when no other user can change it (`open_cache`, the trust
rule of ``_trust``), and fastinst makes its files and directories so that no one
else can, whatever the umask: directories 0o755, cached files 0o444 or 0o555
(also what a hardlink gives an environment, whoever filled the cache).
"""

from __future__ import annotations

import os
import stat
import time

from . import _backend, _jsontext, _trust
from ._entry import KEY_NAMES, SCRIPTS, TREE, CacheEntry, read_entry, write_entry
from ._errors import FastinstError, suppress
from ._log import logger
from ._probe_cache import CACHE_CONTENTS
from ._probe_cache import default_cache_dir as default_cache_dir  # one place for both caches
from ._tree import iter_files, remove_tree
from ._tuples import NamedTuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:  # a warm install does not import them
    from collections.abc import Iterator

    from ._archive import ArchiveSource, Task
    from ._plan import Member
    from ._wheel import Wheel


ENTRIES = "wheels-v2"
OLD_ENTRIES = ("wheels-v1",)
INDEX = "index-v1"
TMP = "tmp"
# Cached files are read-only, so that editing an installed file through a hardlink
# fails instead of silently changing the cache for every environment.
MODE_FILE = 0o444
MODE_EXEC = 0o555


# (cache, path, stamp) -> the digest, for this process: the command line asks for a
# wheel's digest for its direct_url.json, and the install again. The stamp is the
# index's, so a wheel rewritten since is hashed again.
_digests: dict[tuple[object, ...], str] = {}


def open_cache(root: str) -> WheelCache | None:
    """The cache in directory ``root``, if the trust rule lets us use it (else
    ``None``, after a warning once: the install goes without a cache)."""
    real = _trust.check(root, CACHE_CONTENTS)
    return None if real is None else WheelCache(real)


def wheel_digests(cache: WheelCache | None, paths: list[str], threads: int = 0) -> list[str]:
    """The SHA-256 (hex) of each wheel file in ``paths``: the cache's
    (`WheelCache.wheel_digest`, remembered in its index) when there is a usable
    one, else read. The core hashes without the GIL, so ``threads`` threads (0:
    one per CPU) hash that many files at once, the biggest first. Raises the
    `OSError` of the first file (in ``paths`` order) that cannot be read.
    """

    def digest(path: str) -> str:
        if cache is not None:
            with suppress(OSError):
                return cache.wheel_digest(path)
        return _backend.core.sha256_file(path)

    out: list[str | OSError] = [""] * len(paths)
    unknown = []  # the wheels to hash: those the cache's index does not know
    for i, path in enumerate(paths):
        known = cache.known_digest(path) if cache is not None else None
        if known is None:
            unknown.append(i)
        else:
            out[i] = known
    workers = min(len(unknown), threads or os.cpu_count() or 1)
    if workers <= 1:
        for i in unknown:
            out[i] = digest(paths[i])
        return [str(d) for d in out]
    import threading

    sizes = []
    for i in unknown:
        try:
            sizes.append((-os.stat(paths[i]).st_size, i))
        except OSError:
            sizes.append((0, i))
    todo = iter(sorted(sizes))  # next() on it is atomic: the GIL is held

    def work() -> None:
        for _size, i in todo:
            try:
                out[i] = digest(paths[i])
            except OSError as exc:
                out[i] = exc

    helpers = [threading.Thread(target=work, daemon=True) for _ in range(workers - 1)]
    for t in helpers:
        t.start()
    try:
        work()
    finally:
        for t in helpers:
            t.join()
    digests = []
    for item in out:
        if isinstance(item, OSError):
            raise item
        digests.append(item)
    return digests


class UntrustedCache(FastinstError):
    """A cache directory that fails the trust rule, for the maintenance commands
    (an install goes without the cache instead)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"the cache {path} is not used: {reason}")


def check_trusted(root: str) -> None:
    """Raise `UntrustedCache` unless the trust rule lets us use the cache in ``root``."""
    real, why = _trust.problem(root)
    if why is not None:
        raise UntrustedCache(real, why)


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
        """The SHA-256 of a wheel file, remembered by (size, mtime, ctime, inode).

        The ctime because a user can put a file's mtime back after rewriting it in
        place, but not its ctime (every write and ``utime`` moves it on)."""
        known = self.known_digest(path)
        if known is not None:
            return known
        stamp = _stamp(path)
        memo = (self.root, path, *stamp)
        digest = _backend.core.sha256_file(path)
        _write_atomic(
            os.path.join(self.root, INDEX, _path_key(path)),
            _jsontext.dumps({"path": path, "stamp": stamp, "sha256": digest}).encode(),
        )
        _digests[memo] = digest
        return digest

    def known_digest(self, path: str) -> str | None:
        """The SHA-256 of a wheel file this process or the index knows for its
        current (size, mtime, ctime, inode), else None (also when it cannot be read)."""
        try:
            stamp = _stamp(path)
        except OSError:
            return None
        memo = (self.root, path, *stamp)
        known = _digests.get(memo)
        if known is not None:
            return known
        with suppress(OSError, ValueError, KeyError, TypeError):
            index = os.path.join(self.root, INDEX, _path_key(path))
            fd = os.open(index, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with open(fd, encoding="utf-8") as f:
                # a digest says which entry is installed: only one of ours counts
                if _trust.file_problem(os.fstat(fd)) is None:
                    saved = _jsontext.loads(f.read(4096))
                    if saved["stamp"] == stamp:
                        digest = _digests[memo] = str(saved["sha256"])
                        return digest
        return None

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
        with suppress(OSError):
            os.utime(path)  # last use, for `cache prune`
        return entry

    # --- writing --------------------------------------------------------------------

    def populate_many(
        self,
        wheels: list[tuple[Wheel | ArchiveSource, str]],
        threads: int,
        *,
        verified: bool,
        counters: bytearray | None = None,
    ) -> list[CacheEntry]:
        """Unpack each ``(wheel, digest)`` into the cache, all in one parallel pass;
        return the entries, in order. RECORD is checked on the way in. ``counters``:
        bytes written so far, 8 bytes per wheel (see the core's ``extract``). A
        wheel may come as its `ArchiveSource` (planned already)."""
        builder = EntryBuilder(self, threads, verified=verified, counters=counters)
        try:
            for wheel, digest in wheels:
                builder.add(wheel, digest)
            return builder.close()
        finally:
            builder.abort()

    def builder(self, threads: int, *, verified: bool) -> EntryBuilder:
        """An `EntryBuilder` that starts unpacking each wheel as soon as it is added."""
        return EntryBuilder(self, threads, verified=verified, background=True)

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
        _trust.make_dirs(os.path.dirname(doomed))
        try:
            os.rename(path, doomed)
        except FileNotFoundError:
            return
        _rmtree_writable(doomed)

    # --- maintenance (``fastinst cache ...``) -----------------------------------------

    def entries(self) -> Iterator[EntryDir]:
        base = os.path.join(self.root, ENTRIES)
        with suppress(FileNotFoundError):
            for name in sorted(os.listdir(base)):
                yield EntryDir(name, os.path.join(base, name))

    def info(self) -> dict[str, object]:
        """Location, entry count and size in bytes."""
        size = 0
        count = 0
        for entry in self.entries():
            count += 1
            for file in iter_files(entry.path):
                with suppress(OSError):
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
            with suppress(FileNotFoundError):
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
        with suppress(FileNotFoundError):
            for name in os.listdir(tmp):
                path = os.path.join(tmp, name)
                with suppress(FileNotFoundError):
                    if now - os.lstat(path).st_mtime >= older_than:
                        _rmtree_writable(path)


class _Build(NamedTuple):
    """One wheel being unpacked into a new entry: its directory, and the core's job."""

    source: ArchiveSource
    digest: str
    path: str  # the build directory, in tmp/ until published
    dirs: list[str]  # to make below it, parents first
    members: list[Member]
    tasks: list[Task]


class EntryBuilder:
    """Unpacks wheels into new entries of one cache.

    ``add`` hands a wheel over, ``close`` waits for all of them and returns their
    entries (in the order added), ``abort`` (always safe to call) waits for the
    work under way and removes what was not finished. With ``background`` the
    core starts on the first wheel at once and writes while the caller opens
    and checks the next ones (`_archive.Extraction`); the entry files are
    written by ``close``, as each wheel's call returns. An entry depends on its
    wheel alone, so nothing here needs to know the others: a wheel refused later
    refuses the install before anything is written into the environment, and
    the entries already made are sound ones. Without ``background``, everything
    is unpacked by ``close``, in one core call (``counters``: bytes written, 8
    per wheel, see the core's ``extract``).
    """

    def __init__(
        self,
        cache: WheelCache,
        threads: int,
        *,
        verified: bool,
        counters: bytearray | None = None,
        background: bool = False,
    ) -> None:
        from ._archive import Extraction
        from ._distinfo import current_umask

        self.cache = cache
        self.threads = threads
        self.verified = verified
        self.umask = current_umask()
        self.builds: list[_Build] = []  # every one added, in order
        self.error: OSError | None = None
        self.extraction = Extraction(threads, background=background, counters=counters, stamps=True)
        self.tmp_root = os.path.join(cache.root, TMP)
        self.ready = False

    def add(self, wheel: Wheel | ArchiveSource, digest: str) -> None:
        from ._archive import ArchiveSource

        source = wheel if isinstance(wheel, ArchiveSource) else ArchiveSource(wheel)
        if self.error is not None:
            return
        try:
            build = self._prepare(source, digest)
        except OSError as exc:  # a cache that cannot be written: raised by close()
            self.error = exc
            return
        self.extraction.add(source.wheel, build.members, build.tasks, build.dirs)

    def close(self) -> list[CacheEntry]:
        """Wait for every wheel added; their entries, in order. Raises what failed."""
        if self.error is not None:
            raise self.error
        stamps = self.extraction.stamps
        assert stamps is not None
        for index, digests in self.extraction.done():
            self._publish(self.builds[index], digests, bytes(stamps[index]))
        result = []
        for build in self.builds:
            loaded = self.cache.load(build.digest, verified=self.verified)
            if loaded is None:
                raise FastinstError(
                    f"cache entry {self.cache.entry_path(build.digest)} vanished while in use"
                )
            result.append(loaded)
        return result

    def abort(self) -> None:
        """Drop what is not started, wait for what is, remove unfinished builds."""
        self.extraction.close()
        for build in self.builds:
            if os.path.lexists(build.path):
                _rmtree_writable(build.path)
        self.builds = []

    def _prepare(self, source: ArchiveSource, digest: str) -> _Build:
        """Make the build directory of a wheel; plan its directories and tasks."""
        from operator import itemgetter  # (a warm install does not import it)

        from . import _archive

        if not self.ready:
            _trust.make_dirs(self.tmp_root)
            _trust.make_dirs(os.path.join(self.cache.root, ENTRIES))
            self.ready = True
        path = os.path.join(self.tmp_root, f"{digest[:16]}-{os.getpid()}-{time.monotonic_ns()}")
        os.mkdir(path, _trust.DIR_MODE)
        tree = os.path.join(path, TREE)
        lay = source.layout
        # in the table's order, so that its rows need no sorting when it is made
        members = sorted(lay.files + lay.scripts, key=itemgetter(1, 2))  # (key, path)
        keys = [f"{tree}/{k}/" for k in KEY_NAMES]
        dests = [keys[m.key] + m.path for m in members]
        dirs: set[str] = set()
        for parent in {d.rpartition("/")[0] for d in dests}:
            while parent not in dirs and parent != path:
                dirs.add(parent)
                parent = parent.rpartition("/")[0]
        modes = [MODE_EXEC if m.executable else MODE_FILE for m in members]
        todo = _archive.tasks(source.wheel, members, dests, modes)
        build = _Build(source, digest, path, sorted(dirs, key=lambda p: (p.count("/"), p)),
                       members, todo)  # fmt: skip
        self.builds.append(build)
        return build

    def _publish(self, build: _Build, digests: bytes, stamps: bytes) -> None:
        """Write the entry file of an extracted build and give it its final name."""
        from . import _archive

        _fix_modes(self.umask, [build.path], set(build.dirs), build.tasks)
        wheel = build.source.wheel
        _archive.check_other_algorithms(wheel, build.members, build.tasks)
        _finish(build.path, build.source, build.members, digests, stamps, verified=self.verified)
        self.cache._publish(build.path, build.digest, verified=self.verified)


def _fix_modes(umask: int, builds: list[str], dirs: set[str], tasks: list[Task]) -> None:
    """Give a build the modes the cache promises, when the umask took bits away
    from them (files 0o444 or 0o555: a umask of 077 would make them 0o400, and every
    environment hardlinked from them later unreadable to other users) or let
    others write (directories 0o755). Nothing to do under the usual umask 022."""
    if (0o777 & ~umask) != _trust.DIR_MODE:
        for d in [*builds, *dirs]:
            os.chmod(d, _trust.DIR_MODE)
    if umask & (MODE_EXEC | MODE_FILE):
        for t in tasks:
            os.chmod(t[5], t[6])


def _finish(
    build: str,
    source: ArchiveSource,
    members: list[Member],
    blob: bytes,
    stamps: bytes,
    *,
    verified: bool,
) -> None:
    """Write the ``entry`` file of a build whose tree is extracted: ``members``
    are the layout's files and scripts, sorted by key and path as the table's
    rows are (``blob``: their SHA-256 digests, in order; ``stamps``: the size and
    mtime of each new file, as the core's ``extract`` took them from the file it
    had written)."""
    from ._entry import FLAG_EXEC
    from ._records import encode_hash
    from ._scripts import posix_body
    from ._wheel import USIZE

    wheel = source.wheel
    tree = os.path.join(build, TREE)
    scripts: list[list[object]] = []
    wrapped = set()  # indexes of the members that are #!python scripts
    for i in [i for i, m in enumerate(members) if m.key == SCRIPTS]:
        m = members[i]
        # A script that starts with #!python is rewritten for each environment;
        # any other is linked as it is (executable, as pip makes it).
        with open(f"{tree}/scripts/{m.path}", "rb") as f:
            if f.read(8) == b"#!python":
                sha = encode_hash(blob[i * 32 : i * 32 + 32])
                scripts.append([m.path, m.entry[USIZE], sha])
                wrapped.add(i)
    # Whole-list passes: this runs on the calling thread for every member.
    digests = [blob[i : i + 32] for i in range(0, 32 * len(members), 32)]
    rows = [
        (m.key, m.path, FLAG_EXEC if m.executable else 0, digest)
        for m, digest in zip(members, digests)
    ]
    known = stamps  # the stamps of those rows
    if wrapped:
        rows = [row for i, row in enumerate(rows) if i not in wrapped]
        kept = [i for i in range(len(members)) if i not in wrapped]
        known = b"".join([stamps[i * 16 : i * 16 + 16] for i in kept])
    size = sum([m.entry[USIZE] for m in members])
    # No lstat: the rows come sorted (the files of a directory are neighbours),
    # with the stamps the core took from each file it wrote.
    table = _backend.core.make_table([f"{tree}/{k}" for k in KEY_NAMES], rows, 0, known)
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
        "tops": source.layout.tops,  # (of the same members)
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
    problem = _tree_problem(entry.path)
    if problem is not None:
        return problem
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


def _tree_problem(path: str) -> str | None:
    """A symbolic link, or a file or directory that another user owns or can write,
    anywhere in an entry: what a warm install would refuse or should not trust."""
    import stat

    for item in iter_files(path, dirs=True):  # symlinks are listed, not followed
        try:
            st = item.stat(follow_symlinks=False)
        except OSError as exc:
            return f"{os.path.relpath(item.path, path)}: {exc.strerror}"
        if stat.S_ISLNK(st.st_mode):
            why: str | None = "a symbolic link"
        elif stat.S_ISDIR(st.st_mode):
            why = _trust.dir_problem(st)
        else:
            why = _trust.file_problem(st)
        if why is not None:
            return f"{os.path.relpath(item.path, path)}: {why}"
    return None


def _stamp(path: str) -> list[int]:
    """What says a wheel file is the one hashed before: size, mtime, ctime, inode, device."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


# directory -> its realpath: the wheels of an install share a directory or two, and
# os.path.realpath walks every component with an lstat, in Python
_real_dirs: dict[str, str] = {}


def _path_key(path: str) -> str:
    """The index file's name for a wheel file: the SHA-256 of its real path.

    The directory's real path is remembered for the process: should it change,
    a key names another index file, whose stamp (device, inode, size, times) then
    matches only this very file, so a stale key costs a hash, never a wrong digest."""
    head, _sep, name = path.rpartition("/")
    real = None
    if head.startswith("/") and name not in ("", ".", ".."):
        with suppress(OSError):
            if not stat.S_ISLNK(os.lstat(path).st_mode):
                known = _real_dirs.get(head)
                if known is None:
                    known = _real_dirs[head] = os.path.realpath(head)
                real = f"{known.rstrip('/')}/{name}"
    if real is None:
        real = os.path.realpath(path)
    return _backend.core.sha256(real.encode("utf-8", "surrogateescape")).hex()


def _write_atomic(path: str, data: bytes, *, strict: bool = False) -> None:
    """Write via a temporary name and rename; unless ``strict``, skip quietly when the
    cache is not writable (the index is an optimisation, not a requirement)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        _trust.make_dirs(os.path.dirname(path))
        # 0o644 whatever the umask: a file others can write is not read back
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, 0o644)
        with open(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        if strict:
            raise
        logger.debug("cannot write %s: %s", path, exc)
        with suppress(OSError):
            os.unlink(tmp)


def _rmtree_writable(path: str) -> None:
    """Remove a cache tree, however deep. Its files are read-only but its directories
    are not, so unlinking works; errors are ignored because a concurrent remover
    may race us."""
    remove_tree(path, ignore_errors=True)
