"""Environments from a lock file (PEP 751 ``pylock.toml``): read, select, find, install, sync.

A lock names every distribution of an environment with its exact wheels and
their hashes, which is what an installer without a resolver needs. Here:

* `read_lock` parses the file with ``packaging.pylock`` (the spec's checks);
* `select` evaluates the lock's markers for the *target* interpreter and picks
  each package's wheel by that interpreter's tags; sdists, VCS checkouts and
  directories are refused by name (fastinst runs no build backend);
* `locate` finds every wheel without a network: in the cache by the lock's
  SHA-256 (a warm cache needs no wheel file at all), at the lock's ``path`` or
  ``file:`` URL (relative to the lock file), by file name in ``--find-links``
  directories; each file's hash is checked against the lock before anything is
  written, and whatever cannot be found is reported all at once;
* `install_lock` installs the lot in one transaction; `sync` makes an
  environment exactly the lock.
"""

from __future__ import annotations

import os
import sys

from ._errors import HashMismatch, LockError, WheelsNotFound
from ._probe_cache import DEFAULT_CACHE, _Default
from ._tuples import NamedTuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (nor collections.abc)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any, Union

    from packaging.pylock import Package, PackageArchive, PackageWheel, Pylock

    from ._cache import WheelCache
    from ._install import InstallResult, ProgressCallback
    from ._installed import InstalledDistribution
    from ._remove import UninstallResult
    from ._scheme import Scheme
    from ._tags import TargetInterpreter

    PathLike = Union[str, os.PathLike[str]]
    SchemeLike = Union["Scheme", Mapping[str, str], None]


class LockedWheel:
    """One wheel chosen from a lock for the target interpreter.

    ``name`` is normalised; ``hashes`` maps algorithm to hex digest as the lock
    gives them; ``path`` is the local file the lock names (its ``path``, or a
    ``file:`` URL), absolute, or ``None``; ``url`` is the lock's URL as written;
    ``direct`` is true for a package locked as an archive (a direct reference,
    which gets a PEP 610 ``direct_url.json``); ``where`` names the lock entry
    (``packages[3]``).
    """

    __slots__ = ("direct", "filename", "hashes", "name", "path", "url", "version", "where")

    def __init__(
        self,
        name: str,
        version: str,
        filename: str,
        hashes: Mapping[str, str],
        path: str | None,
        url: str | None,
        direct: bool,
        where: str,
    ) -> None:
        self.name, self.version, self.filename = name, version, filename
        self.hashes = dict(hashes)
        self.path, self.url, self.direct, self.where = path, url, direct, where

    def __repr__(self) -> str:
        return f"LockedWheel({self.name!r}, {self.version!r}, {self.filename!r})"

    @property
    def sha256(self) -> str | None:
        value = self.hashes.get("sha256")
        return value.lower() if value else None

    def direct_url(self) -> dict[str, object]:
        """PEP 610 for a package locked as an archive, as pip writes it."""
        url = self.url
        if url is None and self.path is not None:
            from pathlib import Path

            url = Path(self.path).as_uri()
        info: dict[str, object] = {"hashes": dict(self.hashes)}
        if self.sha256:
            info["hash"] = f"sha256={self.sha256}"
        return {"url": url, "archive_info": info}


class Found(NamedTuple):
    """Where a locked wheel was found: ``path`` is a checked wheel file (``None``
    when only the cache has it), ``digest`` its SHA-256, ``in_cache`` whether the
    cache holds it unpacked."""

    wheel: LockedWheel
    path: str | None
    digest: str | None
    in_cache: bool


# --- reading --------------------------------------------------------------------------


def is_lock_path(path: PathLike) -> bool:
    """Whether a file name is a PEP 751 lock's: ``pylock.toml`` or ``pylock.NAME.toml``.

    >>> is_lock_path("deps/pylock.toml"), is_lock_path("pylock.dev.toml"), is_lock_path("x.toml")
    (True, True, False)
    """
    name = os.path.basename(os.fspath(path))
    if name == "pylock.toml":
        return True
    middle = name[len("pylock.") : -len(".toml")]
    return (
        name.startswith("pylock.") and name.endswith(".toml") and bool(middle) and "." not in middle
    )


def read_lock(path: PathLike) -> Pylock:
    """Parse and validate a lock file; `LockError` says why one cannot be used."""
    lock = os.fspath(path)
    return parse_lock(lock, _read_bytes(lock))


def _read_bytes(lock: str) -> bytes:
    try:
        with open(lock, "rb") as f:
            return f.read()
    except OSError as exc:
        raise LockError(lock, [f"cannot read the lock file: {exc.strerror or exc}"]) from None


def parse_lock(lock: str, data: bytes) -> Pylock:
    """The `packaging.pylock.Pylock` of a lock file's bytes (``lock`` names it in errors)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # the backport (a dependency below 3.11); mypy checks as 3.10 without it
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    from packaging.pylock import Pylock, PylockValidationError

    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise LockError(lock, ["not a lock file: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise LockError(lock, [f"not a lock file: invalid TOML ({exc})"]) from None
    try:
        return Pylock.from_dict(document)
    except PylockValidationError as exc:
        raise LockError(lock, [f"not a valid PEP 751 lock file: {exc}"]) from None


# --- choosing: markers, Requires-Python, tags ------------------------------------------


def select(
    lock: Pylock,
    lock_path: str,
    target: TargetInterpreter,
    *,
    extras: Iterable[str] = (),
    groups: Iterable[str] | None = None,
) -> list[LockedWheel]:
    """The wheel of every package the lock installs on ``target``, in lock order.

    Markers are evaluated for ``target`` with ``extras`` and dependency ``groups``
    (``None``: the lock's default groups) as PEP 751 says; a package whose
    Requires-Python excludes the target, one locked only as an sdist, a VCS
    checkout or a directory, or one without a wheel for the target's tags is a
    problem; `LockError` lists every problem at once.
    """
    from packaging.utils import canonicalize_name

    env: dict[str, Any] = dict(target.marker_environment())
    python = _python_version(env)
    where = f"for {target.description}"
    wanted_extras = frozenset(canonicalize_name(e) for e in extras)
    unknown = sorted(wanted_extras - set(lock.extras or ()))
    if unknown:
        raise LockError(lock_path, [f"the lock has no extra {', '.join(unknown)}"])
    declared = {canonicalize_name(g) for g in [*(lock.dependency_groups or ()),
                                                *(lock.default_groups or ())]}  # fmt: skip
    chosen_groups = frozenset(
        canonicalize_name(g) for g in (lock.default_groups or () if groups is None else groups)
    )
    unknown = sorted(chosen_groups - declared)
    if unknown:
        raise LockError(lock_path, [f"the lock has no dependency group {', '.join(unknown)}"])
    if lock.requires_python is not None and not lock.requires_python.contains(
        python, prereleases=True
    ):
        raise LockError(
            lock_path, [f"the lock requires Python {lock.requires_python}, not {python} {where}"]
        )
    if lock.environments is not None and not any(
        m.evaluate(env, context="requirement") for m in lock.environments
    ):
        marks = " or ".join(f"'{m}'" for m in lock.environments)
        raise LockError(lock_path, [f"the lock is for environments {marks}, not {where}"])

    lock_env = dict(env, extras=wanted_extras, dependency_groups=chosen_groups)
    problems: list[str] = []
    seen: dict[str, int] = {}
    chosen: list[LockedWheel] = []
    for index, package in enumerate(lock.packages):
        if package.marker is not None and not package.marker.evaluate(
            lock_env, context="lock_file"
        ):
            continue
        name = str(package.name)
        label = f"{name} (packages[{index}])"
        if name in seen:
            problems.append(f"{label}: selected twice (also packages[{seen[name]}])")
            continue
        seen[name] = index
        if package.requires_python is not None and not package.requires_python.contains(
            python, prereleases=True
        ):
            problems.append(f"{label}: requires Python {package.requires_python}, not {python}")
            continue
        picked = _pick(package, index, label, lock_path, target, problems)
        if picked is not None:
            chosen.append(picked)
    if problems:
        raise LockError(lock_path, problems, f"cannot be installed {where}")
    return chosen


_NO_BUILD = "fastinst installs wheels only and runs no build backend"


def _pick(
    package: Package,
    index: int,
    label: str,
    lock_path: str,
    target: TargetInterpreter,
    problems: list[str],
) -> LockedWheel | None:
    """The wheel for one package, or ``None`` after saying why in ``problems``."""
    from ._errors import InvalidWheel
    from ._tags import best_wheel, wheel_tags

    if package.vcs is not None:
        source = package.vcs.url or package.vcs.path or package.vcs.type
        problems.append(f"{label}: a {package.vcs.type} checkout ({source}); {_NO_BUILD}")
        return None
    if package.directory is not None:
        problems.append(f"{label}: a directory ({package.directory.path}); {_NO_BUILD}")
        return None
    if package.archive is not None:
        archive = package.archive
        filename = _archive_name(archive)
        if not filename.endswith(".whl"):
            problems.append(f"{label}: an archive that is not a wheel ({filename}); {_NO_BUILD}")
            return None
        candidates: list[tuple[str, PackageWheel | PackageArchive]] = [(filename, archive)]
    elif package.wheels:
        candidates = [(w.filename, w) for w in package.wheels]
    elif package.sdist is not None:
        problems.append(f"{label}: only an sdist is locked ({package.sdist.filename}); {_NO_BUILD}")
        return None
    else:  # pragma: no cover - Pylock.from_dict refuses a package without a source
        problems.append(f"{label}: no source")
        return None
    named: dict[str, PackageWheel | PackageArchive] = {}
    for filename, entry in candidates:
        try:
            wheel_tags(filename)
        except InvalidWheel:
            problems.append(f"{label}: {filename!r} is not a wheel file name")
            return None
        if _canonical(filename.split("-", 1)[0]) != package.name:
            problems.append(f"{label}: {filename} is not a wheel of {package.name}")
            return None
        named[filename] = entry
    best = best_wheel(list(named), target)
    if best is None and len(named) == 1 and target.accepts(next(iter(named))):
        best = next(iter(named))
    if best is None:
        tags = ", ".join(sorted({t for f in named for t in wheel_tags(f)}))
        sdist = " (and its sdist needs a build backend)" if package.sdist is not None else ""
        problems.append(
            f"{label}: no wheel for this interpreter; the lock has {tags}{sdist}; "
            f"the interpreter accepts {target.best_tags_summary()}"
        )
        return None
    entry = named[best]
    version = str(package.version) if package.version is not None else best.split("-")[1]
    return LockedWheel(
        name=str(package.name),
        version=version,
        filename=best,
        hashes={k.lower(): v.lower() for k, v in entry.hashes.items()},
        path=_local_path(entry.path, entry.url, lock_path),
        url=entry.url,
        direct=package.archive is not None,
        where=f"packages[{index}]",
    )


def _archive_name(archive: PackageArchive) -> str:
    for text in (archive.path, archive.url):
        if text:
            from urllib.parse import unquote, urlsplit

            return os.path.basename(unquote(urlsplit(text).path) if "://" in text else text)
    return ""  # pragma: no cover - the spec requires a path or a url


def _local_path(path: str | None, url: str | None, lock_path: str) -> str | None:
    """The file a lock entry names on this machine: ``path`` relative to the lock
    file's directory (or absolute), else a ``file:`` URL's path."""
    if path:
        return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(lock_path)), path))
    if url and url.startswith("file:"):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(url)
        if parts.netloc in ("", "localhost"):
            return os.path.normpath(unquote(parts.path))
    return None


def _python_version(env: Mapping[str, Any]) -> str:
    """``python_full_version`` as a PEP 440 version (``3.13.0+`` of a dev build: ``3.13.0``)."""
    full = str(env.get("python_full_version") or env.get("python_version") or "")
    return full.rstrip("+")


def _canonical(name: str) -> str:
    from ._names import canonical_name

    return canonical_name(name)


# --- finding: the cache, the lock's paths, --find-links ----------------------------------


def locate(
    wheels: Sequence[LockedWheel],
    lock_path: str,
    *,
    find_links: Sequence[str] = (),
    cache: WheelCache | None = None,
    verified: bool = True,
) -> list[Found]:
    """Find every wheel of ``wheels``; check each file's hash against the lock.

    Looked up in order: the cache by the lock's SHA-256 (enough on its own), the
    lock's ``path``/``file:`` URL, then each ``find_links`` directory by file
    name. Raises `HashMismatch` when a wheel was found only in files with other
    hashes, and `WheelsNotFound` listing every wheel found nowhere, with where
    fastinst looked; nothing is downloaded.
    """
    listing: dict[str, list[str]] | None = None
    found: list[Found] = []
    missing: dict[str, list[str]] = {}
    mismatched: dict[str, tuple[str, str]] = {}
    for wheel in wheels:
        looked: list[str] = []
        digest = wheel.sha256
        if cache is not None and digest is not None:
            if cache.load(digest, verified=verified) is not None:
                found.append(Found(wheel, None, digest, True))  # no file needed
                continue
            looked.append(f"in the cache {cache.root} by sha256 {digest[:16]}...")
        candidates: list[str] = []
        if wheel.path is not None:
            candidates.append(wheel.path)
        if find_links:
            if listing is None:
                listing = _list_dirs(find_links)
            candidates += listing.get(wheel.filename, [])
        path = None
        wrong: dict[str, tuple[str, str]] = {}
        for candidate in candidates:
            if not os.path.isfile(candidate):
                continue
            actual = _file_hash(candidate, wheel, cache)
            if actual is None:
                path = candidate
                break
            wrong[candidate] = actual
        if path is None and wrong:
            mismatched.update(wrong)
            continue
        if path is None:
            if wheel.path is not None:
                looked.append(f"at {wheel.path}")
            elif wheel.url is not None:
                looked.append(f"not at {wheel.url} (fastinst downloads nothing)")
            if find_links:
                looked.append(f"in {', '.join(find_links)}")
            else:
                looked.append("in no --find-links directory (none given)")
            missing[f"{wheel.filename} ({wheel.name} {wheel.version})"] = looked
            continue
        found.append(Found(wheel, path, digest, False))
    if mismatched:
        raise HashMismatch(lock_path, mismatched)
    if missing:
        raise WheelsNotFound(lock_path, missing)
    return found


def _list_dirs(dirs: Sequence[str]) -> dict[str, list[str]]:
    """File name -> paths, for every ``.whl`` in ``dirs`` (in order)."""
    out: dict[str, list[str]] = {}
    for d in dirs:
        try:
            names = sorted(os.listdir(d))
        except OSError as exc:
            raise LockError(d, [f"cannot list --find-links directory: {exc.strerror}"]) from None
        for name in names:
            if name.endswith(".whl"):
                out.setdefault(name, []).append(os.path.join(d, name))
    return out


def _file_hash(path: str, wheel: LockedWheel, cache: WheelCache | None) -> tuple[str, str] | None:
    """``None`` when ``path`` matches the lock's hashes, else (expected, actual)."""
    if wheel.sha256 is not None:
        if cache is not None:
            actual = cache.wheel_digest(path)  # remembered by (size, mtime, inode)
        else:
            from . import _backend

            actual = _backend.core.sha256_file(path)
        if actual == wheel.sha256:
            return None
        return f"sha256:{wheel.sha256}", f"sha256:{actual}"
    import hashlib

    for algorithm, want in sorted(wheel.hashes.items()):
        if algorithm not in hashlib.algorithms_available:
            continue
        h = hashlib.new(algorithm)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        if h.hexdigest() == want:
            return None
        return f"{algorithm}:{want}", f"{algorithm}:{h.hexdigest()}"
    algorithms = ", ".join(sorted(wheel.hashes))
    return f"one of {algorithms}", "no hash fastinst can compute"


# --- installing ---------------------------------------------------------------------------


def install_lock(
    lock: PathLike,
    scheme: SchemeLike = None,
    *,
    find_links: Iterable[PathLike] = (),
    extras: Iterable[str] = (),
    groups: Iterable[str] | None = None,
    verify_record: bool = True,
    jobs: int = 0,
    installer_name: str = "fastinst",
    cache_dir: PathLike | _Default | None = DEFAULT_CACHE,
    link_mode: str = "auto",
    compile_bytecode: bool = False,
    progress: ProgressCallback | None = None,
    dry_run: bool = False,
) -> list[InstallResult]:
    """Install what a ``pylock.toml`` locks for the scheme's interpreter, all or nothing.

    The packages and wheels are chosen for ``scheme.python`` (markers, tags,
    Requires-Python; ``extras`` and dependency ``groups`` as in the lock, ``None``:
    its default groups). Each wheel is found in the cache by its SHA-256, at the
    lock's path, or by name in ``find_links``; every file's hash is checked
    against the lock first, and nothing is downloaded. The other options are
    `fastinst.install`'s.

    >>> import fastinst
    >>> fastinst.install_lock("pylock.toml", find_links=["wheelhouse"])  # doctest: +SKIP
    [InstallResult(name='demo', version='1.0', ...), ...]
    """
    path, resolved, wheels = _prepare(lock, scheme, extras, groups, cache_dir)
    return _install_wheels(
        path,
        wheels,
        resolved,
        find_links,
        verify_record=verify_record,
        jobs=jobs,
        installer_name=installer_name,
        cache_dir=cache_dir,
        link_mode=link_mode,
        compile_bytecode=compile_bytecode,
        progress=progress,
        dry_run=dry_run,
    )


def _prepare(
    lock: PathLike,
    scheme: SchemeLike,
    extras: Iterable[str],
    groups: Iterable[str] | None,
    cache_dir: PathLike | _Default | None,
) -> tuple[str, Scheme, list[LockedWheel]]:
    """The lock's absolute path, the scheme, and the wheels chosen for its interpreter."""
    from ._install import _resolve_scheme
    from ._tags import TargetInterpreter

    path = os.path.abspath(os.fspath(lock))
    resolved = _resolve_scheme(scheme)
    target = TargetInterpreter(resolved.python, cache_dir=cache_dir)
    data = _read_bytes(path)
    memo = _Selection(data, path, target, extras, groups, cache_dir)
    wheels = memo.read()
    if wheels is None:
        wheels = select(parse_lock(path, data), path, target, extras=extras, groups=groups)
        memo.write(wheels)
    return path, resolved, wheels


def _install_wheels(
    path: str,
    wheels: Sequence[LockedWheel],
    scheme: Scheme,
    find_links: Iterable[PathLike],
    *,
    cache_dir: PathLike | _Default | None,
    verify_record: bool,
    **options: Any,
) -> list[InstallResult]:
    """Find ``wheels`` and install them all in one `fastinst.install` call."""
    from ._install import _open_cache, install

    if not wheels and not options.get("remove"):
        return []
    cache = _open_cache(cache_dir)
    dirs = [os.path.abspath(os.fspath(d)) for d in find_links]
    found = locate(wheels, path, find_links=dirs, cache=cache, verified=verify_record)
    # A wheel only the cache holds is named by where the lock says its file is.
    paths = [f.path or f.wheel.path or os.path.join(os.path.dirname(path), f.wheel.filename)
             for f in found]  # fmt: skip
    return install(
        paths,
        scheme,
        verify_record=verify_record,
        requested=True,
        direct_url={p: f.wheel.direct_url() for p, f in zip(paths, found) if f.wheel.direct},
        cache_dir=None if cache is None else cache.root,
        sha256={p: f.digest for p, f in zip(paths, found) if f.digest is not None},
        **options,
    )


class _Selection:
    """The wheels a lock selects for an interpreter, remembered by the lock's bytes.

    Importing ``tomllib`` and ``packaging.pylock`` and validating the lock cost
    more than the rest of a warm install of it (about 220M instructions against
    350M); `select` is a function of the lock's bytes, its directory (relative
    paths), the interpreter's marker values and tags, the extras and groups, and
    packaging's version, so its answer for the same ones is kept with the
    interpreter answers (``<cache>/probe-v2``, under their trust rule; not at all
    with ``--no-cache``). A lock that does not validate or select is never kept:
    it is parsed, and refused, every time. The files are still found and their
    hashes checked against the selection on every install (`locate`).
    """

    VERSION = 1

    def __init__(
        self,
        data: bytes,
        path: str,
        target: TargetInterpreter,
        extras: Iterable[str],
        groups: Iterable[str] | None,
        cache_dir: PathLike | _Default | None,
    ) -> None:
        self.cache_dir = cache_dir
        self.name = ""
        if cache_dir is None:
            return
        import packaging

        from . import _backend
        from ._probe_cache import cache_key

        material = [
            "select",
            self.VERSION,
            _backend.core.sha256(data).hex(),
            os.path.dirname(path),
            target.marker_environment(),
            # ~900 tags: one hash of them, not a JSON text of each (`cache_key`'s)
            _backend.core.sha256("\n".join(target.supported()).encode()).hex(),
            sorted(extras),
            None if groups is None else sorted(groups),
            packaging.__version__,
        ]
        self.name = f"select-{cache_key(material)}.json"

    def read(self) -> list[LockedWheel] | None:
        from ._probe_cache import read_answer

        if not self.name:
            return None
        answer = read_answer(self.cache_dir, self.name)
        if answer is None:
            return None
        try:
            wheels = [_wheel_from_json(w) for w in answer["wheels"]]
        except (KeyError, TypeError, ValueError):
            return None
        return None if None in wheels else wheels  # type: ignore[return-value]

    def write(self, wheels: Sequence[LockedWheel]) -> None:
        from ._probe_cache import write_answer

        if self.name:
            rows = [[w.name, w.version, w.filename, w.hashes, w.path, w.url, w.direct, w.where]
                    for w in wheels]  # fmt: skip
            write_answer(self.cache_dir, self.name, {"wheels": rows})


def _wheel_from_json(row: Any) -> LockedWheel | None:
    """A `LockedWheel` as `_Selection` keeps it; ``None`` when it is not one."""
    name, version, filename, hashes, path, url, direct, where = row
    texts = (name, version, filename, where)
    if not all(isinstance(t, str) for t in texts) or not isinstance(direct, bool):
        return None
    if not isinstance(hashes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in hashes.items()
    ):
        return None
    if not all(v is None or isinstance(v, str) for v in (path, url)):
        return None
    return LockedWheel(name, version, filename, hashes, path, url, direct, where)


# --- sync: the environment exactly the lock ------------------------------------------------


class Pin(NamedTuple):
    """A locked distribution's name (normalised) and version, as the memo keeps them."""

    name: str
    version: str


class _Memo:
    """What a lock selects for an interpreter, remembered by the lock's bytes.

    Only the names and versions, and only to tell that a sync has nothing to do:
    anything else is decided from the lock itself. Kept with the interpreter
    answers (``<cache>/probe-v2``, under their trust rule; not at all with
    ``--no-cache``), keyed by the lock's SHA-256, its directory, the
    interpreter's marker values, the extras and groups, and packaging's version.
    """

    VERSION = 1

    def __init__(
        self,
        data: bytes,
        path: str,
        target: TargetInterpreter,
        extras: Iterable[str],
        groups: Iterable[str] | None,
        cache_dir: PathLike | _Default | None,
    ) -> None:
        import hashlib

        import packaging

        from ._probe_cache import cache_key

        self.cache_dir = cache_dir
        self.name = ""
        if cache_dir is None:
            return
        material = [
            "lock",
            self.VERSION,
            hashlib.sha256(data).hexdigest(),
            os.path.dirname(path),
            target.marker_environment(),  # not the tags: they choose files, not versions
            sorted(extras),
            None if groups is None else sorted(groups),
            packaging.__version__,
        ]
        self.name = f"lock-{cache_key(material)}.json"

    def read(self) -> list[Pin] | None:
        from ._probe_cache import read_answer

        if not self.name:
            return None
        answer = read_answer(self.cache_dir, self.name)
        try:
            return [Pin(str(n), str(v)) for n, v in answer["pins"]] if answer else None
        except (KeyError, TypeError, ValueError):
            return None

    def write(self, wheels: Sequence[LockedWheel]) -> None:
        from ._probe_cache import write_answer

        if self.name:
            write_answer(self.cache_dir, self.name, {"pins": [[w.name, w.version] for w in wheels]})


class SyncResult(NamedTuple):
    """What `sync` did (with ``dry_run``: would do).

    ``installed`` are the distributions that were missing or at another version
    (``replaced`` says which); ``removed`` those the lock does not list;
    ``unchanged`` the ``(name, version)`` pairs already as locked; ``kept`` those
    the lock does not list that were left alone (``keep``, fastinst's own tools).
    """

    installed: tuple[InstallResult, ...]
    removed: tuple[UninstallResult, ...]
    unchanged: tuple[tuple[str, str], ...]
    kept: tuple[tuple[str, str], ...]

    @property
    def changed(self) -> bool:
        return bool(self.installed or self.removed)


class SyncPlan(NamedTuple):
    """What a sync has to do, decided without touching anything."""

    install: tuple[LockedWheel | Pin, ...]
    remove: tuple[InstalledDistribution, ...]
    unchanged: tuple[tuple[str, str], ...]
    kept: tuple[tuple[str, str], ...]


def plan_sync(
    wheels: Sequence[LockedWheel | Pin],
    scheme: Scheme,
    *,
    keep: Iterable[str] = (),
    keep_own_tools: bool = True,
) -> SyncPlan:
    """Compare the environment's own distributions with the locked ``wheels``.

    Only the scheme's own library directories count (a user-site or system copy
    belongs to another environment). A distribution is unchanged when it is
    installed once, at the locked version; one the lock does not list is removed,
    unless named in ``keep`` or, with ``keep_own_tools``, the environment is the
    one fastinst runs in and it is fastinst, what fastinst needs to run, or pip.
    """
    from ._installed import list_installed

    own = {os.path.normpath(scheme.purelib), os.path.normpath(scheme.platlib)}
    installed: dict[str, list[InstalledDistribution]] = {}
    for dist in list_installed(scheme):
        if os.path.normpath(dist.location) in own:
            installed.setdefault(_canonical(dist.name), []).append(dist)
    to_install, unchanged = [], []
    for wheel in wheels:
        there = installed.get(wheel.name, [])
        if len(there) == 1 and _same_version(there[0].version, wheel.version):
            unchanged.append((there[0].name, there[0].version))
        else:
            to_install.append(wheel)
    locked = {w.name for w in wheels}
    protected = {_canonical(k) for k in keep}
    if keep_own_tools and _is_own_environment(scheme):
        protected |= _own_tools(installed)
    to_remove, kept = [], []
    for name, dists in sorted(installed.items()):
        if name in locked:
            continue
        if name in protected:
            kept += [(d.name, d.version) for d in dists]
        else:
            to_remove += dists
    return SyncPlan(tuple(to_install), tuple(to_remove), tuple(unchanged), tuple(kept))


def _same_version(installed: str, locked: str) -> bool:
    if installed == locked:
        return True
    from packaging.version import InvalidVersion, Version

    try:
        return Version(installed) == Version(locked)
    except InvalidVersion:
        return False


def _is_own_environment(scheme: Scheme) -> bool:
    """Whether ``scheme`` installs into the environment fastinst itself runs in."""
    import sysconfig

    mine = {os.path.realpath(sysconfig.get_path(k)) for k in ("purelib", "platlib")}
    return bool(mine & {os.path.realpath(scheme.purelib), os.path.realpath(scheme.platlib)})


def _own_tools(installed: Mapping[str, list[InstalledDistribution]]) -> set[str]:
    """fastinst, every installed distribution it needs to run (its requirements,
    followed), and pip: what a sync of fastinst's own environment must not
    remove from under itself."""
    from packaging.requirements import InvalidRequirement, Requirement

    from ._installed import metadata_path

    tools = {"pip"}
    todo = ["fastinst"]
    while todo:
        name = todo.pop()
        if name in tools:
            continue
        tools.add(name)
        if name not in installed:
            continue
        for line in _requires_dist(metadata_path(installed[name][0])):
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(_canonical(req.name))
    return tools


def _requires_dist(metadata: str) -> list[str]:
    """The ``Requires-Dist`` values of a METADATA file's header block."""
    found = []
    try:
        with open(metadata, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break
                key, sep, value = line.partition(":")
                if sep and key.strip().lower() == "requires-dist":
                    found.append(value.strip())
    except OSError:
        pass
    return found


def sync(
    lock: PathLike,
    scheme: SchemeLike = None,
    *,
    find_links: Iterable[PathLike] = (),
    extras: Iterable[str] = (),
    groups: Iterable[str] | None = None,
    keep: Iterable[str] = (),
    keep_own_tools: bool = True,
    verify_record: bool = True,
    jobs: int = 0,
    installer_name: str = "fastinst",
    cache_dir: PathLike | _Default | None = DEFAULT_CACHE,
    link_mode: str = "auto",
    compile_bytecode: bool = False,
    progress: ProgressCallback | None = None,
    dry_run: bool = False,
) -> SyncResult:
    """Make the scheme's environment exactly what a ``pylock.toml`` locks for it.

    What is missing or at another version is installed, what the lock does not
    list is removed, what already matches is left alone, all in one transaction
    (a failure anywhere leaves the environment as it was). ``keep`` names
    distributions to leave although the lock does not list them; with
    ``keep_own_tools``, in the environment fastinst itself runs in, fastinst,
    what it needs to run and pip are kept too. A sync with nothing to do reads
    no wheel and writes nothing. The other options are `install_lock`'s.

    >>> import fastinst
    >>> fastinst.sync("pylock.toml", fastinst.get_scheme(".venv/bin/python"))  # doctest: +SKIP
    SyncResult(installed=(InstallResult(name='demo', ...),), removed=(...), ...)
    """
    from ._install import _resolve_scheme
    from ._tags import TargetInterpreter

    path = os.path.abspath(os.fspath(lock))
    resolved = _resolve_scheme(scheme)
    target = TargetInterpreter(resolved.python, cache_dir=cache_dir)
    data = _read_bytes(path)
    memo = _Memo(data, path, target, extras, groups, cache_dir)
    pins = memo.read()
    if pins is not None:
        # Seen before: whether there is anything to do is known without the TOML
        # parser or packaging, which cost more than the rest of a sync that does nothing.
        plan = plan_sync(pins, resolved, keep=keep, keep_own_tools=keep_own_tools)
        if not plan.install and not plan.remove:
            return SyncResult((), (), plan.unchanged, plan.kept)
    wheels = select(parse_lock(path, data), path, target, extras=extras, groups=groups)
    memo.write(wheels)
    plan = plan_sync(wheels, resolved, keep=keep, keep_own_tools=keep_own_tools)
    if not plan.install and not plan.remove:
        return SyncResult((), (), plan.unchanged, plan.kept)
    installed, removed = _apply_sync(
        path,
        plan,
        resolved,
        find_links,
        verify_record=verify_record,
        jobs=jobs,
        installer_name=installer_name,
        cache_dir=cache_dir,
        link_mode=link_mode,
        compile_bytecode=compile_bytecode,
        progress=progress,
        dry_run=dry_run,
    )
    return SyncResult(tuple(installed), tuple(removed), plan.unchanged, plan.kept)


def _apply_sync(
    path: str,
    plan: SyncPlan,
    scheme: Scheme,
    find_links: Iterable[PathLike],
    **options: Any,
) -> tuple[list[InstallResult], list[UninstallResult]]:
    """Install ``plan.install`` and remove ``plan.remove`` in one transaction."""
    from ._installed import record_paths
    from ._remove import UninstallResult

    # Planned from the lock itself (never from the memo): LockedWheels all.
    wheels = [w for w in plan.install if isinstance(w, LockedWheel)]
    names = sorted({d.name for d in plan.remove})
    there = []  # each removed distribution's files, read before they go
    for dist in plan.remove:
        info = os.path.normpath(dist.dist_info)
        files = [f for f in record_paths(dist)[0] if not f.startswith(info + os.sep)]
        there.append((dist, info, [f for f in files if os.path.lexists(f)]))
    installed = _install_wheels(path, wheels, scheme, find_links, remove=names, **options)
    dry_run = bool(options.get("dry_run"))
    removed = [
        UninstallResult(d.name, d.version, info, tuple(f for f in files if dry_run or
                                                       not os.path.lexists(f)), ())
        for d, info, files in there
    ]  # fmt: skip
    return installed, removed
