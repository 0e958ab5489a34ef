"""Open a wheel: check its name, members, ``.dist-info``, WHEEL and RECORD.

Everything that can be known about a wheel without extracting it is checked
here, so that a bad wheel is refused before a single file is written.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import zlib
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from packaging.version import Version

from . import _backend
from ._errors import CorruptArchive, InvalidWheel, RecordMismatch, UnsafePath
from ._paths import check_member_name
from ._records import RecordEntry, parse_record
from ._scripts import EntryPoint

logger = logging.getLogger("fastinst")

# (name, method, flags, crc32, compressed_size, file_size, header_offset, external_attr)
Entry = tuple[str, int, int, int, int, int, int, int]
# Field indexes of an Entry (Final, so that type checkers know each field's type).
NAME: Final = 0
METHOD: Final = 1
FLAGS: Final = 2
CRC: Final = 3
CSIZE: Final = 4
USIZE: Final = 5
OFFSET: Final = 6
ATTR: Final = 7

METHOD_STORED, METHOD_DEFLATED, METHOD_ZSTD = 0, 8, 93
SUPPORTED_METHODS = (METHOD_STORED, METHOD_DEFLATED, METHOD_ZSTD)
SIGNATURE_FILES = ("RECORD.jws", "RECORD.p7s")
# Entry-point names become file names in the scripts directory.
_SCRIPT_NAME = re.compile(r"^[^/\\\x00]+$")
_ENTRY_POINT_VALUE = re.compile(
    r"^\s*(?P<module>[\w.]+)\s*(:\s*(?P<attrs>[\w.]+)\s*)?(\[.*\])?\s*$"
)
# Refuse archives that would expand far beyond their size: a zip bomb is an attack,
# and no real wheel comes near this (the corpus's worst is about 12x).
MAX_EXPANSION_RATIO = 200
MAX_SMALL_MEMBER = 64 * 1024 * 1024  # METADATA, WHEEL, RECORD, entry_points.txt


class Wheel:
    """A checked wheel archive, ready to be planned and extracted (into staging or the cache)."""

    __slots__ = (
        "dist_info",
        "entry_points",
        "files",
        "name",
        "path",
        "record",
        "requires_python",
        "root_is_purelib",
        "version",
    )  # fmt: skip

    def __init__(
        self,
        *,
        path: str,
        name: str,  # as written in the .dist-info directory name
        version: str,
        dist_info: str,  # e.g. "demo-1.0.dist-info"
        root_is_purelib: bool,
        files: list[Entry],  # regular file members, directories left out
        record: dict[str, RecordEntry] | None,
        entry_points: list[EntryPoint] | None = None,
        requires_python: str | None = None,  # METADATA's Requires-Python, as written
    ) -> None:
        self.path = path
        self.name = name
        self.version = version
        self.dist_info = dist_info
        self.root_is_purelib = root_is_purelib
        self.files = files
        self.record = record
        self.entry_points = entry_points or []
        self.requires_python = requires_python

    def __repr__(self) -> str:
        return f"Wheel({self.path!r}, {self.name} {self.version}, {len(self.files)} files)"

    @property
    def record_member(self) -> str:
        return f"{self.dist_info}/RECORD"


def read_member(path: str, entry: Entry) -> bytes:
    """Read and decompress one (small) member, checking its CRC and size."""
    name = entry[NAME]
    if entry[USIZE] > MAX_SMALL_MEMBER:
        raise InvalidWheel(path, f"member is implausibly large ({entry[USIZE]} bytes)", name)
    with open(path, "rb") as f:
        f.seek(entry[OFFSET])
        header = f.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise CorruptArchive(path, "bad local file header", name)
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        if f.read(name_len) != name.encode("utf-8"):
            raise CorruptArchive(path, "the local file header names another file", name)
        f.seek(extra_len, os.SEEK_CUR)
        raw = f.read(entry[CSIZE])
    if len(raw) != entry[CSIZE]:
        raise CorruptArchive(path, "member data is truncated", name)
    data = _decompress(path, name, entry[METHOD], raw, entry[USIZE])
    if len(data) != entry[USIZE]:
        raise CorruptArchive(path, "member size differs from the zip directory", name)
    if zlib.crc32(data) != entry[CRC]:
        raise CorruptArchive(path, "CRC-32 mismatch", name)
    return data


def _decompress(path: str, name: str, method: int, raw: bytes, size: int) -> bytes:
    if method == METHOD_STORED:
        return raw
    if method == METHOD_DEFLATED:
        try:
            # size + 1 bounds the output: a lying size shows up as a length mismatch.
            return zlib.decompressobj(-15).decompress(raw, size + 1)
        except zlib.error as exc:
            raise CorruptArchive(path, f"cannot inflate member: {exc}", name) from None
    if method == METHOD_ZSTD:
        import zstandard

        try:
            return zstandard.ZstdDecompressor().decompress(raw, max_output_size=size + 1)
        except zstandard.ZstdError as exc:
            raise CorruptArchive(path, f"cannot decompress zstd member: {exc}", name) from None
    raise CorruptArchive(path, f"unsupported compression method {method}", name)


def check_filename(path: str, dist_info: str) -> tuple[str, str]:
    """Check that the file name parses and matches ``dist_info``; return its name and version."""
    from packaging.version import InvalidVersion, Version

    from ._names import canonical_name

    file_name, file_version = _parse_filename(path)
    info_name, _, info_version = dist_info[: -len(".dist-info")].rpartition("-")
    if canonical_name(info_name) != file_name:
        raise InvalidWheel(path, f"{dist_info} is for {info_name!r}, not {file_name!r}")
    try:
        version_matches = Version(info_version) == file_version
    except InvalidVersion:
        version_matches = False
    if not version_matches:
        raise InvalidWheel(path, f"{dist_info} has version {info_version!r}, not {file_version}")
    return info_name, info_version


_FILENAME = re.compile(
    r"(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._]*[A-Za-z0-9])?)-(?P<version>[^-]+)"
    r"(?:-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl"
)


def _parse_filename(path: str) -> tuple[str, Version]:
    """Normalised name and version from a wheel file name.

    The common case is parsed here; anything unusual goes to packaging's strict
    parser, which also says precisely what is wrong (it is not imported otherwise:
    it pulls in ``packaging.tags``, about 10 ms).
    """
    from packaging.version import InvalidVersion, Version

    from ._names import canonical_name

    filename = os.path.basename(path)
    match = _FILENAME.fullmatch(filename)
    if match and "__" not in match["name"]:  # packaging refuses "__" in the name part
        try:
            return canonical_name(match["name"]), Version(match["version"])
        except InvalidVersion:
            pass
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        name, version, _build, _tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise InvalidWheel(path, f"bad wheel filename: {exc}") from None
    return str(name), version


def open_wheel(path: str, *, verify_record: bool = True) -> Wheel:
    """Open and check the wheel at ``path``; raise an `InvalidWheel` subclass if it is bad."""
    if not path.endswith(".whl"):
        raise InvalidWheel(path, "not a .whl file")
    try:
        entries: list[Entry] = _backend.core.read_central_directory(path)
    except OSError as exc:
        raise InvalidWheel(path, f"cannot read wheel: {exc.strerror or exc}") from None

    files = _check_members(path, entries, os.path.getsize(path))
    by_name = {e[NAME]: e for e in files}
    dist_info = _find_dist_info(path, files)
    _check_data_dirs(path, files)
    info_name, info_version = check_filename(path, dist_info)

    root_is_purelib = _check_wheel_metadata(path, dist_info, by_name)
    requires_python = _check_metadata(path, dist_info, by_name, info_version)
    # Without verification the wheel's RECORD is not read at all: it is what is
    # broken in the wheels that need --no-verify-record.
    record = None
    if verify_record:
        record_name = f"{dist_info}/RECORD"
        if record_name not in by_name:
            raise RecordMismatch(path, "the wheel has no RECORD", record_name)
        record = parse_record(path, record_name, read_member(path, by_name[record_name]))
        _check_record_covers(path, dist_info, files, record)

    ep_name = f"{dist_info}/entry_points.txt"
    entry_points = (
        parse_entry_points(path, ep_name, read_member(path, by_name[ep_name]))
        if ep_name in by_name
        else []
    )
    return Wheel(
        path=path,
        name=info_name,
        version=info_version,
        dist_info=dist_info,
        root_is_purelib=root_is_purelib,
        files=files,
        record=record,
        entry_points=entry_points,
        requires_python=requires_python,
    )


# Every way a name can escape or be ambiguous, as substrings of all the names
# joined by newlines (a name with a newline in it is refused before this is used):
# backslash, NUL, empty segment, absolute, "." and ".." segments, empty name,
# and fastinst's own ".fastinst" names.
_BAD_SUBSTRINGS = (
    "\\",
    "\x00",
    "//",
    "\n/",
    "/./",
    "/../",
    "\n./",
    "\n../",
    "/.\n",
    "/..\n",
    "\n.\n",
    "\n..\n",
    "\n\n",
    "/.fastinst",
    "\n.fastinst",
)
_DRIVE = re.compile(r"^[A-Za-z]:", re.MULTILINE)
_S_IFMT, _S_IFLNK = 0o170000, 0o120000


def _check_members(path: str, entries: list[Entry], archive_size: int) -> list[Entry]:
    """Check every member name and kind; return the regular files.

    Done with whole-list operations rather than a Python loop of checks per
    member: wheels of 5,000 files are common, and this runs on every cold install.
    """
    names = [e[NAME] for e in entries]
    joined = "\n" + "\n".join(names) + "\n"
    if (
        joined.count("\n") != len(names) + 1
        or any(bad in joined for bad in _BAD_SUBSTRINGS)
        or (":" in joined and _DRIVE.search(joined))
    ):
        for name in names:
            check_member_name(path, name)  # finds the first bad one and says why
    if len(set(names)) != len(names):
        seen: set[str] = set()
        dup = next(n for n in names if n in seen or seen.add(n))  # type: ignore[func-returns-value]
        raise UnsafePath(path, "duplicate member name", dup)
    for e in entries:
        if (e[ATTR] >> 16) & _S_IFMT == _S_IFLNK:
            raise UnsafePath(path, "symbolic link members are not allowed", e[NAME])
        if e[METHOD] not in SUPPORTED_METHODS:
            raise CorruptArchive(path, f"unsupported compression method {e[METHOD]}", e[NAME])
        if e[FLAGS] & 0x1:
            raise CorruptArchive(path, "encrypted members are not supported", e[NAME])
    files = [e for e in entries if not e[NAME].endswith("/")]
    dirs = {n[:-1] for n in names if n.endswith("/")}
    parents = {e[NAME].rpartition("/")[0] for e in files}
    for d in parents:
        while d and d not in dirs:
            dirs.add(d)
            d = d.rpartition("/")[0]
    clash = dirs.intersection(e[NAME] for e in files)
    if clash:
        raise UnsafePath(path, "member is both a file and a directory", min(clash))
    total = sum(e[USIZE] for e in files)
    if total > max(archive_size, 1 << 20) * MAX_EXPANSION_RATIO:
        raise InvalidWheel(
            path, f"archive would expand to {total} bytes, over {MAX_EXPANSION_RATIO}x its size"
        )
    return files


def _check_data_dirs(path: str, files: list[Entry]) -> None:
    """``<name>.data/<key>/...`` needs a scheme key: refused here, before anything is
    written or cached, rather than only when the wheel is planned for a scheme."""
    from ._scheme import SCHEME_KEYS

    for e in files:
        top, _, rest = e[NAME].partition("/")
        if rest and top.endswith(".data"):
            key, _, sub = rest.partition("/")
            if not sub:
                raise UnsafePath(path, f"{top}/{key} is a file, not a directory", e[NAME])
            if key not in SCHEME_KEYS:
                raise InvalidWheel(path, f"unknown .data directory {key!r}", e[NAME])


def _find_dist_info(path: str, files: list[Entry]) -> str:
    tops = {e[NAME].partition("/")[0] for e in files if "/" in e[NAME]}
    infos = sorted(t for t in tops if t.endswith(".dist-info"))
    if not infos:
        raise InvalidWheel(path, "no .dist-info directory")
    if len(infos) > 1:
        raise InvalidWheel(path, f"more than one .dist-info directory: {', '.join(infos)}")
    return infos[0]


def _check_wheel_metadata(path: str, dist_info: str, by_name: dict[str, Entry]) -> bool:
    """Check ``WHEEL``; return Root-Is-Purelib."""
    member = f"{dist_info}/WHEEL"
    if member not in by_name:
        raise InvalidWheel(path, "the wheel has no WHEEL file", member)
    try:
        from email.parser import BytesHeaderParser  # only on the cold path: ~6 ms to import

        headers = BytesHeaderParser().parsebytes(read_member(path, by_name[member]))
    except UnicodeDecodeError:
        raise InvalidWheel(path, "WHEEL is not valid UTF-8", member) from None
    version = (headers.get("Wheel-Version") or "").strip()
    match = re.fullmatch(r"(\d+)\.(\d+)", version)
    if not match:
        raise InvalidWheel(path, f"bad or missing Wheel-Version {version!r}", member)
    major, minor = int(match[1]), int(match[2])
    if major != 1:
        raise InvalidWheel(path, f"Wheel-Version {version} is not supported (only 1.x)", member)
    if minor > 0:
        logger.warning("%s: Wheel-Version %s is newer than 1.0; installing anyway", path, version)
    return (headers.get("Root-Is-Purelib") or "").strip().lower() == "true"


def _check_metadata(
    path: str, dist_info: str, by_name: dict[str, Entry], info_version: str
) -> str | None:
    """Check ``METADATA``: UTF-8, with the Name and Version the ``.dist-info`` has
    (``importlib.metadata`` breaks for the whole environment otherwise, and pip
    refuses such wheels). Return its Requires-Python (``None``: none)."""
    from packaging.version import InvalidVersion, Version

    from ._names import canonical_name

    member = f"{dist_info}/METADATA"
    if member not in by_name:
        raise InvalidWheel(path, "the wheel has no METADATA file", member)
    try:
        text = read_member(path, by_name[member]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidWheel(
            path, f"METADATA is not valid UTF-8 (byte {exc.start} is not)", member
        ) from None
    from email.parser import HeaderParser  # only on the cold path

    headers = HeaderParser().parsestr(text)
    name = str(headers.get("Name") or "").strip()
    version = str(headers.get("Version") or "").strip()
    if not name or not version:
        missing = " and ".join(k for k, v in (("Name", name), ("Version", version)) if not v)
        raise InvalidWheel(path, f"METADATA has no {missing}", member)
    info_name = dist_info[: -len(".dist-info")].rpartition("-")[0]
    if canonical_name(name) != canonical_name(info_name):
        raise InvalidWheel(
            path, f"METADATA has Name {name!r}, but the wheel's .dist-info is {dist_info}", member
        )
    try:
        same = Version(version) == Version(info_version)
    except InvalidVersion:
        same = False
    if not same:
        raise InvalidWheel(
            path,
            f"METADATA has Version {version!r}, but the wheel's .dist-info is {dist_info}",
            member,
        )
    return str(headers.get("Requires-Python") or "").strip() or None


def _check_record_covers(
    path: str, dist_info: str, files: list[Entry], record: dict[str, RecordEntry]
) -> None:
    """Every member but RECORD and its signatures must be listed with a hash and size."""
    exempt = {f"{dist_info}/RECORD", *(f"{dist_info}/{s}" for s in SIGNATURE_FILES)}
    for e in files:
        name = e[NAME]
        row = record.get(name)
        if row is None:
            if name in exempt:
                continue
            raise RecordMismatch(path, "member is not listed in RECORD", name)
        if not row.hash or not row.size:
            if name in exempt:
                continue
            raise RecordMismatch(path, "RECORD row has no hash or no size", name)
        if int(row.size) != e[USIZE]:
            raise RecordMismatch(path, f"size is {e[USIZE]} but RECORD says {row.size}", name)


def parse_entry_points(path: str, member: str, data: bytes) -> list[EntryPoint]:
    """The console and GUI scripts declared in ``entry_points.txt``."""
    import configparser  # only on the cold path

    parser = configparser.ConfigParser(delimiters="=", interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(data.decode("utf-8"))
    except (UnicodeDecodeError, configparser.Error) as exc:
        raise InvalidWheel(path, f"cannot parse entry points: {exc}", member) from None
    result = []
    for section in ("console_scripts", "gui_scripts"):
        if not parser.has_section(section):
            continue
        for name, value in parser.items(section):
            if not _SCRIPT_NAME.match(name) or name in (".", ".."):
                raise UnsafePath(
                    path, f"entry point name {name!r} would leave the scripts directory", member
                )
            if name.startswith(".fastinst"):
                raise UnsafePath(
                    path, f"entry point name {name!r} uses fastinst's reserved prefix", member
                )
            if len(name.encode("utf-8", "surrogateescape")) > 200:
                raise InvalidWheel(path, f"entry point name {name[:40]!r}... is too long", member)
            match = _ENTRY_POINT_VALUE.match(value)
            if not match or not match["attrs"]:
                raise InvalidWheel(path, f"bad entry point {name} = {value!r}", member)
            result.append(
                EntryPoint(name, match["module"], match["attrs"], section[: -len("_scripts")])
            )
    return result
