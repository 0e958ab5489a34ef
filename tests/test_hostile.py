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
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import fastinst
from conftest import run_cli, tree_snapshot
from fastinst import CorruptArchive, InvalidWheel, RecordMismatch, UnsafePath
from faults import Raw, craft_zip, leftovers, raw_members, record_for, true_record
from wheelmaker import Member, WheelSpec, build_members, corrupt_crc, make_wheel, write_zip

GOOD = WheelSpec(name="demo", files={"demo/__init__.py": "x = 1\n", "demo/util.py": "y = 2\n"})
WHEEL_NAME = "demo-1.0-py3-none-any.whl"
RECORD = "demo-1.0.dist-info/RECORD"


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
    yield Case("ep-backslash", _entry_point("..\\evil"), U, "scripts directory")
    yield Case("ep-dotdot-only", _entry_point(".."), U, "scripts directory")
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


# --- RECORD rows that point outside --------------------------------------------------


def test_record_rows_outside_never_reach_the_installed_record(env, tmp_path):
    """A wheel's RECORD may list paths that are no member (``../../x``): they are not
    installed, not written into the installed RECORD, and uninstall never touches them."""
    scheme, _root = env
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    rows = ["../../victim.txt,,", "../../../../../../../../etc/passwd,,", "/etc/hostname,,"]
    d = tmp_path / "wheels"
    d.mkdir()
    whl = _record_says(lambda data: data + "\n".join(rows).encode() + b"\n")(d)
    fastinst.install([whl], scheme, cache_dir=None)
    info = Path(scheme.purelib, "demo-1.0.dist-info")
    with open(info / "RECORD", newline="") as f:
        recorded = [r[0] for r in csv.reader(f)]
    assert all(not r.startswith(("/", "../../..")) for r in recorded), recorded
    assert not any("victim" in r or "passwd" in r or "hostname" in r for r in recorded)
    fastinst.uninstall("demo", scheme)
    assert victim.read_text() == "precious\n"
    assert not info.exists()


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
    assert out.stdout == ""
    assert tree_snapshot(tmp_path) == before


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
