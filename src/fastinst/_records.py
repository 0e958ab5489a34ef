"""Parse a wheel's RECORD and write the RECORD of an installed distribution."""

from __future__ import annotations

import binascii
import io

from ._errors import RecordMismatch, UnsafePath
from ._paths import first_bad_name
from ._tuples import NamedTuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Container, Iterable

# Algorithms the spec allows; sha256 is checked by the core during extraction,
# the others by a second look at the written file (they are very rare).
HASH_ALGORITHMS = frozenset(
    ("sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512", "blake2b", "blake2s")
)
_TO_STANDARD_B64 = str.maketrans("-_", "+/")


class RecordEntry(NamedTuple):
    """One row of a RECORD, kept as written (``"sha256=..."``, ``"1234"``, or ``""``).

    The strings are kept because an installed file that matches its row gets the
    very same row in the installed RECORD (as pip does); the digest is decoded only
    where it is compared.
    """

    path: str
    hash: str
    size: str

    @property
    def algorithm(self) -> str | None:
        return self.hash.partition("=")[0] if self.hash else None

    def digest(self) -> bytes:
        """The raw digest; `ValueError` when the row has none or it is malformed."""
        encoded = self.hash.partition("=")[2]
        raw = binascii.a2b_base64(
            (encoded.translate(_TO_STANDARD_B64) + "=" * (-len(encoded) % 4)).encode()
        )
        if not raw:
            raise ValueError("empty digest")
        return raw


def parse_record(
    wheel: str,
    member: str,
    data: bytes,
    *,
    max_rows: int | None = None,
    checked: Container[str] = (),
) -> dict[str, RecordEntry]:
    """Parse RECORD bytes into a mapping path -> entry.

    Raises `RecordMismatch` on rows that are malformed or listed twice, or more
    than ``max_rows`` of them, and `UnsafePath` on a row whose path is not one a
    member could have (``../../x``, ``/etc/x``...): a RECORD that cannot be
    trusted is not used at all. Paths in ``checked`` (the member names, judged
    already) are not judged again.
    """
    import csv  # (here: csv imports re, which a warm install does without)

    # Counted before parsing: the parsed rows cost about 30 times the text.
    lines = max(data.count(b"\n"), data.count(b"\r"))
    if max_rows is not None and lines > max_rows:
        raise RecordMismatch(
            wheel, f"RECORD has {lines} lines, more than the wheel has members", member
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordMismatch(wheel, "RECORD is not valid UTF-8", member) from None
    # Whole-list checks first (fast, and what every good RECORD passes); the slow
    # per-row walk only runs to name the row that failed.
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:  # a bare carriage return inside a field, a NUL...
        raise RecordMismatch(wheel, f"RECORD is not valid CSV: {exc}", member) from None
    widths = set(map(len, rows))
    if not widths <= {0, 3}:
        lineno, row = next((n, r) for n, r in enumerate(rows, 1) if r and len(r) != 3)
        raise RecordMismatch(wheel, f"RECORD line {lineno} has {len(row)} fields, not 3", member)
    if 0 in widths:
        rows = [row for row in rows if row]
    unsafe = first_bad_name([row[0] for row in rows if row[0] not in checked], "RECORD path")
    if unsafe is not None:
        # Such a row names no member; pip would copy it into the installed RECORD,
        # and an uninstall would then remove whatever it points at.
        raise UnsafePath(wheel, f"{unsafe[1]}: {unsafe[0]!r}", member)
    new = tuple.__new__  # RecordEntry(*row), without a Python call per row
    entries = {row[0]: new(RecordEntry, row) for row in rows}
    if len(entries) != len(rows):
        seen: set[str] = set()
        dup = next(r[0] for r in rows if r[0] in seen or seen.add(r[0]))  # type: ignore[func-returns-value]
        raise RecordMismatch(wheel, f"RECORD lists {dup!r} twice", member)
    size_fields = [row[2] for row in rows]
    sizes = "".join(size_fields)
    # At most 19 digits (a 64-bit size): int() of a longer one is slow, and over
    # 4300 digits raises ValueError.
    if sizes and not (sizes.isdigit() and sizes.isascii() and max(map(len, size_fields)) <= 19):
        bad = next(
            r for r in rows if r[2] and not (r[2].isdigit() and r[2].isascii() and len(r[2]) <= 19)
        )
        raise RecordMismatch(
            wheel, f"RECORD: malformed size {bad[2][:30]!r} for {bad[0]!r}", member
        )
    if not {row[1][:7] for row in rows} <= {"sha256=", ""}:  # (almost never)
        for row in rows:
            hash_field = row[1]
            if hash_field and not hash_field.startswith("sha256="):
                algorithm, sep, _ = hash_field.partition("=")
                if not sep or algorithm not in HASH_ALGORITHMS:
                    raise RecordMismatch(
                        wheel,
                        f"RECORD: unsupported hash {hash_field[:20]!r} for {row[0]!r}",
                        member,
                    )
    return entries


# base64.urlsafe_b64encode's alphabet (base64 itself imports re).
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def encode_hash(digest: bytes, algorithm: str = "sha256") -> str:
    """The RECORD form of a digest: ``sha256=<urlsafe base64, unpadded>``.

    >>> encode_hash(bytes(range(250, 256)))
    'sha256=-vv8_f7_'
    """
    encoded = binascii.b2a_base64(digest, newline=False).translate(_URLSAFE)
    return f"{algorithm}={encoded.rstrip(b'=').decode('ascii')}"


def format_record(rows: Iterable[tuple[str, str, str]]) -> bytes:
    """RECORD bytes for ``(path, hash, size)`` rows, in the given order.

    Fields are quoted as the csv module's minimal quoting does, and a field with a
    carriage return is quoted on every Python version (3.13's csv does; older ones
    did not): the compiled core writes RECORD rows the same way.

    >>> format_record([("a,b.py", "sha256=x", "1"), ("c.py", "", "")])
    b'"a,b.py",sha256=x,1\nc.py,,\n'
    """
    return "".join([f"{_quote(p)},{_quote(h)},{_quote(n)}\n" for p, h, n in rows]).encode("utf-8")


def _quote(field: str) -> str:
    if "," in field or '"' in field or "\n" in field or "\r" in field:
        return '"' + field.replace('"', '""') + '"'
    return field
