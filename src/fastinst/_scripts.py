"""Launchers for entry points, and the ``#!python`` shebang rewrite of wheel scripts."""

from __future__ import annotations

import os
import sys

from ._tuples import NamedTuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Iterator

    from ._archive import ArchiveSource
    from ._distinfo import Row
    from ._entry import CacheEntry
    from ._transaction import Transaction


class EntryPoint(NamedTuple):
    """A console or GUI script to generate: ``name = module:attr``."""

    name: str
    module: str
    attr: str
    section: str  # "console" or "gui"
    # The POSIX launcher's body (everything after the shebang line), when known
    # already: the cache keeps it, so that a warm install need not import
    # ``installer`` (about 30 ms) just to write the same few lines again.
    posix_body: bytes | None = None


class ScriptStream(NamedTuple):
    """A wheel's ``.data/scripts`` file that is written, not linked (``#!python``
    rewritten): read in pieces, whatever its size."""

    path: str  # below the scripts key, "/"-separated
    sha256: str  # "sha256=..." of its bytes as the wheel has them ("" if not known)
    # Its bytes in pieces, checked as they are read (against the wheel's RECORD, or
    # the cache entry's table): the last piece raises when they were not the ones.
    chunks: Callable[[], Iterator[bytes]]


# Longest shebang line the kernel is sure to honour (Linux allows 127 bytes up to
# 5.0; macOS allows more; a conservative limit works everywhere).
_MAX_SHEBANG = 127


def launcher_kind(platform: str | None = None, machine: str | None = None) -> str:
    """The ``installer`` launcher kind for a platform: ``"posix"``, ``"win-amd64"``...

    ``platform`` is a ``sys.platform`` value and ``machine`` a ``platform.machine()``
    one; both default to the running interpreter's.

    >>> launcher_kind("win32", "ARM64"), launcher_kind("darwin", "arm64")
    ('win-arm64', 'posix')
    """
    if platform is None:
        platform = sys.platform
    if not platform.startswith("win"):
        return "posix"
    if machine is None:
        import platform as platform_module

        machine = platform_module.machine()
    m = machine.lower()
    if m in ("arm64", "aarch64"):
        return "win-arm64"
    if m.startswith("arm"):
        return "win-arm"
    if m in ("x86", "i386", "i686", "win32"):
        return "win-ia32"
    return "win-amd64"


def make_launcher(ep: EntryPoint, python: str, kind: str = "posix") -> tuple[str, bytes]:
    """File name and bytes of the launcher for ``ep`` calling ``python``.

    `installer.scripts.Script` writes it (it knows the Windows launchers and the
    ``/bin/sh`` form for interpreter paths that are long or contain spaces). A
    POSIX launcher is its shebang line plus a body that does not depend on the
    interpreter, so a body kept from an earlier call (``ep.posix_body``) is reused.
    """
    if kind == "posix" and ep.posix_body is not None:
        return ep.name, shebang(python) + b"\n" + ep.posix_body
    from installer.scripts import Script

    script = Script(ep.name, ep.module, ep.attr, section=ep.section)  # type: ignore[arg-type]
    return script.generate(python, kind)  # type: ignore[arg-type]


def posix_body(ep: EntryPoint) -> bytes:
    """The interpreter-independent part of ``ep``'s POSIX launcher (after the shebang)."""
    _name, data = make_launcher(EntryPoint(ep.name, ep.module, ep.attr, ep.section), "/python")
    first, newline, body = data.partition(b"\n")
    assert first == b"#!/python" and newline, "installer's launcher layout changed"
    return body


def shebang(python: str) -> bytes:
    """A shebang line (without newline) that runs ``python`` on POSIX.

    A path with spaces or too long for the kernel gets the ``/bin/sh`` exec form,
    which works everywhere a shell does.
    """
    exe = python.encode(sys.getfilesystemencoding())
    if b" " not in exe and len(exe) + 3 <= _MAX_SHEBANG:
        return b"#!" + exe
    import shlex

    return b"#!/bin/sh\n'''exec' " + shlex.quote(python).encode() + b' "$0" "$@"\n' + b"' '''"


def fix_script(data: bytes, python: str) -> bytes:
    """Point a ``#!python``/``#!pythonw`` script at ``python``, as pip does.

    pip replaces the whole first line (arguments after ``#!python`` are dropped),
    and so does this, so that both give the same file.
    """
    return b"".join(fix_script_stream([data], python))


def fix_script_stream(chunks: Iterable[bytes], python: str) -> Iterator[bytes]:
    """`fix_script` on a script given in pieces, whatever its size: only the first
    line is ever held (and of a ``#!python`` line, none of it)."""
    pieces = iter(chunks)
    head = b""
    for chunk in pieces:
        head += chunk
        if len(head) >= len(b"#!python"):
            break
    if not head.startswith(b"#!python"):
        if head:
            yield head
        yield from pieces
        return
    while b"\n" not in head:  # the rest of the first line is dropped, piece by piece
        more = next(pieces, None)
        if more is None:
            yield shebang(python) + b"\n"
            return
        head = more
    yield shebang(python) + b"\n" + head.partition(b"\n")[2]
    yield from pieces


def exec_mode(umask: int) -> int:
    """pip's mode for scripts: the default file mode plus every execute bit."""
    return (0o777 & ~umask) | 0o111


def copy_script(
    chunks: Iterable[bytes], path: str | None, mode: int, python: str
) -> tuple[bytes, int]:
    """Write a wheel's ``.data/scripts`` file, given in pieces, to the new file ``path``
    (``None``: nowhere) with its ``#!python`` line pointed at ``python``; the SHA-256
    and size of what was written. The file is never held whole."""
    import hashlib

    written = hashlib.sha256()
    size = 0
    fd = (
        os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        if path is not None
        else -1
    )
    try:
        for piece in fix_script_stream(chunks, python):
            written.update(piece)
            size += len(piece)
            view = memoryview(piece)
            while fd >= 0 and view:
                view = view[os.write(fd, view) :]
        if fd >= 0:
            os.fchmod(fd, mode)
    finally:
        if fd >= 0:
            os.close(fd)
    return written.digest(), size


def write_scripts(
    tx: Transaction,
    source: ArchiveSource | CacheEntry,
    scripts_root: str,
    record_prefix: str,
    python: str,
    mode: int,
    skip: Collection[str] = (),
) -> list[Row]:
    """Write ``source``'s ``.data/scripts`` files that are not linked (``#!python``
    pointed at ``python``, streamed) and its entry-point launchers; their RECORD
    rows. Names in ``skip`` are listed but not written: a later wheel of the
    install writes them."""
    from ._distinfo import row_of
    from ._records import encode_hash

    rows = []
    for script in source.script_files():
        name = script.path
        path = None
        if name not in skip:
            path = tx.add(scripts_root, name)
            if "/" in name:
                os.makedirs(path.rpartition("/")[0], exist_ok=True)
        digest, size = copy_script(script.chunks(), path, mode, python)
        rows.append((record_prefix + name, encode_hash(digest), str(size)))
    kind = launcher_kind()
    for name, data in [make_launcher(ep, python, kind) for ep in source.entry_points]:
        if name not in skip:
            tx.write(scripts_root, name, data, mode)
        rows.append(row_of(record_prefix + name, data))
    return rows
