"""zstd members (method 93): streamed from the archive, checked and written.

Both cores hand their zstd members here, so that the compiled core needs no zstd
library of its own and the two give the same outcome for every such member.
Memory stays bounded whatever the archive declares: the data is read, decompressed,
hashed and written in 1 MiB pieces, and a frame may not ask for a window over
8 MiB (see `MAX_WINDOW`).
"""

from __future__ import annotations

import os
import zlib

from ._errors import MemberFailure

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from ._core_py import Task

CHUNK = 1 << 20
# RFC 8878 (section 3.1.1.1.2) recommends that decoders support windows of up to
# 8 MiB and that encoders not need more; a larger window costs that much memory
# per member, so it is refused like any member that would need unbounded memory.
MAX_WINDOW = 8 << 20


class _Source:
    """The compressed bytes of one member, read from the archive in pieces."""

    def __init__(self, fd: int, start: int, size: int) -> None:
        self.fd = fd
        self.pos = start
        self.left = size

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self.left:
            n = self.left
        if n == 0:
            return b""
        try:
            data = os.pread(self.fd, n, self.pos)
        except OSError as exc:
            raise MemberFailure("io", exc.errno or 0, on_archive=True) from None
        if not data:  # the archive ended inside the member's data
            raise MemberFailure("header")
        self.pos += len(data)
        self.left -= len(data)
        return data


def extract(fd: int, start: int, task: Task) -> bytes:
    """Write the zstd member of ``task``, whose data starts at ``start`` in the
    archive ``fd``, to a new file at its destination; return its SHA-256.

    The checks and their order are those of the other members: size, CRC-32, the
    size and the SHA-256 RECORD gives. A failure raises `MemberFailure` and leaves
    no file behind.
    """
    dest, mode = task[5], task[6]
    try:
        out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except OSError as exc:
        raise MemberFailure("io", exc.errno or 0) from None
    try:
        try:
            digest = _stream(fd, start, task, out)
        finally:
            os.close(out)
    except OSError as exc:
        os.unlink(dest)
        raise MemberFailure("io", exc.errno or 0) from None
    except BaseException:
        os.unlink(dest)
        raise
    return digest


def _stream(fd: int, start: int, task: Task, out: int) -> bytes:
    import hashlib  # here: the core imports this module, and a warm install needs neither

    import zstandard

    _, _, csize, usize, crc, _, _, expected_sha, expected_size, _ = task
    sha = hashlib.sha256()
    total, actual_crc = 0, 0
    dctx = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW)
    source = _Source(fd, start, csize)
    try:
        # read_across_frames: concatenated frames are one stream (RFC 8878, section 3)
        reader = dctx.stream_reader(
            source,  # type: ignore[arg-type]  # zstandard only calls its read()
            read_size=CHUNK,
            read_across_frames=True,
        )
        with reader:
            while True:
                # never more than usize + 1 bytes: usize comes from the archive, unchecked
                piece = reader.read(min(CHUNK, usize + 1 - total))
                if not piece:
                    break
                total += len(piece)
                if total > usize:
                    raise MemberFailure("size")
                actual_crc = zlib.crc32(piece, actual_crc)
                sha.update(piece)
                view = memoryview(piece)
                while view:
                    view = view[os.write(out, view) :]
    except zstandard.ZstdError as exc:
        # libzstd's message for a window over max_window_size
        kind = "window" if "too much memory" in str(exc) else "inflate"
        raise MemberFailure(kind) from None
    if total != usize:
        raise MemberFailure("size")
    if actual_crc != crc:
        raise MemberFailure("crc")
    if expected_size != -1 and expected_size != usize:
        raise MemberFailure("record-size")
    digest = sha.digest()
    if expected_sha and digest != expected_sha:
        raise MemberFailure("sha256")
    return digest
