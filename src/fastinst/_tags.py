"""Wheel tag compatibility: which wheels a target interpreter can use, and which it prefers.

The running interpreter's tags come from ``packaging.tags.sys_tags()`` in-process
(kept in the probe cache, since importing ``packaging.tags`` costs milliseconds).
For another interpreter (``--python``), the facts that tags depend on (its
version, ABI flags, extension suffixes, platform, glibc or musl version, ELF
header, macOS version...) are gathered by the scheme probe with the standard
library alone, so that it runs on every target from 3.8 on, and the tags are
computed here from those facts with ``packaging``'s own public functions
(`tags_from_facts`). A target that is the running interpreter's own binary
(a venv made from it, say) needs no probe at all.

Most wheels are pure (``py3-none-any``): those are accepted from the
interpreter's version alone, without computing the full tag list, because a
warm install is measured in tens of milliseconds.
"""

from __future__ import annotations

import os
import sys

from ._errors import IncompatibleWheel, InvalidWheel, SchemeError
from ._log import logger
from ._probe_cache import DEFAULT_CACHE

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from types import ModuleType
    from typing import Any, Protocol, Union

    from ._probe_cache import CacheDir

    PathLike = Union[str, os.PathLike[str]]

    class Wheel(Protocol):
        """What `check_requires_python` reads of a wheel (an opened wheel, or
        ``_install``'s planned one)."""

        @property
        def path(self) -> str: ...
        @property
        def name(self) -> str: ...
        @property
        def version(self) -> str: ...
        @property
        def requires_python(self) -> str | None: ...


# packaging.tags.INTERPRETER_SHORT_NAMES (not imported: pure wheels never need packaging.tags).
_SHORT_NAMES = {"python": "py", "cpython": "cp", "pypy": "pp", "ironpython": "ip", "jython": "jy"}


class TargetInterpreter:
    """The tags and marker environment of one interpreter, computed when first needed.

    ``python`` is as for `fastinst.get_scheme` (``None``: the running
    interpreter); ``cache_dir`` says where probe answers are kept.

    >>> t = TargetInterpreter(None)
    >>> t.rank("demo-1.0-py3-none-any.whl") is not None
    True
    """

    def __init__(
        self, python: PathLike | None = None, *, cache_dir: CacheDir = DEFAULT_CACHE
    ) -> None:
        self.python = None if python is None else os.fspath(python)
        self.cache_dir = cache_dir
        # The same binary as ours (our own path, or a venv made from it) has our
        # tags and markers: no probe needed.
        self._in_process = self.python is None or _same_binary(self.python)
        self._tags: list[str] | None = None
        self._ranks: dict[str, int] | None = None

    @property
    def description(self) -> str:
        return self.python or f"{sys.executable} (the running interpreter)"

    # --- facts -------------------------------------------------------------------------

    def _facts(self) -> dict[str, Any]:
        """The scheme probe's answer (asked once, kept in the probe cache)."""
        from ._scheme import interpreter_facts

        assert self.python is not None
        return interpreter_facts(self.python, cache_dir=self.cache_dir)

    def version_info(self) -> tuple[int, int, int]:
        """The interpreter's ``sys.version_info[:3]`` (what Requires-Python is checked against)."""
        if self._in_process:
            major, minor, micro = sys.version_info[:3]
        else:
            major, minor, micro = (int(v) for v in self._facts()["version_info"][:3])
        return major, minor, micro

    def _implementation_and_version(self) -> tuple[str, int, int]:
        """(implementation name, major, minor)."""
        if self._in_process:
            return sys.implementation.name, sys.version_info[0], sys.version_info[1]
        facts = self._facts()
        major, minor = (int(v) for v in facts["version_info"][:2])
        return str(facts["implementation"]), major, minor

    def supported(self) -> list[str]:
        """Every tag the interpreter accepts, best first (``cp311-cp311-manylinux_2_36_x86_64``)."""
        if self._tags is None:
            if self._in_process:
                self._tags = _running_tags(self.cache_dir)
            else:
                self._tags = _other_tags(self._facts(), self.cache_dir)
        return list(self._tags)

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker variables of the interpreter, for ``; python_version < "3.12"``."""
        if self._in_process:
            from ._probe import marker_environment

            return marker_environment()
        return dict(self._facts()["markers"])

    # --- ranking -----------------------------------------------------------------------

    def _is_pure_for_us(self, tags: Iterable[str]) -> bool:
        """True when one of ``tags`` is a ``-none-any`` tag this interpreter accepts.

        The rule of ``packaging.tags.compatible_tags``: ``pyX``, ``pyXY`` for any
        minor up to ours, and ``cpXY`` (CPython) or ``pp3`` (PyPy), with
        ``none-any``. ``py3-none-any``, the common case, needs no facts at all:
        every target is a Python 3.
        """
        tags = [t for t in tags if t.endswith("-none-any")]
        if "py3-none-any" in tags:
            return True
        if not tags:
            return False
        impl, major, minor = self._implementation_and_version()
        ours = {f"py{major}", *(f"py{major}{m}" for m in range(minor + 1))}
        if impl == "cpython":
            ours.add(f"cp{major}{minor}")
        elif impl == "pypy":
            ours.add(f"pp{major}")
        return any(t.split("-", 1)[0] in ours for t in tags)

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


def check_compatible(
    wheels: Iterable[PathLike], python: PathLike | TargetInterpreter | None = None
) -> None:
    """Raise `IncompatibleWheel` for the first of ``wheels`` that ``python`` cannot use.

    ``python`` is the target interpreter (``None``: the running one), or a
    `TargetInterpreter`. Only file names are read; a pure wheel is checked
    without computing the full tag list.

    >>> check_compatible(["demo-1.0-py3-none-any.whl"])
    >>> check_compatible(["demo-1.0-cp27-cp27m-win32.whl"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    fastinst._errors.IncompatibleWheel: demo-1.0-cp27-cp27m-win32.whl: not compatible with ...
    """
    target = python if isinstance(python, TargetInterpreter) else TargetInterpreter(python)
    for wheel in wheels:
        if not target.accepts(wheel):
            raise target.incompatible(wheel)


def check_requires_python(wheels: Iterable[Wheel], target: TargetInterpreter) -> None:
    """Raise `IncompatibleWheel` for the first of ``wheels`` whose METADATA's
    Requires-Python excludes ``target``'s version (its ``X.Y.Z``, as pip checks).

    An invalid Requires-Python is ignored with a warning, as pip does.
    """
    version: str | None = None
    for wheel in wheels:
        spec = wheel.requires_python
        if spec is None:
            continue
        if version is None:
            try:
                version = ".".join(str(v) for v in target.version_info())
            except SchemeError as exc:
                raise SchemeError(
                    f"cannot check the Requires-Python of {os.path.basename(wheel.path)}: "
                    f"{exc} (ignore_requires_python skips the check)"
                ) from None
        ok = python_satisfies(spec, version)
        if ok is None:
            logger.warning(
                "%s: ignoring its invalid Requires-Python %r", os.path.basename(wheel.path), spec
            )
        elif not ok:
            raise IncompatibleWheel(
                wheel.path,
                f"{wheel.name} {wheel.version} requires Python {spec}, "
                f"but {target.description} is Python {version}",
            )


def python_satisfies(spec: str, version: str) -> bool | None:
    """Whether the Python ``version`` (``X.Y.Z``) is in the specifier set ``spec``
    (``None``: ``spec`` is invalid), as ``packaging.specifiers.SpecifierSet`` says.

    The forms nearly every Requires-Python takes (``>=3.8``, ``!=3.0.*``,
    ``~=3.9``, ``<4``, joined by commas) are decided here: importing
    ``packaging.specifiers`` costs several milliseconds of a warm install.
    Anything else goes to ``packaging`` (a test checks that both agree).

    >>> python_satisfies(">=2.7, !=3.0.*, !=3.1.*", "3.11.4")
    True
    >>> python_satisfies("~=3.12", "3.11.4")
    False
    """
    release = tuple(int(v) for v in version.split("."))
    verdict = _simple_satisfies(spec, release)
    if verdict is not None:
        return verdict
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    try:
        return Version(version) in SpecifierSet(spec)
    except InvalidSpecifier:
        return None


_OPERATORS = ("~=", "==", "!=", "<=", ">=", "<", ">")


def _clause(text: str) -> tuple[str, str, bool] | None:
    """``(operator, release, whether .*)`` of one clause, as the pattern
    ``\\s*(~=|==|!=|<=|>=|<|>)\\s*([0-9]+(?:\\.[0-9]+)*)(\\.\\*)?\\s*`` matches it
    whole, without ``re`` (which a warm install otherwise does not import)."""
    text = text.strip()  # (what str.strip() strips is what \s matches)
    op = next((op for op in _OPERATORS if text.startswith(op)), None)
    if op is None:
        return None
    number = text[len(op) :].lstrip()
    star = number.endswith(".*")
    if star:
        number = number[:-2]
    if not all(part.isascii() and part.isdigit() for part in number.split(".")):
        return None
    return op, number, star


def _simple_satisfies(spec: str, version: tuple[int, ...]) -> bool | None:
    """PEP 440 for a final release ``version`` and clauses of plain release numbers;
    ``None`` for any other form."""
    verdict = True
    for clause in spec.split(","):
        parsed = _clause(clause)
        if parsed is None:
            return None
        op, number, star = parsed
        wanted = tuple(int(v) for v in number.split("."))
        if star:
            if op not in ("==", "!="):
                return None  # invalid: let packaging say so
            prefix = (version + (0,) * len(wanted))[: len(wanted)] == wanted
            ok = prefix if op == "==" else not prefix
        elif op == "~=":
            if len(wanted) < 2:
                return None
            head = wanted[:-1]
            ok = (
                _compare(version, wanted) >= 0 and (version + (0,) * len(head))[: len(head)] == head
            )
        else:
            order = _compare(version, wanted)
            ok = {"==": order == 0, "!=": order != 0, "<": order < 0, "<=": order <= 0,
                  ">": order > 0, ">=": order >= 0}[op]  # fmt: skip
        verdict = verdict and ok
    return verdict


def _compare(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Release numbers compared as PEP 440 does: shorter ones padded with zeros."""
    size = max(len(a), len(b))
    a, b = a + (0,) * (size - len(a)), b + (0,) * (size - len(b))
    return (a > b) - (a < b)


def best_wheel(candidates: Sequence[PathLike], target: TargetInterpreter) -> str | None:
    """The candidate whose tags rank best for ``target`` (ties: the first), or ``None``."""
    best: tuple[int, int] | None = None
    chosen = None
    for i, wheel in enumerate(candidates):
        r = target.rank(wheel)
        if r is not None and (best is None or (r, i) < best):
            best, chosen = (r, i), os.fspath(wheel)
    return chosen


# --- the running interpreter's tags -------------------------------------------------------


def _same_binary(python: str) -> bool:
    if os.path.abspath(python) == sys.executable:
        return True
    try:
        from ._probe_cache import find_interpreter

        return os.path.realpath(find_interpreter(python)) == os.path.realpath(sys.executable)
    except (OSError, SchemeError):
        return False  # reported when the interpreter is asked


# Environment variables that change what sysconfig or packaging report for a binary.
_KEY_ENV = ("_PYTHON_HOST_PLATFORM", "_PYTHON_SYSCONFIGDATA_NAME", "MACOSX_DEPLOYMENT_TARGET")


def _running_tags(cache_dir: CacheDir) -> list[str]:
    """The running interpreter's ``sys_tags()``, kept in the probe cache by binary."""
    from ._probe_cache import interpreter_binary

    binary = interpreter_binary(sys.executable)
    material = None
    if binary is not None:
        real, st = binary
        material = [real, st.st_mtime_ns, st.st_size, [os.environ.get(k) for k in _KEY_ENV]]

    def compute() -> list[str]:
        from packaging import tags

        return [str(t) for t in tags.sys_tags()]

    return _kept_tags(cache_dir, material, compute)


def _other_tags(facts: dict[str, Any], cache_dir: CacheDir) -> list[str]:
    """Another interpreter's tags, computed from its facts, kept in the probe cache by
    those facts (all venvs of one interpreter share them)."""
    return _kept_tags(
        cache_dir,
        [facts["tags"]],
        lambda: tags_from_facts(facts["tags"], str(facts["executable"])),
    )


def _kept_tags(
    cache_dir: CacheDir, material: list[Any] | None, compute: Callable[[], list[str]]
) -> list[str]:
    """``compute()``, or what it gave before for the same ``material`` and the same
    ``packaging`` version: importing ``packaging.tags`` alone costs milliseconds,
    reading the kept list well under one."""
    if material is None:
        return compute()
    import packaging

    from ._probe_cache import cache_key, kept_answer

    name = "tags-" + cache_key([*material, packaging.__version__]) + ".json"
    kept = kept_answer(
        cache_dir, name, lambda: {"tags": compute()}, lambda k: _is_tag_list(k.get("tags"))
    )
    return list(kept["tags"])


def _is_tag_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(t, str) for t in value)


# --- another interpreter's tags, from its facts ---------------------------------------------


def tags_from_facts(facts: dict[str, Any], shown: str = "the interpreter") -> list[str]:
    """The tags ``packaging.tags.sys_tags()`` gives inside the interpreter whose
    tag facts (``_probe.tag_facts``) are ``facts``, best first.

    The interpreter, ABI and platform lists are derived from the facts as
    ``packaging`` derives them from the running interpreter, then handed to its
    public ``cpython_tags``/``generic_tags``, ``compatible_tags`` and
    ``mac_platforms``/``ios_platforms``/``android_platforms``; Linux's
    manylinux and musllinux lists are built here (``packaging`` only builds
    them for the running process).
    """
    from packaging import tags

    try:
        return [str(t) for t in _sys_tags(tags, facts)]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise SchemeError(
            f"cannot compute the wheel tags of {shown}: its probe answer is malformed ({exc!r})"
        ) from None


def _sys_tags(tags: ModuleType, f: dict[str, Any]) -> Iterator[Any]:
    """``packaging.tags.sys_tags`` for the facts ``f``."""
    major, minor = (int(v) for v in f["version"])
    name = _SHORT_NAMES.get(f["interpreter"]) or f["interpreter"]
    nodot = str(f.get("py_version_nodot") or f"{major}{minor}")
    platforms = list(_platforms(tags, f))
    if name == "cp":
        yield from tags.cpython_tags((major, minor), _cpython_abis(f, major, minor), platforms)
    else:
        yield from tags.generic_tags(f"{name}{nodot}", _generic_abis(f), platforms)
    interpreter = "pp3" if name == "pp" else f"cp{nodot}" if name == "cp" else None
    yield from tags.compatible_tags((major, minor), interpreter, platforms)


def _cpython_abis(f: dict[str, Any], major: int, minor: int) -> list[str]:
    """packaging's ``_cpython_abis`` (3.8 and later: no ``m`` or ``u`` flags)."""
    version = f"{major}{minor}"
    debug = threading = ""
    py_debug = f.get("py_debug")
    has_ext = "_d.pyd" in f.get("extension_suffixes", [])
    if py_debug or (py_debug is None and (f.get("has_refcount") or has_ext)):
        debug = "d"
    if (major, minor) >= (3, 13) and f.get("gil_disabled"):
        threading = "t"
    abis = [f"cp{version}{threading}{debug}"]
    if debug:
        abis.append(f"cp{version}{threading}")  # debug builds load normal extensions too
    return abis


def _generic_abis(f: dict[str, Any]) -> list[str]:
    """packaging's ``_generic_abi``: the ABI part of ``EXT_SUFFIX``."""
    ext_suffix = f.get("ext_suffix")
    if not isinstance(ext_suffix, str) or not ext_suffix.startswith("."):
        raise ValueError("invalid EXT_SUFFIX")
    parts = ext_suffix.split(".")
    if len(parts) < 3:
        major, minor = (int(v) for v in f["version"])
        return _cpython_abis(f, major, minor)
    soabi = parts[1]
    if soabi.startswith("cpython"):
        abi = "cp" + soabi.split("-")[1]
    elif soabi.startswith("cp"):
        abi = soabi.split("-")[0]
    elif soabi.startswith("pypy"):
        abi = "-".join(soabi.split("-")[:2])
    elif soabi.startswith("graalpy"):
        abi = "-".join(soabi.split("-")[:3])
    elif soabi:
        abi = soabi
    else:
        return []
    return [_normalize(abi)]


def _normalize(text: str) -> str:
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")


def _platforms(tags: ModuleType, f: dict[str, Any]) -> Iterator[str]:
    """packaging's ``platform_tags``."""
    system = f.get("system")
    if system == "Darwin":
        version = tuple(int(v) for v in f["mac_version"][:2])
        arch = f["mac_arch"]
        if f.get("is_32bit"):  # packaging's _mac_arch
            arch = "ppc" if arch.startswith("ppc") else "i386"
        yield from tags.mac_platforms(version, arch)
    elif system == "iOS" and hasattr(tags, "ios_platforms"):
        yield from tags.ios_platforms(tuple(f["ios_version"][:2]), f["multiarch"])
    elif system == "Android" and hasattr(tags, "android_platforms"):
        abi = f["platform"].split("-")[-1]
        yield from tags.android_platforms(int(f["android_api_level"]), abi)
    elif system == "Linux":
        yield from _linux_platforms(tags, f)
    else:
        if system == "Emscripten" and f.get("emscripten_version"):
            yield f"pyemscripten_{f['emscripten_version']}_wasm32"
        yield _normalize(f["platform"])


def _linux_first(tags: ModuleType) -> bool:
    """packaging 26.3 put ``linux_*`` before ``manylinux``/``musllinux`` tags."""
    import re

    import packaging

    match = re.match(r"(\d+)\.(\d+)", packaging.__version__)
    return match is not None and (int(match[1]), int(match[2])) >= (26, 3)


def _linux_platforms(tags: ModuleType, f: dict[str, Any]) -> Iterator[str]:
    """packaging's ``_linux_platforms`` for the facts ``f``."""
    linux = _normalize(f["platform"])
    if not linux.startswith("linux_"):
        yield linux
        return
    if f.get("is_32bit"):
        linux = {"linux_x86_64": "linux_i686", "linux_aarch64": "linux_armv8l"}.get(linux, linux)
    arch = linux.split("_", 1)[1]
    archs = {"armv8l": ["armv8l", "armv7l"]}.get(arch, [arch])
    plain = [f"linux_{a}" for a in archs]
    if _linux_first(tags):
        yield from plain
    yield from _manylinux(f, archs)
    yield from _musllinux(f, archs)
    if not _linux_first(tags):
        yield from plain


# packaging's _manylinux: architectures without an ELF check, the last minor
# version assumed for an older glibc major, and the legacy names.
_MANYLINUX_ARCHS = {"x86_64", "aarch64", "ppc64", "ppc64le", "s390x", "loongarch64", "riscv64"}
_LAST_GLIBC_MINOR = 50
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
# ELF constants for the 32-bit ARM hard-float and i686 checks.
_EM_386, _EM_ARM = 3, 40
_EF_ARM_ABIMASK, _EF_ARM_ABI_VER5, _EF_ARM_ABI_FLOAT_HARD = 0xFF000000, 0x05000000, 0x00000400


def _glibc(f: dict[str, Any]) -> tuple[int, int]:
    import re

    match = re.match(r"(?P<major>[0-9]+)\.(?P<minor>[0-9]+)", f.get("glibc") or "")
    return (int(match["major"]), int(match["minor"])) if match else (-1, -1)


def _elf_is(f: dict[str, Any], machine: int) -> bool:
    elf = f.get("elf")
    if not isinstance(elf, dict) or (elf.get("class"), elf.get("data")) != (1, 1):
        return False  # 32-bit little-endian only
    if elf.get("machine") != machine:
        return False
    if machine == _EM_ARM:
        flags = int(elf.get("flags") or 0)
        return (
            flags & _EF_ARM_ABIMASK == _EF_ARM_ABI_VER5
            and flags & _EF_ARM_ABI_FLOAT_HARD == _EF_ARM_ABI_FLOAT_HARD
        )
    return True


def _manylinux_compatible(f: dict[str, Any], arch: str, version: tuple[int, int]) -> bool:
    """packaging's ``_is_compatible``, with the distributor's ``_manylinux`` answers
    that the probe gathered."""
    if _glibc(f) < version:
        return False
    module = f.get("manylinux_module")
    if not isinstance(module, dict):
        return True
    if module.get("has_function"):
        result = module.get("compatible", {}).get("{}_{}_{}".format(*version, arch))
        return True if result is None else bool(result)
    legacy = _LEGACY_MANYLINUX.get(version)
    if legacy is not None and legacy in module.get("legacy", {}):
        return bool(module["legacy"][legacy])
    return True


def _manylinux(f: dict[str, Any], archs: list[str]) -> Iterator[str]:
    """packaging's ``_manylinux.platform_tags`` for the facts ``f``."""
    if "armv7l" in archs:
        if not _elf_is(f, _EM_ARM):
            return
    elif "i686" in archs:
        if not _elf_is(f, _EM_386):
            return
    elif not any(a in _MANYLINUX_ARCHS for a in archs):
        return
    too_old = (2, 4) if set(archs) & {"x86_64", "i686"} else (2, 16)
    current = _glibc(f)
    maxima = [current] + [(major, _LAST_GLIBC_MINOR) for major in range(current[0] - 1, 1, -1)]
    for arch in archs:
        for major, top in maxima:
            lowest = too_old[1] if major == too_old[0] else -1
            for minor in range(top, lowest, -1):
                if _manylinux_compatible(f, arch, (major, minor)):
                    yield f"manylinux_{major}_{minor}_{arch}"
                    legacy = _LEGACY_MANYLINUX.get((major, minor))
                    if legacy is not None:
                        yield f"{legacy}_{arch}"


def _musllinux(f: dict[str, Any], archs: list[str]) -> Iterator[str]:
    """packaging's ``_musllinux.platform_tags`` for the facts ``f``."""
    musl = f.get("musl")
    if not musl:
        return
    major, minor = int(musl[0]), int(musl[1])
    for arch in archs:
        for m in range(minor, -1, -1):
            yield f"musllinux_{major}_{m}_{arch}"
