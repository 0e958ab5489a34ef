"""Where a wheel's files land in a scheme: never over the interpreter, ``pyvenv.cfg``,
another distribution's metadata, or one another.

Member names were judged when the wheel was opened (`_paths`, `_wheel`); what a
name means depends on the scheme as well (``.data/data/bin/python`` is the
interpreter of a venv, ``.data/data/lib/python3.12/site-packages/x.dist-info``
is another distribution there), so this is checked per install, for a cache
entry as for an archive. It is cheap for the usual wheel: each key's top-level
names are looked at, and a key's files one by one only when one of its
top-level names holds something that matters (the scripts directory, a library
directory, the interpreter).
"""

from __future__ import annotations

import os

from ._entry import KEY_NAMES, PLATLIB, PURELIB, SCRIPTS
from ._errors import InvalidWheel, UnsafePath
from ._paths import file_under_file, interpreter_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Union

    from ._archive import ArchiveSource
    from ._entry import CacheEntry
    from ._plan import Targets
    from ._scheme import Scheme

    Source = Union[ArchiveSource, CacheEntry]

_METADATA_DIRS = (".dist-info", ".egg-info")


class Places:
    """The places of a scheme that no wheel's file may take (the interpreter, found
    once per install for all its wheels), and its library directories."""

    def __init__(self, scheme: Scheme) -> None:
        self.protected: dict[str, str] = {}
        if scheme.python:
            python = os.path.normpath(os.path.abspath(scheme.python))
            cfg = "the environment's pyvenv.cfg"
            self.protected = {
                python: "the environment's interpreter",
                os.path.realpath(python): "the environment's interpreter",
                os.path.join(os.path.dirname(python), "pyvenv.cfg"): cfg,
                os.path.join(os.path.dirname(os.path.dirname(python)), "pyvenv.cfg"): cfg,
            }
        self.libraries = {os.path.normpath(os.path.abspath(d)) for d in scheme.library_dirs()}


def check_destinations(
    source: Source, t: Targets, scheme: Scheme, wheel: str, places: Places | None = None
) -> None:
    """Raise `InvalidWheel` (or `UnsafePath`) when a file of ``source`` would land on
    the interpreter or its ``pyvenv.cfg``, pass for the interpreter in the scripts
    directory, put a ``.dist-info`` or ``.egg-info`` but the wheel's own into a
    library directory, or land where another of its files does (or in it).
    ``wheel`` is the wheel's path, for messages; ``places``: the scheme's `Places`,
    when the caller checks several wheels."""
    check = _Check(source, t, places or Places(scheme), wheel)
    stem = source.dist_info[: -len(".dist-info")]
    ep_member = f"{source.dist_info}/entry_points.txt"
    # (absolute destination, member) of what is written in Python: launchers and
    # #!python scripts; then of every file of the keys that need a closer look.
    written: list[tuple[str, str]] = []
    for ep in source.entry_points:
        dest = os.path.normpath(os.path.join(check.scripts, ep.name))
        if not dest.startswith(check.scripts + os.sep):
            raise UnsafePath(wheel, f"entry point {ep.name!r} leaves the scripts directory")
        written.append((dest, ep_member))
    written += [
        (os.path.normpath(f"{check.roots[SCRIPTS]}/{s.path}"), f"{stem}.data/scripts/{s.path}")
        for s in source.script_files()
    ]
    for dest, member in written:
        check.file(dest, member)
    with_tops = {key for key, tops in enumerate(source.tops) if tops}
    closer = {key for key in with_tops if check.needs_listing(key, stem)}
    if closer or any("/" in ep.name for ep in source.entry_points):
        # Files landing near the scripts directory, or a launcher below a
        # directory there: the linked scripts may be in the way.
        closer.add(SCRIPTS)
    closer &= with_tops
    if not closer:
        if len(written) > 1:
            _check_overlaps(wheel, written)
        return
    listing = source.listing()
    listed = [
        (os.path.normpath(f"{check.roots[key]}/{path}"), _member(source, stem, key, path))
        for key, path, _h in listing
        if key in closer
    ]
    for dest, member in listed:
        check.file(dest, member)
    libs = {check.roots[PURELIB], check.roots[PLATLIB]}
    if any(d.startswith(lib + os.sep) for d, _m in written + listed for lib in libs):
        # Some land in a library directory after all (``.data/data`` into
        # site-packages): against everything there.
        listed += [
            (os.path.normpath(f"{check.roots[key]}/{path}"), _member(source, stem, key, path))
            for key, path, _h in listing
            if key not in closer
        ]
    _check_overlaps(wheel, written + listed)


def _member(source: Source, stem: str, key: int, path: str) -> str:
    """The member name of a file the wheel puts at ``path`` below ``key``."""
    return path if key == source.lib_key else f"{stem}.data/{KEY_NAMES[key]}/{path}"


class _Check:
    """The places of a scheme that a wheel's files must not take."""

    def __init__(self, source: Source, t: Targets, places: Places, wheel: str) -> None:
        self.source = source
        self.wheel = wheel
        self.roots = [os.path.normpath(os.path.abspath(r)) for r in t.roots]
        self.lib_root = os.path.normpath(os.path.abspath(t.lib_root))
        self.protected = places.protected
        self.scripts = self.roots[SCRIPTS]
        self.libraries = places.libraries
        self.own = os.path.join(self.lib_root, source.dist_info)

    def needs_listing(self, key: int, stem: str) -> bool:
        """Whether a top-level name of ``key`` refuses the wheel outright (it is a
        protected file), or holds a place that matters below it (its files are
        then looked at one by one)."""
        root = self.roots[key]
        places = [*self.protected, self.scripts, *self.libraries]
        closer = False
        for top in self.source.tops[key]:
            dest = f"{root}/{top}"
            if dest == self.own:
                continue
            self.file(dest, _member(self.source, stem, key, top))
            if any(p.startswith(dest + os.sep) for p in places):
                closer = True
        return closer

    def file(self, dest: str, member: str) -> None:
        """Refuse the wheel when what it puts at ``dest`` (a file, or a top-level
        directory) takes a place it must not."""
        what = self.protected.get(dest)
        in_scripts = os.path.dirname(dest) == self.scripts
        if what is None and in_scripts and interpreter_name(os.path.basename(dest)):
            what = "the environment's interpreter"
        if what is not None:
            raise InvalidWheel(self.wheel, f"{dest} would replace {what}", member)
        for library in self.libraries:
            if dest.startswith(library + os.sep):
                first = dest[len(library) + 1 :].partition(os.sep)[0]
                place = os.path.join(library, first)
                if first.endswith(_METADATA_DIRS) and place != self.own:
                    raise InvalidWheel(
                        self.wheel,
                        f"{place} would be distribution metadata other than the wheel's own"
                        " .dist-info",
                        member,
                    )


def _check_overlaps(wheel: str, dests: list[tuple[str, str]]) -> None:
    """No two of ``dests`` at one path, and none where another needs a directory."""
    paths = [d for d, _who in dests]
    if len(set(paths)) != len(paths):
        first: dict[str, str] = {}
        for dest, who in dests:
            if dest in first:
                raise UnsafePath(wheel, f"{first[dest]} and {who} install to the same path", dest)
            first[dest] = who
    clash = file_under_file(paths)
    if clash is not None:
        who = next(w for d, w in dests if d == clash)
        problem = f"{clash} would be both a file and a directory of this install"
        raise UnsafePath(wheel, problem, who)
