"""Build real wheel files for tests, correct ones and deliberately broken ones.

``make_wheel`` writes a real zip archive with Python's ``zipfile``; every knob
that a hostile or broken wheel needs (extra members, a wrong RECORD, symlinks,
zstd members, a different dist-info name) is a keyword argument, so each test
says exactly what is odd about its wheel.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import stat
import struct
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

Content = Union[bytes, str]


def record_hash(data: bytes) -> str:
    """The ``sha256=...`` value RECORD stores for ``data``."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Member:
    """One archive member; ``mode`` is the Unix mode stored in the zip."""

    name: str
    data: bytes
    mode: int = 0o644
    compress: int = zipfile.ZIP_DEFLATED
    symlink: bool = False


@dataclass
class WheelSpec:
    """What goes into a wheel; ``build`` turns it into a file."""

    name: str = "demo"
    version: str = "1.0"
    tag: str = "py3-none-any"
    files: dict[str, Content] = field(default_factory=dict)
    executables: set[str] = field(default_factory=set)
    entry_points: Mapping[str, Mapping[str, str]] | None = None
    purelib: bool = True
    wheel_version: str = "1.0"
    dist_info_name: str | None = None  # override "{name}-{version}" for the dist-info dir
    metadata_extra: str = ""


def _b(content: Content) -> bytes:
    return content.encode() if isinstance(content, str) else content


def build_members(spec: WheelSpec) -> list[Member]:
    """The members of a well-formed wheel for ``spec``, RECORD last."""
    dist_info = f"{spec.dist_info_name or f'{spec.name}-{spec.version}'}.dist-info"
    members = [
        Member(path, _b(content), 0o755 if path in spec.executables else 0o644)
        for path, content in spec.files.items()
    ]
    metadata = f"Metadata-Version: 2.1\nName: {spec.name}\nVersion: {spec.version}\n"
    members.append(Member(f"{dist_info}/METADATA", (metadata + spec.metadata_extra).encode()))
    wheel = (
        f"Wheel-Version: {spec.wheel_version}\nGenerator: wheelmaker\n"
        f"Root-Is-Purelib: {'true' if spec.purelib else 'false'}\nTag: {spec.tag}\n"
    )
    members.append(Member(f"{dist_info}/WHEEL", wheel.encode()))
    if spec.entry_points:
        lines = []
        for section, eps in spec.entry_points.items():
            lines.append(f"[{section}]")
            lines += [f"{k} = {v}" for k, v in eps.items()]
            lines.append("")
        members.append(Member(f"{dist_info}/entry_points.txt", "\n".join(lines).encode()))
    members.append(Member(f"{dist_info}/RECORD", make_record(members, f"{dist_info}/RECORD")))
    return members


def make_record(members: Iterable[Member], record_name: str) -> bytes:
    """A correct RECORD for ``members`` (plus its own row without hash)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for m in members:
        if m.name != record_name:
            writer.writerow([m.name, record_hash(m.data), len(m.data)])
    writer.writerow([record_name, "", ""])
    return out.getvalue().encode()


ZIP_ZSTANDARD = 93  # as Python 3.14's zipfile writes it


def write_zip(path: Path, members: Iterable[Member]) -> Path:
    """Write ``members`` as a zip archive, in order, with their modes and methods."""
    members = list(members)
    if any(m.compress == ZIP_ZSTANDARD for m in members):
        return write_zip_raw(path, members)
    with zipfile.ZipFile(path, "w") as zf:
        for m in members:
            info = zipfile.ZipInfo(m.name, date_time=(2020, 1, 1, 0, 0, 0))
            mode = m.mode | (stat.S_IFLNK if m.symlink else stat.S_IFREG)
            info.external_attr = (mode & 0xFFFF) << 16
            info.compress_type = m.compress
            info.create_system = 3
            zf.writestr(info, m.data)
    return path


def wheel_filename(spec: WheelSpec) -> str:
    return f"{spec.name.replace('-', '_')}-{spec.version}-{spec.tag}.whl"


def make_wheel(directory: Path, spec: WheelSpec | None = None, **kwargs: object) -> Path:
    """Build a well-formed wheel in ``directory`` and return its path.

    >>> make_wheel(tmp_path, name="pkg", files={"pkg/__init__.py": "x = 1\\n"})
    """
    spec = spec or WheelSpec(**kwargs)  # type: ignore[arg-type]
    return write_zip(directory / wheel_filename(spec), build_members(spec))


def rewrite_wheel(
    path: Path,
    *,
    replace: Mapping[str, bytes] | None = None,
    add: Iterable[Member] = (),
    drop: Iterable[str] = (),
    dest: Path | None = None,
) -> Path:
    """Copy a wheel, changing member bytes without touching its RECORD (to break it)."""
    replace = dict(replace or {})
    dropped = set(drop)
    with zipfile.ZipFile(path) as zf:
        members = [
            Member(
                i.filename,
                replace.get(i.filename, zf.read(i.filename)),
                (i.external_attr >> 16) & 0o7777,
                i.compress_type,
            )
            for i in zf.infolist()
            if i.filename not in dropped
        ]
    return write_zip(dest or path, [*members, *add])


def corrupt_crc(path: Path, member: str) -> None:
    """Flip the stored CRC-32 of ``member`` in both its local and central headers."""
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    bad = struct.pack("<I", info.CRC ^ 0xFFFFFFFF)
    raw[info.header_offset + 14 : info.header_offset + 18] = bad
    # walk the central directory to find the entry of ``member``
    pos = raw.rfind(b"PK\x05\x06")
    (cd_offset,) = struct.unpack("<I", raw[pos + 16 : pos + 20])
    cd = cd_offset
    while raw[cd : cd + 4] == b"PK\x01\x02":
        n, e, c = struct.unpack("<HHH", raw[cd + 28 : cd + 34])
        if raw[cd + 46 : cd + 46 + n].decode() == member:
            raw[cd + 16 : cd + 20] = bad
            break
        cd += 46 + n + e + c
    path.write_bytes(bytes(raw))


def write_zip_raw(path: Path, members: Iterable[Member], zstd_window_log: int = 0) -> Path:
    """A minimal zip writer of our own, for methods ``zipfile`` cannot write (zstd);
    ``zstd_window_log`` sets the window of zstd frames (0: the level's)."""
    import zlib

    import zstandard

    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=zstd_window_log)

    out = bytearray()
    central = bytearray()
    count = 0
    for m in members:
        name = m.name.encode()
        if m.compress == ZIP_ZSTANDARD:
            data = zstandard.ZstdCompressor(compression_params=params).compress(m.data)
        elif m.compress == zipfile.ZIP_DEFLATED:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            data = c.compress(m.data) + c.flush()
        else:
            data = m.data
        crc = zlib.crc32(m.data)
        version = 63 if m.compress == ZIP_ZSTANDARD else 20
        offset = len(out)
        fields = (version, 0x800, m.compress, 0, 0x5021, crc, len(data), len(m.data), len(name))
        out += struct.pack("<4s5HIIIHH", b"PK\x03\x04", *fields, 0) + name + data
        mode = m.mode | (stat.S_IFLNK if m.symlink else stat.S_IFREG)
        central += (
            struct.pack(
                "<4s6HIIIHHHHHII",
                b"PK\x01\x02",
                (3 << 8) | version,
                *fields,
                0,
                0,
                0,
                0,
                (mode & 0xFFFF) << 16,
                offset,
            )
            + name
        )
        count += 1
    cd_offset = len(out)
    out += central
    out += struct.pack("<4s4HIIH", b"PK\x05\x06", 0, 0, count, count, len(central), cd_offset, 0)
    path.write_bytes(bytes(out))
    return path
