"""Wheel tag compatibility: which wheels a target interpreter can use, and which it prefers.

The running interpreter's tags come from ``packaging.tags.sys_tags()`` in-process.
For another interpreter (``--python``), the same function is run *inside* that
interpreter, through a small probe that puts our copy of ``packaging`` first on
its path: the platform, ABI and glibc facts that tags need are only true there.
Its answer is cached in ``probe-v1/tags/``, keyed by the resolved binary
(so all venvs of one interpreter share it), this module's probe text and
``packaging``'s version. A target that is the running interpreter's own binary
(a venv made from it, say) needs no probe at all.

Most wheels are pure (``py3-none-any``): those are accepted from the
interpreter's version alone, without computing the full tag list, because a
warm install is measured in tens of milliseconds.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Union

from ._errors import IncompatibleWheel, InvalidWheel, SchemeError

PathLike = Union[str, "os.PathLike[str]"]

TAGS_PROBE_VERSION = 1

# Run as ``python -I -c <this> <dir holding our packaging>``; stdlib + packaging only.
_TAGS_PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from packaging import markers, tags
json.dump({
    "tags_probe_version": VERSION,
    "tags": [str(t) for t in tags.sys_tags()],
    "markers": markers.default_environment(),
}, sys.stdout)
""".replace("VERSION", str(TAGS_PROBE_VERSION))

_SHORT_NAMES = {"cpython": "cp", "pypy": "pp", "ironpython": "ip", "jython": "jy"}


class TargetInterpreter:
    """The tags and marker environment of one interpreter, computed when first needed.

    >>> t = TargetInterpreter(None)
    >>> t.rank("demo-1.0-py3-none-any.whl") is not None
    True
    """

    def __init__(self, python: PathLike | None = None) -> None:
        self.python = None if python is None else os.fspath(python)
        # The same binary as ours (our own path, or a venv made from it) has our
        # tags and markers: no probe needed.
        self._in_process = self.python is None or _same_binary(self.python)
        self._answer: dict[str, Any] | None = None
        self._ranks: dict[str, int] | None = None
        self._version: tuple[str, int, int] | None = None

    @property
    def description(self) -> str:
        return self.python or f"{sys.executable} (the running interpreter)"

    # --- facts -------------------------------------------------------------------------

    def _implementation_and_version(self) -> tuple[str, int, int]:
        """(implementation name, major, minor): from the scheme probe, which is cached."""
        if self._version is None:
            if self.python is None or self._in_process:
                impl, (major, minor) = sys.implementation.name, sys.version_info[:2]
            else:
                from ._scheme import interpreter_facts

                facts = interpreter_facts(self.python)
                impl = str(facts["implementation"])
                major, minor = (int(v) for v in facts["version_info"][:2])
            self._version = (impl, major, minor)
        return self._version

    def _probe(self) -> dict[str, Any]:
        if self._answer is None:
            if self.python is None or self._in_process:
                self._answer = _probe_running()
            else:
                self._answer = _probe_other(self.python)
        return self._answer

    def supported(self) -> list[str]:
        """Every tag the interpreter accepts, best first (``cp311-cp311-manylinux_2_36_x86_64``)."""
        return list(self._probe()["tags"])

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker variables of the interpreter, for ``; python_version < "3.12"``."""
        return dict(self._probe()["markers"])

    # --- ranking -----------------------------------------------------------------------

    def _is_pure_for_us(self, tags: Iterable[str]) -> bool:
        """True when one of ``tags`` is a ``-none-any`` tag this interpreter accepts.

        The rule of ``packaging.tags.compatible_tags``: ``pyX``, ``pyXY`` for any
        minor up to ours, and our own interpreter tag, with ``none-any``.
        """
        impl, major, minor = self._implementation_and_version()
        ours = {f"py{major}", *(f"py{major}{m}" for m in range(minor + 1))}
        short = _SHORT_NAMES.get(impl)
        if short is not None:
            ours.add(f"{short}{major}{minor}")
        return any(t.endswith("-none-any") and t.split("-", 1)[0] in ours for t in tags)

    def rank(self, wheel: PathLike) -> int | None:
        """How well the interpreter likes ``wheel`` by its file name: 0 is best,
        ``None`` is not at all. Raises `InvalidWheel` for a name that is not a wheel's."""
        tags = wheel_tags(wheel)
        if self._ranks is None:
            self._ranks = {t: i for i, t in enumerate(self.supported())}
        found = [self._ranks[t] for t in tags if t in self._ranks]
        return min(found) if found else None

    def accepts(self, wheel: PathLike) -> bool:
        tags = wheel_tags(wheel)
        return self._is_pure_for_us(tags) or self.rank(wheel) is not None

    def incompatible(self, wheel: PathLike) -> IncompatibleWheel:
        """The error for a ``wheel`` this interpreter does not accept."""
        path = os.fspath(wheel)
        mine = ", ".join(sorted(wheel_tags(path)))
        return IncompatibleWheel(
            path,
            f"not compatible with {self.description}: the wheel is tagged {mine}; "
            f"the interpreter accepts {self.best_tags_summary()}",
        )

    def best_tags_summary(self, limit: int = 3) -> str:
        """The interpreter's best tag for each of its first ABIs, and how many more it has."""
        supported = self.supported()
        shown: list[str] = []
        abis: set[str] = set()
        for tag in supported:
            abi = tag.split("-")[1]
            if abi not in abis:
                abis.add(abi)
                shown.append(tag)
                if len(shown) == limit:
                    break
        if not any(t.endswith("-none-any") for t in shown):
            shown.append(next((t for t in supported if t.endswith("-none-any")), ""))
        rest = len(supported) - len([t for t in shown if t])
        return ", ".join(t for t in shown if t) + (f" (and {rest} more)" if rest > 0 else "")


def wheel_tags(wheel: PathLike) -> frozenset[str]:
    """The tags a wheel's file name declares, expanded (``py2.py3-none-any`` is two).

    Parsed here rather than by ``packaging.utils.parse_wheel_filename``, whose
    import costs more than a warm install of a small wheel; the name and
    version parts are checked by `fastinst.install` itself.

    >>> sorted(wheel_tags("dist/demo-1.0-py2.py3-none-any.whl"))
    ['py2-none-any', 'py3-none-any']
    """
    path = os.fspath(wheel)
    filename = os.path.basename(path)
    parts = filename[: -len(".whl")].split("-") if filename.endswith(".whl") else []
    if len(parts) not in (5, 6) or not all(parts):
        raise InvalidWheel(
            path, "bad wheel filename: not name-version[-build]-python-abi-platform.whl"
        )
    pythons, abis, platforms = (p.lower().split(".") for p in parts[-3:])
    return frozenset(f"{x}-{y}-{z}" for x in pythons for y in abis for z in platforms)


def check_compatible(wheels: Iterable[PathLike], python: PathLike | None = None) -> None:
    """Raise `IncompatibleWheel` for the first of ``wheels`` that ``python`` cannot use.

    ``python`` is the target interpreter (``None``: the running one). Only file
    names are read; a pure wheel is checked without computing the full tag list.

    >>> check_compatible(["demo-1.0-py3-none-any.whl"])
    >>> check_compatible(["demo-1.0-cp27-cp27m-win32.whl"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    fastinst._errors.IncompatibleWheel: demo-1.0-cp27-cp27m-win32.whl: not compatible with ...
    """
    target = TargetInterpreter(python)
    for wheel in wheels:
        if not target.accepts(wheel):
            raise target.incompatible(wheel)


def best_wheel(candidates: Sequence[PathLike], target: TargetInterpreter) -> str | None:
    """The candidate whose tags rank best for ``target`` (ties: the first), or ``None``."""
    best: tuple[int, int] | None = None
    chosen = None
    for i, wheel in enumerate(candidates):
        r = target.rank(wheel)
        if r is not None and (best is None or (r, i) < best):
            best, chosen = (r, i), os.fspath(wheel)
    return chosen


# --- the probe inside another interpreter ------------------------------------------------


def _same_binary(python: str) -> bool:
    if os.path.abspath(python) == sys.executable:
        return True
    try:
        from ._scheme import _find_interpreter

        return os.path.realpath(_find_interpreter(python)) == os.path.realpath(sys.executable)
    except (OSError, SchemeError):
        return False  # reported when the interpreter is asked


# Environment variables that change what sysconfig or packaging report for a binary.
_KEY_ENV = ("_PYTHON_HOST_PLATFORM", "_PYTHON_SYSCONFIGDATA_NAME", "MACOSX_DEPLOYMENT_TARGET")


def _cache_key(path: str) -> str | None:
    """The resolved interpreter binary (its path, mtime and size), this probe's text,
    packaging's version and a few variables. Not the venv: tags belong to the
    binary, so every venv of one interpreter shares one answer (a fresh venv
    costs no probe). ``None`` for a script (a pyenv shim): not cached."""
    import packaging

    from ._scheme import interpreter_binary

    binary = interpreter_binary(path)
    if binary is None:
        return None
    real, st = binary
    material = [
        real,
        st.st_mtime_ns,
        st.st_size,
        _TAGS_PROBE,
        packaging.__version__,
        [os.environ.get(k) for k in _KEY_ENV],
    ]
    import hashlib

    return hashlib.sha256(json.dumps(material).encode()).hexdigest()[:32]


def _cache_file(path: str) -> str | None:
    from ._scheme import probe_cache_dir

    key = _cache_key(path)
    # A directory of its own, so that the scheme probe's directory holds only its answers.
    return None if key is None else os.path.join(probe_cache_dir(), "tags", f"{key}.json")


def _read_cached(cache_file: str | None) -> dict[str, Any] | None:
    if cache_file is None:
        return None
    try:
        with open(cache_file, encoding="utf-8") as f:
            cached = json.load(f)
    except (OSError, ValueError):
        return None
    if isinstance(cached, dict) and cached.get("tags_probe_version") == TAGS_PROBE_VERSION:
        return cached
    return None


def _probe_running() -> dict[str, Any]:
    """The running interpreter's answer: computed in-process once, then read from
    the cache (``sys_tags()`` takes milliseconds, ``packaging.markers`` tens of
    them to import; reading the cached answer well under one)."""
    from ._scheme import _write_cached

    cache_file = _cache_file(sys.executable)
    cached = _read_cached(cache_file)
    if cached is not None:
        return cached
    from packaging import markers, tags

    answer = {
        "tags_probe_version": TAGS_PROBE_VERSION,
        "tags": [str(t) for t in tags.sys_tags()],
        "markers": dict(markers.default_environment()),
    }
    if cache_file is not None:
        _write_cached(cache_file, answer)
    return answer


def _probe_other(python: str) -> dict[str, Any]:
    """Run the tags probe in ``python``; cached in probe-v1/tags/."""
    import packaging

    from ._scheme import _find_interpreter, _write_cached

    path = _find_interpreter(python)
    cache_file = _cache_file(path)
    cached = _read_cached(cache_file)
    if cached is not None:
        return cached
    import subprocess

    packaging_parent = os.path.dirname(os.path.dirname(os.path.abspath(packaging.__file__)))
    try:
        proc = subprocess.run(
            [path, "-I", "-c", _TAGS_PROBE, packaging_parent],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SchemeError(f"cannot run {path}: {exc}") from None
    try:
        answer = json.loads(proc.stdout) if proc.returncode == 0 else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("tags"), list):
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        why = lines[-1] if lines else f"exit status {proc.returncode}"
        raise SchemeError(f"cannot read the wheel tags of {path}: {why}")
    if cache_file is not None:
        _write_cached(cache_file, answer)
    return answer
