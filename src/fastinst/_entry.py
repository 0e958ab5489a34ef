"""A cache entry: one wheel unpacked in the cache, planned once when it was built.

An entry is a directory ``<cache>/wheels-v2/<sha256 of the wheel>/`` with

- ``tree/<key>/...``: the wheel's files, already in scheme layout (``key`` is one
  of `KEY_NAMES`; the wheel's root is under ``purelib`` or ``platlib`` as its
  ``Root-Is-Purelib`` says), read-only;
- ``entry``: one file, ``MAGIC``, a fixed head, a small JSON header and the packed
  table of files (see ``_core_py.ROW``).

The header says everything a warm install needs besides the files: name,
version, ``.dist-info``, ``Root-Is-Purelib``, whether RECORD was verified, the
entry points with their launcher bodies, the ``.data/scripts`` files that need
the ``#!python`` rewrite (they are in the tree but not in the table), the
top-level names under each key, and ``Requires-Python``. The table is handed to
the core as it is read: a warm install makes no Python object per file.

Nothing read from an entry is trusted blindly: the header is checked here when
it is loaded (names, paths, types), and each row by the core when it is used
(no ``..``, no absolute path, a regular file of the row's size and time).
"""

from __future__ import annotations

import os

from ._jsontext import loads
from ._scripts import EntryPoint, ScriptStream
from ._tuples import NamedTuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterator

KEY_NAMES = ("purelib", "platlib", "headers", "scripts", "data")
PURELIB, PLATLIB, HEADERS, SCRIPTS, DATA = range(5)
FLAG_EXEC = 1  # a row's flag: the file is executable (as ``_core_py.FLAG_EXEC``)
TREE = "tree"
FILE = "entry"
MAGIC = b"fastinst-entry\n\0"
# 5: the first binary entry (formats 1-4 were manifest.json in wheels-v1/); 6:
# entries built since control characters, name limits, interpreter names and
# other distributions' metadata are refused, and entry point names normalised
# (an entry built before was never checked by those rules).
FORMAT = 6
# magic (16 bytes), then little-endian: format (4), header length (4), table
# length (8), rows (8); read with int.from_bytes (``struct`` costs a warm install
# more than reading every entry it links)
_HEAD_SIZE = 40
_MAX_HEADER = 16 << 20


class ScriptFile(NamedTuple):
    """A ``.data/scripts`` file that starts with ``#!python``: rewritten at install."""

    path: str  # below the scripts key, "/"-separated
    size: int
    hash: str  # "sha256=..." of the cached (not yet rewritten) bytes


class CacheEntry:
    """One unpacked wheel in the cache: its header, and its file table as packed bytes."""

    __slots__ = (
        "digest",
        "dist_info",
        "entry_points",
        "files",
        "name",
        "path",
        "record_verified",
        "requires_python",
        "root_is_purelib",
        "rows",
        "scripts",
        "size",
        "table",
        "tops",
        "version",
        "wheel",
    )  # fmt: skip

    def __init__(self, path: str, digest: str, header: dict[str, object], table: bytes) -> None:
        self.path = path
        self.digest = digest
        self.table = table
        self.wheel = str(header["wheel"])  # the file name it was built from
        self.name = str(header["name"])
        self.version = str(header["version"])
        self.dist_info = str(header["dist_info"])
        self.root_is_purelib = bool(header["root_is_purelib"])
        self.record_verified = bool(header["record_verified"])
        rp = header.get("requires_python")
        self.requires_python = rp if isinstance(rp, str) else None
        self.entry_points = [
            EntryPoint(n, m, a, s, b.encode("utf-8"))
            for n, m, a, s, b in header["entry_points"]  # type: ignore[attr-defined]
        ]
        self.scripts = [ScriptFile(p, z, h) for p, z, h in header["scripts"]]  # type: ignore[attr-defined]
        self.tops: list[list[str]] = [list(t) for t in header["tops"]]  # type: ignore[attr-defined]
        self.rows: list[tuple[int, str, int, int, int, bytes]] | None = None  # read when asked
        self.files = int(header["files"])  # type: ignore[call-overload]
        self.size = int(header["bytes"])  # type: ignore[call-overload]

    def __repr__(self) -> str:
        return f"CacheEntry({self.path!r}, {self.name} {self.version}, {self.files} files)"

    @property
    def tree(self) -> str:
        return os.path.join(self.path, TREE)

    @property
    def lib_key(self) -> int:
        """The key of the wheel's root, where its ``.dist-info`` is."""
        return PURELIB if self.root_is_purelib else PLATLIB

    def sources(self) -> list[str | None]:
        """The cached directory of each key (whether the entry has files there or not)."""
        tree = self.tree
        return [f"{tree}/{k}" for k in KEY_NAMES]

    def listing(self) -> list[tuple[int, str, str]]:
        """``(key, path, hash)`` of every file in the table (read per file: for dry
        runs, bytecode and overlapping wheels, not for a plain install)."""
        from ._records import encode_hash

        return [(key, path, encode_hash(sha)) for key, path, _s, _m, _f, sha in self._rows()]

    def paths(self) -> list[tuple[int, str]]:
        """``(key, path)`` of every file in the table; `file_hash` gives a row's hash
        (two wheels that share a directory compare only the files in it)."""
        return [(row[0], row[1]) for row in self._rows()]

    def file_hash(self, index: int) -> str:
        """The RECORD hash of the table's row ``index``."""
        from ._records import encode_hash

        return encode_hash(self._rows()[index][5])

    def _rows(self) -> list[tuple[int, str, int, int, int, bytes]]:
        if self.rows is None:
            from . import _backend
            from ._errors import CoreFailure

            try:
                self.rows = _backend.core.read_table(self.table)
            except CoreFailure as failure:
                raise DamagedCacheEntry(
                    self, self.path, f"row {failure.index}: {failure.detail}"
                ) from None
        return self.rows

    def script_files(self) -> list[ScriptStream]:
        """The ``#!python`` scripts, read in pieces when asked, checked against the
        header as they are read."""
        return [
            ScriptStream(s.path, s.hash, lambda s=s: self._script_chunks(s))  # type: ignore[misc]
            for s in self.scripts
        ]

    def _script_chunks(self, script: ScriptFile) -> Iterator[bytes]:
        import hashlib

        from ._records import encode_hash

        path = f"{self.tree}/{KEY_NAMES[SCRIPTS]}/{script.path}"
        h = hashlib.sha256()
        size = 0
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise DamagedCacheEntry(self, path, exc.strerror or "unreadable") from None
        try:
            while True:
                try:
                    chunk = os.read(fd, 1 << 20)
                except OSError as exc:
                    raise DamagedCacheEntry(self, path, exc.strerror or "unreadable") from None
                if not chunk:
                    break
                size += len(chunk)
                if size > script.size:
                    break
                h.update(chunk)
                yield chunk
        finally:
            os.close(fd)
        if size != script.size or encode_hash(h.digest()) != script.hash:
            raise DamagedCacheEntry(self, path, "changed since it was cached")


class DamagedCacheEntry(Exception):
    """A cache entry's file is gone or differs from its table (internal: the entry
    is rebuilt from the wheel, or the install fails when the wheel is gone)."""

    def __init__(self, entry: CacheEntry, path: str, reason: str) -> None:
        self.entry = entry
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def read_entry(path: str, digest: str) -> CacheEntry | None:
    """The entry in directory ``path``; ``None`` when it is missing, of another
    format (older entries are rebuilt, never misread), or its header is not sound."""
    try:
        fd = os.open(os.path.join(path, FILE), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size) if size >= _HEAD_SIZE else b""
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) < _HEAD_SIZE:
        return None
    magic, fmt = data[:16], int.from_bytes(data[16:20], "little")
    header_len = int.from_bytes(data[20:24], "little")
    table_len = int.from_bytes(data[24:32], "little")
    rows = int.from_bytes(data[32:40], "little")
    if magic != MAGIC or fmt != FORMAT or header_len > _MAX_HEADER:
        return None
    if _HEAD_SIZE + header_len + table_len != len(data):
        return None
    try:
        header = loads(data[_HEAD_SIZE : _HEAD_SIZE + header_len])
    except ValueError:
        return None
    if _header_problem(header, rows) is not None:
        return None
    return CacheEntry(path, digest, header, data[_HEAD_SIZE + header_len :])


def write_entry(path: str, header: dict[str, object], table: bytes, rows: int) -> None:
    """Write the ``entry`` file of the entry being built in directory ``path``."""
    import json
    import struct

    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head = struct.pack("<16sIIQQ", MAGIC, FORMAT, len(blob), len(table), rows)
    data = head + blob + table
    fd = os.open(
        os.path.join(path, FILE), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444
    )
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _name_ok(name: object) -> bool:
    """A single path segment fastinst may create."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and "/" not in name
        and "\0" not in name
        and not name.startswith(".fastinst")
    )


def _path_ok(path: object) -> bool:
    return isinstance(path, str) and all(_name_ok(p) for p in path.split("/"))


def _header_problem(h: object, rows: int) -> str | None:
    """What is wrong with a header read from disk, or None (it is used as paths)."""
    if not isinstance(h, dict):
        return "not an object"
    for key in ("wheel", "name", "version", "dist_info"):
        if not isinstance(h.get(key), str):
            return f"{key} is not a string"
    if not _name_ok(h["dist_info"]) or not h["dist_info"].endswith(".dist-info"):
        return "bad .dist-info name"
    if h.get("files") != rows or not isinstance(h.get("bytes"), int):
        return "bad counts"
    eps = h.get("entry_points")
    if not isinstance(eps, list) or not all(
        isinstance(ep, list)
        and len(ep) == 5
        and all(isinstance(x, str) for x in ep)
        and _path_ok(ep[0])  # a launcher may be below a directory (``sub/tool``)
        for ep in eps
    ):
        return "bad entry points"
    scripts = h.get("scripts")
    if not isinstance(scripts, list) or not all(
        isinstance(s, list)
        and len(s) == 3
        and _path_ok(s[0])
        and isinstance(s[1], int)
        and isinstance(s[2], str)
        for s in scripts
    ):
        return "bad scripts"
    tops = h.get("tops")
    if not (
        isinstance(tops, list)
        and len(tops) == len(KEY_NAMES)
        and all(isinstance(t, list) and all(_name_ok(n) for n in t) for t in tops)
    ):
        return "bad top-level names"
    return None
