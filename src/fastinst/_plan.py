"""Decide where every member of a wheel goes in a scheme (``.data/`` routing).

A plan is pure data: nothing here touches the disk, so ``dry_run`` is just a plan
that is not executed, and the same plan is executed from an archive or from the
cache.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field

from ._errors import InvalidWheel, UnsafePath
from ._paths import is_executable_mode
from ._records import RecordEntry
from ._scheme import SCHEME_KEYS, Scheme
from ._wheel import ATTR, NAME, Entry, EntryPoint, Wheel

# Modes handed to open(); the process umask applies, as it does for pip.
MODE_FILE = 0o666
MODE_EXEC = 0o777


@dataclass(frozen=True)
class FileAction:
    """One archive member to install: from ``entry`` to ``root``/``rel``."""

    entry: Entry
    root: str  # the scheme directory it lands in
    rel: str  # path below root, "/"-separated
    mode: int
    expected: RecordEntry | None
    fix_shebang: bool = False  # a .data/scripts file: rewritten in Python

    @property
    def dest(self) -> str:
        return os.path.join(self.root, *self.rel.split("/"))


@dataclass
class WheelPlan:
    """Everything one wheel installs, before any of it is written."""

    wheel: Wheel
    scheme: Scheme
    lib_root: str  # purelib or platlib: where the .dist-info goes
    files: list[FileAction] = field(default_factory=list)  # bulk: written by the core
    scripts: list[FileAction] = field(default_factory=list)  # .data/scripts: rewritten
    launchers: list[EntryPoint] = field(default_factory=list)

    @property
    def dist_info_dest(self) -> str:
        return os.path.join(self.lib_root, self.wheel.dist_info)

    def all_actions(self) -> list[FileAction]:
        return self.files + self.scripts

    def record_path(self, root: str, rel: str) -> str:
        """A path as RECORD writes it: relative to the .dist-info's parent."""
        dest = os.path.join(root, *rel.split("/"))
        if root == self.lib_root:
            return rel
        return os.path.relpath(dest, self.lib_root).replace(os.sep, "/")


def plan_wheel(wheel: Wheel, scheme: Scheme) -> WheelPlan:
    """Map every member of ``wheel`` to its destination in ``scheme``."""
    lib_root = scheme.purelib if wheel.root_is_purelib else scheme.platlib
    plan = WheelPlan(wheel, scheme, lib_root)
    record_name = wheel.record_member
    launcher_names = {ep.name for ep in wheel.entry_points}
    seen: dict[str, str] = {}
    for entry in wheel.files:
        name = entry[NAME]
        if name == record_name:
            continue  # rewritten from what is actually installed
        expected = wheel.record.get(name) if wheel.record is not None else None
        mode = MODE_EXEC if is_executable_mode(entry[ATTR]) else MODE_FILE
        top, _, rest = name.partition("/")
        if top.endswith(".data") and rest:
            key, _, sub = rest.partition("/")
            if not sub:
                raise UnsafePath(wheel.path, f"{top}/{key} is a file, not a directory", name)
            if key not in SCHEME_KEYS:
                raise InvalidWheel(wheel.path, f"unknown .data directory {key!r}", name)
            if key == "scripts" and _is_setuptools_wrapper(sub, launcher_names):
                continue  # pip skips these too: the entry point's launcher replaces them
            action = FileAction(entry, getattr(scheme, key), sub, mode, expected)
            if key == "scripts":
                action = FileAction(entry, action.root, sub, MODE_EXEC, expected, fix_shebang=True)
                plan.scripts.append(action)
            else:
                plan.files.append(action)
        else:
            action = FileAction(entry, lib_root, name, mode, expected)
            plan.files.append(action)
        dest = os.path.normpath(action.dest)
        if dest in seen:
            raise UnsafePath(wheel.path, f"installs to the same path as {seen[dest]!r}", name)
        seen[dest] = name
    plan.launchers = list(wheel.entry_points)
    for ep in plan.launchers:
        dest = os.path.normpath(os.path.join(scheme.scripts, ep.name))
        if posixpath.dirname(dest) != os.path.normpath(scheme.scripts):
            raise UnsafePath(wheel.path, f"entry point {ep.name!r} leaves the scripts directory")
    return plan


def _is_setuptools_wrapper(sub: str, launcher_names: set[str]) -> bool:
    """``EP``, ``EP.exe``, ``EP-script.py`` and ``EP.pya`` made by setuptools for entry point EP."""
    if "/" in sub:
        return False
    lowered = sub.lower()
    for suffix in (".exe", "-script.py", ".pya"):
        if lowered.endswith(suffix):
            return sub[: -len(suffix)] in launcher_names
    return sub in launcher_names
