"""The pure-Python twin of the compiled core: same names, same results, same errors.

It is the reference for ``_core.pyx`` (the tests run both on the same inputs) and
the fallback when the extension is missing. The zip parser is a small one of our
own rather than ``zipfile`` so that both cores accept and reject exactly the
same archives, with the same reasons.
"""

from __future__ import annotations

import base64
import errno as errno_mod
import hashlib
import operator
import os
import stat
import struct
import threading
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional, Union

from . import _zstd
from ._errors import CoreFailure, CorruptArchive, MemberFailure

# (name, method, flags, crc32, compressed_size, file_size, header_offset, external_attr)
Entry = tuple[str, int, int, int, int, int, int, int]
# (header_offset, method, compressed_size, file_size, crc32, dest, mode,
#  expected_sha256, expected_size, name); expected_sha256 is the raw digest, b""
#  (none), or RECORD's hash field ("sha256=...": decoded by the core; another
#  algorithm is not checked by the core)
Task = tuple[int, int, int, int, int, str, int, Union[bytes, str], int, str]

LINK_CLONE, LINK_HARDLINK, LINK_COPY = 0, 1, 2

METHOD_STORED, METHOD_DEFLATED, METHOD_ZSTD = 0, 8, 93

_EOCD = struct.Struct("<4sHHHHIIH")
_ZIP64_LOCATOR = struct.Struct("<4sIQI")
_ZIP64_EOCD = struct.Struct("<4sQHHIIQQQQ")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_MAX_COMMENT = 0xFFFF
_FICLONE = 0x40049409  # _IOW(0x94, 9, int) from linux/fs.h
_CHUNK = 1 << 20


# --- central directory -------------------------------------------------------------


def _pread_exact(fd: int, n: int, offset: int) -> bytes:
    """``n`` bytes at ``offset`` (fewer only at the end of the file)."""
    parts = []
    while n > 0:
        b = os.pread(fd, n, offset)
        if not b:
            break
        parts.append(b)
        n -= len(b)
        offset += len(b)
    return b"".join(parts)


def read_central_directory(path: str) -> list[Entry]:
    """Every entry of the zip archive at ``path``, in central-directory order.

    For example, ``read_central_directory("demo-1.0-py3-none-any.whl")[0][0]`` is
    the first member's name, ``'demo/__init__.py'``.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return _read_central_directory(fd, path)
    finally:
        os.close(fd)


def _read_central_directory(fd: int, path: str) -> list[Entry]:
    def bad(reason: str) -> CorruptArchive:
        return CorruptArchive(wheel=path, reason=reason)

    size = os.fstat(fd).st_size
    if size < _EOCD.size:
        raise bad("no end of central directory record")
    tail_len = min(size, _EOCD.size + _MAX_COMMENT)
    tail = _pread_exact(fd, tail_len, size - tail_len)
    if len(tail) != tail_len:
        raise bad("archive changed while being read")
    p = tail.rfind(b"PK\x05\x06", 0, tail_len - _EOCD.size + 4)
    if p < 0:
        raise bad("no end of central directory record")
    eocd_pos = size - tail_len + p
    _, disk, cd_disk, n_disk, n_total, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, p)
    cd_end = eocd_pos
    locator = _pread_exact(fd, _ZIP64_LOCATOR.size, eocd_pos - 20) if eocd_pos >= 20 else b""
    if len(locator) == 20 and locator[:4] == b"PK\x06\x07":
        _, z64_disk, z64_offset, disks = _ZIP64_LOCATOR.unpack(locator)
        if z64_disk != 0 or disks > 1:
            raise bad("multi-disk archives are not supported")
        if z64_offset + _ZIP64_EOCD.size > eocd_pos - 20:
            raise bad("bad zip64 end of central directory record")
        rec = _pread_exact(fd, _ZIP64_EOCD.size, z64_offset)
        if len(rec) != _ZIP64_EOCD.size or rec[:4] != b"PK\x06\x06":
            raise bad("bad zip64 end of central directory record")
        _, _, _, _, disk, cd_disk, n_disk, n_total, cd_size, cd_offset = _ZIP64_EOCD.unpack(rec)
        cd_end = z64_offset
    if disk != 0 or cd_disk != 0 or n_disk != n_total:
        raise bad("multi-disk archives are not supported")
    if cd_offset > cd_end or cd_size > cd_end - cd_offset:
        raise bad("central directory lies outside the file")
    cd = _pread_exact(fd, cd_size, cd_offset)
    if len(cd) != cd_size:
        raise bad("archive changed while being read")

    entries: list[Entry] = []
    extents: list[tuple[int, int]] = []
    pos = 0
    for _ in range(n_total):
        if pos + 46 > cd_size:
            raise bad("entry count mismatch")
        (sig, _, _, flags, method, _, _, crc, csize, usize, n, e, c, _, _, attr, offset) = (
            _CENTRAL.unpack_from(cd, pos)
        )
        if sig != b"PK\x01\x02":
            raise bad("bad central directory entry signature")
        end = pos + 46 + n + e + c
        if end > cd_size:
            raise bad("central directory is truncated")
        try:
            name = cd[pos + 46 : pos + 46 + n].decode("utf-8")
        except UnicodeDecodeError:
            raise bad("member name is not valid UTF-8") from None
        if usize == 0xFFFFFFFF or csize == 0xFFFFFFFF or offset == 0xFFFFFFFF:
            usize, csize, offset = _zip64_extra(
                cd[pos + 46 + n : pos + 46 + n + e], usize, csize, offset, bad
            )
        if offset + 30 + n + csize > cd_offset:
            raise bad("entry offset out of range")
        entries.append((name, method, flags, crc, csize, usize, offset, attr))
        extents.append((offset, offset + 30 + n + csize))
        pos = end
    if pos != cd_size:
        raise bad("entry count mismatch")
    _check_extents(extents, entries, path)
    return entries


def _check_extents(extents: list[tuple[int, int]], entries: list[Entry], path: str) -> None:
    """Refuse members whose bytes overlap: local header (with the directory's name)
    and data of two members may not share a byte. That is the layout of the classic
    zip bomb, many directory entries sharing one piece of data; no writer makes it."""
    order = sorted(range(len(extents)), key=lambda i: (extents[i][0], i))
    for prev, k in zip(order, order[1:]):
        if extents[k][0] < extents[prev][1]:
            raise CorruptArchive(
                wheel=path,
                reason=f"its data overlaps member {entries[k][0]!r} (the layout of a zip bomb)",
                member=entries[prev][0],
            )


def _zip64_extra(
    extra: bytes, usize: int, csize: int, offset: int, bad: Callable[[str], CorruptArchive]
) -> tuple[int, int, int]:
    """Replace the 0xFFFFFFFF fields by their values from the zip64 extra field."""
    q = 0
    while q + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, q)
        if kind == 1:
            if q + 4 + size > len(extra):
                break
            data, d = extra[q + 4 : q + 4 + size], 0
            values = [usize, csize, offset]
            for i, v in enumerate(values):
                if v == 0xFFFFFFFF:
                    if d + 8 > len(data):
                        break
                    (values[i],) = struct.unpack_from("<Q", data, d)
                    d += 8
            else:
                return values[0], values[1], values[2]
            break
        q += 4 + size
    raise bad("bad zip64 extra field")


# --- extraction ----------------------------------------------------------------------


def _cpu_count() -> int:
    return os.cpu_count() or 1


def _threads(threads: int, work: int) -> int:
    if threads < 0:
        raise ValueError("threads must be >= 0")
    return max(1, min(threads or _cpu_count(), work))


def _check_task(task: Sequence[Any], job: int, index: int) -> Task:
    """``task`` with its types checked as the compiled core checks them, and a RECORD
    hash field (a ``str``) decoded: `CoreFailure` ``"record-hash"`` when malformed."""
    offset, method, csize, usize, crc, dest, mode, sha, size, name = task
    if not isinstance(dest, str):
        raise TypeError(f"paths must be str, not {type(dest).__name__}")
    if "\0" in dest:
        raise ValueError("embedded null byte")
    if not isinstance(sha, (bytes, str)):
        raise TypeError(f"expected_sha256 must be bytes or str, not {type(sha).__name__}")
    if not isinstance(name, str):
        raise TypeError(f"member names must be str, not {type(name).__name__}")
    name.encode("utf-8")  # the compiled core needs its UTF-8 (surrogates fail here)
    i = operator.index
    checked = (i(offset), i(method), i(csize), i(usize), i(crc), dest, i(mode), sha, i(size), name)
    if isinstance(sha, str):  # RECORD's field, decoded here as the compiled core does
        digest = _record_sha256(sha)
        if digest is None:
            raise CoreFailure("record-hash", job, index, 0, dest)
        checked = (*checked[:7], digest, *checked[8:])
    return checked


_TO_STANDARD_B64 = str.maketrans("-_", "+/")


def _record_sha256(field: str) -> bytes | None:
    """The SHA-256 that a RECORD hash field promises; b"" for another algorithm or an
    empty field (checked by the caller, or not at all); None when a sha256 field is
    malformed. 43 base64 characters (urlsafe or standard, one "=" of padding allowed)."""
    if not field.startswith("sha256="):
        return b""
    encoded = field[7:]
    if len(encoded) == 44 and encoded.endswith("="):
        encoded = encoded[:43]
    if len(encoded) != 43:
        return None
    try:
        raw = base64.b64decode(encoded.translate(_TO_STANDARD_B64) + "=", validate=True)
    except ValueError:  # binascii.Error, or characters that are not ASCII
        return None
    return raw if len(raw) == 32 else None


def _limits(tasks: list[Task]) -> list[int]:
    """Where each task's data must end: the offset of the next member of its archive
    among the tasks (a task twice is one member), or no limit (-1)."""
    order = sorted(range(len(tasks)), key=lambda i: tasks[i][0])
    limits = [-1] * len(tasks)
    nxt = -1
    for k in range(len(order) - 1, -1, -1):
        if k + 1 < len(order) and tasks[order[k + 1]][0] > tasks[order[k]][0]:
            nxt = tasks[order[k + 1]][0]
        limits[order[k]] = nxt
    return limits


def _data_start(fd: int, archive_size: int, task: Task, limit: int) -> int:
    """Where the data of ``task``'s member starts, after checking its local header:
    its name is the directory's (a scanner reading the stream must see the file that
    is installed), and its data ends by ``limit`` (the next member's header; -1: no
    limit), which the directory's check could not know (the header's extra field)."""
    offset, csize, usize, name = task[0], task[2], task[3], task[9]
    if offset < 0 or csize < 0 or usize < 0:
        raise MemberFailure("header")
    encoded = name.encode("utf-8")
    try:
        head = _pread_exact(fd, 30 + len(encoded), offset)
    except OSError as exc:
        raise MemberFailure("io", exc.errno or 0, on_archive=True) from None
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise MemberFailure("header")
    n, e = struct.unpack_from("<HH", head, 26)
    start: int = offset + 30 + n + e
    if start + csize > archive_size:
        raise MemberFailure("header")
    if head[30 : 30 + n] != encoded or n != len(encoded):
        raise MemberFailure("name")
    if limit != -1 and start + csize > limit:
        raise MemberFailure("overlap")
    return start


def _read_data(fd: int, start: int, csize: int) -> bytes:
    """The ``csize`` compressed bytes of a member at ``start``."""
    try:
        data = _pread_exact(fd, csize, start)
    except OSError as exc:
        raise MemberFailure("io", exc.errno or 0, on_archive=True) from None
    if len(data) != csize:
        raise MemberFailure("header")
    return data


def _inflate(data: bytes, usize: int) -> bytes:
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(data, usize + 1)
    except zlib.error:
        raise MemberFailure("inflate") from None
    if not d.eof:
        raise MemberFailure("size" if len(out) > usize else "inflate")
    return out


def _do_task(
    fd: int, archive_size: int, task: Task, limit: int, stamp: list[bytes] | None = None
) -> bytes:
    """Extract one member; return its SHA-256 or raise `MemberFailure`. With
    ``stamp``, append the new file's size and mtime_ns (16 bytes, see `extract`)."""
    _, method, _, usize, crc, dest, mode, expected_sha, expected_size, _ = task
    if method not in (METHOD_STORED, METHOD_DEFLATED, METHOD_ZSTD):
        raise MemberFailure("method")
    start = _data_start(fd, archive_size, task, limit)
    if method == METHOD_ZSTD:
        digest = _zstd.extract(fd, start, task)  # streamed, with the same checks
        if stamp is not None:
            try:
                stamp.append(_stamp(os.lstat(dest)))
            except OSError as exc:
                raise MemberFailure("io", exc.errno or 0) from None
        return digest
    raw = _read_data(fd, start, task[2])
    data = _inflate(raw, usize) if method == METHOD_DEFLATED else raw
    del raw
    if len(data) != usize:
        raise MemberFailure("size")
    if zlib.crc32(data) != crc:
        raise MemberFailure("crc")
    if expected_size != -1 and expected_size != usize:
        raise MemberFailure("record-size")
    digest = hashlib.sha256(data).digest()
    if expected_sha and digest != expected_sha:
        raise MemberFailure("sha256")
    try:
        out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except OSError as exc:
        raise MemberFailure("io", exc.errno or 0) from None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]
        if stamp is not None:
            stamp.append(_stamp(os.fstat(out)))
    except OSError as exc:
        os.close(out)
        raise MemberFailure("io", exc.errno or 0) from None
    try:
        os.close(out)
    except OSError as exc:
        raise MemberFailure("io", exc.errno or 0) from None
    return digest


def _stamp(st: os.stat_result) -> bytes:
    return STAMP.pack(st.st_size, st.st_mtime_ns)


def extract(
    jobs: Sequence[tuple[str, Sequence[Task]]],
    threads: int,
    counters: bytearray | None = None,
    stamps: Sequence[bytearray] | None = None,
) -> list[bytes]:
    """Extract every task of every ``(archive, tasks)`` job; per job, the digests.

    ``counters``, when given, holds a little-endian 8-byte count per job that grows
    by each member's size once it is written, for another thread to poll.
    ``stamps``, when given, holds a bytearray per job with 16 bytes per task: the
    new file's size and modification time in nanoseconds (little-endian, as a
    cache table's row starts), taken from the file once written.

    For example, ``extract([("demo.whl", [task])], 0)``, with ``task`` a ``Task``
    such as ``(0, 8, 20, 31, 0x1234abcd, "/stage/a.py", 0o644, b"", -1, "a.py")``,
    gives ``[digest]``, the 32-byte SHA-256 of ``/stage/a.py``.
    """
    checked = []
    for j, (archive, tasks) in enumerate(jobs):
        if not isinstance(archive, str):
            raise TypeError(f"paths must be str, not {type(archive).__name__}")
        checked.append((archive, [_check_task(t, j, i) for i, t in enumerate(tasks)]))
    _threads(threads, 1)  # every argument is checked before any archive is opened
    if counters is not None and len(counters) != 8 * len(checked):
        raise ValueError("counters needs 8 bytes per job")
    if stamps is not None:
        stamps = list(stamps)
        if len(stamps) != len(checked) or any(
            not isinstance(b, bytearray) or len(b) != 16 * len(t)
            for b, (_, t) in zip(stamps, checked)
        ):
            raise ValueError("stamps needs a bytearray of 16 bytes per task for each job")
    fds: list[int] = []
    sizes: list[int] = []
    try:
        for j, (archive, tasks) in enumerate(checked):
            if not tasks:
                fds.append(-1)
                sizes.append(0)
                continue
            try:
                fd = os.open(archive, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise CoreFailure("io", j, 0, exc.errno or 0, archive) from None
            fds.append(fd)
            sizes.append(os.fstat(fd).st_size)
        return _extract(checked, fds, sizes, threads, counters, stamps)
    finally:
        for fd in fds:
            if fd >= 0:
                os.close(fd)


def _extract(
    jobs: list[tuple[str, list[Task]]],
    fds: list[int],
    sizes: list[int],
    threads: int,
    counters: bytearray | None,
    stamps: Sequence[bytearray] | None = None,
) -> list[bytes]:
    work = [(j, i) for j, (_, tasks) in enumerate(jobs) for i in range(len(tasks))]
    work.sort(key=lambda ji: -jobs[ji[0]][1][ji[1]][3])  # largest first, stable
    digests: list[list[bytes]] = [[b""] * len(tasks) for _, tasks in jobs]
    limits = [_limits(tasks) for _, tasks in jobs]
    lock = threading.Lock()
    failure: list[CoreFailure] = []

    def run(ji: tuple[int, int]) -> None:
        if failure:
            return
        j, i = ji
        task = jobs[j][1][i]
        try:
            stamp: list[bytes] | None = [] if stamps is not None else None
            digests[j][i] = _do_task(fds[j], sizes[j], task, limits[j][i], stamp)
            if stamps is not None and stamp:
                stamps[j][16 * i : 16 * i + 16] = stamp[0]
            if counters is not None:
                with lock:
                    _count(counters, j, task[3])
        except MemberFailure as f:
            with lock:
                if not failure:
                    detail = jobs[j][0] if f.on_archive else task[5]
                    failure.append(CoreFailure(f.kind, j, i, f.errno, detail))

    n = _threads(threads, len(work))
    if n == 1:
        for ji in work:
            run(ji)
    else:
        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(run, work))
    if failure:
        raise failure[0]
    return [b"".join(d) for d in digests]


def _count(counters: bytearray, index: int, n: int) -> None:
    """Add ``n`` to the 8-byte little-endian count ``index`` of ``counters``."""
    at = slice(8 * index, 8 * index + 8)
    counters[at] = (int.from_bytes(counters[at], "little") + n).to_bytes(8, "little")


# --- directories, links, hashes ----------------------------------------------------


def make_dirs(paths: Sequence[str]) -> None:
    """``mkdir`` each path in order (mode 0o777 less the umask); existing directories are fine.

    For example, ``make_dirs(["/stage/pkg", "/stage/pkg/sub"])``.
    """
    for path in paths:
        try:
            os.mkdir(path, 0o777)
        except FileExistsError:
            if not os.path.isdir(path):
                raise
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, path) from None


def _copy_fds(src: int, dst: int) -> None:
    """Copy ``src`` to ``dst`` from their current offsets: copy_file_range, else read/write."""
    fast = hasattr(os, "copy_file_range")
    while fast:
        try:
            n = os.copy_file_range(src, dst, 1 << 30)
        except OSError as exc:
            import errno

            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            break
        if n == 0:
            return
    while True:
        buf = os.read(src, _CHUNK)
        if not buf:
            return
        view = memoryview(buf)
        while view:
            view = view[os.write(dst, view) :]


# --- the table of a cache entry, and linking from it ----------------------------------
#
# A table is the packed list of an unpacked wheel's files, one row each:
# ``ROW`` (size, mtime_ns of the cached file, key, flags, path length, sha256),
# then the path (UTF-8, "/"-separated, relative to the key's directory). ``key``
# indexes the per-key sequences of `link_tree` (a scheme key: purelib, platlib,
# headers, scripts, data); flag ``FLAG_EXEC`` marks an executable file.

ROW = struct.Struct("<QqBBH32s")
STAMP = struct.Struct("<Qq")  # a row's start: size, mtime_ns (what `extract` reports)
KEYS = 5
FLAG_EXEC = 1
SKIP_LISTED, SKIP_UNLISTED = 1, 2  # a row's byte in link_tree's skip mask
# Row = (key, path, size, mtime_ns, flags, sha256)
Row = tuple[int, str, int, int, int, bytes]
_LINK_RUN = 128  # rows handed to a worker at a time (neighbours share a directory)


def _path_problem(path: str) -> str | None:
    """Why a table path may not be used (it must stay below its key's directory)."""
    if not path or path.startswith("/") or "\0" in path:
        return "empty, absolute or NUL in path"
    for part in path.split("/"):
        if part in ("", ".", ".."):
            return "empty, '.' or '..' segment"
    return None


def read_table(table: bytes) -> list[Row]:
    """The rows of a packed table, checked; `CoreFailure` ``"table"`` names a bad one.

    >>> read_table(b"")
    []
    """
    rows: list[Row] = []
    view = memoryview(table)
    pos = 0
    while pos < len(view):
        index = len(rows)
        if pos + ROW.size > len(view):
            raise CoreFailure("table", 0, index, 0, "truncated row")
        size, mtime, key, flags, n, sha = ROW.unpack_from(view, pos)
        pos += ROW.size
        if pos + n > len(view):
            raise CoreFailure("table", 0, index, 0, "truncated row")
        try:
            path = bytes(view[pos : pos + n]).decode("utf-8")
        except UnicodeDecodeError:
            raise CoreFailure("table", 0, index, 0, "path is not UTF-8") from None
        pos += n
        problem = "bad key" if key >= KEYS else _path_problem(path)
        if problem is not None:
            raise CoreFailure("table", 0, index, 0, problem)
        rows.append((key, path, size, mtime, flags, sha))
    return rows


def make_table(
    sources: Sequence[str | None],
    rows: Sequence[tuple[int, str, int, bytes]],
    threads: int,
    stamps: bytes | None = None,
) -> bytes:
    """Pack ``(key, path, flags, sha256)`` rows of the files below ``sources[key]``,
    with the size and modification time each file has now (`os.lstat`, in parallel),
    or those in ``stamps`` (16 bytes per row, as `extract` gives them: no ``lstat``).

    >>> make_table(["/cache/e/purelib", None, None, None, None], [], 0)
    b''
    """
    _threads(threads, 1)
    if stamps is not None and (not isinstance(stamps, bytes) or len(stamps) != 16 * len(rows)):
        raise ValueError("stamps needs 16 bytes per row")
    checked = []
    for index, (key, path, flags, sha) in enumerate(rows):
        problem = "bad key" if not 0 <= key < KEYS else _path_problem(path)
        if problem is None and len(sha) != 32:
            problem = "sha256 is not 32 bytes"
        if problem is None and sources[key] is None:
            problem = "no source directory for its key"
        if problem is not None:
            raise CoreFailure("table", 0, index, 0, problem)
        checked.append((key, path, operator.index(flags), sha))
    if stamps is not None:
        out = []
        for i, (key, path, flags, sha) in enumerate(checked):
            size, mtime_ns = STAMP.unpack_from(stamps, 16 * i)
            encoded = path.encode("utf-8")
            out.append(ROW.pack(size, mtime_ns, key, flags, len(encoded), sha) + encoded)
        return b"".join(out)

    def stamp(index: int) -> bytes:
        key, path, flags, sha = checked[index]
        full = f"{sources[key]}/{path}"
        try:
            st = os.lstat(full)
        except OSError as exc:
            raise CoreFailure("io", 0, index, exc.errno or 0, full) from None
        if not stat.S_ISREG(st.st_mode):
            raise CoreFailure("changed", 0, index, 0, full)
        encoded = path.encode("utf-8")
        return ROW.pack(st.st_size, st.st_mtime_ns, key, flags, len(encoded), sha) + encoded

    return b"".join(_run_all(stamp, len(checked), threads))


def _run_all(fn: Callable[[int], bytes], n: int, threads: int) -> list[bytes]:
    """``fn(i)`` for every ``i < n`` on up to ``threads`` threads; the first failure raises."""
    workers = _threads(threads, n)
    if workers == 1:
        return [fn(i) for i in range(n)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, range(n)))


def _quote(field: str) -> str:
    """A RECORD (CSV) field as the csv module's minimal quoting writes it."""
    if "," in field or '"' in field or "\n" in field or "\r" in field:
        return '"' + field.replace('"', '""') + '"'
    return field


def _record_row(prefix: str, row: Row) -> str:
    hash_ = base64.urlsafe_b64encode(row[5]).rstrip(b"=").decode("ascii")
    return f"{_quote(prefix + row[1])},sha256={hash_},{row[2]}\n"


def _copy_new(sfd: int, dst: str, mode: int, how: int) -> None:
    """Clone or copy the open ``sfd`` into the new file ``dst``; a partial copy is removed."""
    dfd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        if how == LINK_CLONE:
            import fcntl

            fcntl.ioctl(dfd, _FICLONE, sfd)
        else:
            _copy_fds(sfd, dfd)
    except BaseException:
        os.close(dfd)
        os.unlink(dst)
        raise
    os.close(dfd)


# A refused hardlink or clone of one file: copy that file instead (a file at the
# filesystem's link limit, another device, a filesystem without reflinks here).
_COPY_INSTEAD = {
    LINK_HARDLINK: (errno_mod.EMLINK, errno_mod.EXDEV, errno_mod.EPERM),
    LINK_CLONE: (errno_mod.EXDEV, errno_mod.EOPNOTSUPP, errno_mod.EINVAL, errno_mod.ENOTTY),
}


class _Changed(Exception):
    """The cached file differs from its row (size, mtime, kind), is gone, or is not
    one fastinst made (see `_unchanged`)."""

    def __init__(self, errno: int = 0) -> None:
        self.errno = errno


def _unchanged(st: os.stat_result, row: Row) -> bool:
    """Whether a cached file is the one its row describes: a regular file of the
    row's size and modification time, owned by whoever installs and writable by
    no one (fastinst makes every cached file read-only: one with a write bit, or
    another owner, was put there or changed since, by someone else or through a
    hardlink in an environment)."""
    return (
        stat.S_ISREG(st.st_mode)
        and st.st_size == row[2]
        and st.st_mtime_ns == row[3]
        and st.st_uid == os.geteuid()
        and not st.st_mode & 0o222
    )


def _link_row(src: str, dst: str, row: Row, how: int) -> bool:
    """Link, clone or copy one cached file after checking it against its row.

    True when a refused hardlink or clone was replaced by a copy.
    """
    if how == LINK_HARDLINK:
        try:
            st = os.lstat(src)
        except OSError as exc:
            raise _Changed(exc.errno or 0) from None
        if not _unchanged(st, row):
            raise _Changed()
        try:
            os.link(src, dst, follow_symlinks=False)
            return False
        except OSError as exc:
            if exc.errno not in _COPY_INSTEAD[how]:
                raise OSError(exc.errno, exc.strerror, dst) from None
    try:
        sfd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise _Changed(exc.errno or 0) from None
    try:
        st = os.fstat(sfd)
        if not _unchanged(st, row):
            raise _Changed()
        # A copy or clone is a new file of the environment, made like any written
        # file: 0o666 or 0o777 and the umask, not the cache's read-only bits.
        mode = 0o777 if row[4] & FLAG_EXEC else 0o666
        try:
            _copy_new(sfd, dst, mode, LINK_COPY if how == LINK_HARDLINK else how)
            return how == LINK_HARDLINK
        except OSError as exc:
            if how != LINK_CLONE or exc.errno not in _COPY_INSTEAD[how]:
                raise OSError(exc.errno, exc.strerror, dst) from None
        _copy_new(sfd, dst, mode, LINK_COPY)
        return True
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, exc.filename or dst) from None
    finally:
        os.close(sfd)


def _make_parent(dst: str) -> None:
    parent = dst.rpartition("/")[0]
    try:
        os.mkdir(parent, 0o777)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(parent, 0o777, exist_ok=True)


def link_tree(
    table: bytes,
    sources: Sequence[str | None],
    targets: Sequence[str | None],
    prefixes: Sequence[str],
    how: Sequence[int],
    threads: int,
    skip: bytes | None = None,
    counter: bytearray | None = None,
) -> tuple[bytes, list[list[str]], int]:
    """Put every file of ``table`` at ``targets[key]/path``, from ``sources[key]/path``:
    `link_trees` of one job (its failures name job 0)."""
    return link_trees([(table, sources, targets, prefixes, how, skip)], threads, counter)[0]


# One job of link_trees: (table, sources, targets, prefixes, how, skip)
LinkJob = tuple[
    bytes, Sequence[Optional[str]], Sequence[Optional[str]], Sequence[str], Sequence[int],
    Optional[bytes],
]  # fmt: skip


def _link_rows(index: int, job: LinkJob) -> list[Row]:
    """The checked rows of one job of `link_trees`."""
    table, sources, targets, prefixes, how, skip = job
    try:
        rows = read_table(table)
    except CoreFailure as failure:
        raise CoreFailure("table", index, failure.index, 0, failure.detail) from None
    if len(sources) != KEYS or len(targets) != KEYS or len(prefixes) != KEYS or len(how) != KEYS:
        raise ValueError(f"sources, targets, prefixes and how need {KEYS} items each")
    for mode in how:
        if mode not in (LINK_CLONE, LINK_HARDLINK, LINK_COPY):
            raise ValueError(f"unknown link mode {mode!r}")
    if skip is not None and len(skip) != len(rows):
        raise ValueError("skip needs one byte per row")
    for i, row in enumerate(rows):
        if sources[row[0]] is None or targets[row[0]] is None:
            raise CoreFailure("table", index, i, 0, "no directory for its key")
    return rows


def link_trees(
    jobs: Sequence[LinkJob], threads: int, counters: bytearray | None = None
) -> list[tuple[bytes, list[list[str]], int]]:
    """Put every file of every job's table at ``targets[key]/path``, from
    ``sources[key]/path``, all jobs on one pool of threads.

    Each job is ``(table, sources, targets, prefixes, how, skip)``: per key, the
    cached directory, the target directory (made, with the directories below
    it, as needed), the prefix of the key's paths in RECORD, and the link mode
    (`LINK_CLONE`, `LINK_HARDLINK`, `LINK_COPY`); ``skip`` is None or a byte per
    row. Each cached file is first checked against its row: a regular file
    (never a symlink: opened with ``O_NOFOLLOW``) of the row's size and
    modification time, owned by the effective user and writable by no one, else
    `CoreFailure` ``"changed"`` (the cache was edited, for instance through a
    hardlink in an environment). A refused hardlink (``EMLINK``, ``EXDEV``,
    ``EPERM``) or clone is replaced by a copy of that file. Rows whose ``skip``
    byte is `SKIP_LISTED` are not linked but are listed in RECORD (a later wheel
    writes that file); `SKIP_UNLISTED`, neither linked nor listed. ``counters``
    (8 bytes, little-endian, per job) grow by each file's size once it is
    linked, for another thread to poll.

    Every table is checked before anything is linked. The threads take runs of
    neighbouring rows, each from its own place in the list of every job's runs
    (two threads: one from the start, one from the end), so that they seldom
    create entries in one directory at once, and all stay busy to the end.

    Returns, per job, the RECORD text of its rows (in table order), the
    top-level names made below each target, and how many files were copied
    instead of linked. Failures raise `CoreFailure` (``"table"``, ``"changed"``,
    ``"io"``) with the job's and the row's index and the path.
    """
    specs = list(jobs)
    tables = [_link_rows(i, job) for i, job in enumerate(specs)]
    if counters is not None and len(counters) != 8 * len(specs):
        raise ValueError(f"counters needs {8 * len(specs)} bytes in a bytearray")
    lock = threading.Lock()
    failure: list[CoreFailure] = []
    copies = [0] * len(specs)

    def run(unit: tuple[int, int]) -> None:
        j, start = unit
        rows = tables[j]
        _table, sources, targets, _prefixes, how, skip = specs[j]
        for index in range(start, min(start + _LINK_RUN, len(rows))):
            if failure:
                return
            row = rows[index]
            if skip is not None and skip[index]:
                continue
            key, path = row[0], row[1]
            src, dst = f"{sources[key]}/{path}", f"{targets[key]}/{path}"
            try:
                if "/" in path:
                    _make_parent(dst)
                copied = _link_row(src, dst, row, how[key])
            except _Changed as exc:
                fail = CoreFailure("changed", j, index, exc.errno, src)
            except OSError as exc:
                fail = CoreFailure("io", j, index, exc.errno or 0, str(exc.filename or dst))
            else:
                with lock:
                    copies[j] += copied
                    if counters is not None:
                        _count(counters, j, row[2])
                continue
            with lock:
                if not failure:
                    failure.append(fail)
            return

    # each job's runs in table order: half the workers take them from the start,
    # half from the end (deque.popleft and pop are atomic)
    units = deque(
        (j, start) for j, rows in enumerate(tables) for start in range(0, len(rows), _LINK_RUN)
    )

    def work(back: bool) -> None:
        while True:
            try:
                unit = units.pop() if back else units.popleft()
            except IndexError:
                return
            run(unit)

    workers = _threads(threads, sum(len(rows) for rows in tables))
    if workers == 1:
        work(False)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(work, [k % 2 == 1 for k in range(workers)]))
    if failure:
        raise failure[0]
    return [
        _record_and_tops(rows, job[3], job[5], n) for rows, job, n in zip(tables, specs, copies)
    ]


def _record_and_tops(
    rows: list[Row], prefixes: Sequence[str], skip: bytes | None, copies: int
) -> tuple[bytes, list[list[str]], int]:
    """A job's RECORD text, the top-level names it made below each target, its copies."""
    record = []
    tops: list[list[str]] = [[] for _ in range(KEYS)]
    last = (-1, "")
    for index, row in enumerate(rows):
        if skip is not None and skip[index] == SKIP_UNLISTED:
            continue
        record.append(_record_row(prefixes[row[0]], row))
        if skip is None or not skip[index]:
            top = (row[0], row[1].partition("/")[0])
            if top != last:
                if top[1] not in tops[top[0]]:
                    tops[top[0]].append(top[1])
                last = top
    return "".join(record).encode("utf-8"), tops, copies


def sha256(data: bytes) -> bytes:
    """The SHA-256 digest (32 bytes) of ``data``.

    >>> sha256(b"").hex()[:16]
    'e3b0c44298fc1c14'
    """
    if not isinstance(data, bytes):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    return hashlib.sha256(data).digest()


def sha256_file(path: str) -> str:
    """The hex SHA-256 of the file at ``path``.

    >>> sha256_file("/dev/null")
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(_CHUNK)
        view = memoryview(buf)
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return h.hexdigest()


__all__ = [
    "FLAG_EXEC",
    "KEYS",
    "LINK_CLONE",
    "LINK_COPY",
    "LINK_HARDLINK",
    "SKIP_LISTED",
    "SKIP_UNLISTED",
    "extract",
    "link_tree",
    "link_trees",
    "make_dirs",
    "make_table",
    "read_central_directory",
    "read_table",
    "sha256",
    "sha256_file",
]
