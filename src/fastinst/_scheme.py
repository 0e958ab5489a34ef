"""The install scheme: where each kind of file goes, and for which interpreter."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._errors import SchemeError

SCHEME_KEYS = ("purelib", "platlib", "headers", "scripts", "data")


@dataclass(frozen=True)
class Scheme:
    """Where an install puts each kind of file.

    The five paths are the wheel spec's scheme keys. ``python`` is the interpreter
    that launchers and ``#!python`` scripts are pointed at. ``kind`` says how the
    scheme was resolved (``"venv"``, ``"posix_prefix"``, ``"user"``, ``"target"``,
    ``"custom"``...). ``site_dirs`` lists further directories the interpreter
    reads distributions from (for listing and for upgrades across them); the
    scheme's own purelib and platlib are always included.

    >>> s = Scheme.from_mapping({"purelib": "/t", "platlib": "/t", "headers": "/t/inc",
    ...                          "scripts": "/t/bin", "data": "/t"})
    >>> s.scripts
    '/t/bin'
    """

    purelib: str
    platlib: str
    headers: str
    scripts: str
    data: str
    python: str = field(default=sys.executable, compare=False)
    kind: str = field(default="custom", compare=False)
    site_dirs: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_mapping(cls, paths: Mapping[str, str], **extra: object) -> Scheme:
        """Build a scheme from a mapping with the five scheme keys."""
        missing = [k for k in SCHEME_KEYS if k not in paths]
        if missing:
            raise SchemeError(f"scheme mapping lacks {', '.join(missing)}")
        unknown = sorted(set(paths) - set(SCHEME_KEYS))
        if unknown:
            raise SchemeError(f"scheme mapping has unknown keys {', '.join(unknown)}")
        values = {k: os.fspath(paths[k]) for k in SCHEME_KEYS}
        return cls(**values, **extra)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, str]:
        """The five scheme paths as a plain dict (what ``fastinst scheme --json`` prints)."""
        return {k: getattr(self, k) for k in SCHEME_KEYS}

    def library_dirs(self) -> tuple[str, ...]:
        """purelib, platlib and ``site_dirs``, each once, in that order."""
        seen: dict[str, None] = {}
        for d in (self.purelib, self.platlib, *self.site_dirs):
            seen.setdefault(os.path.normpath(d), None)
        return tuple(seen)
