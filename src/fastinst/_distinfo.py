"""The files fastinst writes into an installed ``.dist-info``: INSTALLER, REQUESTED,
direct_url.json, a caller's own files, and RECORD last (it lists everything the install wrote)."""

from __future__ import annotations

import os

from ._records import encode_hash, format_record
from ._transaction import Transaction

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

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
    if installer_name is not None:
        files["INSTALLER"] = f"{installer_name}\n".encode()
    if requested:
        files["REQUESTED"] = b""
    if direct_url is not None:
        from ._jsontext import dumps

        files["direct_url.json"] = dumps(direct_url, sort_keys=True).encode()
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
