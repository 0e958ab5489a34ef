"""Open a wheel: check its name, members, ``.dist-info``, WHEEL and RECORD.

Everything that can be known about a wheel without extracting it is checked
here, so that a bad wheel is refused before a single file is written.
"""

from __future__ import annotations

import os
import re
import stat
import struct
import zlib
from typing import TYPE_CHECKING, BinaryIO, Final

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from packaging.version import Version

from . import _backend
from ._errors import CorruptArchive, InvalidWheel, RecordMismatch, UnsafePath
from ._log import logger
from ._paths import MAX_NAME_BYTES, file_under_file, first_bad_name
from ._records import RecordEntry, parse_record
from ._scripts import EntryPoint

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
_ENTRY_POINT_VALUE = re.compile(
    r"^\s*(?P<module>[\w.]+)\s*(:\s*(?P<attrs>[\w.]+)\s*)?(\[.*\])?\s*$"
)
# Refuse archives that would expand far beyond their size: a zip bomb is an attack,
# and no real wheel comes near this (the corpus's worst is about 12x).
MAX_EXPANSION_RATIO = 200
# Members read whole into memory, bounded by what real wheels need (of 1,036
# wheels: WHEEL 224 bytes, entry_points.txt 3 KB, METADATA 233 KB and RECORD
# 1.9 MB at most). RECORD is bounded by the member count as well: one row a
# member, and a few more (its own row, signatures, files some tools list without
# shipping them); no more rows than that, of no more than a long name's length.
MAX_WHEEL_FILE = 256 << 10
MAX_ENTRY_POINTS = 4 << 20
MAX_METADATA = 16 << 20
MAX_RECORD = 32 << 20
RECORD_EXTRA_ROWS = 1000
_MAX_RECORD_ROW = 2 * MAX_NAME_BYTES + 200  # a quoted name, a sha512, a size


def record_limits(members: int) -> tuple[int, int]:
    """The most bytes and rows a RECORD may have in a wheel of ``members`` members."""
    rows = members + RECORD_EXTRA_ROWS
    return min(MAX_RECORD, rows * _MAX_RECORD_ROW), rows


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


_CHUNK = 1 << 20


def read_member(path: str, entry: Entry, limit: int) -> bytes:
    """Read and decompress one small member (at most ``limit`` bytes), checking its
    CRC and size."""
    if entry[USIZE] > limit:
        raise InvalidWheel(
            path,
            f"member is implausibly large ({entry[USIZE]} bytes; the limit is {limit})",
            entry[NAME],
        )
    return b"".join(iter_member(path, entry))


class _Slice:
    """The compressed bytes of one member, read from an open archive in pieces."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self.f = f
        self.left = size
        self.short = False  # the file ended before the member's data did

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self.left:
            n = self.left
        data = self.f.read(n)
        self.left -= len(data)
        if len(data) < n:
            self.short = True
        return data


def iter_member(path: str, entry: Entry) -> Iterator[bytes]:
    """The decompressed bytes of a member in pieces of at most 1 MiB, whatever its
    size: its size and CRC are checked as it goes and at its end (`CorruptArchive`)."""
    name, method, usize = entry[NAME], entry[METHOD], entry[USIZE]
    if method not in SUPPORTED_METHODS:
        raise CorruptArchive(path, f"unsupported compression method {method}", name)
    with open(path, "rb") as f:
        f.seek(entry[OFFSET])
        header = f.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise CorruptArchive(path, "bad local file header", name)
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        if f.read(name_len) != name.encode("utf-8"):
            raise CorruptArchive(path, "the local file header names another file", name)
        f.seek(extra_len, os.SEEK_CUR)
        source = _Slice(f, entry[CSIZE])
        crc = total = 0
        for chunk in _decompressed(path, name, method, source):
            total += len(chunk)
            if total > usize:
                raise CorruptArchive(path, "member size differs from the zip directory", name)
            crc = zlib.crc32(chunk, crc)
            yield chunk
    if source.short:
        raise CorruptArchive(path, "member data is truncated", name)
    if total != usize:
        raise CorruptArchive(path, "member size differs from the zip directory", name)
    if crc != entry[CRC]:
        raise CorruptArchive(path, "CRC-32 mismatch", name)


def _decompressed(path: str, name: str, method: int, source: _Slice) -> Iterator[bytes]:
    if method == METHOD_STORED:
        yield from iter(lambda: source.read(_CHUNK), b"")
    elif method == METHOD_DEFLATED:
        d = zlib.decompressobj(-15)
        buf = b""
        try:
            while not d.eof:
                if not buf:
                    buf = source.read(_CHUNK)
                out = d.decompress(buf, _CHUNK)  # at most a piece, whatever the ratio
                buf = d.unconsumed_tail
                if out:
                    yield out
                elif not buf and (not source.left or source.short):
                    raise CorruptArchive(path, "cannot inflate member: its data ends early", name)
        except zlib.error as exc:
            raise CorruptArchive(path, f"cannot inflate member: {exc}", name) from None
    else:
        import zstandard

        from ._zstd import MAX_WINDOW

        try:
            # As the cores read zstd members (_zstd): concatenated frames are one
            # stream, and no window over MAX_WINDOW.
            decompressor = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW)
            reader = decompressor.stream_reader(
                source,  # type: ignore[arg-type]  # zstandard only calls its read()
                read_size=_CHUNK,
                read_across_frames=True,
            )
            with reader:
                yield from iter(lambda: reader.read(_CHUNK), b"")
        except zstandard.ZstdError as exc:
            raise CorruptArchive(path, f"cannot decompress zstd member: {exc}", name) from None


def check_filename(path: str, dist_info: str) -> tuple[str, str]:
    """Check that the file name parses and matches ``dist_info``; return its name and version.

    The name part of ``dist_info`` is found by trying each ``-`` in turn: names
    written by old tools may hold one, and so may a version that ``Version``
    normalises (``simple_dist-1.0.0-rc1.dist-info`` is 1.0.0rc1, as pip and uv
    read it).
    """
    from packaging.version import InvalidVersion, Version

    from ._names import canonical_name

    file_name, file_version = _parse_filename(path)
    stem = dist_info[: -len(".dist-info")]
    splits = [(stem[:i], stem[i + 1 :]) for i, c in enumerate(stem) if c == "-"]
    named = [(n, v) for n, v in splits if canonical_name(n) == file_name]
    for info_name, info_version in named:
        try:
            if Version(info_version) == file_version:
                return info_name, info_version
        except InvalidVersion:
            continue
    if named:
        raise InvalidWheel(path, f"{dist_info} has version {named[0][1]!r}, not {file_version}")
    for info_name, info_version in splits:
        try:
            Version(info_version)
        except InvalidVersion:
            continue
        raise InvalidWheel(path, f"{dist_info} is for {info_name!r}, not {file_name!r}")
    raise InvalidWheel(path, f"{dist_info} is not named {file_name}-{file_version}.dist-info")


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


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def check_wheel_file(path: str) -> int:
    """The size of the wheel file at ``path``; `InvalidWheel` unless it is a regular file.

    Asked before the file is opened: reading a FIFO or ``/dev/zero`` never ends.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        raise InvalidWheel(path, f"cannot read wheel: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a file")
        raise InvalidWheel(path, f"not a regular file ({kind})")
    return st.st_size


def open_wheel(path: str, *, verify_record: bool = True) -> Wheel:
    """Open and check the wheel at ``path``; raise an `InvalidWheel` subclass if it is bad."""
    if not path.endswith(".whl"):
        raise InvalidWheel(path, "not a .whl file")
    archive_size = check_wheel_file(path)
    try:
        entries: list[Entry] = _backend.core.read_central_directory(path)
    except OSError as exc:
        raise InvalidWheel(path, f"cannot read wheel: {exc.strerror or exc}") from None

    files = _check_members(path, entries, archive_size)
    by_name = {e[NAME]: e for e in files}
    dist_info = _find_dist_info(path, files)
    _check_data_dirs(path, files)
    info_name, info_version = check_filename(path, dist_info)

    root_is_purelib = _check_wheel_metadata(path, dist_info, by_name)
    requires_python = _check_metadata(path, dist_info, by_name, info_name, info_version)
    # Without verification the wheel's RECORD is not read at all: it is what is
    # broken in the wheels that need --no-verify-record.
    record = None
    if verify_record:
        record_name = f"{dist_info}/RECORD"
        if record_name not in by_name:
            raise RecordMismatch(path, "the wheel has no RECORD", record_name)
        max_bytes, max_rows = record_limits(len(entries))
        data = read_member(path, by_name[record_name], max_bytes)
        record = parse_record(path, record_name, data, max_rows=max_rows, checked=by_name)
        _check_record_covers(path, dist_info, files, record)

    ep_name = f"{dist_info}/entry_points.txt"
    entry_points = (
        parse_entry_points(path, ep_name, read_member(path, by_name[ep_name], MAX_ENTRY_POINTS))
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


_S_IFMT, _S_IFLNK = 0o170000, 0o120000
_GOOD_KINDS = frozenset((False, method, 0) for method in SUPPORTED_METHODS)


def _check_members(path: str, entries: list[Entry], archive_size: int) -> list[Entry]:
    """Check every member name and kind; return the regular files.

    Done with whole-list operations rather than a Python loop of checks per
    member: wheels of 5,000 files are common, and this runs on every cold install.
    """
    names = [e[NAME] for e in entries]
    bad = first_bad_name(names)
    if bad is not None:
        raise UnsafePath(path, bad[1], bad[0])
    if len(set(names)) != len(names):
        seen: set[str] = set()
        dup = next(n for n in names if n in seen or seen.add(n))  # type: ignore[func-returns-value]
        raise UnsafePath(path, "duplicate member name", dup)
    # (symbolic link?, method, encrypted?) of every member: one set, the usual
    # few values, and the loop that names the member only when one is bad
    kinds = {((e[ATTR] >> 16) & _S_IFMT == _S_IFLNK, e[METHOD], e[FLAGS] & 0x1) for e in entries}
    for e in entries if not kinds <= _GOOD_KINDS else ():
        if (e[ATTR] >> 16) & _S_IFMT == _S_IFLNK:
            raise UnsafePath(path, "symbolic link members are not allowed", e[NAME])
        if e[METHOD] not in SUPPORTED_METHODS:
            raise CorruptArchive(path, f"unsupported compression method {e[METHOD]}", e[NAME])
        if e[FLAGS] & 0x1:
            raise CorruptArchive(path, "encrypted members are not supported", e[NAME])
    files = [e for e in entries if not e[NAME].endswith("/")]
    _check_library_names(path, names)
    total = sum([e[USIZE] for e in files])
    if total > max(archive_size, 1 << 20) * MAX_EXPANSION_RATIO:
        raise InvalidWheel(
            path, f"archive would expand to {total} bytes, over {MAX_EXPANSION_RATIO}x its size"
        )
    return files


_METADATA_DIRS = (".dist-info", ".egg-info")


def _check_library_names(path: str, names: list[str]) -> None:
    """No two members install to one path of the library directory, and none is a
    file where another needs a directory: the root-level members and those of
    ``.data/purelib`` and ``.data/platlib`` land side by side (taken as one
    directory, as they are in most schemes)."""
    view = names
    for i in [i for i, name in enumerate(names) if ".data/" in name]:
        lib_name = _library_name(names[i])
        if lib_name != names[i]:
            if view is names:
                view = list(names)
            view[i] = lib_name
    if view is not names and len(set(view)) != len(view):
        seen: set[str] = set()
        dup = next(n for n in view if n in seen or seen.add(n))  # type: ignore[func-returns-value]
        first, second = [n for n in names if _library_name(n) == dup][:2]
        raise UnsafePath(path, f"{first} and {second} install to the same path", second)
    clash = file_under_file(view)
    if clash is not None:
        member = next(n for n in names if _library_name(n) == clash)
        raise UnsafePath(path, "member is both a file and a directory", member)


def _library_name(name: str) -> str:
    """Where a member lands below the library directory: ``x.data/purelib/a`` at ``a``."""
    top, _, rest = name.partition("/")
    key, _, sub = rest.partition("/")
    if top.endswith(".data") and key in ("purelib", "platlib") and sub:
        return sub
    return name


def _check_data_dirs(path: str, files: list[Entry]) -> None:
    """``<name>.data/<key>/...`` needs a scheme key: refused here, before anything is
    written or cached, rather than only when the wheel is planned for a scheme.

    Nor may ``.data`` put another distribution's metadata in the library (whose
    RECORD an uninstall would then follow), or a script that passes for the
    interpreter in the scripts directory.
    """
    from ._paths import interpreter_name
    from ._scheme import SCHEME_KEYS

    for e in files:
        if ".data/" not in e[NAME]:  # most members: no need to split the name
            continue
        top, _, rest = e[NAME].partition("/")
        if rest and top.endswith(".data"):
            key, _, sub = rest.partition("/")
            if not sub:
                raise UnsafePath(path, f"{top}/{key} is a file, not a directory", e[NAME])
            if key not in SCHEME_KEYS:
                raise InvalidWheel(path, f"unknown .data directory {key!r}", e[NAME])
            first = sub.partition("/")[0]
            if key in ("purelib", "platlib") and first.endswith(_METADATA_DIRS):
                raise InvalidWheel(
                    path,
                    f"{first} in {key} would be distribution metadata"
                    " other than the wheel's own .dist-info",
                    e[NAME],
                )
            if key == "scripts" and "/" not in sub and interpreter_name(sub):
                raise InvalidWheel(
                    path, f"script {sub!r} would replace the environment's interpreter", e[NAME]
                )


def _find_dist_info(path: str, files: list[Entry]) -> str:
    tops = {e[NAME].partition("/")[0]: e[NAME] for e in files}
    infos = sorted(t for t, name in tops.items() if t.endswith(".dist-info") and t != name)
    if not infos:
        raise InvalidWheel(path, "no .dist-info directory")
    if len(infos) > 1:
        raise InvalidWheel(path, f"more than one .dist-info directory: {', '.join(infos)}")
    for top, name in sorted(tops.items()):
        if top.endswith(_METADATA_DIRS) and top != infos[0]:
            raise InvalidWheel(
                path,
                f"{top} would be distribution metadata other than the wheel's own {infos[0]}",
                name,
            )
    return infos[0]


def _check_wheel_metadata(path: str, dist_info: str, by_name: dict[str, Entry]) -> bool:
    """Check ``WHEEL``; return Root-Is-Purelib."""
    member = f"{dist_info}/WHEEL"
    if member not in by_name:
        raise InvalidWheel(path, "the wheel has no WHEEL file", member)
    data = read_member(path, by_name[member], MAX_WHEEL_FILE)
    # (read as email's parser reads bytes: ASCII, any other byte kept as it is)
    headers = read_headers(data.decode("latin-1"), ("wheel-version", "root-is-purelib"))
    version = (headers.get("wheel-version") or "").strip()
    match = re.fullmatch(r"(\d+)\.(\d+)", version)
    if not match:
        raise InvalidWheel(path, f"bad or missing Wheel-Version {version!r}", member)
    major, minor = int(match[1]), int(match[2])
    # The spec: refuse a newer major version, warn about a newer minor one. pip and
    # uv install older ones too (pip's own tests have a Wheel-Version 0.1 wheel).
    if major > 1:
        raise InvalidWheel(path, f"Wheel-Version {version} is not supported (only 1.x)", member)
    if (major, minor) != (1, 0):
        newer = "newer" if major == 1 else "older"
        logger.warning(
            "%s: Wheel-Version %s is %s than 1.0; installing anyway", path, version, newer
        )
    return (headers.get("root-is-purelib") or "").strip().lower() == "true"


def _check_metadata(
    path: str, dist_info: str, by_name: dict[str, Entry], info_name: str, info_version: str
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
        text = read_member(path, by_name[member], MAX_METADATA).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidWheel(
            path, f"METADATA is not valid UTF-8 (byte {exc.start} is not)", member
        ) from None
    # The headers end at the first empty line (the long description follows it):
    # "\n\n" is always one; a text cut after it keeps every header.
    cut = text.find("\n\n")
    headers = read_headers(text if cut < 0 else text[: cut + 1], _METADATA_FIELDS)
    name = (headers.get("name") or "").strip()
    version = (headers.get("version") or "").strip()
    if not name or not version:
        missing = " and ".join(k for k, v in (("Name", name), ("Version", version)) if not v)
        raise InvalidWheel(path, f"METADATA has no {missing}", member)
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
    return (headers.get("requires-python") or "").strip() or None


_METADATA_FIELDS = ("name", "version", "requires-python")
# What email's parser takes for a header line: a name of printable ASCII but ":"
# and space, then ":" (or a continuation line, which starts with a space or tab)
_HEADER_NAME_CHARS = frozenset(map(chr, range(0x21, 0x7F))) - {":"}
_LINE_END = re.compile(r"(\r\n|\r|\n)")


def read_headers(text: str, names: Sequence[str]) -> dict[str, str]:
    r"""The first value of each header of ``names`` (lower case) among the
    headers of ``text`` (METADATA, WHEEL), as ``email``'s compat32 parser reads
    them (but for a mailbox's ``From`` line, which has no place there), without
    importing ``email``: the headers end at the first line that is neither a
    header nor a continuation (an empty line, say); a continuation line (it
    starts with a space or a tab) is kept in its header's value, line end
    included; the value starts after the ":" and the spaces or tabs after it.

    >>> read_headers("Name: demo\nVersion: 1.0\nName: other\n\nBody: x\n", ["name", "body"])
    {'name': 'demo'}
    """
    wanted = set(names)
    found: dict[str, str] = {}
    current: list[str] | None = None  # the lines of the header being read, if wanted
    # email splits lines at \r\n, \r and \n only (str.splitlines knows more ends)
    parts = _LINE_END.split(text)
    for line, end in zip(parts[::2], [*parts[1::2], ""]):
        if line[:1] in (" ", "\t"):
            if current is not None:
                current.append(line + end)
            continue
        head, colon, value = line.partition(":")
        if not colon or not _HEADER_NAME_CHARS.issuperset(head):
            break  # the end of the headers (email's parser: the start of the body)
        if current is not None:
            found[current[0]] = "".join(current[1:]).rstrip("\r\n")
        key = head.lower()
        wanted_here = key in wanted and key not in found
        current = [key, (value + end).lstrip(" \t")] if wanted_here else None
    if current is not None:
        found[current[0]] = "".join(current[1:]).rstrip("\r\n")
    return found


def _check_record_covers(
    path: str, dist_info: str, files: list[Entry], record: dict[str, RecordEntry]
) -> None:
    """Every member but RECORD and its signatures must be listed with a hash and size."""
    exempt = {f"{dist_info}/RECORD", *(f"{dist_info}/{s}" for s in SIGNATURE_FILES)}
    # Whole-list checks first: every usual member listed with a hash and its size
    # as the archive says, written the same way (as every good RECORD has it).
    # The loop below names the member of any other case, and judges the exempt.
    few = [e for e in files if e[NAME] in exempt]
    usual = [e for e in files if e[NAME] not in exempt] if few else files
    rows = [record.get(e[NAME]) for e in usual]
    if (
        None not in rows
        and all([row[1] for row in rows])  # type: ignore[index]
        and [row[2] for row in rows] == [str(e[USIZE]) for e in usual]  # type: ignore[index]
    ):
        usual = []
    for e in few + usual:
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
    """The console and GUI scripts declared in ``entry_points.txt``.

    A name is a path below the scripts directory, as pip and uv take it:
    ``sub/tool`` makes ``bin/sub/tool`` and ``a/../b`` makes ``bin/b``; a name
    that leaves the directory, or passes for the interpreter, is refused. A name
    declared twice (a console and a GUI script, or ``b`` and ``a/../b``) makes
    one launcher, the later one's, with a warning, as pip and uv do.
    """
    import configparser  # only on the cold path

    parser = configparser.ConfigParser(delimiters="=", interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(data.decode("utf-8"))
    except (UnicodeDecodeError, configparser.Error) as exc:
        raise InvalidWheel(path, f"cannot parse entry points: {exc}", member) from None
    result: dict[str, EntryPoint] = {}
    for section in ("console_scripts", "gui_scripts"):
        if not parser.has_section(section):
            continue
        for name, value in parser.items(section):
            script = _script_name(path, member, name)
            match = _ENTRY_POINT_VALUE.match(value)
            if not match or not match["attrs"]:
                raise InvalidWheel(path, f"bad entry point {name} = {value!r}", member)
            ep = EntryPoint(script, match["module"], match["attrs"], section[: -len("_scripts")])
            previous = result.pop(script, None)
            if previous is not None:
                logger.warning(
                    "%s: %s declares the script %r twice (%s %s:%s, then %s %s:%s);"
                    " the second is installed, as pip does",
                    path,
                    member,
                    script,
                    previous.section,
                    previous.module,
                    previous.attr,
                    ep.section,
                    ep.module,
                    ep.attr,
                )
            result[script] = ep
    return list(result.values())


def _script_name(path: str, member: str, name: str) -> str:
    """The launcher's path below the scripts directory for entry point ``name``."""
    import posixpath

    from ._paths import interpreter_name, member_problem

    leaves = f"entry point name {name!r} would leave the scripts directory"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafePath(path, leaves, member)
    normal = posixpath.normpath(name) if name else name
    if normal in (".", "..") or normal.startswith("../"):
        raise UnsafePath(path, leaves, member)
    if len(normal.encode("utf-8", "surrogateescape")) > 200:
        raise InvalidWheel(path, f"entry point name {name[:40]!r}... is too long", member)
    problem = member_problem(normal, "entry point name")
    if problem is not None:
        raise UnsafePath(path, f"{problem}: {name!r}", member)
    if "/" not in normal and interpreter_name(normal):
        raise InvalidWheel(
            path, f"script {name!r} would replace the environment's interpreter", member
        )
    return normal
