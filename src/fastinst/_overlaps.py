"""Two wheels of one install that ship the same file: the later one's is installed.

pip installs wheels one after the other, so a file two of them ship (the
``backports/__init__.py`` of two ``backports.*`` distributions) ends up as the
later wheel's, and both RECORDs list it. fastinst stages all wheels at once, so
it decides up front: each wheel's top-level names (kept in its cache entry, or
known from its layout) are compared, and only wheels that share one are looked at
file by file. The earlier wheel's copy is then not written (it is still in its
RECORD, as with pip), and when the bytes differ one warning names both
distributions.
"""

from __future__ import annotations

from ._errors import InvalidWheel, UnsafePath
from ._log import logger

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Union

    from ._archive import ArchiveSource
    from ._entry import CacheEntry
    from ._plan import Targets

    Source = Union[ArchiveSource, CacheEntry]


class Skips:
    """What one wheel does not write: the table rows (or layout members) and the
    generated scripts it leaves to a later wheel (still in its RECORD), by index
    and by name; and the rows it leaves out altogether (``dropped``: its own
    ``__pycache__`` with ``skip_pycache``)."""

    __slots__ = ("dropped", "generated", "rows")

    def __init__(self) -> None:
        self.rows: set[int] = set()
        self.generated: set[str] = set()
        self.dropped: set[int] = set()

    def mask(self, n: int) -> bytes | None:
        """The core's skip mask for ``n`` rows, or None when nothing is skipped."""
        if not self.rows and not self.dropped:
            return None
        mask = bytearray(n)
        for i in self.rows:
            mask[i] = 1  # SKIP_LISTED
        for i in self.dropped:
            mask[i] = 2  # SKIP_UNLISTED
        return bytes(mask)


# One file a wheel puts somewhere: (wheel index, kind, row index or name, what it holds)
_Claim = tuple[int, str, object, object]


def resolve(
    sources: Sequence[Source],
    targets: Sequence[Targets],
    paths: Sequence[str],
    skips: Sequence[Skips],
) -> None:
    """Fill in the `Skips` of each wheel (``paths``: the wheel files, for
    messages); rows already dropped are no wheel's."""
    owners: dict[tuple[str, str], list[int]] = {}
    for i, (source, t) in enumerate(zip(sources, targets)):
        for key, names in enumerate(source.tops):
            for name in names:
                owners.setdefault((t.roots[key], name), []).append(i)
        for ep in source.entry_points:  # a name may be below a directory (``sub/tool``)
            owners.setdefault((t.roots[3], ep.name.partition("/")[0]), []).append(i)
    shared = {top for top, who in owners.items() if len(who) > 1}
    if not shared:
        return
    involved = sorted({i for top in shared for i in owners[top]})
    claims: dict[tuple[str, str], list[_Claim]] = {}
    for i in involved:
        for place, claim in _claims(i, sources[i], targets[i], shared, skips[i].dropped):
            claims.setdefault(place, []).append(claim)
    _check_kinds(claims, sources, paths)
    differ: dict[tuple[int, int], list[str]] = {}
    for (root, path), found in sorted(claims.items()):
        if len(found) < 2:
            continue
        if len({c[0] for c in found}) < len(found):
            i = found[0][0]
            raise UnsafePath(paths[i], "two members install to the same path", f"{root}/{path}")
        winner = found[-1]
        for loser in found[:-1]:
            target = skips[loser[0]]
            if loser[1] == "row":
                target.rows.add(loser[2])  # type: ignore[arg-type]
            else:
                target.generated.add(str(loser[2]))
            if loser[3] != winner[3]:
                differ.setdefault((loser[0], winner[0]), []).append(path)
    for (i, j), files in differ.items():
        more = f" (and {len(files) - 1} more)" if len(files) > 1 else ""
        logger.warning(
            "%s %s and %s %s both install %s%s with different contents; %s's is kept",
            sources[i].name, sources[i].version, sources[j].name, sources[j].version,
            files[0], more, sources[j].name,
        )  # fmt: skip


def _claims(
    i: int, source: Source, t: Targets, shared: set[tuple[str, str]], dropped: set[int]
) -> list[tuple[tuple[str, str], _Claim]]:
    """Every file of ``source`` below a shared top-level name, as (root, path) and claim."""
    out: list[tuple[tuple[str, str], _Claim]] = []
    roots = t.roots
    # Only the files below a shared name get their hash (the two wheels that share
    # ``share/`` have 17,000 files, a few dozen of them there).
    for index, (key, path) in enumerate(source.paths()):
        if (roots[key], path.partition("/")[0]) in shared and index not in dropped:
            out.append(((roots[key], path), (i, "row", index, source.file_hash(index))))
    scripts = t.roots[3]
    for path, data in _generated(source):
        if (scripts, path.partition("/")[0]) in shared:
            out.append(((scripts, path), (i, "generated", path, data)))
    return out


def _generated(source: Source) -> list[tuple[str, object]]:
    """The scripts a wheel writes in Python (not linked), with what tells them apart."""
    out: list[tuple[str, object]] = [
        (ep.name, ("launcher", ep.module, ep.attr, ep.section)) for ep in source.entry_points
    ]
    out += [(s.path, ("script", s.sha256 or _sha256(s.chunks()))) for s in source.script_files()]
    return out


def _sha256(chunks: Iterator[bytes]) -> str:
    """The hash of a script the wheel's RECORD does not give (read, and checked, whole)."""
    import hashlib

    from ._records import encode_hash

    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return encode_hash(h.digest())


def _check_kinds(
    claims: dict[tuple[str, str], list[_Claim]], sources: Sequence[Source], paths: Sequence[str]
) -> None:
    """A path that is a file in one wheel and a directory in another cannot be both."""
    dirs: dict[tuple[str, str], int] = {}
    for (root, path), found in claims.items():
        parent = path.rpartition("/")[0]
        while parent:
            dirs.setdefault((root, parent), found[0][0])
            parent = parent.rpartition("/")[0]
    for place, found in claims.items():
        if place in dirs:
            i, j = found[0][0], dirs[place]
            raise InvalidWheel(
                paths[i],
                f"{place[1]} is a file here and a directory in {sources[j].name} ({paths[j]})",
            )
