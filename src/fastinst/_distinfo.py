"""The files fastinst writes into an installed ``.dist-info``: INSTALLER, REQUESTED,
direct_url.json, a caller's own files, and RECORD last (it lists everything the install wrote)."""

from __future__ import annotations

import os

from ._records import encode_hash, format_record
from ._transaction import Transaction

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from typing import Union

    from ._archive import ArchiveSource
    from ._entry import CacheEntry
    from ._plan import Targets

    Source = Union[ArchiveSource, CacheEntry]

Row = tuple[str, str, str]  # a RECORD row: path, hash, size


def current_umask() -> int:
    """The process's umask, read without changing it where Linux tells it.

    Setting it and setting it back (the only portable way) is a race in a
    process whose other threads create files meanwhile (an installer embedding
    fastinst in a thread pool): their files would get the mask set for the moment.
    """
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def row_of(record_path: str, data: bytes) -> Row:
    """The RECORD row of a file fastinst wrote with ``data``."""
    from . import _backend

    return record_path, encode_hash(_backend.core.sha256(data)), str(len(data))


def generated_names(
    installer_name: str | None, *, requested: bool, direct_url: object
) -> list[str]:
    """The ``.dist-info`` files `write_metadata` writes of its own (the caller's
    ``extra`` files aside)."""
    names = [] if installer_name is None else ["INSTALLER"]
    if requested:
        names.append("REQUESTED")
    if direct_url is not None:
        names.append("direct_url.json")
    return names


def own_copies(source: Source, targets: Targets, names: Collection[str]) -> set[int]:
    """The files of ``source`` (indexes of its ``paths()``) that are its own
    ``.dist-info`` files of these ``names``, which fastinst writes itself: pip
    writes its INSTALLER over the one a wheel ships, and linking the wheel's
    while the install writes its own would race (the core links on other
    threads while Python writes the ``.dist-info`` files)."""
    wanted = set()  # (key, path) where such a file would be
    for name in names:
        rel = f"{source.dist_info}/{name}"
        for key, prefix in enumerate(targets.prefixes):
            path = rel[len(prefix) :]
            if rel.startswith(prefix) and path.partition("/")[0] in source.tops[key]:
                wanted.add((key, path))
    if not wanted:
        return set()
    from ._entry import CacheEntry

    if isinstance(source, CacheEntry):
        # The entry's directory listed rather than a Python object made per row:
        # the table is read only when the entry has such a file (rare).
        cached = source.sources()
        found: dict[str, list[str]] = {}
        for key, path in wanted:
            where, _, name = f"{cached[key]}/{path}".rpartition("/")
            if where not in found:
                try:
                    found[where] = os.listdir(where)
                except OSError:
                    found[where] = []
            if name in found[where]:
                break
        else:
            return set()
        return {i for i, place in enumerate(source.paths()) if place in wanted}
    paths = {path for _key, path in wanted}
    return {
        i
        for i, m in enumerate(source.layout.files)
        if m.path in paths and (m.key, m.path) in wanted
    }


def write_metadata(
    tx: Transaction,
    lib_root: str,
    dist_info: str,
    installer_name: str | None,
    mode: int,
    *,
    requested: bool,
    direct_url: Mapping[str, object] | None,
    extra: Mapping[str, bytes] = {},
) -> list[Row]:
    """INSTALLER (unless ``installer_name`` is None), REQUESTED, direct_url.json and
    the caller's ``extra`` files (which win over the first three), byte for byte;
    their RECORD rows."""
    files: dict[str, bytes] = {}
    for name in generated_names(installer_name, requested=requested, direct_url=direct_url):
        if name == "INSTALLER":
            files[name] = f"{installer_name}\n".encode()
        elif name == "REQUESTED":
            files[name] = b""
        else:
            from ._jsontext import dumps

            files[name] = dumps(direct_url, sort_keys=True).encode()
    files.update(extra)
    rows = []
    for name, data in files.items():
        rel = f"{dist_info}/{name}"
        tx.write(lib_root, rel, data, mode)
        rows.append(row_of(rel, data))
    return rows


def write_record(
    tx: Transaction, lib_root: str, dist_info: str, bulk: bytes, rows: Sequence[Row], mode: int
) -> bytes:
    """Write RECORD: ``bulk`` (the rows of the files the core wrote, as it returned
    them), then ``rows`` (the files written here) sorted, then RECORD's own row.
    Returns the text written."""
    own = f"{dist_info}/RECORD"
    data = bulk + format_record([*sorted(rows), (own, "", "")])
    tx.write(lib_root, own, data, mode)
    return data
