"""The core, compiled and pure-Python, on real archives and files: same results, same errors."""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import random
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import load_core
from fastinst import _core_py
from fastinst._errors import CoreFailure, CorruptArchive
from wheelmaker import ZIP_ZSTANDARD, Member, corrupt_crc, make_wheel, write_zip

try:
    from fastinst import _core as _compiled
except ImportError:  # reported by test_compiled_core_is_importable
    _compiled = None

UMASK = os.umask(0)
os.umask(UMASK)


def test_compiled_core_is_importable():
    """Fails when the extension did not build (the pure core would hide it)."""
    if os.environ.get("FASTINST_NO_EXTENSIONS"):
        pytest.skip("pure-Python core forced by FASTINST_NO_EXTENSIONS")
    import fastinst._core

    assert fastinst._core.__file__.endswith(".so")


# --- helpers ---------------------------------------------------------------------------


def tasks_for(archive: Path, dest: Path, **expected: tuple[bytes, int]) -> list[tuple]:
    """A task per member of ``archive``, into ``dest`` under its own name (flat)."""
    tasks = []
    for name, method, _f, crc, csize, usize, offset, attr in _core_py.read_central_directory(
        str(archive)
    ):
        sha, size = expected.get(name, (b"", -1))
        mode = (attr >> 16) & 0o7777 or 0o644
        out = str(dest / name.split("/")[-1])
        tasks.append((offset, method, csize, usize, crc, out, mode, sha, size, name))
    return tasks


def digests(blob: bytes) -> list[bytes]:
    return [blob[i : i + 32] for i in range(0, len(blob), 32)]


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def raw_zip(
    members: list[tuple[bytes, bytes, int]],
    *,
    zip64: bool = False,
    comment: bytes = b"",
    descriptor: bool = False,
    local_extra: bytes = b"",
) -> bytes:
    """A zip of ``(name, data, method)`` written by hand; ``zip64`` uses the ZIP64 forms
    (sizes and offsets in the extra field, a zip64 end record and locator),
    ``descriptor`` leaves CRC and sizes out of the local headers (flag bit 3, a data
    descriptor after the data), ``local_extra`` goes into every local header only."""
    out, central = bytearray(), bytearray()
    flags = 0x808 if descriptor else 0x800
    for name, data, method in members:
        if method == zipfile.ZIP_DEFLATED:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            packed = c.compress(data) + c.flush()
        else:
            packed = data
        crc, offset = zlib.crc32(data), len(out)
        common = (flags, method, 0, 0x5021, crc)
        local = (20, *common, len(packed), len(data), len(name), len(local_extra))
        if descriptor:
            local = (20, flags, method, 0, 0x5021, 0, 0, 0, len(name), len(local_extra))
        out += struct.pack("<4s5HIIIHH", b"PK\x03\x04", *local) + name + local_extra + packed
        if descriptor:
            out += struct.pack("<4sIII", b"PK\x07\x08", crc, len(packed), len(data))
        if zip64:
            extra = struct.pack("<HHQQQ", 1, 24, len(data), len(packed), offset)
            sizes = (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
        else:
            extra, sizes = b"", (len(packed), len(data), offset)
        csize, usize, off = sizes
        fields = (0x033F, 45, *common, csize, usize, len(name), len(extra), 0, 0, 0)
        entry = struct.pack("<4s6HIIIHHHHHII", b"PK\x01\x02", *fields, 0o100644 << 16, off)
        central += entry + name + extra
    cd_offset, n = len(out), len(members)
    out += central
    if zip64:
        z64 = len(out)
        out += struct.pack(
            "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, len(central), cd_offset
        )
        out += struct.pack("<4sIQI", b"PK\x06\x07", 0, z64, 1)
        out += struct.pack(
            "<4s4HIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, len(comment)
        )
    else:
        out += struct.pack(
            "<4s4HIIH", b"PK\x05\x06", 0, 0, n, n, len(central), cd_offset, len(comment)
        )
    return bytes(out + comment)


def failure(core, jobs, threads=1) -> CoreFailure:
    with pytest.raises(CoreFailure) as info:
        core.extract(jobs, threads)
    return info.value


MIXED = [
    Member("pkg/__init__.py", b"x = 1\n" * 50),
    Member("pkg/data.bin", bytes(range(256)) * 40, 0o600, zipfile.ZIP_STORED),
    Member("pkg/run.sh", b"#!/bin/sh\necho hi\n", 0o755),
    Member("pkg/zst.txt", b"zstandard " * 300, compress=ZIP_ZSTANDARD),
    Member("pkg/empty", b""),
    Member("pkg/empty-stored", b"", compress=zipfile.ZIP_STORED),
]


@pytest.fixture(
    params=["compiled", "compiled-streaming", "compiled-zlib-streaming", "compiled-no-budget",
            "python"]
)  # fmt: skip
def xcore(request):
    """The cores, for extract; "compiled-streaming" streams every member (the path of
    members too big to inflate in memory: through ISA-L when the core was built with
    it), "compiled-zlib-streaming" the same through zlib, "compiled-no-budget"
    streams those over 4 MiB (without ISA-L: the path when the memory budget is used
    up)."""
    module = load_core(request.param.split("-")[0])
    if request.param.endswith("streaming"):
        old = module._set_stream_threshold(0)
        streamer = module._set_streamer("zlib" if "zlib" in request.param else module.STREAMER)
        yield module
        module._set_stream_threshold(old)
        module._set_streamer(streamer)
    elif request.param.endswith("no-budget"):
        old = module._set_memory_budget(0)
        yield module
        module._set_memory_budget(old)
    else:
        yield module


# --- extract: the happy paths ----------------------------------------------------------


class TestExtract:
    @pytest.fixture
    def core(self, xcore):
        return xcore

    def test_round_trip_of_every_method(self, core, tmp_path):
        archive = write_zip(tmp_path / "mixed.whl", MIXED)
        (tmp_path / "out").mkdir()
        [blob] = core.extract([(str(archive), tasks_for(archive, tmp_path / "out"))], 0)
        assert digests(blob) == [sha(m.data) for m in MIXED]
        for m in MIXED:
            path = tmp_path / "out" / m.name.split("/")[1]
            assert path.read_bytes() == m.data
            assert stat.S_IMODE(path.stat().st_mode) == m.mode & ~UMASK

    def test_big_members(self, core, tmp_path):
        rnd = random.Random(1)
        noise = rnd.randbytes(3 << 20)
        text = b"".join(b"line %d of a big text file\n" % i for i in range(200_000))
        members = [
            Member("noise.bin", noise),
            Member("noise.raw", noise, compress=zipfile.ZIP_STORED),
            Member("text.txt", text),
        ]
        archive = write_zip(tmp_path / "big.whl", members)
        (tmp_path / "out").mkdir()
        [blob] = core.extract([(str(archive), tasks_for(archive, tmp_path / "out"))], 2)
        assert digests(blob) == [sha(m.data) for m in members]
        for m in members:
            assert (tmp_path / "out" / m.name).read_bytes() == m.data

    def test_stamps_are_what_the_new_files_are(self, core, tmp_path):
        """With ``stamps``, each task's new file's size and mtime_ns (what a cache
        table records), taken from the file the core wrote: whole, streamed, zstd."""
        big = Member("pkg/noise.bin", random.Random(2).randbytes(5 << 20))
        archive = write_zip(tmp_path / "mixed.whl", [*MIXED, big])
        (tmp_path / "out").mkdir()
        tasks = tasks_for(archive, tmp_path / "out")
        stamps = [bytearray(16 * len(tasks)), bytearray()]
        core.extract([(str(archive), tasks), (str(archive), [])], 2, None, stamps)
        for i, task in enumerate(tasks):
            st = os.lstat(task[5])
            assert struct.unpack_from("<Qq", stamps[0], 16 * i) == (st.st_size, st.st_mtime_ns)
        with pytest.raises(ValueError, match="stamps"):
            core.extract([(str(archive), tasks)], 1, None, [bytearray(16)])
        with pytest.raises(ValueError, match="stamps"):
            core.extract([(str(archive), tasks)], 1, None, [bytes(16 * len(tasks))])

    @pytest.mark.parametrize("threads", [1, 2, 0])
    def test_many_members_over_several_jobs(self, core, tmp_path, threads):
        rnd = random.Random(threads)
        jobs, expected = [], []
        for j in range(4):
            members = [
                Member(
                    f"f{i}",
                    rnd.randbytes(rnd.randrange(0, 5000)) * rnd.randrange(1, 4),
                    compress=rnd.choice([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]),
                )
                for i in range(60)
            ]
            archive = write_zip(tmp_path / f"job{j}.whl", members)
            out = tmp_path / f"out{j}"
            out.mkdir()
            jobs.append((str(archive), tasks_for(archive, out)))
            expected.append((out, members))
        jobs.append((str(tmp_path / "no-tasks.whl"), []))  # never opened
        blobs = core.extract(jobs, threads)
        assert len(blobs) == 5 and blobs[4] == b""
        for blob, (out, members) in zip(blobs, expected):
            assert digests(blob) == [sha(m.data) for m in members]
            assert all((out / m.name).read_bytes() == m.data for m in members)

    def test_nothing_to_do(self, core):
        assert core.extract([], 0) == []

    def test_matching_expectations_pass(self, core, tmp_path):
        data = b"expected content\n"
        archive = write_zip(tmp_path / "a.whl", [Member("a", data)])
        tasks = tasks_for(archive, tmp_path, a=(sha(data), len(data)))
        assert core.extract([(str(archive), tasks)], 1) == [sha(data)]

    def test_real_wheel(self, core, tmp_path):
        wheel = make_wheel(tmp_path, name="demo", files={"demo/__init__.py": "x = 1\n"})
        out = tmp_path / "out"
        out.mkdir()
        entries = core.read_central_directory(str(wheel))
        tasks = [
            (e[6], e[1], e[4], e[5], e[3], str(out / e[0].replace("/", "_")), 0o644, b"", -1, e[0])
            for e in entries
        ]
        [blob] = core.extract([(str(wheel), tasks)], 0)
        with zipfile.ZipFile(wheel) as zf:
            assert digests(blob) == [sha(zf.read(e[0])) for e in entries]


# --- extract: failures ----------------------------------------------------------------


class TestExtractFailures:
    @pytest.fixture
    def core(self, xcore):
        return xcore

    DATA = b"some content that is long enough to be deflated properly " * 20

    def archive(self, tmp_path, compress=zipfile.ZIP_DEFLATED) -> Path:
        return write_zip(
            tmp_path / "a.whl",
            [Member("small", b"tiny"), Member("big", self.DATA, compress=compress)],
        )

    def test_sha256_mismatch(self, core, tmp_path):
        archive = self.archive(tmp_path)
        tasks = tasks_for(archive, tmp_path, big=(sha(b"other"), -1))
        f = failure(core, [(str(archive), tasks)])
        assert (f.kind, f.job, f.index, f.errno) == ("sha256", 0, 1, 0)
        assert not (tmp_path / "big").exists()

    def test_digest_of_another_length_never_matches(self, core, tmp_path):
        archive = self.archive(tmp_path)
        tasks = tasks_for(archive, tmp_path, big=(sha(self.DATA)[:31], -1))
        assert failure(core, [(str(archive), tasks)]).kind == "sha256"

    def test_record_size_mismatch(self, core, tmp_path):
        archive = self.archive(tmp_path)
        tasks = tasks_for(archive, tmp_path, big=(b"", len(self.DATA) + 1))
        f = failure(core, [("unused", []), (str(archive), tasks)])
        assert (f.kind, f.job, f.index) == ("record-size", 1, 1)

    @pytest.mark.parametrize("compress", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, ZIP_ZSTANDARD])
    def test_bad_crc(self, core, tmp_path, compress):
        archive = self.archive(tmp_path, compress)
        corrupt_crc(archive, "big")
        f = failure(core, [(str(archive), tasks_for(archive, tmp_path))])
        assert (f.kind, f.index) == ("crc", 1)

    @pytest.mark.parametrize("compress", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, ZIP_ZSTANDARD])
    def test_size_differs_from_the_directory(self, core, tmp_path, compress):
        archive = self.archive(tmp_path, compress)
        tasks = tasks_for(archive, tmp_path)
        t = tasks[1]
        tasks[1] = (*t[:3], t[3] - 1, *t[4:])
        f = failure(core, [(str(archive), tasks)])
        assert (f.kind, f.index) == ("size", 1)

    @pytest.mark.parametrize("compress", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, ZIP_ZSTANDARD])
    def test_absurd_declared_size(self, core, tmp_path, compress):
        """A size of 1 TiB in the directory is a size failure, not a MemoryError."""
        archive = self.archive(tmp_path, compress)
        t = tasks_for(archive, tmp_path)[1]
        f = failure(core, [(str(archive), [(*t[:3], 1 << 40, *t[4:])])])
        assert (f.kind, f.index) == ("size", 0)
        assert not (tmp_path / "big").exists()

    def test_corrupt_deflate_stream(self, core, tmp_path):
        archive = self.archive(tmp_path)
        task = tasks_for(archive, tmp_path)[1]
        raw = bytearray(archive.read_bytes())
        start = task[0] + 30 + len(b"big")
        raw[start : start + task[2]] = b"\xff" * task[2]  # reserved block type 3
        archive.write_bytes(bytes(raw))
        f = failure(core, [(str(archive), [task])])
        assert (f.kind, f.index) == ("inflate", 0)

    def test_truncated_deflate_stream(self, core, tmp_path):
        archive = self.archive(tmp_path)
        task = tasks_for(archive, tmp_path)[1]
        task = (task[0], task[1], task[2] // 2, *task[3:])
        assert failure(core, [(str(archive), [task])]).kind == "inflate"

    def test_corrupt_zstd_frame(self, core, tmp_path):
        archive = self.archive(tmp_path, ZIP_ZSTANDARD)
        task = tasks_for(archive, tmp_path)[1]
        raw = bytearray(archive.read_bytes())
        raw[task[0] + 30 + 3 : task[0] + 30 + 3 + 4] = b"\0\0\0\0"  # the frame magic
        archive.write_bytes(bytes(raw))
        assert failure(core, [(str(archive), [task])]).kind == "inflate"

    def test_bad_local_header(self, core, tmp_path):
        archive = self.archive(tmp_path)
        tasks = tasks_for(archive, tmp_path)
        t = tasks[1]
        tasks[1] = (t[0] + 1, *t[1:])
        f = failure(core, [(str(archive), tasks)])
        assert (f.kind, f.index) == ("header", 1)

    def test_data_past_the_end_of_the_file(self, core, tmp_path):
        archive = self.archive(tmp_path)
        t = tasks_for(archive, tmp_path)[1]
        task = (t[0], t[1], archive.stat().st_size, *t[3:])
        assert failure(core, [(str(archive), [task])]).kind == "header"

    def test_unsupported_method(self, core, tmp_path):
        archive = self.archive(tmp_path)
        t = tasks_for(archive, tmp_path)[1]
        task = (t[0], 12, *t[2:])  # bzip2
        f = failure(core, [(str(archive), [task])])
        assert (f.kind, f.index) == ("method", 0)

    def test_existing_destination(self, core, tmp_path):
        archive = self.archive(tmp_path)
        (tmp_path / "big").write_bytes(b"already here")
        f = failure(core, [(str(archive), tasks_for(archive, tmp_path))])
        assert (f.kind, f.index, f.errno) == ("io", 1, errno.EEXIST)
        assert f.detail == str(tmp_path / "big")
        assert (tmp_path / "big").read_bytes() == b"already here"

    def test_missing_parent_directory(self, core, tmp_path):
        archive = self.archive(tmp_path)
        f = failure(core, [(str(archive), tasks_for(archive, tmp_path / "missing"))])
        assert (f.kind, f.errno) == ("io", errno.ENOENT)

    def test_missing_archive(self, core, tmp_path):
        archive = self.archive(tmp_path)
        tasks = tasks_for(archive, tmp_path)
        gone = str(tmp_path / "gone.whl")
        f = failure(core, [(str(archive), []), (gone, tasks)])
        assert (f.kind, f.job, f.errno, f.detail) == ("io", 1, errno.ENOENT, gone)

    def test_first_failure_stops_the_rest(self, core, tmp_path):
        small = [Member(f"f{i}", b"y%d" % i) for i in range(20)]
        members = [Member("huge", b"x" * 100_000), *small]
        archive = write_zip(tmp_path / "a.whl", members)
        tasks = tasks_for(archive, tmp_path, huge=(sha(b"wrong"), -1))
        f = failure(core, [(str(archive), tasks)], threads=1)
        assert (f.kind, f.index) == ("sha256", 0)  # the largest is done first
        assert not any((tmp_path / f"f{i}").exists() for i in range(20))

    def test_bad_arguments(self, core, tmp_path):
        archive = self.archive(tmp_path)
        t = tasks_for(archive, tmp_path)[0]
        with pytest.raises(ValueError, match="null"):
            core.extract([(str(archive), [(*t[:5], str(tmp_path / "a\0b"), *t[6:])])], 1)
        with pytest.raises(TypeError):
            core.extract([(str(archive), [(*t[:5], tmp_path / "a", *t[6:])])], 1)
        assert list(tmp_path.iterdir()) == [archive]
        with pytest.raises(TypeError):
            core.extract([(str(archive), [(*t[:7], 12345, -1, t[9])])], 1)
        with pytest.raises(TypeError, match="member names must be str"):
            core.extract([(str(archive), [(*t[:9], b"small")])], 1)
        with pytest.raises(ValueError):
            core.extract([(str(archive), [t])], -1)

    def test_corrupt_members_fail_alike_in_both_cores(self, tmp_path):
        """Random damage to compressed data is reported with the same kind by both cores."""
        if _compiled is None:
            pytest.skip("compiled core not built")
        rnd = random.Random(7)
        data = b"".join(b"%d,%d\n" % (i, i * i) for i in range(3000))
        archive = write_zip(tmp_path / "a.whl", [Member("a", data)])
        pristine = archive.read_bytes()
        task = tasks_for(archive, tmp_path)[0]
        start = task[0] + 31
        for k in range(40):
            raw = bytearray(pristine)
            for _ in range(rnd.randrange(1, 4)):
                raw[start + rnd.randrange(task[2])] ^= 1 << rnd.randrange(8)
            archive.write_bytes(bytes(raw))
            kinds = []
            ways = [(_compiled, ""), (_compiled, _compiled.STREAMER), (_compiled, "zlib")]
            for core, stream in [*ways, (_core_py, "")]:
                dest = tmp_path / f"{core.__name__}-{stream}-{k}"
                old = _compiled._set_stream_threshold(0) if stream else None
                streamer = _compiled._set_streamer(stream) if stream else None
                try:
                    core.extract([(str(archive), [(*task[:5], str(dest), *task[6:])])], 1)
                    kinds.append("ok")
                except CoreFailure as f:
                    kinds.append(f.kind)
                    assert not dest.exists()
                finally:
                    if old is not None and streamer is not None:
                        _compiled._set_stream_threshold(old)
                        _compiled._set_streamer(streamer)
            assert len(set(kinds)) == 1, (k, kinds)


# --- the central directory -------------------------------------------------------------


def _sizes(i: zipfile.ZipInfo) -> tuple[int, int, int, int]:
    return i.compress_size, i.file_size, i.header_offset, i.external_attr


def entries_of(zf_path: Path) -> list[tuple]:
    with zipfile.ZipFile(zf_path) as zf:
        return [
            (i.filename, i.compress_type, i.flag_bits, i.CRC, *_sizes(i)) for i in zf.infolist()
        ]


class TestCentralDirectory:
    def test_matches_zipfile(self, core, tmp_path):
        archive = write_zip(tmp_path / "m.whl", MIXED)
        assert core.read_central_directory(str(archive)) == entries_of(archive)

    def test_zip64_forms(self, core, tmp_path):
        members = [(b"a.txt", b"alpha" * 100, 8), ("ünï/b".encode(), b"beta", 0)]
        plain, big = tmp_path / "plain.zip", tmp_path / "zip64.zip"
        plain.write_bytes(raw_zip(members))
        big.write_bytes(raw_zip(members, zip64=True, comment=b"a comment"))
        entries = core.read_central_directory(str(big))
        assert [e[0] for e in entries] == ["a.txt", "ünï/b"]
        assert entries == core.read_central_directory(str(plain)) == entries_of(big)
        (tmp_path / "out").mkdir()
        tasks = [
            (e[6], e[1], e[4], e[5], e[3], str(tmp_path / "out" / str(i)), 0o644, b"", -1, e[0])
            for i, e in enumerate(entries)
        ]
        assert digests(core.extract([(str(big), tasks)], 1)[0]) == [sha(m[1]) for m in members]

    @pytest.mark.parametrize("form", ["descriptor", "local-extra", "long-local-extra"])
    def test_local_headers_that_differ_from_the_directory(self, core, tmp_path, form):
        """Sizes come from the directory (data descriptors), the data offset from the
        local header (its extra field need not match the directory's)."""
        members = [(b"a.py", b"print(1)\n" * 100, 8), (b"b.txt", b"stored", 0)]
        extra = b"\0" * (13 if form == "local-extra" else 700)  # 700: past the read-ahead
        options = {"descriptor": True} if form == "descriptor" else {"local_extra": extra}
        path = tmp_path / "d.zip"
        path.write_bytes(raw_zip(members, **options))
        entries = core.read_central_directory(str(path))
        assert entries == entries_of(path)
        (tmp_path / "out").mkdir()
        tasks = tasks_for(path, tmp_path / "out")
        assert digests(core.extract([(str(path), tasks)], 2)[0]) == [sha(m[1]) for m in members]
        assert (tmp_path / "out" / "a.py").read_bytes() == members[0][1]

    def test_empty_archive(self, core, tmp_path):
        path = tmp_path / "empty.zip"
        path.write_bytes(raw_zip([]))
        assert core.read_central_directory(str(path)) == []

    @pytest.mark.parametrize(
        ("content", "reason"),
        [
            (b"", "no end of central directory record"),
            (b"not a zip file at all, just text\n" * 10, "no end of central directory record"),
        ],
    )
    def test_not_a_zip(self, core, tmp_path, content, reason):
        path = tmp_path / "x.whl"
        path.write_bytes(content)
        with pytest.raises(CorruptArchive) as info:
            core.read_central_directory(str(path))
        assert info.value.reason == reason
        assert info.value.wheel == str(path)

    @pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
    def test_truncated(self, core, tmp_path, keep):
        archive = write_zip(tmp_path / "t.whl", MIXED)
        raw = archive.read_bytes()
        archive.write_bytes(raw[: int(len(raw) * keep)])
        with pytest.raises(CorruptArchive):
            core.read_central_directory(str(archive))

    def test_cut_at_the_front(self, core, tmp_path):
        archive = write_zip(tmp_path / "t.whl", MIXED)
        archive.write_bytes(archive.read_bytes()[100:])
        with pytest.raises(CorruptArchive, match="outside the file"):
            core.read_central_directory(str(archive))

    def test_name_not_utf8(self, core, tmp_path):
        path = tmp_path / "n.zip"
        path.write_bytes(raw_zip([(b"bad\xff\xfename", b"data", 0)]))
        with pytest.raises(CorruptArchive, match="member name is not valid UTF-8"):
            core.read_central_directory(str(path))

    def test_surrogates_are_not_utf8(self, core, tmp_path):
        path = tmp_path / "n.zip"
        path.write_bytes(raw_zip([(b"\xed\xa0\x80", b"data", 0)]))
        with pytest.raises(CorruptArchive, match="not valid UTF-8"):
            core.read_central_directory(str(path))

    def test_entry_count_mismatch(self, core, tmp_path):
        raw = bytearray(raw_zip([(b"a", b"1", 0), (b"b", b"2", 0)]))
        raw[-22 + 8 : -22 + 12] = struct.pack("<HH", 3, 3)
        path = tmp_path / "c.zip"
        path.write_bytes(bytes(raw))
        with pytest.raises(CorruptArchive, match="entry count mismatch"):
            core.read_central_directory(str(path))
        raw[-22 + 8 : -22 + 12] = struct.pack("<HH", 1, 1)
        path.write_bytes(bytes(raw))
        with pytest.raises(CorruptArchive, match="entry count mismatch"):
            core.read_central_directory(str(path))

    def test_multi_disk(self, core, tmp_path):
        raw = bytearray(raw_zip([(b"a", b"1", 0)]))
        raw[-22 + 4 : -22 + 6] = struct.pack("<H", 1)
        path = tmp_path / "d.zip"
        path.write_bytes(bytes(raw))
        with pytest.raises(CorruptArchive, match="multi-disk"):
            core.read_central_directory(str(path))

    def test_bad_zip64_locator(self, core, tmp_path):
        raw = bytearray(raw_zip([(b"a", b"1", 0)], zip64=True))
        raw[-42:-38] = b"PK\x00\x00"  # the zip64 record's offset now points at a local header
        loc = len(raw) - 22 - 20
        raw[loc + 8 : loc + 16] = struct.pack("<Q", 0)
        path = tmp_path / "z.zip"
        path.write_bytes(bytes(raw))
        with pytest.raises(CorruptArchive, match="zip64"):
            core.read_central_directory(str(path))

    def test_missing_file(self, core, tmp_path):
        with pytest.raises(FileNotFoundError):
            core.read_central_directory(str(tmp_path / "nope.whl"))


def _mutations() -> st.SearchStrategy[bytes]:
    seeds = [
        raw_zip([(b"a.py", b"print(1)\n" * 20, 8), (b"b/c", b"xyz", 0)]),
        raw_zip([(b"a.py", b"print(1)\n" * 20, 8), (b"b/c", b"xyz", 0)], zip64=True),
        raw_zip([]),
    ]

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        raw = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(0, 4))):
            op = draw(st.sampled_from(["flip", "set", "cut", "insert"]))
            if not raw:
                break
            i = draw(st.integers(0, len(raw) - 1))
            if op == "flip":
                raw[i] ^= 1 << draw(st.integers(0, 7))
            elif op == "set":
                raw[i] = draw(st.sampled_from([0, 0xFF, 0x80, 0x50, 0x4B]))
            elif op == "cut":
                del raw[i : i + draw(st.integers(1, 30))]
            else:
                raw[i:i] = draw(st.binary(max_size=8))
        return bytes(raw)

    return st.one_of(st.binary(max_size=200), mutate())


@pytest.mark.skipif(_compiled is None, reason="compiled core not built")
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=_mutations())
def test_both_cores_agree_on_any_bytes(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "fuzz.zip"
    path.write_bytes(data)
    outcomes = []
    for core in (_compiled, _core_py):
        try:
            outcomes.append(core.read_central_directory(str(path)))
        except CorruptArchive as exc:
            outcomes.append(exc.reason)
    assert outcomes[0] == outcomes[1]


# --- make_dirs, sha256_file (the table calls: test_link.py) --------------------------


class TestMakeDirs:
    def test_creates_in_order_and_accepts_existing(self, core, tmp_path):
        paths = [str(tmp_path / "a"), str(tmp_path / "a" / "b"), str(tmp_path / "a" / "b" / "c")]
        core.make_dirs(paths)
        core.make_dirs(paths)
        assert (tmp_path / "a" / "b" / "c").is_dir()
        assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o777 & ~UMASK

    def test_file_in_the_way(self, core, tmp_path):
        (tmp_path / "f").write_text("")
        with pytest.raises(FileExistsError) as info:
            core.make_dirs([str(tmp_path / "f")])
        assert info.value.filename == str(tmp_path / "f")

    def test_missing_parent(self, core, tmp_path):
        target = str(tmp_path / "x" / "y")
        with pytest.raises(FileNotFoundError) as info:
            core.make_dirs([str(tmp_path / "ok"), target])
        assert info.value.filename == target
        assert (tmp_path / "ok").is_dir()


class TestSha256File:
    def test_digest(self, core, tmp_path):
        for size in (0, 1, (1 << 20) + 7, 3 << 20):
            data = os.urandom(size)
            (tmp_path / "f").write_bytes(data)
            assert core.sha256_file(str(tmp_path / "f")) == hashlib.sha256(data).hexdigest()

    def test_missing(self, core, tmp_path):
        with pytest.raises(FileNotFoundError) as info:
            core.sha256_file(str(tmp_path / "nope"))
        assert info.value.filename == str(tmp_path / "nope")

    def test_directory(self, core, tmp_path):
        with pytest.raises(IsADirectoryError):
            core.sha256_file(str(tmp_path))


def _extra_rss_kib(archive: Path, tasks: list[tuple], threads: int) -> int:
    """Peak RSS that extracting ``tasks`` adds to a fresh interpreter, in KiB."""
    import subprocess
    import sys

    code = f"""
import resource
from fastinst import _core
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
_core.extract([({str(archive)!r}, {tasks!r})], {threads})
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout)


@pytest.mark.skipif(_compiled is None, reason="compiled core not built")
def test_big_members_share_a_memory_budget(tmp_path):
    """Two 24 MiB members on two threads: the 40 MiB budget cannot hold both, so the
    second waits (the small members go on meanwhile) or is streamed; the peak is
    about one member, not two."""
    rnd = random.Random(3)
    block = rnd.randbytes(1 << 16) + b"\0" * (3 << 16)
    members = [Member(f"m{i}", block * 96 + bytes([i])) for i in range(2)]
    members += [Member(f"s{i}", rnd.randbytes(rnd.randrange(20_000))) for i in range(300)]
    archive = write_zip(tmp_path / "two.whl", members)
    (tmp_path / "out").mkdir()
    tasks = tasks_for(archive, tmp_path / "out")
    assert _extra_rss_kib(archive, tasks, 2) < 36 << 10
    for m in members:
        assert (tmp_path / "out" / m.name).read_bytes() == m.data


@pytest.mark.skipif(_compiled is None, reason="compiled core not built")
def test_big_member_is_streamed_in_little_memory(tmp_path):
    """A member over the streaming threshold does not cost its size in memory."""
    import subprocess
    import sys

    size = 96 << 20
    archive = tmp_path / "big.whl"
    with (
        zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf,
        zf.open("big.bin", "w", force_zip64=True) as f,
    ):
        for _ in range(size >> 20):
            f.write(b"\0" * (1 << 20))
    code = f"""
import resource
from fastinst import _core
e = _core.read_central_directory({str(archive)!r})[0]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
task = (e[6], e[1], e[4], e[5], e[3], {str(tmp_path / "out")!r}, 0o644, b"", -1, e[0])
_core.extract([({str(archive)!r}, [task])], 1)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) < 16 << 10  # KiB
    assert (tmp_path / "out").stat().st_size == size


_FUZZ_MEMBERS = [
    Member("text.py", b"".join(b"value_%d = %d\n" % (i, i * 7) for i in range(400))),
    Member("raw.bin", bytes(range(256)) * 8, compress=zipfile.ZIP_STORED),
    Member("z.txt", b"zstandard frame " * 64, compress=ZIP_ZSTANDARD),
]


@pytest.mark.skipif(_compiled is None, reason="compiled core not built")
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    member=st.integers(0, len(_FUZZ_MEMBERS) - 1),
    deltas=st.tuples(*[st.sampled_from([0, 0, 0, -1, 1, -30, 7]) for _ in range(4)]),
    method=st.sampled_from([None, None, 0, 8, 12, 93]),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 7)), max_size=3),
    stream=st.booleans(),
)
def test_both_cores_agree_on_damaged_tasks(tmp_path_factory, member, deltas, method, flips, stream):
    """Shifted offsets, wrong sizes, wrong methods, flipped bits: the compiled core (whole
    or streaming) and the twin reach the same outcome, and never crash."""
    base = tmp_path_factory.getbasetemp() / "fuzz-extract"
    base.mkdir(exist_ok=True)
    archive = base / "a.whl"
    if not archive.exists():
        write_zip(archive, _FUZZ_MEMBERS)
    raw = bytearray(archive.read_bytes())
    for pos, bit in flips:
        raw[pos % len(raw)] ^= 1 << bit
    damaged = base / "damaged.whl"
    damaged.write_bytes(bytes(raw))
    t = tasks_for(archive, base)[member]
    offset, csize, usize, crc = (v + d for v, d in zip((t[0], t[2], t[3], t[4]), deltas))
    task = [offset, t[1] if method is None else method, csize, usize, crc & 0xFFFFFFFF]
    outcomes = []
    for core in (_compiled, _core_py):
        dest = base / f"out-{core.__name__}"
        old = _compiled._set_stream_threshold(0) if stream and core is _compiled else None
        try:
            result = core.extract([(str(damaged), [(*task, str(dest), 0o644, b"", -1, t[9])])], 1)
            outcomes.append(("ok", result, dest.read_bytes()))
            dest.unlink()
        except CoreFailure as f:
            outcomes.append((f.kind, f.index, f.errno))
            assert not dest.exists()
        finally:
            if old is not None:
                _compiled._set_stream_threshold(old)
    assert outcomes[0] == outcomes[1]


# --- zstd members: streamed by _zstd for both cores ------------------------------------


def _zstd_zip(path: Path, name: str, data: bytes, **params: int) -> Path:
    """A one-member zip whose member is one zstd frame made with ``params``."""
    import zstandard

    level = params.pop("level", 3)
    cctx = zstandard.ZstdCompressor(
        compression_params=zstandard.ZstdCompressionParameters.from_level(level, **params)
    )
    packed = cctx.compress(data)
    return _one_member_zip(path, name, data, packed, ZIP_ZSTANDARD)


def _local(name: bytes, data: bytes, packed: bytes, method: int, extra: bytes = b"") -> bytes:
    """A local header and the member's data."""
    fields = (63, 0x800, method, 0, 0x5021, zlib.crc32(data), len(packed), len(data), len(name))
    return struct.pack("<4s5HIIIHH", b"PK\x03\x04", *fields, len(extra)) + name + extra + packed


def _layout(path: Path, body: bytes, central: list[tuple[bytes, bytes, int, int]]) -> Path:
    """A zip of ``body`` (local headers and data, written by the caller) and a central
    directory of ``(name, data, csize, offset)`` entries (stored)."""
    cd = b""
    for name, data, csize, offset in central:
        fields = (63, 0x800, 0, 0, 0x5021, zlib.crc32(data), csize, len(data), len(name))
        cd += struct.pack("<4s6HIIIHHHHHII", b"PK\x01\x02", 0x33F, *fields, 0, 0, 0, 0, 0, offset)
        cd += name
    n = len(central)
    end = struct.pack("<4s4HIIH", b"PK\x05\x06", 0, 0, n, n, len(cd), len(body), 0)
    path.write_bytes(body + cd + end)
    return path


def _one_member_zip(
    path: Path, name: str, data: bytes, packed: bytes, method: int, local_name: str | None = None
) -> Path:
    n = name.encode()
    fields = (63, 0x800, method, 0, 0x5021, zlib.crc32(data), len(packed), len(data), len(n))
    body = _local(n if local_name is None else local_name.encode(), data, packed, method)
    body += b"\0" * 16  # room for a shorter local name (the size of a data descriptor)
    central = struct.pack("<4s6HIIIHHHHHII", b"PK\x01\x02", 0x33F, *fields, 0, 0, 0, 0, 0, 0) + n
    end = struct.pack("<4s4HIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(body), 0)
    path.write_bytes(body + central + end)
    return path


@pytest.mark.parametrize("kind", ["compiled", "python"])
def test_big_zstd_member_is_streamed_in_little_memory(tmp_path, kind):
    """A 96 MiB zstd member costs neither its size nor the size it declares in memory."""
    import subprocess
    import sys

    load_core(kind)  # skips the compiled case when it is not there
    data = b"\0" * (96 << 20)
    archive = _zstd_zip(tmp_path / "z.whl", "big.bin", data)
    module = "_core" if kind == "compiled" else "_core_py"
    digest = sha(data)
    del data
    code = f"""
import resource
from fastinst import {module} as core
e = core.read_central_directory({str(archive)!r})[0]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
task = (e[6], e[1], e[4], e[5], e[3], {str(tmp_path / "out")!r}, 0o644, {digest!r}, -1, e[0])
core.extract([({str(archive)!r}, [task])], 1)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) < 24 << 10  # KiB: the 8 MiB window, pieces, and zstandard itself
    assert (tmp_path / "out").stat().st_size == 96 << 20


def test_zstd_member_with_a_window_over_8_mib_is_refused(core, tmp_path):
    """RFC 8878 asks decoders to support 8 MiB windows; a bigger one costs that much memory."""
    data = bytes(range(256)) * (17 << 12)  # 17 MiB: the 16 MiB window is really needed
    archive = _zstd_zip(tmp_path / "w.whl", "w.bin", data, window_log=24)
    (tmp_path / "out").mkdir()
    f = failure(core, [(str(archive), tasks_for(archive, tmp_path / "out"))])
    assert (f.kind, f.index) == ("window", 0)
    assert not (tmp_path / "out" / "w.bin").exists()
    ok = _zstd_zip(tmp_path / "ok.whl", "w.bin", data, window_log=23)
    assert core.extract([(str(ok), tasks_for(ok, tmp_path / "out"))], 1) == [sha(data)]


def test_zstd_member_of_several_frames(core, tmp_path):
    """Concatenated frames are one zstd stream (RFC 8878, section 3)."""
    import zstandard

    parts = [b"first frame " * 1000, b"second frame " * 3000]
    packed = b"".join(zstandard.ZstdCompressor().compress(p) for p in parts)
    archive = _one_member_zip(tmp_path / "f.whl", "f.txt", b"".join(parts), packed, ZIP_ZSTANDARD)
    (tmp_path / "out").mkdir()
    tasks = tasks_for(archive, tmp_path / "out")
    assert core.extract([(str(archive), tasks)], 1) == [sha(b"".join(parts))]
    assert (tmp_path / "out" / "f.txt").read_bytes() == b"".join(parts)


@pytest.mark.parametrize("damage", ["truncated", "trailing"])
def test_zstd_member_with_damaged_data(core, tmp_path, damage):
    """A frame cut short lacks data (a size failure, as the output is short); bytes
    after the last frame are not a frame (corrupt data)."""
    import zstandard

    data = b"zstandard data " * 5000
    packed = zstandard.ZstdCompressor().compress(data)
    packed = packed[: len(packed) // 2] if damage == "truncated" else packed + b"junk"
    archive = _one_member_zip(tmp_path / "d.whl", "d.txt", data, packed, ZIP_ZSTANDARD)
    (tmp_path / "out").mkdir()
    f = failure(core, [(str(archive), tasks_for(archive, tmp_path / "out"))])
    assert f.kind == ("size" if damage == "truncated" else "inflate")
    assert not (tmp_path / "out" / "d.txt").exists()


@pytest.mark.skipif(_compiled is None, reason="compiled core not built")
def test_compiled_core_never_imports_the_twin(tmp_path):
    """zstd members go to _zstd, which both cores use: the twin stays unloaded."""
    import subprocess
    import sys

    archive = write_zip(tmp_path / "m.whl", MIXED)
    (tmp_path / "out").mkdir()
    tasks = tasks_for(archive, tmp_path / "out")
    code = f"""
import sys
from fastinst import _core
_core.extract([({str(archive)!r}, {tasks!r})], 2)
print("fastinst._core_py" in sys.modules, "fastinst._zstd" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


# --- local headers and overlapping members ---------------------------------------------


def _packed(data: bytes, method: int) -> bytes:
    if method == zipfile.ZIP_DEFLATED:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()
    if method == ZIP_ZSTANDARD:
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    return data


class TestLocalHeaders:
    @pytest.fixture
    def core(self, xcore):
        return xcore

    @pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, ZIP_ZSTANDARD])
    @pytest.mark.parametrize("local", ["pkg/evil.py", "pkg/b.py", "pkg/a.py\0", "", "P" * 1500])
    def test_a_local_name_that_differs_is_refused(self, core, tmp_path, method, local):
        """The local header must name the member the directory names (#10.6): a
        scanner reading the stream would see another file."""
        data = b"print('hello')\n" * 40
        archive = _one_member_zip(
            tmp_path / "n.whl", "pkg/a.py", data, _packed(data, method), method, local
        )
        (tmp_path / "out").mkdir()
        f = failure(core, [(str(archive), tasks_for(archive, tmp_path / "out"))])
        assert (f.kind, f.index) == ("name", 0)
        assert list((tmp_path / "out").iterdir()) == []

    @pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, ZIP_ZSTANDARD])
    def test_long_names_are_compared_whole(self, core, tmp_path, method):
        data = b"x = 1\n" * 100
        name = "d/" * 700 + "m.py"  # past the read-ahead of a local header
        ok = _one_member_zip(tmp_path / "ok.whl", name, data, _packed(data, method), method)
        bad = _one_member_zip(
            tmp_path / "bad.whl", name, data, _packed(data, method), method, name[:-1] + "w"
        )
        (tmp_path / "out").mkdir()
        assert core.extract([(str(ok), tasks_for(ok, tmp_path / "out"))], 1) == [sha(data)]
        (tmp_path / "out" / "m.py").unlink()
        assert failure(core, [(str(bad), tasks_for(bad, tmp_path / "out"))]).kind == "name"

    def test_data_that_runs_over_the_next_header_is_refused(self, core, tmp_path):
        """The directory's check assumes an empty extra field; a local header with a
        long one moves the data over the next member's header: found at extraction."""
        b_data = b"the second member\n" * 10
        b_local = _local(b"b", b_data, b_data, 0)
        a_extra = b"\0" * 100
        d = 30 + 1 + len(a_extra)  # where a's data starts
        b_offset = d + 50
        a_data = b"f" * 50 + b_local[:30]  # a's 80 bytes run 30 bytes into b's header
        body = _local(b"a", a_data, a_data, 0, a_extra)[:d] + b"f" * 50 + b_local
        assert body[d : d + 80] == a_data
        archive = _layout(
            tmp_path / "o.whl", body, [(b"a", a_data, 80, 0), (b"b", b_data, len(b_data), b_offset)]
        )
        (tmp_path / "out").mkdir()
        f = failure(core, [(str(archive), tasks_for(archive, tmp_path / "out"))])
        assert (f.kind, f.index) == ("overlap", 0)
        assert not (tmp_path / "out" / "a").exists()

    def test_the_same_member_twice_is_not_an_overlap(self, core, tmp_path):
        data = b"twice\n" * 50
        archive = write_zip(tmp_path / "t.whl", [Member("a", data), Member("b", b"after")])
        t = tasks_for(archive, tmp_path)[0]
        tasks = [t, (*t[:5], str(tmp_path / "a2"), *t[6:])]
        assert core.extract([(str(archive), tasks)], 2) == [sha(data) * 2]


class TestOverlappingEntries:
    def test_entries_sharing_one_local_header(self, core, tmp_path):
        """The classic zip bomb: many directory entries, one piece of data."""
        data = b"\0" * 1000
        body = _local(b"kernel", data, data, 0)
        central = [(b"kernel", data, len(data), 0)] + [
            (b"copy%d" % i, data, len(data), 0) for i in range(5)
        ]
        archive = _layout(tmp_path / "bomb.zip", body, central)
        with pytest.raises(CorruptArchive) as info:
            core.read_central_directory(str(archive))
        assert (info.value.member, info.value.wheel) == ("kernel", str(archive))
        assert "overlaps member 'copy0'" in info.value.reason

    def test_data_that_covers_the_next_member(self, core, tmp_path):
        a, b = b"first" * 20, b"second" * 20
        body = _local(b"a", a, a, 0) + _local(b"b", b, b, 0)
        ok = [(b"a", a, len(a), 0), (b"b", b, len(b), 31 + len(a))]
        assert len(core.read_central_directory(str(_layout(tmp_path / "ok.zip", body, ok)))) == 2
        bad = [(b"a", a, len(a) + 1, 0), ok[1]]  # one byte into b's header
        with pytest.raises(CorruptArchive, match="overlaps member 'b'") as info:
            core.read_central_directory(str(_layout(tmp_path / "bad.zip", body, bad)))
        assert info.value.member == "a"

    def test_out_of_order_directory(self, core, tmp_path):
        """Directory order need not be file order: sorted once, then compared."""
        parts = [b"m%d" % i * (i + 3) for i in range(6)]
        body, offsets = b"", []
        for i, p in enumerate(parts):
            offsets.append(len(body))
            body += _local(b"%d" % i, p, p, 0)
        central = [(b"%d" % i, parts[i], len(parts[i]), offsets[i]) for i in (3, 0, 5, 1, 4, 2)]
        entries = core.read_central_directory(str(_layout(tmp_path / "o.zip", body, central)))
        assert [e[0] for e in entries] == ["3", "0", "5", "1", "4", "2"]
        central[2] = (b"5", parts[5], len(parts[5]), offsets[4])  # 5 now starts where 4 does
        with pytest.raises(CorruptArchive, match="overlaps") as info:
            core.read_central_directory(str(_layout(tmp_path / "bad.zip", body, central)))
        assert info.value.member == "5"


# --- RECORD's hash field, decoded by the core ------------------------------------------


def _field(digest: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class TestRecordHashField:
    @pytest.fixture
    def core(self, xcore):
        return xcore

    DATA = b"checked against the field RECORD gives\n" * 30

    def run(self, core, tmp_path, field):
        archive = write_zip(
            tmp_path / "r.whl",
            [Member("ok", b"fine"), Member("big", self.DATA, compress=ZIP_ZSTANDARD)],
        )
        tasks = tasks_for(archive, tmp_path)
        tasks[1] = (*tasks[1][:7], field, *tasks[1][8:])
        return core.extract([(str(archive), tasks)], 2)

    @pytest.mark.parametrize("padding", ["", "="])
    def test_a_true_field_passes(self, core, tmp_path, padding):
        [blob] = self.run(core, tmp_path, _field(sha(self.DATA)) + padding)
        assert digests(blob)[1] == sha(self.DATA)

    def test_a_false_field_is_a_sha256_mismatch(self, core, tmp_path):
        with pytest.raises(CoreFailure) as info:
            self.run(core, tmp_path, _field(sha(b"other")))
        assert (info.value.kind, info.value.index) == ("sha256", 1)

    @pytest.mark.parametrize("field", ["sha256=", "sha256=abc", "sha256=" + "!" * 43])
    def test_a_malformed_field_is_refused_before_anything_is_written(self, core, tmp_path, field):
        with pytest.raises(CoreFailure) as info:
            self.run(core, tmp_path, field)
        assert (info.value.kind, info.value.job, info.value.index) == ("record-hash", 0, 1)
        assert not (tmp_path / "ok").exists()

    @pytest.mark.parametrize("field", ["", "sha512=whatever", "md5=x"])
    def test_other_algorithms_are_left_to_the_caller(self, core, tmp_path, field):
        [blob] = self.run(core, tmp_path, field)
        assert digests(blob)[1] == sha(self.DATA)


@pytest.mark.skipif(_compiled is None, reason="compiled core not built")
@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None)
@given(
    body=st.one_of(
        st.text(alphabet="ABCxyz019-_+/=!é", max_size=50),
        st.binary(min_size=32, max_size=32).map(lambda d: _field(d)[7:]),
        st.binary(min_size=0, max_size=40).map(lambda d: base64.b64encode(d).decode()),
    ),
    prefix=st.sampled_from(["sha256=", "sha256=", "sha384=", "SHA256=", ""]),
)
def test_both_cores_read_record_hash_fields_alike(body, prefix):
    """Any text as RECORD's hash field: both cores accept the same digest or refuse
    it alike (the archive is never opened: it does not exist)."""
    outcomes = []
    for core in (_compiled, _core_py):
        task = (0, 8, 1, 1, 0, "/nonexistent/out", 0o644, prefix + body, -1, "x")
        with pytest.raises(CoreFailure) as info:
            core.extract([("/nonexistent/a.whl", [task])], 1)
        outcomes.append(info.value.kind)
    assert outcomes[0] == outcomes[1]


class TestSha256:
    """Small data is hashed by the compiled core's own SHA-256, the rest by libcrypto."""

    @pytest.mark.parametrize(
        "size", [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 65535, 65536, 65537, 1 << 20]
    )
    def test_digest(self, core, size):
        data = os.urandom(size)
        assert core.sha256(data) == hashlib.sha256(data).digest()

    @given(st.binary(max_size=600))
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
    def test_any_bytes(self, core, data):
        assert core.sha256(data) == hashlib.sha256(data).digest()


@pytest.mark.skipif(_compiled is None, reason="no compiled core")
def test_compiled_core_opens_libcrypto_when_it_first_hashes(tmp_path):
    """Built against OpenSSL 3 on Linux, the core does not link libcrypto but opens
    it on first use: a process that imports it and hashes nothing big (a warm
    install) never loads it; the first file hashed loads it, in a process where
    nothing else has (no hashlib)."""
    import subprocess
    import sys

    linked = subprocess.run(["ldd", _compiled.__file__], capture_output=True, text=True)
    if linked.returncode != 0 or "libcrypto" in linked.stdout:
        pytest.skip("libcrypto is linked (not OpenSSL 3 on Linux, or FASTINST_LINK_LIBCRYPTO)")
    data = os.urandom(100_000)
    (tmp_path / "f").write_bytes(data)
    code = (
        "import sys\n"
        "from fastinst import _core\n"
        "maps = lambda: open('/proc/self/maps').read()\n"
        "assert 'libcrypto' not in maps()\n"
        "small = _core.sha256(b'abc').hex()\n"
        "assert 'libcrypto' not in maps()\n"
        "print(small, _core.sha256_file(sys.argv[1]), 'libcrypto' in maps())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "f")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        hashlib.sha256(b"abc").hexdigest(),
        hashlib.sha256(data).hexdigest(),
        "True",
    ]
