"""Parse a wheel's RECORD and write the RECORD of an installed distribution."""

from __future__ import annotations

import base64
import binascii
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from ._errors import RecordMismatch

# Algorithms the spec allows; sha256 is checked by the core during extraction,
# the others by a second look at the written file (they are very rare).
HASH_ALGORITHMS = (
    "sha256",
    "sha384",
    "sha512",
    "sha3_256",
    "sha3_384",
    "sha3_512",
    "blake2b",
    "blake2s",
)


@dataclass(frozen=True)
class RecordEntry:
    """One row of a RECORD: path, hash algorithm and raw digest, size (or ``None``)."""

    path: str
    algorithm: str | None
    digest: bytes | None
    size: int | None


def parse_record(wheel: str, member: str, data: bytes) -> dict[str, RecordEntry]:
    """Parse RECORD bytes into a mapping path -> entry.

    Raises `RecordMismatch` on rows that are malformed or listed twice: a RECORD
    that cannot be trusted is not used at all.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordMismatch(wheel, "RECORD is not valid UTF-8", member) from None
    entries: dict[str, RecordEntry] = {}
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row:
            continue
        if len(row) != 3:
            raise RecordMismatch(
                wheel, f"RECORD line {lineno} has {len(row)} fields, not 3", member
            )
        path, hash_field, size_field = row
        entry = _parse_row(wheel, member, lineno, path, hash_field, size_field)
        if path in entries:
            raise RecordMismatch(wheel, f"RECORD lists {path!r} twice", member)
        entries[path] = entry
    return entries


def _parse_row(
    wheel: str, member: str, lineno: int, path: str, hash_field: str, size_field: str
) -> RecordEntry:
    algorithm: str | None = None
    digest: bytes | None = None
    if hash_field:
        algorithm, sep, encoded = hash_field.partition("=")
        if not sep or algorithm not in HASH_ALGORITHMS:
            raise RecordMismatch(
                wheel, f"RECORD line {lineno}: unsupported hash {hash_field[:20]!r}", member
            )
        try:
            digest = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            raise RecordMismatch(wheel, f"RECORD line {lineno}: malformed hash", member) from None
    size: int | None = None
    if size_field:
        if not size_field.isdigit():
            raise RecordMismatch(
                wheel, f"RECORD line {lineno}: malformed size {size_field!r}", member
            )
        size = int(size_field)
    return RecordEntry(path, algorithm, digest, size)


def encode_hash(digest: bytes, algorithm: str = "sha256") -> str:
    """The RECORD form of a digest: ``sha256=<urlsafe base64, unpadded>``."""
    return f"{algorithm}={base64.urlsafe_b64encode(digest).rstrip(b'=').decode('ascii')}"


def format_record(rows: Iterable[tuple[str, str, str]]) -> bytes:
    """RECORD bytes for ``(path, hash, size)`` rows, in the given order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
