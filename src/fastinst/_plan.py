"""Where each member of a wheel goes: its scheme key and its path below that key.

This is content-only (it does not depend on the scheme the wheel is installed
into), so it is done once: when a cache entry is built, whose table keeps it,
or when a wheel is installed straight from its archive. What depends on the
scheme (the directory of each key, RECORD's relative paths) is `Targets`, a few
strings per wheel.
"""

from __future__ import annotations

import os

from ._entry import DATA, HEADERS, KEY_NAMES, PLATLIB, PURELIB, SCRIPTS
from ._errors import UnsafePath
from ._tuples import NamedTuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:  # a warm install (`Targets` alone) does not import them
    from ._records import RecordEntry
    from ._wheel import Entry, Wheel

_KEY_INDEX = {"purelib": PURELIB, "platlib": PLATLIB, "headers": HEADERS, "scripts": SCRIPTS,
              "data": DATA}  # fmt: skip


class Member(NamedTuple):
    """One archive member placed below a scheme key."""

    entry: Entry
    key: int  # index into KEY_NAMES
    path: str  # below the key's directory, "/"-separated
    executable: bool
    expected: RecordEntry | None  # the wheel's RECORD row, when verified


class Layout(NamedTuple):
    """A wheel's members by scheme key."""

    lib_key: int  # PURELIB or PLATLIB: the wheel's root, and its .dist-info
    files: list[Member]  # written verbatim (extracted, or linked from the cache)
    scripts: list[Member]  # .data/scripts files: ``#!python`` may need rewriting
    tops: list[list[str]]  # per key: the top-level names, files and scripts


def layout(wheel: Wheel) -> Layout:
    """Place every member of ``wheel`` (its RECORD and setuptools' script wrappers
    left out); two members at one place are refused."""
    from ._paths import EXEC_MASK, EXEC_MAX, EXEC_MIN
    from ._wheel import ATTR, NAME

    lib_key = PURELIB if wheel.root_is_purelib else PLATLIB
    record_name = wheel.record_member
    get_row = (wheel.record or {}).get
    launcher_names = {ep.name for ep in wheel.entry_points}
    files: list[Member] = []
    scripts: list[Member] = []
    # One pass of plain tuples (a Member is one): this runs for every member of
    # every cold wheel, on the thread that the extraction waits for.
    new = tuple.__new__
    add = files.append
    for entry in wheel.files:
        name = entry[NAME]
        executable = EXEC_MIN <= (entry[ATTR] >> 16) & EXEC_MASK <= EXEC_MAX
        if ".data/" not in name:  # most members: no need to split the name
            if name != record_name:  # RECORD is written fresh, from what is installed
                add(new(Member, (entry, lib_key, name, executable, get_row(name))))
            continue
        top, _, rest = name.partition("/")
        if not (rest and top.endswith(".data")):
            add(new(Member, (entry, lib_key, name, executable, get_row(name))))
            continue
        # The key was checked when the wheel was opened (``_wheel._check_data_dirs``).
        key_name, _, sub = rest.partition("/")
        key = _KEY_INDEX[key_name]
        if key != SCRIPTS:
            add(new(Member, (entry, key, sub, executable, get_row(name))))
        elif not _is_setuptools_wrapper(sub, launcher_names):
            # pip skips setuptools' own wrappers: the entry point's launcher replaces them.
            scripts.append(Member(entry, SCRIPTS, sub, True, get_row(name)))
    places = [(m.key, m.path) for m in files] + [(m.key, m.path) for m in scripts]
    if len(set(places)) != len(places):
        seen: set[tuple[int, str]] = set()
        dup = next(p for p in places if p in seen or seen.add(p))  # type: ignore[func-returns-value]
        raise UnsafePath(wheel.path, "two members install to the same path", dup[1])
    tops: list[list[str]] = [[] for _ in KEY_NAMES]
    for key, path in sorted({(k, p.partition("/")[0]) for k, p in places}):
        tops[key].append(path)
    return Layout(lib_key, files, scripts, tops)


def _is_setuptools_wrapper(sub: str, launcher_names: set[str]) -> bool:
    """``EP``, ``EP.exe``, ``EP-script.py`` and ``EP.pya`` made by setuptools for entry point EP."""
    if "/" in sub:
        return False
    lowered = sub.lower()
    for suffix in (".exe", "-script.py", ".pya"):
        if lowered.endswith(suffix):
            return sub[: -len(suffix)] in launcher_names
    return sub in launcher_names


class Targets(NamedTuple):
    """Where one wheel's keys go in a scheme, and how RECORD names them."""

    roots: tuple[str, ...]  # per key: the scheme directory
    lib_root: str  # the directory of the .dist-info: RECORD paths are relative to it
    prefixes: tuple[str, ...]  # per key: what RECORD puts before a path below that key

    @property
    def scripts(self) -> str:
        return self.roots[SCRIPTS]

    def record_path(self, key: int, path: str) -> str:
        return self.prefixes[key] + path

    def absolute(self, record_path: str) -> str:
        """The absolute path of a RECORD path."""
        if "../" not in record_path:
            return self.lib_root + "/" + record_path
        return os.path.normpath(os.path.join(self.lib_root, record_path))


def targets(roots: tuple[str, ...], lib_key: int) -> Targets:
    """The `Targets` of a wheel whose root is ``lib_key``, in a scheme's ``roots``
    (the five directories, in `KEY_NAMES` order)."""
    lib_root = roots[lib_key]
    return Targets(roots, lib_root, tuple(_prefix(root, lib_root) for root in roots))


# (root, lib_root) -> the RECORD prefix: every wheel of an install has the same few
_prefixes: dict[tuple[str, str], str] = {}


def _prefix(root: str, lib_root: str) -> str:
    """What RECORD puts before a path below ``root``, relative to ``lib_root``."""
    if root == lib_root:
        return ""
    known = _prefixes.get((root, lib_root))
    if known is None:
        known = os.path.relpath(root, lib_root).replace(os.sep, "/") + "/"
        if os.path.isabs(root) and os.path.isabs(lib_root):  # else it depends on the cwd
            _prefixes[(root, lib_root)] = known
    return known
