"""A corpus of hostile and broken wheels, built by the tests: each is refused whole.

Every case checks the `FastinstError` subclass, that the message names the wheel
(and the member at fault where there is one), that nothing was written outside
the environment, and that the environment (with a distribution installed in it
beforehand) is byte-for-byte unchanged, with both cores, straight from the
archive and through a cache. A sample goes through the command line too.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import fastinst
from conftest import run_cli, tree_snapshot
from fastinst import CorruptArchive, InvalidWheel, RecordMismatch, UnsafePath
from fastinst._records import encode_hash
from faults import Raw, craft_zip, leftovers, raw_members, record_for, true_record
from wheelmaker import (
    Member,
    WheelSpec,
    build_members,
    corrupt_crc,
    make_wheel,
    rewrite_wheel,
    write_zip,
)

GOOD = WheelSpec(name="demo", files={"demo/__init__.py": "x = 1\n", "demo/util.py": "y = 2\n"})
WHEEL_NAME = "demo-1.0-py3-none-any.whl"
RECORD = "demo-1.0.dist-info/RECORD"
EP = "demo-1.0.dist-info/entry_points.txt"


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], Path]  # wheel directory -> the wheel
    error: type[InvalidWheel]
    fragment: str  # in the message
    member: str | None = None  # named in the message (and in ``exc.member``)


def _extra(name: str | bytes, data: bytes = b"x", **kw: object) -> Callable[[Path], Path]:
    """The good wheel plus one member, listed in RECORD when its name is UTF-8."""

    def build(d: Path) -> Path:
        raw_name = name.encode() if isinstance(name, str) else name
        members = raw_members(GOOD, [Raw(raw_name, data, **kw)])  # type: ignore[arg-type]
        try:
            raw_name.decode()
            members = record_for(members, true_record(members, RECORD))
        except UnicodeDecodeError:
            pass
        return craft_zip(d / WHEEL_NAME, members)

    return build


def _overlapping(how: str) -> Callable[[Path], Path]:
    """The good wheel plus a directory entry sharing the bytes of ``demo/util.py``:
    ``same`` points a second name at its local header (listed in RECORD, so only the
    overlap is wrong), ``inside`` makes its data run over the next member's header."""

    def build(d: Path) -> Path:
        whl = craft_zip(d / WHEEL_NAME, raw_members(GOOD))
        raw = bytearray(whl.read_bytes())
        eocd = raw.rfind(b"PK\x05\x06")
        count, cd_size, cd_offset = struct.unpack_from("<HII", raw, eocd + 10)
        pos = cd_offset
        while pos < cd_offset + cd_size:
            n, e, c = struct.unpack_from("<HHH", raw, pos + 28)
            if raw[pos + 46 : pos + 46 + n] == b"demo/util.py":
                break
            pos += 46 + n + e + c
        entry = bytes(raw[pos : pos + 46 + n + e + c])
        if how == "inside":
            (csize,) = struct.unpack_from("<I", raw, pos + 20)
            struct.pack_into("<I", raw, pos + 20, csize + 40)
            whl.write_bytes(bytes(raw))
            return whl
        twin = entry[:28] + struct.pack("<H", n + 1) + entry[30:46] + b"demo/util2.py"
        twin += entry[46 + n :]
        end = cd_offset + cd_size
        raw[end:end] = twin
        eocd += len(twin)
        struct.pack_into("<HHI", raw, eocd + 8, count + 1, count + 1, cd_size + len(twin))
        whl.write_bytes(bytes(raw))
        return whl

    return build


def _changed(member: str, **kw: object) -> Callable[[Path], Path]:
    """The good wheel with the fields of ``member`` as given (RECORD untouched)."""

    def build(d: Path) -> Path:
        members = raw_members(GOOD)
        for m in members:
            if m.name == member.encode():
                for k, v in kw.items():
                    setattr(m, k, v)
        return craft_zip(d / WHEEL_NAME, members)

    return build


def _record_says(text: Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    """The good wheel with its RECORD rewritten by ``text``."""

    def build(d: Path) -> Path:
        members = raw_members(GOOD)
        record = next(m for m in members if m.name == RECORD.encode())
        return craft_zip(d / WHEEL_NAME, record_for(members, text(record.data)))

    return build


def _spec(**kw: object) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        whl = make_wheel(d, WheelSpec(**{"name": "demo", "files": dict(GOOD.files), **kw}))  # type: ignore[arg-type]
        return whl.rename(d / WHEEL_NAME) if whl.name != WHEEL_NAME else whl

    return build


def _bytes(transform: Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    """The good wheel's bytes, transformed."""

    def build(d: Path) -> Path:
        whl = make_wheel(d, GOOD)
        whl.write_bytes(transform(whl.read_bytes()))
        return whl

    return build


def _bad_crc(d: Path) -> Path:
    whl = make_wheel(d, GOOD)
    corrupt_crc(whl, "demo/util.py")
    return whl


def _duplicate(d: Path) -> Path:
    members = build_members(GOOD)
    members.insert(0, Member("demo/util.py", b"evil = 1\n"))
    return write_zip(d / WHEEL_NAME, members)


def _data_and_lib_collide(d: Path) -> Path:
    files = {**GOOD.files, "demo-1.0.data/purelib/demo/util.py": "evil = 1\n"}
    return make_wheel(d, WheelSpec(name="demo", files=files))


def _file_and_dir(d: Path) -> Path:
    return make_wheel(
        d, WheelSpec(name="demo", files={**GOOD.files, "demo/x": "f", "demo/x/y.py": "d"})
    )


def _entry_point(name: str) -> Callable[[Path], Path]:
    return _spec(entry_points={"console_scripts": {name: "demo:main"}})


def _record_row(row: str) -> Callable[[bytes], bytes]:
    return lambda data: data + row.encode() + b"\n"


def _replace_row(member: str, new: str) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        lines = [
            new if line.startswith(member + ",") else line for line in data.decode().splitlines()
        ]
        return ("\n".join(lines) + "\n").encode()

    return edit


def _size_lie_in_record_too(d: Path) -> Path:
    """The directory says 100 more bytes than the data has, and RECORD agrees with it."""
    members = raw_members(GOOD)
    target = next(m for m in members if m.name == b"demo/util.py")
    target.cd_usize = len(target.data) + 100
    record = next(m for m in members if m.name == RECORD.encode()).data.decode()
    size = str(len(target.data))
    record = record.replace(
        f"demo/util.py,{_hash(target.data)},{size}",
        f"demo/util.py,{_hash(target.data)},{int(size) + 100}",
    )
    return craft_zip(d / WHEEL_NAME, record_for(members, record.encode()))


def _hash(data: bytes) -> str:
    from wheelmaker import record_hash

    return record_hash(data)


def _zip64_without_extra(d: Path) -> Path:
    """A zip64 archive whose central directory says 0xFFFFFFFF with no zip64 extra field."""
    whl = craft_zip(d / WHEEL_NAME, raw_members(GOOD), zip64=True)
    raw = bytearray(whl.read_bytes())
    # Turn the first entry's zip64 extra field (id 1) into an unknown one (id 0x5455... no: 0x9999).
    cd = raw.find(b"PK\x01\x02")
    n, e = (
        int.from_bytes(raw[cd + 28 : cd + 30], "little"),
        int.from_bytes(raw[cd + 30 : cd + 32], "little"),
    )
    assert e == 28
    raw[cd + 46 + n : cd + 48 + n] = b"\x99\x99"
    whl.write_bytes(bytes(raw))
    return whl


@pytest.fixture(scope="session")
def real_bomb(tmp_path_factory) -> Path:
    """A true zip bomb: 220 MiB of zeros that deflate to about 220 KiB (built once)."""
    d = tmp_path_factory.mktemp("bomb")
    return make_wheel(
        d, WheelSpec(name="demo", files={**GOOD.files, "demo/zeros.bin": bytes(220 << 20)})
    )


def cases() -> Iterator[Case]:
    U, C, R, I = UnsafePath, CorruptArchive, RecordMismatch, InvalidWheel  # noqa: E741
    # Path traversal, in every form.
    yield Case("dotdot", _extra("../evil.py"), U, "'..' segment", "../evil.py")
    yield Case(
        "dotdot-inner", _extra("demo/../../evil.py"), U, "'..' segment", "demo/../../evil.py"
    )
    yield Case("dotdot-trailing", _extra("demo/.."), U, "'..' segment", "demo/..")
    yield Case("absolute", _extra("/tmp/evil.py"), U, "absolute", "/tmp/evil.py")
    yield Case(
        "backslash", _extra("demo\\..\\..\\evil.py"), U, "backslash", "demo\\..\\..\\evil.py"
    )
    yield Case("drive", _extra("C:/evil.py"), U, "drive letter", "C:/evil.py")
    yield Case("drive-relative", _extra("c:evil.py"), U, "drive letter", "c:evil.py")
    yield Case("dot-segment", _extra("demo/./x.py"), U, "'.' segment", "demo/./x.py")
    yield Case("empty-segment", _extra("demo//x.py"), U, "empty", "demo//x.py")
    yield Case(
        "data-escape",
        _extra("demo-1.0.data/purelib/../../evil"),
        U,
        "'..'",
        "demo-1.0.data/purelib/../../evil",
    )
    yield Case(
        "data-scripts-escape",
        _extra("demo-1.0.data/scripts/../../../evil"),
        U,
        "'..'",
        "demo-1.0.data/scripts/../../../evil",
    )
    yield Case(
        "data-key-is-a-file",
        _extra("demo-1.0.data/purelib"),
        U,
        "is a file",
        "demo-1.0.data/purelib",
    )
    journal = b'["/tmp/planted", "/etc/hostname"]\n'
    yield Case(
        "reserved-journal",
        _extra(".fastinst-journal-1-deadbeef", journal),
        U,
        "reserved '.fastinst' prefix",
        ".fastinst-journal-1-deadbeef",
    )
    yield Case(
        "reserved-via-data",
        _extra("demo-1.0.data/purelib/.fastinst-journal-2-x", journal),
        U,
        "reserved",
        "demo-1.0.data/purelib/.fastinst-journal-2-x",
    )
    yield Case(
        "reserved-stage-owner",
        _extra("demo/.fastinst-stage-3-x/.fastinst-journal", b"/x"),
        U,
        "reserved",
        "demo/.fastinst-stage-3-x/.fastinst-journal",
    )
    yield Case("nul", _extra(b"demo/evil\x00.py"), U, "NUL", "demo/evil\x00.py")
    yield Case("newline", _extra("demo/evil\n../x.py"), U, "line break", "demo/evil\n../x.py")
    yield Case("not-utf8", _extra(b"demo/\xff\xfe.py"), C, "not valid UTF-8")
    yield Case("not-utf8-no-flag", _extra(b"demo/\x81.py", flags=0), C, "not valid UTF-8")
    yield Case("file-and-directory", _file_and_dir, U, "both a file and a directory", "demo/x")
    # Links and odd kinds.
    yield Case(
        "symlink",
        _extra("demo/link", b"/etc/passwd", mode=0o120777),
        U,
        "symbolic link",
        "demo/link",
    )
    yield Case(
        "symlink-dir",
        _extra("demo/sub", b"../../..", mode=0o120755),
        U,
        "symbolic link",
        "demo/sub",
    )
    # Names that collide.
    yield Case("duplicate", _duplicate, U, "duplicate", "demo/util.py")
    yield Case("data-collides-with-lib", _data_and_lib_collide, U, "same path")
    yield Case("two-dist-infos", _extra("other-1.0.dist-info/METADATA"), I, "more than one")
    # Sizes and checksums that lie.
    yield Case(
        "cd-size-lies", _changed("demo/util.py", cd_usize=1000), R, "RECORD says", "demo/util.py"
    )
    yield Case("cd-and-record-size-lie", _size_lie_in_record_too, C, "size differs", "demo/util.py")
    yield Case("cd-csize-lies", _changed("demo/util.py", cd_csize=5), C, "", "demo/util.py")
    yield Case("cd-csize-past-end", _changed("demo/util.py", cd_csize=1 << 30), C, "")
    yield Case(
        "record-size-lies",
        _record_says(_replace_row("demo/util.py", f"demo/util.py,{_hash(b'y = 2' + bytes(1))},6")),
        R,
        "",
        "demo/util.py",
    )
    yield Case(
        "record-hash-lies",
        _record_says(_replace_row("demo/util.py", f"demo/util.py,{_hash(b'y = 3' + bytes(1))},6")),
        R,
        "differs from RECORD",
        "demo/util.py",
    )
    yield Case(
        "record-bad-hash-length",
        _record_says(_replace_row("demo/util.py", "demo/util.py,sha256=AAAA,6")),
        R,
        "malformed sha256",
        "demo/util.py",
    )
    yield Case(
        "record-unknown-algorithm",
        _record_says(_replace_row("demo/util.py", "demo/util.py,md5=AAAA,6")),
        R,
        "unsupported hash",
        RECORD,
    )
    yield Case(
        "record-no-hash",
        _record_says(_replace_row("demo/util.py", "demo/util.py,,6")),
        R,
        "no hash",
        "demo/util.py",
    )
    yield Case("record-four-fields", _record_says(_record_row("a,b,c,d")), R, "4 fields", RECORD)
    huge = f"demo/util.py,{_hash(b'y = 2' + bytes([10]))},{'9' * 5000}"
    yield Case(
        "record-size-5000-digits",
        _record_says(_replace_row("demo/util.py", huge)),
        R,
        "malformed size",
        RECORD,
    )
    yield Case(
        "record-listed-twice", _record_says(_record_row("demo/util.py,,")), R, "twice", RECORD
    )
    yield Case(
        "record-not-utf8",
        _record_says(lambda data: data + b"demo/\xff,,\n"),
        R,
        "not valid UTF-8",
        RECORD,
    )
    yield Case(
        "record-missing",
        lambda d: craft_zip(
            d / WHEEL_NAME, [m for m in raw_members(GOOD) if m.name != RECORD.encode()]
        ),
        R,
        "no RECORD",
        RECORD,
    )
    yield Case(
        "not-in-record",
        _changed("demo/util.py", name=b"demo/util2.py"),
        R,
        "not listed in RECORD",
        "demo/util2.py",
    )
    yield Case("bad-crc", _bad_crc, C, "CRC-32", "demo/util.py")
    yield Case(
        "bad-crc-stored", _changed("demo/util.py", method=0, crc=1), C, "CRC-32", "demo/util.py"
    )
    # Not a zip, or a broken one.
    yield Case("truncated-tail", _bytes(lambda b: b[:-30]), C, "")
    yield Case("truncated-half", _bytes(lambda b: b[: len(b) // 2]), C, "")
    yield Case("cut-at-front", _bytes(lambda b: b[200:]), C, "")
    yield Case("not-zip", _bytes(lambda b: b"this is not a zip file\n" * 20), C, "")
    yield Case("empty-file", _bytes(lambda b: b""), C, "")
    yield Case(
        "zeroed-data", _bytes(lambda b: b[:40] + bytes(len(b) // 3) + b[40 + len(b) // 3 :]), C, ""
    )
    yield Case("encrypted", _changed("demo/util.py", flags=0x801), C, "encrypted", "demo/util.py")
    yield Case(
        "bzip2", _changed("demo/util.py", method=12), C, "compression method", "demo/util.py"
    )
    yield Case("zip64-without-extra", _zip64_without_extra, C, "zip64")
    # A local header that names another file than the directory (#10.6): a scanner
    # reading the stream sees that file; pip, uv and installer refuse.
    yield Case(
        "local-name-differs",
        _changed("demo/util.py", lh_name=b"demo/evil.py"),
        C,
        "local file header names another file",
        "demo/util.py",
    )
    yield Case(
        "local-name-differs-metadata",
        _changed("demo-1.0.dist-info/METADATA", lh_name=b"demo-1.0.dist-info/METADATX"),
        C,
        "local file header names another file",
        "demo-1.0.dist-info/METADATA",
    )
    # Members whose bytes overlap (#14): the layout of the classic zip bomb.
    yield Case("overlap-same-offset", _overlapping("same"), C, "'demo/util2.py'", "demo/util.py")
    yield Case("overlap-inside", _overlapping("inside"), C, "overlaps", "demo/util.py")
    # Metadata that does not fit.
    yield Case("other-name", _spec(dist_info_name="other-1.0"), I, "is for 'other'")
    yield Case("other-version", _spec(dist_info_name="demo-2.0"), I, "version")
    yield Case(
        "wheel-version-2",
        _spec(wheel_version="2.0"),
        I,
        "Wheel-Version 2.0",
        "demo-1.0.dist-info/WHEEL",
    )
    yield Case(
        "wheel-version-garbage",
        _spec(wheel_version="one"),
        I,
        "Wheel-Version",
        "demo-1.0.dist-info/WHEEL",
    )
    yield Case(
        "no-wheel-file",
        lambda d: craft_zip(
            d / WHEEL_NAME, [m for m in raw_members(GOOD) if not m.name.endswith(b"/WHEEL")]
        ),
        I,
        "no WHEEL",
    )
    yield Case(
        "no-dist-info",
        lambda d: craft_zip(
            d / WHEEL_NAME, [m for m in raw_members(GOOD) if b"dist-info" not in m.name]
        ),
        I,
        "no .dist-info",
    )
    yield Case(
        "unknown-data-key",
        _spec(files={**GOOD.files, "demo-1.0.data/etc/passwd": "x"}),
        I,
        "unknown .data directory 'etc'",
        "demo-1.0.data/etc/passwd",
    )
    # Entry points whose names leave the scripts directory.
    yield Case("ep-dotdot", _entry_point("../../evil"), U, "scripts directory")
    yield Case("ep-absolute", _entry_point("/tmp/evil"), U, "scripts directory")
    yield Case("ep-backslash", _entry_point("..\\evil"), U, "backslash")
    yield Case("ep-dotdot-only", _entry_point(".."), U, "scripts directory")
    yield Case("ep-dotdot-inner", _entry_point("a/../../evil"), U, "scripts directory")
    yield Case("ep-nul", _entry_point("ev\x00il"), U, "NUL")
    # Names that would replace the interpreter (uv's rule): launchers and
    # .data/scripts files; .data/data ones are checked against the scheme.
    for name in (
        "python",
        "python3",
        "python3.12",
        "Python3.13t",
        "pythonw",
        "pypy3",
        "python.exe",
    ):
        yield Case(f"ep-{name}", _entry_point(name), I, "interpreter", EP)
    yield Case(
        "gui-python3",
        _spec(entry_points={"gui_scripts": {"python3": "demo:main"}}),
        I,
        "interpreter",
        EP,
    )
    for name in ("python", "python3.11", "PYTHON3"):
        member = f"demo-1.0.data/scripts/{name}"
        yield Case(f"data-script-{name}", _extra(member, b"#!python\n"), I, "interpreter", member)
    # Another distribution's metadata, wherever it would land in the library.
    for key in ("purelib", "platlib"):
        member = f"demo-1.0.data/{key}/other-1.0.dist-info/RECORD"
        yield Case(
            f"foreign-dist-info-{key}",
            _extra(member, b"../../../bin/python3,,\n"),
            I,
            "other than the wheel's own",
            member,
        )
    member = "demo-1.0.data/purelib/other.egg-info/PKG-INFO"
    yield Case("foreign-egg-info-data", _extra(member, b"Name: other\n"), I, "metadata", member)
    yield Case(
        "foreign-egg-info-root",
        _extra("other.egg-info/PKG-INFO", b"Name: other\n"),
        I,
        "other than the wheel's own",
        "other.egg-info/PKG-INFO",
    )
    yield Case(
        "foreign-dist-info-file",
        _extra("other-1.0.dist-info", b"x"),
        I,
        "other than the wheel's own",
        "other-1.0.dist-info",
    )
    # Names that break RECORD (importlib.metadata splits lines at each of these),
    # or hold terminal escapes.
    for char in "\v\f\x1c\x1d\x1e\x85\u2028\u2029":
        name = f"demo/a{char}b.py"
        yield Case(f"line-break-U+{ord(char):04X}", _extra(name), U, "line break", name)
    yield Case(
        "escape-sequence",
        _extra("demo/\x1b[31mred.py"),
        U,
        "control character",
        "demo/\x1b[31mred.py",
    )
    yield Case("tab", _extra("demo/a\tb.py"), U, "control character", "demo/a\tb.py")
    # Names beyond the limits (a component over NAME_MAX, a long name, a deep tree).
    long_component = "demo/" + "x" * 256 + ".py"
    yield Case("component-256-bytes", _extra(long_component), U, "259 bytes long", long_component)
    long_name = "demo/" + "/".join(["y" * 200] * 6) + ".py"
    yield Case("name-over-1024-bytes", _extra(long_name), U, "bytes long", long_name)
    deep = "demo/" + "d/" * 64 + "x.py"
    yield Case("65-deep", _extra(deep), U, "66 path components", deep)
    deeper = "demo/" + "d/" * 1100 + "x.py"
    yield Case("1100-deep", _extra(deeper), U, "1102 path components", deeper)
    # RECORD rows that no member could have: refused as hostile (pip would copy
    # them into the installed RECORD, for an uninstall to follow).
    yield Case(
        "record-row-dotdot",
        _record_says(_record_row("../../victim.txt,,")),
        U,
        "'..' segment: '../../victim.txt'",
        RECORD,
    )
    yield Case(
        "record-row-absolute",
        _record_says(_record_row("/etc/hostname,,")),
        U,
        "absolute RECORD path",
        RECORD,
    )
    yield Case(
        "record-row-backslash", _record_says(_record_row("..\\..\\x,,")), U, "backslash", RECORD
    )
    yield Case(
        "record-row-line-break",
        _record_says(_record_row('"demo/a\u2028b.py",,')),
        U,
        "line break",
        RECORD,
    )
    # Members read into memory, bounded by what real wheels need.
    yield Case(
        "record-too-many-rows",
        _record_says(
            lambda data: data + "".join(f"demo/n{i}.py,,\n" for i in range(1100)).encode()
        ),
        R,
        "more than the wheel has members",
        RECORD,
    )
    yield Case(
        "record-too-big",
        _record_says(lambda data: data + b"#" * (3 << 20) + b"\n"),
        I,
        "implausibly large",
        RECORD,
    )
    wheel_file = "demo-1.0.dist-info/WHEEL"
    padded = b"Wheel-Version: 1.0\nX-Pad: " + b"p" * (300 << 10) + b"\n"
    yield Case(
        "wheel-file-too-big", _changed(wheel_file, data=padded), I, "implausibly large", wheel_file
    )
    metadata_file = "demo-1.0.dist-info/METADATA"
    big_metadata = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n" + b"m" * (17 << 20)
    yield Case(
        "metadata-too-big",
        _changed(metadata_file, data=big_metadata),
        I,
        "implausibly large",
        metadata_file,
    )
    # Bombs: a directory that claims far more than the archive holds.
    yield Case("bomb-by-directory", _changed("demo/util.py", cd_usize=0xFFFF_FFF0), I, "expand")


CASES = {c.id: c for c in cases()}


@pytest.fixture(params=["archive", "cache"])
def cache_dir(request, tmp_path) -> Path | None:
    return None if request.param == "archive" else tmp_path / "cache"


@pytest.fixture
def env(tmp_path, core) -> tuple[fastinst.Scheme, Path]:
    """A scheme below tmp_path/env with a distribution (files, script, data) installed."""
    root = tmp_path / "env"
    scheme = fastinst.Scheme(
        purelib=str(root / "lib"),
        platlib=str(root / "lib"),
        headers=str(root / "include/demo"),
        scripts=str(root / "bin"),
        data=str(root),
        python="/usr/bin/python3-test",
    )
    wheels = tmp_path / "keep-wheel"
    wheels.mkdir()
    keep = make_wheel(
        wheels,
        WheelSpec(
            name="keep",
            files={"keep/__init__.py": "K = 1\n", "keep-1.0.data/data/share/k.txt": "k"},
            entry_points={"console_scripts": {"keep": "keep:main"}},
        ),
    )
    fastinst.install([keep], scheme, cache_dir=None)
    # The old version of the wheel under test, so that an upgrade is what is refused.
    old = make_wheel(
        wheels, WheelSpec(name="demo", version="0.9", files={"demo/__init__.py": "OLD\n"})
    )
    fastinst.install([old], scheme, cache_dir=None)
    return scheme, root


def _check_refused(
    case: Case, whl: Path, run: Callable[[], object], tmp_path: Path, root: Path
) -> None:
    before = tree_snapshot(tmp_path)  # the environment, the wheel, everything but the cache
    with pytest.raises(case.error) as info:
        run()
    exc = info.value
    assert isinstance(exc, fastinst.FastinstError)
    message = str(exc)
    assert str(whl) in message
    assert case.fragment in message
    if case.member is not None:
        assert case.member in message
        assert exc.member == case.member
    assert tree_snapshot(tmp_path) == before
    assert leftovers(root) == []
    cache = tmp_path / "cache"
    # The cache may keep a (verified, complete) entry of a wheel refused only at
    # planning (an unknown .data key): it is refused again on every use. It never
    # keeps half-built entries.
    if (cache / "tmp").exists():
        assert list((cache / "tmp").iterdir()) == []
    if cache.exists():
        from fastinst._cache import WheelCache

        assert WheelCache(str(cache)).verify(repair=False) == []


@pytest.mark.parametrize("case_id", list(CASES))
def test_refused_whole(case_id, env, cache_dir, tmp_path):
    case = CASES[case_id]
    scheme, root = env
    d = tmp_path / "wheels"
    d.mkdir()
    whl = case.build(d)
    _check_refused(
        case, whl, lambda: fastinst.install([whl], scheme, cache_dir=cache_dir), tmp_path, root
    )
    assert [x.name for x in fastinst.list_installed(scheme)] == ["demo", "keep"]


def test_real_zip_bomb(real_bomb, env, tmp_path):
    scheme, root = env
    ratio = (220 << 20) / real_bomb.stat().st_size
    assert ratio > fastinst._wheel.MAX_EXPANSION_RATIO
    case = Case("bomb", lambda d: real_bomb, InvalidWheel, "over 200x")
    _check_refused(
        case,
        real_bomb,
        lambda: fastinst.install([real_bomb], scheme, cache_dir=tmp_path / "cache"),
        tmp_path,
        root,
    )


def test_a_hostile_wheel_among_good_ones_installs_nothing(env, tmp_path):
    scheme, root = env
    d = tmp_path / "wheels"
    d.mkdir()
    good = make_wheel(
        d,
        WheelSpec(name="fine", files={"fine/__init__.py": "", "fine/big.bin": os.urandom(1 << 20)}),
    )
    hostile = CASES["bad-crc"].build(d)  # found only while extracting, after fine's files
    before = tree_snapshot(root)
    with pytest.raises(CorruptArchive):
        fastinst.install([good, hostile], scheme, cache_dir=None)
    assert tree_snapshot(root) == before


# --- what pip and uv install, fastinst installs too --------------------------------------


def _installed_record(scheme: fastinst.Scheme, dist_info: str) -> list[str]:
    with open(Path(scheme.purelib, dist_info, "RECORD"), newline="") as f:
        return [row[0] for row in csv.reader(f)]


def test_wheel_version_0_installs_with_a_warning(core, scheme, wheel_dir, caplog):
    """pip installs its own ``simple.dist-0.1`` fixture (Wheel-Version 0.1)."""
    whl = make_wheel(wheel_dir, WheelSpec(name="demo", files=dict(GOOD.files), wheel_version="0.1"))
    with caplog.at_level("WARNING", logger="fastinst"):
        fastinst.install([whl], scheme, cache_dir=None)
    assert "Wheel-Version 0.1 is older than 1.0; installing anyway" in caplog.text
    assert Path(scheme.purelib, "demo/util.py").read_text() == "y = 2\n"


@pytest.mark.parametrize("cache", [False, True])
def test_entry_point_names_below_the_scripts_directory(core, scheme, wheel_dir, tmp_path, cache):
    """``sub/tool`` and ``a/../b`` stay inside the scripts directory: pip writes
    ``bin/sub/tool`` and ``bin/b`` (and so does uv, given ``bin/sub``)."""
    eps = {"console_scripts": {"sub/tool": "demo:main", "a/../b": "demo:main"}}
    whl = make_wheel(wheel_dir, WheelSpec(name="demo", files=dict(GOOD.files), entry_points=eps))
    fastinst.install([whl], scheme, cache_dir=tmp_path / "cache" if cache else None)
    scripts = Path(scheme.scripts)
    assert sorted(str(p.relative_to(scripts)) for p in scripts.rglob("*")) == [
        "b",
        "sub",
        "sub/tool",
    ]
    assert (scripts / "sub/tool").read_text().startswith("#!/usr/bin/python3-test\n")
    rows = _installed_record(scheme, "demo-1.0.dist-info")
    assert "../bin/b" in rows and "../bin/sub/tool" in rows
    fastinst.uninstall("demo", scheme)
    assert not scripts.exists() or list(scripts.rglob("*")) == []


def test_a_console_and_a_gui_script_of_one_name(core, scheme, wheel_dir, caplog):
    """pip and uv write both, the GUI script last: its launcher is what stays.
    (fastinst used to fail with ``[Errno 17] File exists`` naming its staging area.)"""
    eps = {"console_scripts": {"t": "demo:cli"}, "gui_scripts": {"t": "demo:gui"}}
    whl = make_wheel(wheel_dir, WheelSpec(name="demo", files=dict(GOOD.files), entry_points=eps))
    with caplog.at_level("WARNING", logger="fastinst"):
        fastinst.install([whl], scheme, cache_dir=None)
    assert "declares the script 't' twice" in caplog.text
    launcher = Path(scheme.scripts, "t").read_text()
    assert "from demo import gui" in launcher and "cli" not in launcher
    assert _installed_record(scheme, "demo-1.0.dist-info").count("../bin/t") == 1


def test_dist_info_whose_version_holds_a_dash(core, scheme, wheel_dir):
    """``simple_dist-1.0.0-rc1.dist-info`` is 1.0.0rc1 (pip and uv install it); it was
    refused as being "for 'simple_dist-1.0.0'"."""
    spec = WheelSpec(name="simple_dist", version="1.0.0rc1", files={"simple_dist/__init__.py": ""},
                     dist_info_name="simple_dist-1.0.0-rc1")  # fmt: skip
    whl = make_wheel(wheel_dir, spec)
    [result] = fastinst.install([whl], scheme, cache_dir=None)
    assert Path(result.dist_info).name == "simple_dist-1.0.0-rc1.dist-info"
    assert [d.version for d in fastinst.list_installed(scheme)] == ["1.0.0rc1"]


# --- what a name means in the scheme it is installed into --------------------------------


@pytest.fixture(scope="module")
def real_venv(tmp_path_factory) -> Path:
    import venv

    path = tmp_path_factory.mktemp("venv") / "env"
    venv.create(path, with_pip=False, symlinks=True)
    return path


def _venv_snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """The venv's own files (the interpreter links, pyvenv.cfg) as they are."""
    return {
        str(p.relative_to(root)): (p.lstat().st_mode, os.readlink(p) if p.is_symlink() else b"")
        for p in sorted(root.rglob("*"))
    }


def _data_member(path: str) -> Callable[[Path], Path]:
    return _extra(f"demo-1.0.data/data/{path}", b"#!/bin/sh\necho owned\n", mode=0o100755)


@pytest.mark.parametrize(
    ("member", "fragment"),
    [
        ("bin/python", "interpreter"),
        ("bin/python3", "interpreter"),
        ("bin/python{v}", "interpreter"),
        ("bin/Python3.99", "interpreter"),
        ("pyvenv.cfg", "pyvenv.cfg"),
        ("lib/python{v}/site-packages/other-1.0.dist-info/METADATA", "other than the wheel's own"),
        ("lib/python{v}/site-packages/other.egg-info", "other than the wheel's own"),
    ],
)
@pytest.mark.parametrize("cache", [False, True])
def test_data_files_that_would_replace_the_environment(
    core, real_venv, tmp_path, member, fragment, cache
):
    """``.data/data`` lands in the venv's prefix: its ``bin/python*``, its
    ``pyvenv.cfg`` and its site-packages' metadata are refused (uv refuses the
    interpreter names; pip and uv install the rest)."""
    import sys

    scheme = fastinst.get_scheme(str(real_venv / "bin" / "python"))
    member = member.format(v=f"{sys.version_info[0]}.{sys.version_info[1]}")
    d = tmp_path / "wheels"
    d.mkdir()
    whl = _data_member(member)(d)
    before = _venv_snapshot(real_venv)
    cfg = (real_venv / "pyvenv.cfg").read_bytes()
    with pytest.raises(InvalidWheel, match=fragment) as info:
        fastinst.install([whl], scheme, cache_dir=tmp_path / "cache" if cache else None)
    assert info.value.member == f"demo-1.0.data/data/{member}"
    assert str(whl) in str(info.value)
    assert _venv_snapshot(real_venv) == before
    assert (real_venv / "pyvenv.cfg").read_bytes() == cfg


def test_launcher_and_data_script_cannot_be_a_file_and_a_directory(core, scheme, wheel_dir):
    """An entry point ``sub/tool`` and a ``.data/scripts/sub`` file: one needs a
    directory where the other is a file. Refused, naming both, before anything
    is written."""
    eps = {"console_scripts": {"sub/tool": "demo:main"}}
    files = {**GOOD.files, "demo-1.0.data/scripts/sub": "#!python\n"}
    whl = make_wheel(wheel_dir, WheelSpec(name="demo", files=files, entry_points=eps))
    with pytest.raises(UnsafePath, match="both a file and a directory") as info:
        fastinst.install([whl], scheme, cache_dir=None)
    assert info.value.member == "demo-1.0.data/scripts/sub"
    assert not Path(scheme.purelib).exists() or list(Path(scheme.purelib).iterdir()) == []


def test_launcher_and_data_file_at_one_path(core, real_venv, tmp_path):
    """A launcher ``tool`` and ``.data/data/bin/tool`` are one file in a venv."""
    scheme = fastinst.get_scheme(str(real_venv / "bin" / "python"))
    d = tmp_path / "wheels"
    d.mkdir()
    members = raw_members(
        WheelSpec(name="demo", files=dict(GOOD.files),
                  entry_points={"console_scripts": {"tool": "demo:main"}}),
        [Raw(b"demo-1.0.data/data/bin/tool", b"#!/bin/sh\n")],
    )  # fmt: skip
    whl = craft_zip(d / WHEEL_NAME, record_for(members, true_record(members, RECORD)))
    with pytest.raises(UnsafePath, match="install to the same path") as info:
        fastinst.install([whl], scheme, cache_dir=None)
    assert "entry_points.txt" in str(info.value) and "data/bin/tool" in str(info.value)
    assert not (real_venv / "bin" / "tool").exists()


_OPEN_AND_MEASURE = """
import resource, sys
from fastinst._wheel import open_wheel
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
wheel = open_wheel(sys.argv[1])
print(len(wheel.files), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


@pytest.fixture(scope="module")
def deep_wide_wheel(tmp_path_factory) -> Path:
    """5,000 names 62 components deep (within the limits), each in a directory of
    its own: a wheel of 9.6 MB."""
    component = "d" * 14
    files: dict[str, str | bytes] = {"demo/__init__.py": ""}
    for i in range(5000):
        files[f"demo/a{i:05d}/" + "/".join([component] * 60) + "/f.py"] = ""
    return make_wheel(tmp_path_factory.mktemp("deep-wide"), WheelSpec(name="demo", files=files))


@pytest.mark.parametrize("no_extensions", ["", "1"], ids=["compiled", "python"])
def test_name_checks_take_memory_linear_in_the_names(deep_wide_wheel, no_extensions):
    """Checking names built every parent of every name (memory quadratic in the
    depth: 170 MB for this 9.6 MB wheel, 6 GB for a 385 KB one 1,100 deep); now
    about 40 MB, mostly the member table itself."""
    import subprocess
    import sys

    env = {**os.environ, "FASTINST_NO_EXTENSIONS": no_extensions}
    out = subprocess.run(
        [sys.executable, "-c", _OPEN_AND_MEASURE, str(deep_wide_wheel)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    files, kib = map(int, out.stdout.split())
    assert files == 5000 + 4  # and the .dist-info's METADATA, WHEEL, RECORD
    assert kib < 100 << 10, f"opening the wheel took {kib >> 10} MB more"


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory"])
@pytest.mark.parametrize("cache", [False, True])
def test_only_regular_files_are_wheels(core, scheme, tmp_path, kind, cache):
    """A FIFO or a device is never read (with the cache on, hashing one hung for
    ever); the refusal says what it is."""
    whl = tmp_path / WHEEL_NAME
    if kind == "fifo":
        os.mkfifo(whl)
    elif kind == "dev-zero":
        whl.symlink_to("/dev/zero")
    else:
        whl.mkdir()
    expected = {"fifo": "a FIFO", "dev-zero": "a character device", "directory": "a directory"}
    with pytest.raises(InvalidWheel, match=f"not a regular file \\({expected[kind]}\\)"):
        fastinst.install([whl], scheme, cache_dir=tmp_path / "cache" if cache else None)
    with pytest.raises(InvalidWheel, match="not a regular file"):
        fastinst.install([whl], scheme, dry_run=True)


def test_tampered_installed_record_cannot_steer_uninstall(env, tmp_path, caplog):
    """An installed RECORD edited to reach outside the scheme: that row is left alone
    with a warning (as uv does), and uninstall and upgrade still work (one such row
    used to block both for good)."""
    scheme, _root = env
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    row = os.path.relpath(victim, scheme.purelib)
    d = tmp_path / "wheels"
    d.mkdir()
    whl = make_wheel(d, GOOD)
    for action in ("upgrade", "uninstall"):  # 0.9 to 1.0, then 1.0
        [info] = Path(scheme.purelib).glob("demo-*.dist-info")
        record = info / "RECORD"
        record.write_text(record.read_text() + f"{row},,\n")
        with caplog.at_level("WARNING", logger="fastinst"):
            if action == "uninstall":
                fastinst.uninstall("demo", scheme)
            else:
                fastinst.install([whl], scheme, cache_dir=None)
        assert f"not removing {row}: outside the environment" in caplog.text
        assert victim.read_text() == "precious\n"
        assert not info.exists()
        caplog.clear()


def test_symlinked_directory_in_the_environment_cannot_steer_uninstall(env, tmp_path):
    """A directory of the installed package replaced by a symlink out of the scheme:
    uninstall must not delete through it (what lies behind it is left, with a warning)."""
    scheme, _root = env
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "__init__.py").write_text("K = 1\n")
    pkg = Path(scheme.purelib, "keep")
    for p in pkg.iterdir():
        p.unlink() if p.is_file() else None
    pkg.rmdir()
    pkg.symlink_to(outside)
    [result] = fastinst.uninstall("keep", scheme)
    assert result.kept and "symlink" in result.kept[0]
    assert (outside / "__init__.py").read_text() == "K = 1\n"


# --- the environment as it is ------------------------------------------------------------


@pytest.mark.parametrize("cache", [False, True])
def test_a_users_file_where_the_wheel_has_a_directory(core, env, tmp_path, cache):
    """``lib/demo`` is a file nobody installed: pip and uv refuse (ENOTDIR, EEXIST);
    it was silently deleted (``removed: []``). Refused, naming the wheel and a member."""
    scheme, root = env
    fastinst.uninstall("demo", scheme)  # the 0.9 the fixture installed
    user_file = Path(scheme.purelib, "demo")
    user_file.write_text("the user's\n")
    d = tmp_path / "wheels"
    d.mkdir()
    whl = make_wheel(d, GOOD)
    before = tree_snapshot(root)
    with pytest.raises(fastinst.InstallIOError) as info:
        fastinst.install([whl], scheme, cache_dir=tmp_path / "cache" if cache else None)
    message = str(info.value)
    assert f"{user_file} is a file, but {whl} installs the directory of demo/" in message
    assert tree_snapshot(root) == before
    assert user_file.read_text() == "the user's\n"
    assert leftovers(root) == []


@pytest.mark.parametrize("cache", [False, True])
def test_a_data_script_over_64_mib(core, scheme, wheel_dir, tmp_path, cache):
    """A ``.data/scripts`` file is streamed (its ``#!python`` line rewritten on the
    way) from the archive and from the cache alike: it was refused as "implausibly
    large" without the cache and installed with it."""
    body = b"#" * (65 << 20) + b"\n"
    files = {**GOOD.files, "demo-1.0.data/scripts/big": b"#!python -u\n" + body}
    whl = make_wheel(wheel_dir, WheelSpec(name="demo", files=files))
    fastinst.install([whl], scheme, cache_dir=tmp_path / "cache" if cache else None)
    installed = Path(scheme.scripts, "big")
    with open(installed, "rb") as f:
        assert f.readline() == b"#!/usr/bin/python3-test\n"
        assert f.read() == body
    assert installed.stat().st_mode & 0o111
    with open(Path(scheme.purelib, "demo-1.0.dist-info/RECORD"), newline="") as f:
        rows = {r[0]: r for r in csv.reader(f)}
    expected = encode_hash(hashlib.sha256(installed.read_bytes()).digest())
    assert rows["../bin/big"][1:] == [expected, str(installed.stat().st_size)]


def test_a_data_script_that_lies_about_its_hash(core, scheme, wheel_dir, tmp_path):
    """Streamed, it is still checked against RECORD (the wrong bytes never publish)."""
    files = {**GOOD.files, "demo-1.0.data/scripts/tool": b"#!python\nprint(1)\n"}
    whl = make_wheel(wheel_dir, WheelSpec(name="demo", files=files))
    rewrite_wheel(whl, replace={"demo-1.0.data/scripts/tool": b"#!python\nprint(2)\n"})
    with pytest.raises(RecordMismatch, match="hash differs from RECORD") as info:
        fastinst.install([whl], scheme, cache_dir=None)
    assert info.value.member == "demo-1.0.data/scripts/tool"
    assert not Path(scheme.scripts).exists()


# --- the command line -------------------------------------------------------------------

CLI_SAMPLE = [
    "dotdot",
    "nul",
    "not-utf8",
    "symlink",
    "bad-crc",
    "cd-and-record-size-lie",
    "truncated-half",
    "not-zip",
    "other-name",
    "wheel-version-2",
    "unknown-data-key",
    "ep-dotdot",
    "bomb-by-directory",
    "record-hash-lies",
    "escape-sequence",
    "record-row-dotdot",
    "ep-python",
    "component-256-bytes",
]


@pytest.mark.parametrize("cache", ["--no-cache", "--cache-dir"])
@pytest.mark.parametrize("case_id", CLI_SAMPLE)
def test_cli_one_line_exit_1(case_id, cache, tmp_path):
    case = CASES[case_id]
    d = tmp_path / "wheels"
    d.mkdir()
    whl = case.build(d)
    target = tmp_path / "target"
    target.mkdir()
    (target / "existing.py").write_text("keep\n")
    before = tree_snapshot(tmp_path)
    args = ["--no-cache"] if cache == "--no-cache" else ["--cache-dir", str(tmp_path / "cache")]
    out = run_cli("install", "--target", str(target), *args, str(whl))
    assert out.returncode == 1, out
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("fastinst: error: ") and str(whl) in lines[0]
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr
    assert "\x1b" not in out.stderr  # names are printed with control characters escaped
    assert ".fastinst-stage" not in out.stderr and "[Errno" not in out.stderr
    assert out.stdout == ""
    assert tree_snapshot(tmp_path) == before


def test_cli_show_files_escapes_control_characters(tmp_path):
    """A RECORD written by another installer may hold terminal escapes: ``show
    --files`` prints them escaped, never raw."""
    d = tmp_path / "wheels"
    d.mkdir()
    whl = make_wheel(d, GOOD)
    target = tmp_path / "target"
    assert run_cli("install", "--target", str(target), "--no-cache", str(whl)).returncode == 0
    record = target / "demo-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text() + "demo/\x1b[2J\x1b]0;owned\x07.py,,\n")
    out = run_cli("show", "--target", str(target), "--files", "demo")
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout
    assert "demo/\\x1b[2J\\x1b]0;owned\\x07.py" in out.stdout


def test_cli_compile_quiet_prints_nothing(tmp_path):
    """The compiler's SyntaxWarnings about a wheel's code are not printed (pip
    silences them); the .pyc files are written all the same."""
    d = tmp_path / "wheels"
    d.mkdir()
    code = 'def f(x):\n    assert (x, "always true")\n    return x is 1\n'
    whl = make_wheel(d, WheelSpec(name="warny", files={"warny/__init__.py": code}))
    target = tmp_path / "target"
    out = run_cli("install", "-q", "--compile", "--target", str(target), "--no-cache", str(whl))
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == ""
    assert list((target / "warny" / "__pycache__").glob("__init__.*.pyc"))


@pytest.mark.parametrize("cache", ["--no-cache", "--cache-dir"])
def test_cli_direct_url_has_the_wheels_sha256(tmp_path, cache):
    """pip writes ``archive_info.hashes`` (and the older ``hash``) for a local wheel."""
    d = tmp_path / "wheels"
    d.mkdir()
    whl = make_wheel(d, GOOD)
    target = tmp_path / "target"
    args = ["--no-cache"] if cache == "--no-cache" else ["--cache-dir", str(tmp_path / "cache")]
    assert run_cli("install", "--target", str(target), *args, str(whl)).returncode == 0
    digest = hashlib.sha256(whl.read_bytes()).hexdigest()
    direct = json.loads((target / "demo-1.0.dist-info" / "direct_url.json").read_text())
    assert direct == {
        "url": whl.resolve().as_uri(),
        "archive_info": {"hash": f"sha256={digest}", "hashes": {"sha256": digest}},
    }


# --- local headers that disagree with the central directory ---------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"lh_usize": 0, "lh_csize": 0},
        {"lh_usize": 1 << 30, "lh_csize": 1 << 30},
    ],
    ids=["sizes-zero", "sizes-huge"],
)
def test_local_header_is_never_trusted_for_sizes(fields, env, tmp_path):
    """Sizes come from the central directory only (data descriptors make local sizes
    legitimately zero); what a local header says cannot steer a write, and the data
    is still checked against CRC and RECORD. (A local header with another name is
    refused: the case local-name-differs.)"""
    scheme, _root = env
    d = tmp_path / "wheels"
    d.mkdir()
    whl = _changed("demo/util.py", **fields)(d)
    before = tree_snapshot(tmp_path, exclude=("env", "wheels"))
    fastinst.install([whl], scheme, cache_dir=None)
    assert Path(scheme.purelib, "demo/util.py").read_text() == "y = 2\n"
    assert tree_snapshot(tmp_path, exclude=("env", "wheels")) == before
    assert not (tmp_path / "evil.py").exists() and not Path("/evil.py").exists()


def test_unreadable_installed_record_refuses_uninstall_and_upgrade(env, tmp_path):
    """An installed RECORD that cannot be read is not guessed at: uninstall and an
    upgrade are refused with UnsafePath and change nothing."""
    scheme, _root = env
    record = Path(scheme.purelib, "demo-0.9.dist-info", "RECORD")
    record.write_bytes(record.read_bytes() + b"demo/\xff\xfe.py,,\n")
    d = tmp_path / "wheels"
    d.mkdir()
    whl = make_wheel(d, GOOD)
    before = tree_snapshot(tmp_path)
    with pytest.raises(UnsafePath, match="RECORD cannot be read"):
        fastinst.uninstall("demo", scheme)
    with pytest.raises(UnsafePath, match="RECORD cannot be read"):
        fastinst.install([whl], scheme, cache_dir=None)
    assert tree_snapshot(tmp_path) == before


@pytest.mark.parametrize("row", ["demo/a\x00b.py,,", "demo/x.py,\r,", '"demo/un,closed'])
def test_odd_installed_record_rows_never_crash_uninstall(row, env, tmp_path):
    scheme, _root = env
    record = Path(scheme.purelib, "demo-0.9.dist-info", "RECORD")
    record.write_text(record.read_text() + row + "\n", newline="")
    outside = tree_snapshot(tmp_path, exclude=("env",))
    with contextlib.suppress(fastinst.FastinstError):
        fastinst.uninstall("demo", scheme)
    assert tree_snapshot(tmp_path, exclude=("env",)) == outside
    assert Path(scheme.purelib, "keep/__init__.py").exists()
