"""Decide where every member of a wheel goes in a scheme (``.data/`` routing).

A plan is pure data: nothing here touches the disk, so ``dry_run`` is just a plan
that is not executed, and the same plan is executed from an archive or from the
cache.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from ._errors import UnsafePath
from ._records import RecordEntry
from ._scheme import Scheme
from ._wheel import ATTR, NAME, Entry, EntryPoint, Wheel

# Modes handed to open(); the process umask applies, as it does for pip.
MODE_FILE = 0o666
MODE_EXEC = 0o777
_S_IFMT, _S_IFREG = 0o170000, 0o100000


class FileAction(NamedTuple):
    """One archive member to install: from ``entry`` to ``dest`` (``root``/``rel``).

    A named tuple rather than a dataclass: a big install makes 15,000 of them.
    """

    entry: Entry
    root: str  # the scheme directory it lands in
    rel: str  # path below root, "/"-separated
    dest: str  # root + "/" + rel
    mode: int
    expected: RecordEntry | None
    fix_shebang: bool = False  # a .data/scripts file: rewritten in Python


class WheelPlan:
    """Everything one wheel installs, before any of it is written."""

    __slots__ = ("files", "launchers", "lib_root", "scheme", "scripts", "wheel")

    def __init__(self, wheel: Wheel, scheme: Scheme, lib_root: str) -> None:
        self.wheel = wheel
        self.scheme = scheme
        self.lib_root = lib_root  # purelib or platlib: where the .dist-info goes
        self.files: list[FileAction] = []  # bulk: written by the core
        self.scripts: list[FileAction] = []  # .data/scripts: rewritten in Python
        self.launchers: list[EntryPoint] = []

    @property
    def dist_info_dest(self) -> str:
        return os.path.join(self.lib_root, self.wheel.dist_info)

    def all_actions(self) -> list[FileAction]:
        return self.files + self.scripts

    def record_path(self, root: str, rel: str) -> str:
        """A path as RECORD writes it: relative to the .dist-info's parent."""
        if root == self.lib_root:
            return rel
        return os.path.relpath(root + "/" + rel, self.lib_root).replace(os.sep, "/")


def plan_wheel(wheel: Wheel, scheme: Scheme) -> WheelPlan:
    """Map every member of ``wheel`` to its destination in ``scheme``."""
    lib_root = scheme.purelib if wheel.root_is_purelib else scheme.platlib
    plan = WheelPlan(wheel, scheme, lib_root)
    record_name = wheel.record_member
    record = wheel.record or {}
    launcher_names = {ep.name for ep in wheel.entry_points}
    lib_prefix = lib_root + "/"
    files = plan.files
    for entry in wheel.files:
        name = entry[NAME]
        if name == record_name:
            continue  # written fresh, from what is actually installed
        attr_mode = entry[ATTR] >> 16
        # pip's rule: a regular file with any execute bit gets them all.
        mode = MODE_EXEC if attr_mode & _S_IFMT == _S_IFREG and attr_mode & 0o111 else MODE_FILE
        top, _, rest = name.partition("/")
        if not (rest and top.endswith(".data")):
            files.append(
                FileAction(entry, lib_root, name, lib_prefix + name, mode, record.get(name))
            )
        else:
            _plan_data_file(plan, entry, rest, mode, record.get(name), launcher_names)
    dests = [a.dest for a in plan.files] + [a.dest for a in plan.scripts]
    if len(set(dests)) != len(dests):
        seen: set[str] = set()
        dup = next(d for d in dests if d in seen or seen.add(d))  # type: ignore[func-returns-value]
        raise UnsafePath(wheel.path, "two members install to the same path", dup)
    plan.launchers = list(wheel.entry_points)
    scripts_dir = os.path.normpath(scheme.scripts)
    for ep in plan.launchers:
        if os.path.dirname(os.path.normpath(os.path.join(scripts_dir, ep.name))) != scripts_dir:
            raise UnsafePath(wheel.path, f"entry point {ep.name!r} leaves the scripts directory")
    return plan


def _plan_data_file(
    plan: WheelPlan,
    entry: Entry,
    rest: str,
    mode: int,
    expected: RecordEntry | None,
    launcher_names: set[str],
) -> None:
    """Route a ``<name>.data/<key>/<path>`` member to the scheme directory ``key``."""
    # The key was checked when the wheel was opened (``_wheel._check_data_dirs``).
    key, _, sub = rest.partition("/")
    root = getattr(plan.scheme, key)
    dest = root + "/" + sub
    if key != "scripts":
        plan.files.append(FileAction(entry, root, sub, dest, mode, expected))
    elif not _is_setuptools_wrapper(sub, launcher_names):
        # pip skips setuptools' own wrappers: the entry point's launcher replaces them.
        plan.scripts.append(FileAction(entry, root, sub, dest, MODE_EXEC, expected, True))


def _is_setuptools_wrapper(sub: str, launcher_names: set[str]) -> bool:
    """``EP``, ``EP.exe``, ``EP-script.py`` and ``EP.pya`` made by setuptools for entry point EP."""
    if "/" in sub:
        return False
    lowered = sub.lower()
    for suffix in (".exe", "-script.py", ".pya"):
        if lowered.endswith(suffix):
            return sub[: -len(suffix)] in launcher_names
    return sub in launcher_names
