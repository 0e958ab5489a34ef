"""Installed distributions: list them, find one by name, read its RECORD.

Removing them is `_remove`'s job. Legacy ``.egg-info`` entries (distutils,
``setup.py install``, ``develop``) are listed and found, as pip lists them, but
have no RECORD: reading one raises `MissingRecord` rather than guessing which
files are theirs.
"""

from __future__ import annotations

import os

from ._errors import MissingRecord, UnsafePath
from ._log import logger
from ._names import canonical_name as canonicalize_name
from ._scheme import Scheme
from ._tuples import NamedTuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

_SUFFIXES = (".dist-info", ".egg-info")


class InstalledDistribution(NamedTuple):
    """One installed distribution.

    ``dist_info`` is the path of its ``.dist-info`` (or legacy ``.egg-info``),
    ``location`` the directory that holds it, ``installer`` the contents of its
    INSTALLER file (``None`` when absent). ``roots`` are the directories its
    RECORD paths may reach, fixed when it was found in a scheme.
    """

    name: str
    version: str
    dist_info: str
    location: str
    installer: str | None
    roots: tuple[str, ...] = ()

    @property
    def is_legacy(self) -> bool:
        return self.dist_info.endswith(".egg-info")


# --- listing ---------------------------------------------------------------------------


def list_installed(scheme: Scheme) -> list[InstalledDistribution]:
    """Every distribution in the scheme's library directories, sorted by name.

    Reads purelib, platlib and the scheme's ``site_dirs`` (``lib`` and ``lib64``,
    the user site...); a directory that does not exist is empty, not an error.
    The same name found in two directories is listed twice.

    >>> list_installed(Scheme.from_mapping({k: "/nonexistent" for k in
    ...     ("purelib", "platlib", "headers", "scripts", "data")}))
    []
    """
    found = [_load(scheme, location, entry) for location, entry in _entries(scheme)]
    return sorted(found, key=lambda d: (canonicalize_name(d.name), d.location))


def find_installed(name: str, scheme: Scheme) -> list[InstalledDistribution]:
    """The installed distributions called ``name`` (normalised: ``babel`` finds ``Babel``).

    In library-directory order, so the first is the one a plain install
    would replace first.
    """
    return find_installed_many([name], scheme)[canonicalize_name(name)]


def find_installed_many(
    names: Iterable[str], scheme: Scheme
) -> dict[str, list[InstalledDistribution]]:
    """`find_installed` for several names with one scan of the library directories.

    Keyed by normalised name; a name with no installed copy maps to ``[]``.
    """
    wanted: dict[str, list[InstalledDistribution]] = {canonicalize_name(n): [] for n in names}
    for location, entry in _entries(scheme):
        candidates = _candidate_names(entry).intersection(wanted)
        if not candidates:
            continue
        dist = _load(scheme, location, entry)
        key = canonicalize_name(dist.name)
        if key in candidates:
            wanted[key].append(dist)
    return wanted


def _entries(scheme: Scheme) -> Iterator[tuple[str, str]]:
    for location in scheme.library_dirs():
        try:
            names = sorted(os.listdir(location))
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            continue
        except PermissionError as exc:
            logger.info("cannot list %s (%s); skipped", location, exc)
            continue
        for entry in names:
            if entry.endswith(_SUFFIXES) and not entry.startswith("."):
                yield location, entry


def _candidate_names(entry: str) -> set[str]:
    """Every name a directory ``foo-bar-1.0.dist-info`` may be for: foo, foo-bar, ...

    Names written by old tools may contain ``-``; METADATA settles it.
    """
    stem = entry.rsplit(".", 1)[0]
    parts = stem.split("-")
    return {canonicalize_name("-".join(parts[:i])) for i in range(1, len(parts) + 1)}


def _load(scheme: Scheme, location: str, entry: str) -> InstalledDistribution:
    path = os.path.join(location, entry)
    stem = entry.rsplit(".", 1)[0]
    dir_name, _, dir_version = stem.rpartition("-")
    if not dir_name:  # "name.egg-info" without a version
        dir_name, dir_version = stem, ""
    meta_name = "PKG-INFO" if entry.endswith(".egg-info") else "METADATA"
    meta_path = os.path.join(path, meta_name) if os.path.isdir(path) else path
    headers = read_headers(meta_path)
    installer = None
    try:
        with open(os.path.join(path, "INSTALLER"), encoding="utf-8") as f:
            installer = f.read().strip() or None
    except OSError:
        pass
    return InstalledDistribution(
        name=headers.get("name") or dir_name.replace("_", "-"),
        version=headers.get("version") or dir_version,
        dist_info=path,
        location=location,
        installer=installer,
        roots=_roots_for(scheme, location),
    )


def read_headers(path: str, keys: tuple[str, ...] = ("name", "version")) -> dict[str, str]:
    """The first value of each of ``keys`` (lower-case) in a METADATA / PKG-INFO
    header block; the body is not read, a missing file gives ``{}``."""
    headers: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break
                key, sep, value = line.partition(":")
                key = key.strip().lower()
                if sep and key in keys and key not in headers:
                    headers[key] = value.strip()
                    if len(headers) == len(keys):
                        break
    except OSError:
        pass
    return headers


def metadata_path(dist: InstalledDistribution) -> str:
    """The METADATA (or a legacy install's PKG-INFO) file of ``dist``."""
    if not os.path.isdir(dist.dist_info):
        return dist.dist_info  # a legacy single-file .egg-info
    return os.path.join(dist.dist_info, "PKG-INFO" if dist.is_legacy else "METADATA")


def _roots_for(scheme: Scheme, location: str) -> tuple[str, ...]:
    """The directories RECORD paths of a distribution in ``location`` may reach.

    A distribution in the scheme's purelib or platlib may reach the scheme's
    five directories; one found in another site directory may reach that
    directory's own prefix (or the user base), as the scheme records it.
    """
    location = os.path.normpath(location)
    own = {os.path.normpath(scheme.purelib), os.path.normpath(scheme.platlib)}
    if location in own:
        keys = (scheme.purelib, scheme.platlib, scheme.headers_root, scheme.scripts, scheme.data)
        return tuple(dict.fromkeys(os.path.normpath(k) for k in keys))
    roots = [location]
    roots += [os.path.normpath(r) for d, r in scheme.site_roots if os.path.normpath(d) == location]
    return tuple(dict.fromkeys(roots))


# --- RECORD ------------------------------------------------------------------------------


def read_installed_record(dist: InstalledDistribution) -> list[str]:
    """The absolute paths a distribution's RECORD lists inside its roots, each once,
    in RECORD order (rows that lead outside are left out: see `record_paths`)."""
    return record_paths(dist)[0]


def record_paths(dist: InstalledDistribution) -> tuple[list[str], list[str]]:
    """The paths a distribution's RECORD lists: ``(inside, outside)``.

    ``inside`` are absolute, each once, in RECORD order; paths are relative to
    ``dist.location`` (``../../../bin/tool`` reaches the scripts directory).
    ``outside`` are the rows as written that resolve outside ``dist.roots``, or
    onto one of them: a RECORD is data from the wheel, and nothing may be
    removed by them. A RECORD that cannot be read raises `UnsafePath`, a
    missing one `MissingRecord`.
    """
    import csv  # (here: csv imports re, which a warm install does without)

    record = os.path.join(dist.dist_info, "RECORD")
    if dist.is_legacy or not os.path.isfile(record):
        raise MissingRecord(dist.dist_info)
    try:
        with open(record, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as exc:
        # Not judged, so not trusted: removing by it could reach anything.
        raise UnsafePath(record, f"RECORD cannot be read ({exc})") from None
    paths: dict[str, None] = {}
    outside: dict[str, None] = {}
    # is_inside() for every root, with the roots' prefixes made once.
    inside = tuple(os.path.normpath(r).rstrip(os.sep) + os.sep for r in dist.roots)
    for row in rows:
        if not row or not row[0]:
            continue
        path = os.path.normpath(os.path.join(dist.location, row[0]))
        # normpath, not realpath: where the *name* points is the question here;
        # symlinks already on disk are checked again before removal.
        if not path.startswith(inside):  # outside, or one of the roots itself
            outside.setdefault(row[0], None)
        else:
            paths.setdefault(path, None)
    return list(paths), list(outside)
