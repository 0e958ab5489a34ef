"""The options of ``install()`` that embedding tools need, kept beside the install path.

Tools that used pypa/installer keep some of its policies when they switch: extra
``.dist-info`` files written byte for byte, a wheel's own ``__pycache__`` left
out, a wheel whose RECORD is wrong installed with its problems reported rather
than refused, and ``-1`` as an optimization level. Each is a small step here,
called from `_install` at one place, so that the install path itself stays as it is.
"""

from __future__ import annotations

import io
import os

from ._errors import SchemeError
from ._log import logger

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Union

    from ._install import InstallResult, Options, Planned
    from ._scheme import Scheme
    from ._wheel import Entry

    PathLike = Union[str, os.PathLike[str]]


_SIGNATURES = ("RECORD.jws", "RECORD.p7s")


def record_mode(verify_record: bool | str) -> tuple[bool, bool]:
    """``(verify while writing, report afterwards)`` for a ``verify_record`` value."""
    if not (verify_record is True or verify_record is False or verify_record == "report"):
        raise ValueError(f"verify_record must be True, False or 'report', not {verify_record!r}")
    return verify_record is True, verify_record == "report"


def optimization_levels(levels: Iterable[int]) -> tuple[int, ...]:
    """The levels to compile at, each once; ``-1`` is taken as installer takes it.

    For installer (``compileall``), ``-1`` is the optimization level of the
    interpreter that compiles. fastinst compiles with the target interpreter
    started without ``-O``, so ``-1`` is level 0 there.
    """
    out: dict[int, None] = {}
    for level in levels:
        if isinstance(level, bool) or level not in (-1, 0, 1, 2):
            raise ValueError(f"optimization levels are -1, 0, 1 or 2, not {level!r}")
        out[0 if level == -1 else level] = None
    return tuple(out)


def metadata_files(
    metadata: Mapping[PathLike, Mapping[str, bytes]] | None,
) -> dict[str, dict[str, bytes]]:
    """``metadata=`` keyed by absolute wheel path, every name and value checked."""
    out: dict[str, dict[str, bytes]] = {}
    for wheel, files in (metadata or {}).items():
        checked: dict[str, bytes] = {}
        for name, data in files.items():
            parts = name.split("/") if isinstance(name, str) else [""]
            if (
                any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts)
                or name.startswith(".fastinst")
                or name == "RECORD"
            ):
                raise ValueError(f"{wheel}: {name!r} cannot be a .dist-info file name here")
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"{wheel}: the content of {name} must be bytes")
            checked[name] = bytes(data)
        out[os.path.abspath(os.fspath(wheel))] = checked
    return out


def drop_pycache(planned: list[Planned]) -> None:
    """Leave out files inside a ``__pycache__`` directory, as installer does."""
    for p in planned:
        dropped = {
            i
            for i, (_key, path, _h) in enumerate(p.source.listing())
            if "__pycache__" in path.split("/")[:-1]
        }
        if not dropped:
            continue
        logger.warning(
            "%s: %d member(s) in __pycache__ directories not installed (a wheel should not"
            " ship bytecode; it is probably a problem of its build)",
            p.wheel,
            len(dropped),
        )
        p.skips.dropped |= dropped


def check_plans(planned: list[Planned], scheme: Scheme, options: Options) -> None:
    """What can only be checked once the wheels are opened: the interpreter a
    mapping scheme left open, and ``metadata`` names that the wheel has too."""
    from ._entry import PLATLIB, PURELIB, SCRIPTS

    for p in planned:
        source = p.source
        scripts = source.entry_points or source.tops[SCRIPTS]
        if not scheme.python and (scripts or options.compile_bytecode):
            what = "compile bytecode" if options.compile_bytecode else "write its scripts"
            raise SchemeError(
                f"{p.wheel}: a scheme given as a mapping does not say which interpreter"
                f" to {what} for; pass interpreter= (the target environment's python)"
            )
        extra = options.metadata.get(p.wheel)
        if extra:
            info = source.dist_info + "/"
            members = {
                path[len(info) :]
                for key, path, _h in source.listing()
                if key in (PURELIB, PLATLIB) and path.startswith(info)
            }
            clash = sorted(members.intersection(extra))
            if clash:
                raise ValueError(f"{p.wheel}: metadata file {clash[0]} is already in the wheel")


# --- verify_record="report" -------------------------------------------------------------


def report_issues(
    results: list[InstallResult], scheme: Scheme, report: bool, installed: bool
) -> list[InstallResult]:
    """Fill ``record_issues`` of each result when asked to report."""
    if not report:
        return results
    return [r._replace(record_issues=tuple(record_issues(r, scheme, installed))) for r in results]


def record_issues(result: InstallResult, scheme: Scheme, installed: bool) -> list[str]:
    """What is wrong with the wheel's RECORD, in the words of installer's ``validate_record``.

    Names and sizes come from the zip directory; hashes from the installed RECORD,
    which holds what was actually written (so nothing is read twice), except for
    the members that were not written verbatim (``#!python`` scripts, skipped
    ``__pycache__``), which are read from the wheel. Before an install
    (``installed=False``) hashes are not compared.
    """
    import csv  # (here: csv imports re, which a warm install does without)

    from . import _backend
    from ._wheel import NAME, USIZE

    wheel = result.wheel
    entries: list[Entry] = [
        e for e in _backend.core.read_central_directory(wheel) if not e[NAME].endswith("/")
    ]
    info = os.path.basename(result.dist_info)
    record_name = f"{info}/RECORD"
    by_name = {e[NAME]: e for e in entries}
    if record_name not in by_name:
        return [f"Unable to retrieve `RECORD` from {wheel}: it is missing"]
    try:
        from ._wheel import MAX_RECORD, read_member

        text = read_member(wheel, by_name[record_name], MAX_RECORD).decode("utf-8")
        rows = [r for r in csv.reader(io.StringIO(text)) if r]
    except (ValueError, csv.Error, OSError) as exc:
        return [f"Unable to retrieve `RECORD` from {wheel}: {exc!r}"]
    issues = []
    record: dict[str, list[str]] = {}
    for row in rows:
        if len(row) != 3:
            issues.append(f"In {wheel}, RECORD row {row!r} does not have 3 fields")
        else:
            record[row[0]] = row
    written = _installed_rows(result) if installed else {}
    lib_root = os.path.dirname(result.dist_info)
    for entry in entries:
        name = entry[NAME]
        if name.startswith(info + "/") and name.rpartition("/")[2] in _SIGNATURES:
            if name in record:
                issues.append(
                    f"In {wheel}, digital signature file {name} is incorrectly contained in RECORD."
                )
            continue
        listed = record.get(name)
        if listed is None:
            issues.append(f"In {wheel}, {name} is not mentioned in RECORD")
            continue
        _path, hash_, size = listed
        if name == record_name:
            if hash_ or size:
                issues.append(f"In {wheel}, RECORD file incorrectly contains hash / size.")
            continue
        if not hash_ or not size:
            issues.append(f"In {wheel}, hash / size of {name} is not included in RECORD")
            continue
        if size != str(entry[USIZE]) or (
            installed and not _hash_matches(result, entry, hash_, written, lib_root, scheme)
        ):
            issues.append(f"In {wheel}, hash / size of {name} didn't match RECORD")
    return issues


def _installed_rows(result: InstallResult) -> dict[str, str]:
    """The installed RECORD's hash column, by path."""
    import csv  # (here: csv imports re, which a warm install does without)

    try:
        with open(os.path.join(result.dist_info, "RECORD"), encoding="utf-8", newline="") as f:
            return {r[0]: r[1] for r in csv.reader(f) if len(r) == 3}
    except OSError:
        return {}


def _hash_matches(
    result: InstallResult,
    entry: Entry,
    expected: str,
    written: dict[str, str],
    lib_root: str,
    scheme: Scheme,
) -> bool:
    import hashlib  # here: only verify_record="report" needs it

    from ._records import RecordEntry, encode_hash
    from ._wheel import NAME, iter_member

    name = entry[NAME]
    algorithm = expected.partition("=")[0]
    try:
        want = RecordEntry(name, expected, "").digest()
    except ValueError:
        return False
    top, _, rest = name.partition("/")
    if top.endswith(".data") and rest:
        key, _, sub = rest.partition("/")
        if key == "scripts":  # rewritten (#!python): compare the wheel's own bytes
            path = None
        else:
            path = os.path.relpath(os.path.join(getattr(scheme, key), sub), lib_root)
    else:
        path = name
    got = written.get(path) if path is not None else None
    if got and algorithm == "sha256":
        return got == encode_hash(want)
    try:
        if got and path is not None:
            h = hashlib.new(algorithm)
            with open(os.path.join(lib_root, path), "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            return h.digest() == want
        h = hashlib.new(algorithm)
        for chunk in iter_member(result.wheel, entry):  # a member of any size
            h.update(chunk)
        return h.digest() == want
    except (ValueError, OSError):
        return False
