"""A drop-in for ``installer.install``: ``from fastinst.compat import install``.

A tool built on pypa/installer switches with that one import::

    from fastinst.compat import install  # was: from installer import install

    with WheelFile.open(path) as source:
        install(source, SchemeDictionaryDestination(scheme_dict, interpreter, "posix"),
                {"INSTALLER": b"mytool"})

`install` takes installer's sources and its `SchemeDictionaryDestination` with
every field, writes ``additional_metadata`` byte for byte, and leaves the tree
and the ``.dist-info`` files installer would leave (its RECORD too, in its
order, without bytecode). It returns ``None`` as installer does, and what it
raises is caught by ``except installer.exceptions.InstallerError``,
``ValueError`` and ``OSError`` where installer's would be (and by ``except
fastinst.FastinstError``). What it cannot honour, above all a destination
subclass that writes files its own way (PDM's links), goes to installer itself,
unless ``fallback=False``.

The wheel is installed by fastinst all or nothing; like pip (and unlike
installer), an installed version of the same distribution is replaced, so a
tool's own removal of the old version afterwards finds nothing left to do.
Sources that say where their archive is (`WheelFile` here, a drop-in for
installer's, or any source with a ``path`` to a ``.whl``) are installed from
it; any other source (installer's own ``WheelFile``, whose archive path is
private, or an unpacked tree) is first written into a temporary wheel.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from typing import Any

from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.sources import WheelFile as _InstallerWheelFile
from installer.sources import WheelSource

from ._errors import FastinstError
from ._log import logger

__all__ = ["Unsupported", "WheelFile", "install"]

# The methods through which SchemeDictionaryDestination writes. A subclass that
# overrides one of them writes in a way of its own, which fastinst cannot know.
_WRITERS = ("write_to_fs", "write_file", "write_script", "finalize_installation")
_PRIVATE_WRITERS = ("_compile_bytecode", "_path_with_destdir")


class Unsupported(FastinstError, NotImplementedError):
    """What `install` was given needs installer itself, and ``fallback=False`` was passed."""


class WheelFile(_InstallerWheelFile):
    """installer's ``WheelFile`` that also says where its archive is (``path``).

    >>> with WheelFile.open("demo-1.0-py3-none-any.whl") as source:  # doctest: +SKIP
    ...     source.path
    'demo-1.0-py3-none-any.whl'
    """

    def __init__(self, f: zipfile.ZipFile) -> None:
        super().__init__(f)
        name = f.filename
        self.path: str | None = name if name and os.path.isfile(name) else None


def install(
    source: WheelSource,
    destination: SchemeDictionaryDestination,
    additional_metadata: Mapping[str, bytes],
    *,
    fallback: bool = True,
    trust_destination: bool = False,
    jobs: int = 0,
) -> None:
    """Install ``source`` into ``destination`` as ``installer.install`` does, with fastinst.

    ``fallback=False`` raises `Unsupported` instead of handing what fastinst
    cannot honour to installer. ``trust_destination=True`` says that the
    destination subclass's own writing methods write what
    ``SchemeDictionaryDestination`` would, overwriting existing files (Poetry's
    only warns where installer refuses); its fields are then honoured by fastinst.

    >>> from installer.destinations import SchemeDictionaryDestination
    >>> dest = SchemeDictionaryDestination(paths, "/venv/bin/python", "posix")  # doctest: +SKIP
    >>> with WheelFile.open("demo-1.0-py3-none-any.whl") as source:  # doctest: +SKIP
    ...     install(source, dest, {"INSTALLER": b"mytool"})
    """
    reason = _cannot_honour(destination, trust_destination)
    if reason is not None:
        if not fallback:
            raise Unsupported(f"fastinst cannot install this way: {reason}")
        logger.debug("installing %s with installer: %s", source.distribution, reason)
        from installer import install as installer_install

        installer_install(source, destination, dict(additional_metadata))
        return
    try:
        with _archive_of(source) as wheel:
            _install(wheel, destination, additional_metadata, trust_destination, jobs)
    except FastinstError as exc:
        raise _as_installer_error(exc) from exc


def _cannot_honour(destination: object, trusted: bool) -> str | None:
    from ._scripts import launcher_kind

    if not isinstance(destination, SchemeDictionaryDestination):
        kind = type(destination).__name__
        return f"the destination is a {kind}, not a SchemeDictionaryDestination"
    if not trusted:
        for name in (*_WRITERS, *_PRIVATE_WRITERS):
            own = getattr(type(destination), name, None)
            if own is not None and own is not getattr(SchemeDictionaryDestination, name, None):
                return f"{type(destination).__name__} overrides {name}"
    if destination.destdir is not None and destination.bytecode_optimization_levels:
        # fastinst compiles in place, so the paths inside the .pyc would name destdir
        return "bytecode compiled for a destdir"
    if destination.script_kind != launcher_kind():
        return f"launchers of kind {destination.script_kind!r} on this platform"
    try:
        hashlib.new(destination.hash_algorithm)
    except ValueError:
        return f"unknown hash algorithm {destination.hash_algorithm!r}"
    return None


# --- the source: an archive on disk -----------------------------------------------------


class _Archive:
    def __init__(self, path: str, source: WheelSource) -> None:
        self.path = path
        self.source = source


def _archive_of(source: WheelSource) -> _ArchiveContext:
    path = getattr(source, "path", None)
    if isinstance(path, (str, os.PathLike)) and os.fspath(path).endswith(".whl"):
        path = os.fspath(path)
        if os.path.isfile(path):
            return _ArchiveContext(_Archive(path, source), None)
    return _ArchiveContext(None, source)


class _ArchiveContext:
    """The source's own archive, or a temporary wheel written from its contents."""

    def __init__(self, archive: _Archive | None, source: WheelSource | None) -> None:
        self.archive = archive
        self.source = source
        self.tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> _Archive:
        if self.archive is not None:
            return self.archive
        assert self.source is not None
        self.tmp = tempfile.TemporaryDirectory(prefix="fastinst-compat-")
        return _Archive(_write_wheel(self.source, self.tmp.name), self.source)

    def __exit__(self, *exc: object) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()


def _write_wheel(source: WheelSource, directory: str) -> str:
    """Write ``source``'s contents into a wheel (members stored, not compressed)."""
    name, _, version = source.dist_info_dir[: -len(".dist-info")].rpartition("-")
    path = os.path.join(directory, f"{name.replace('-', '_')}-{version}-py3-none-any.whl")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for (member, _hash, _size), stream, executable in source.get_contents():
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.create_system = 3
            with zf.open(info, "w", force_zip64=True) as out:
                shutil.copyfileobj(stream, out, 1 << 20)
    return path


# --- the install -------------------------------------------------------------------------


def _install(
    wheel: _Archive,
    destination: SchemeDictionaryDestination,
    additional_metadata: Mapping[str, bytes],
    trusted: bool,
    jobs: int,
) -> None:
    from ._install import install as fastinst_install
    from ._scheme import change_root

    scheme_dict = {k: os.path.abspath(v) for k, v in destination.scheme_dict.items()}
    if destination.destdir is not None:
        # Files go under destdir; launchers and RECORD are written for the real paths.
        written = {k: change_root(destination.destdir, v) for k, v in scheme_dict.items()}
    else:
        written = scheme_dict
    levels = tuple(destination.bytecode_optimization_levels)
    options: dict[str, Any] = {
        "interpreter": destination.interpreter,
        "metadata": {wheel.path: dict(additional_metadata)},
        "installer_name": None,
        "verify_record": False,  # installer.install does not check RECORD either
        "skip_pycache": True,
        "ignore_tags": True,  # installer.install checks neither tags
        "ignore_requires_python": True,  # nor Requires-Python
        "compile_bytecode": bool(levels),
        "optimization_levels": levels or (0,),
        "jobs": jobs,
    }
    if not (destination.overwrite_existing or trusted):
        planned = fastinst_install([wheel.path], written, dry_run=True, **options)
        for result in planned:
            for file in result.files:
                if os.path.lexists(file):
                    raise FileExistsError(f"File already exists: {file}")
    [result] = fastinst_install([wheel.path], written, **options)
    _write_installer_record(wheel, destination, additional_metadata, result.dist_info, written)


def _write_installer_record(
    wheel: _Archive,
    destination: SchemeDictionaryDestination,
    additional_metadata: Mapping[str, bytes],
    dist_info: str,
    written: dict[str, str],
) -> None:
    """Rewrite RECORD as installer writes it: its rows, in its order, without bytecode.

    installer lists the launchers, then the members in archive order, then the
    additional metadata and RECORD; it sorts them (stably) by their path inside
    their scheme, not by the path written; it hashes with the destination's
    algorithm; and it compiles bytecode after RECORD is written, so ``.pyc``
    files are not in it.
    """
    from installer.utils import parse_entrypoints

    source = wheel.source
    info = source.dist_info_dir
    root = "purelib" if _root_is_purelib(source) else "platlib"
    data_dir = info[: -len(".dist-info")] + ".data"
    records: list[tuple[str, str]] = []  # (scheme, path inside it), installer's order
    if "entry_points.txt" in source.dist_info_filenames:
        text = source.read_dist_info("entry_points.txt")
        records += [("scripts", name) for name, _m, _a, _s in parse_entrypoints(text)]
    with zipfile.ZipFile(wheel.path) as zf:
        members = [i for i in zf.infolist() if not i.filename.endswith("/")]
    for item in members:
        member = item.filename
        if member == f"{info}/RECORD" or "__pycache__" in member.split("/")[:-1]:
            continue
        top, _, rest = member.partition("/")
        if top == data_dir and rest:
            key, _, sub = rest.partition("/")
            records.append((key, sub))
            if key == "scripts" and not (item.external_attr >> 16) & 0o111:
                # installer keeps a script's own mode; fastinst, like pip, makes
                # every script executable
                os.chmod(os.path.join(written[key], sub), 0o666 & ~_umask())
        else:
            records.append((root, member))
    records += [(root, f"{info}/{name}") for name in additional_metadata]
    records.append((root, f"{info}/RECORD"))
    lib_root = written[root]
    ours = _record_of(dist_info)
    algorithm = destination.hash_algorithm
    rows = []
    for scheme, path in sorted(records, key=lambda r: r[1]):
        target = os.path.normpath(os.path.join(written[scheme], path))
        if path == f"{info}/RECORD" and scheme == root:
            hash_, size = "", ""
        else:
            rel = os.path.relpath(target, lib_root).replace(os.sep, "/")
            hash_, size = ours.get(rel, ("", ""))
            if algorithm != "sha256" or not hash_:
                hash_, size = _hash_file(target, algorithm)
        if scheme != root:
            # installer's prefix: the scheme directory relative to the root scheme's
            prefix = os.path.relpath(
                destination.scheme_dict[scheme], start=destination.scheme_dict[root]
            )
            path = f"{prefix}/{path}"
        rows.append((path, hash_, size))
    out = io.StringIO()
    csv.writer(out, delimiter=",", quotechar='"', lineterminator="\n").writerows(rows)
    record = os.path.join(dist_info, "RECORD")
    tmp = os.path.join(dist_info, ".fastinst-RECORD.tmp")
    with open(tmp, "wb") as f:
        f.write(out.getvalue().encode("utf-8"))
    os.replace(tmp, record)


def _umask() -> int:
    from ._distinfo import current_umask

    return current_umask()


def _root_is_purelib(source: WheelSource) -> bool:
    from installer.utils import parse_metadata_file

    wheel = parse_metadata_file(source.read_dist_info("WHEEL"))
    return (wheel["Root-Is-Purelib"] or "").strip() == "true"


def _record_of(dist_info: str) -> dict[str, tuple[str, str]]:
    with open(os.path.join(dist_info, "RECORD"), encoding="utf-8", newline="") as f:
        return {r[0]: (r[1], r[2]) for r in csv.reader(f) if len(r) == 3}


def _hash_file(path: str, algorithm: str) -> tuple[str, str]:
    import base64

    h = hashlib.new(algorithm)
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    value = base64.urlsafe_b64encode(h.digest()).decode("ascii").rstrip("=")
    return f"{algorithm}={value}", str(size)


# --- errors -----------------------------------------------------------------------------

_FLAVOURED: dict[type[BaseException], type[BaseException]] = {}


def _as_installer_error(exc: FastinstError) -> BaseException:
    """The same error, also an ``installer.exceptions.InstallerError``.

    A caller that catches installer's base class (or ``ValueError`` for a bad
    wheel, ``OSError`` for the file system, as installer raises them) still
    catches it; so does one that catches fastinst's classes.
    """
    cls = type(exc)
    flavoured = _FLAVOURED.get(cls)
    if flavoured is None:
        flavoured = type(cls.__name__, (cls, InstallerError), {"__module__": __name__})
        _FLAVOURED[cls] = flavoured
    new = flavoured.__new__(flavoured, *exc.args)
    new.__dict__.update(exc.__dict__)
    new.args = exc.args
    return new
