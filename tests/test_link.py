"""The cores' table calls: make_table, read_table and link_tree, on real files.

Both cores must give the same table, the same tree, the same RECORD bytes and
the same errors; a hypothesis test checks that on generated entries.
"""

from __future__ import annotations

import base64
import csv
import errno
import hashlib
import io
import os
import stat
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import load_core
from fastinst import _core_py
from fastinst._errors import CoreFailure

KEYS = ("purelib", "platlib", "headers", "scripts", "data")
UMASK = os.umask(0)
os.umask(UMASK)

Files = dict[tuple[int, str], tuple[bytes, bool]]


def write_entry(base: Path, files: Files) -> list[str]:
    """Files below ``base/<key>/`` as a cache holds them (read-only); the key dirs."""
    sources = [str(base / k) for k in KEYS]
    for (key, path), (data, executable) in files.items():
        p = base / KEYS[key] / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        p.chmod(0o555 if executable else 0o444)
    return sources


def rows_of(files: Files) -> list[tuple[int, str, int, bytes]]:
    return sorted(
        (key, path, 1 if executable else 0, hashlib.sha256(data).digest())
        for (key, path), (data, executable) in files.items()
    )


def record_of(files: Files, prefixes: list[str]) -> bytes:
    """The RECORD the cores must return, written by the csv module (quoting a
    carriage return too, as the cores do on every Python)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    for key, path, _flags, sha in rows_of(files):
        digest = base64.urlsafe_b64encode(sha).rstrip(b"=").decode()
        writer.writerow([prefixes[key] + path, f"sha256={digest}", len(files[(key, path)][0])])
    return out.getvalue().encode()


def targets_in(base: Path) -> list[str | None]:
    base.mkdir()
    out: list[str | None] = []
    for k in KEYS:
        (base / k).mkdir()
        out.append(str(base / k))
    return out


def tree(base: Path) -> dict[str, tuple[bytes, int, int]]:
    """Path -> (content, permission bits, inode) of every file below ``base``."""
    out = {}
    for p in sorted(base.rglob("*")):
        if p.is_file():
            st = p.lstat()
            out[str(p.relative_to(base))] = (p.read_bytes(), stat.S_IMODE(st.st_mode), st.st_ino)
    return out


SAMPLE: Files = {
    (0, "pkg/__init__.py"): (b"", False),
    (0, "pkg/mod.py"): (b"x = 1\n", False),
    (0, "pkg/sub/deep/data.bin"): (os.urandom(200_000), False),
    (0, "pkg/tool.sh"): (b"#!/bin/sh\n", True),
    (0, "pkg-1.0.dist-info/METADATA"): (b"Name: pkg\n", False),
    (3, "pkg-run"): (b"#!/bin/sh\necho\n", True),
    (4, "share/man/a,b.1"): (b'"quoted"', False),
    (2, "pkg/pkg.h"): (b"int x;\n", False),
}
PREFIXES = ["", "", "../../include/pkg/", "../../bin/", "../../"]


class TestMakeTable:
    def test_rows_and_stamps(self, core, tmp_path):
        sources = write_entry(tmp_path / "e", SAMPLE)
        table = core.make_table(sources, rows_of(SAMPLE), 2)
        rows = core.read_table(table)
        assert [(k, p, f, s) for k, p, _size, _mtime, f, s in rows] == rows_of(SAMPLE)
        for key, path, size, mtime, _f, _s in rows:
            st = os.lstat(f"{sources[key]}/{path}")
            assert (size, mtime) == (st.st_size, st.st_mtime_ns)

    def test_given_stamps_are_packed_without_a_look_at_the_files(self, tmp_path):
        """Stamps given (as `extract` reports them) are used as they are: the table of
        a new cache entry costs no ``lstat`` per file."""
        sources = write_entry(tmp_path / "e", SAMPLE)
        rows = rows_of(SAMPLE)
        stamps = b"".join(struct.pack("<Qq", 1000 + i, -i) for i in range(len(rows)))
        tables = {
            c: load_core(c).make_table(sources, rows, 1, stamps) for c in ("compiled", "python")
        }
        assert tables["compiled"] == tables["python"]
        got = load_core("python").read_table(tables["python"])
        assert [(size, mtime) for _k, _p, size, mtime, _f, _s in got] == [
            (1000 + i, -i) for i in range(len(rows))
        ]
        with pytest.raises(ValueError, match="stamps"):
            load_core("compiled").make_table(sources, rows, 1, stamps[:-1])
        with pytest.raises(ValueError, match="stamps"):
            load_core("python").make_table(sources, rows, 1, stamps[:-1])

    def test_both_cores_pack_the_same_bytes(self, tmp_path):
        sources = write_entry(tmp_path / "e", SAMPLE)
        tables = {
            c: load_core(c).make_table(sources, rows_of(SAMPLE), 2) for c in ("compiled", "python")
        }
        assert tables["compiled"] == tables["python"]

    def test_a_symlink_is_not_a_file(self, core, tmp_path):
        sources = write_entry(tmp_path / "e", SAMPLE)
        (tmp_path / "e/purelib/pkg/link").symlink_to("/etc/passwd")
        rows = [*rows_of(SAMPLE), (0, "pkg/link", 0, bytes(32))]
        with pytest.raises(CoreFailure) as info:
            core.make_table(sources, sorted(rows), 1)
        assert info.value.kind == "changed"

    @pytest.mark.parametrize("path", ["", "/abs", "a/../b", "a//b", "./a", "a/.", "nul\0"])
    def test_bad_paths_refused(self, core, tmp_path, path):
        sources = write_entry(tmp_path / "e", SAMPLE)
        with pytest.raises(CoreFailure) as info:
            core.make_table(sources, [(0, path, 0, bytes(32))], 1)
        assert info.value.kind == "table" and info.value.index == 0


def mutate(table: bytes, at: int, value: int) -> bytes:
    return table[:at] + bytes([value]) + table[at + 1 :]


class TestReadTable:
    def test_truncated(self, core, tmp_path):
        sources = write_entry(tmp_path / "e", SAMPLE)
        table = core.make_table(sources, rows_of(SAMPLE), 1)
        with pytest.raises(CoreFailure) as info:
            core.read_table(table[:-1])
        assert (info.value.kind, info.value.detail) == ("table", "truncated row")

    def test_dotdot_row_is_refused(self, core):
        path = b"../../etc/passwd"
        row = struct.pack("<QqBBH32s", 1, 0, 0, 0, len(path), bytes(32)) + path
        with pytest.raises(CoreFailure) as info:
            core.read_table(row)
        assert info.value.detail == "empty, '.' or '..' segment"

    @settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.binary(max_size=300))
    def test_both_cores_agree_on_any_bytes(self, data):
        outcomes = []
        for c in ("compiled", "python"):
            try:
                outcomes.append(load_core(c).read_table(data))
            except CoreFailure as f:
                outcomes.append((f.kind, f.index, f.detail))
        assert outcomes[0] == outcomes[1]


class TestLinkTree:
    @pytest.mark.parametrize("how", [1, 2])
    def test_tree_record_and_tops(self, core, tmp_path, how):
        sources = write_entry(tmp_path / "e", SAMPLE)
        table = core.make_table(sources, rows_of(SAMPLE), 2)
        targets = targets_in(tmp_path / "t")
        record, tops, copied = core.link_tree(table, sources, targets, PREFIXES, [how] * 5, 2)
        assert record == record_of(SAMPLE, PREFIXES)
        assert tops == [["pkg-1.0.dist-info", "pkg"], [], ["pkg"], ["pkg-run"], ["share"]]
        assert copied == 0
        for (key, path), (data, executable) in SAMPLE.items():
            dst = Path(targets[key], path)
            assert dst.read_bytes() == data
            same = os.stat(dst).st_ino == os.stat(f"{sources[key]}/{path}").st_ino
            assert same == (how == 1)
            if how == 2:
                expected = (0o777 if executable else 0o666) & ~UMASK
                assert stat.S_IMODE(os.stat(dst).st_mode) == expected

    def test_skip_and_counter(self, core, tmp_path):
        sources = write_entry(tmp_path / "e", SAMPLE)
        rows = rows_of(SAMPLE)
        table = core.make_table(sources, rows, 2)
        targets = targets_in(tmp_path / "t")
        skip = bytes(1 if r[1] == "pkg/mod.py" else 0 for r in rows)
        counter = bytearray(8)
        record, _tops, _ = core.link_tree(
            table, sources, targets, PREFIXES, [2] * 5, 2, skip, counter
        )
        assert record == record_of(SAMPLE, PREFIXES)  # a skipped file is still listed
        assert not Path(targets[0], "pkg/mod.py").exists()
        linked = sum(len(d) for (k, p), (d, _x) in SAMPLE.items() if p != "pkg/mod.py")
        assert int.from_bytes(counter, "little") == linked

    def test_rows_left_out(self, core, tmp_path):
        """SKIP_UNLISTED: not linked and not in RECORD (``skip_pycache``)."""
        sources = write_entry(tmp_path / "e", SAMPLE)
        rows = rows_of(SAMPLE)
        table = core.make_table(sources, rows, 2)
        targets = targets_in(tmp_path / "t")
        skip = bytes(core.SKIP_UNLISTED if r[1] == "pkg/mod.py" else 0 for r in rows)
        record, _tops, _ = core.link_tree(table, sources, targets, PREFIXES, [2] * 5, 2, skip)
        kept = {k: v for k, v in SAMPLE.items() if k[1] != "pkg/mod.py"}
        assert record == record_of(kept, PREFIXES)
        assert not Path(targets[0], "pkg/mod.py").exists()

    def test_a_changed_file_is_reported(self, core, tmp_path):
        sources = write_entry(tmp_path / "e", SAMPLE)
        table = core.make_table(sources, rows_of(SAMPLE), 1)
        victim = Path(sources[0], "pkg/mod.py")
        victim.chmod(0o644)
        victim.write_bytes(b"x = 2\n")  # same size: only the time tells
        os.utime(victim, ns=(0, os.stat(victim).st_mtime_ns + 1))
        for how in (1, 2):
            targets = targets_in(tmp_path / f"t{how}")
            with pytest.raises(CoreFailure) as info:
                core.link_tree(table, sources, targets, PREFIXES, [how] * 5, 1)
            assert info.value.kind == "changed"
            assert info.value.detail == str(victim)

    def test_a_symlink_in_the_tree_is_refused(self, core, tmp_path):
        secret = tmp_path / "secret"
        secret.write_bytes(b"x = 1\n")
        sources = write_entry(tmp_path / "e", SAMPLE)
        table = core.make_table(sources, rows_of(SAMPLE), 1)
        victim = Path(sources[0], "pkg/mod.py")
        victim.unlink()
        victim.symlink_to(secret)
        for how in (1, 2):
            targets = targets_in(tmp_path / f"t{how}")
            with pytest.raises(CoreFailure) as info:
                core.link_tree(table, sources, targets, PREFIXES, [how] * 5, 1)
            assert info.value.kind == "changed"
            assert not Path(targets[0], "pkg/mod.py").exists()

    def test_missing_file(self, core, tmp_path):
        sources = write_entry(tmp_path / "e", SAMPLE)
        table = core.make_table(sources, rows_of(SAMPLE), 1)
        Path(sources[3], "pkg-run").unlink()
        with pytest.raises(CoreFailure) as info:
            core.link_tree(table, sources, targets_in(tmp_path / "t"), PREFIXES, [1] * 5, 1)
        assert (info.value.kind, info.value.errno) == ("changed", errno.ENOENT)

    @pytest.mark.parametrize("how", [1, 2])
    def test_missing_directory_of_a_key(self, core, tmp_path, how):
        """A key's cached directory that is gone is the failure of its first row (the
        compiled core opens each key's directory once, before linking)."""
        sources = write_entry(tmp_path / "e", SAMPLE)
        table = core.make_table(sources, rows_of(SAMPLE), 1)
        Path(sources[3], "pkg-run").unlink()
        Path(sources[3]).rmdir()
        with pytest.raises(CoreFailure) as info:
            core.link_tree(table, sources, targets_in(tmp_path / "t"), PREFIXES, [how] * 5, 1)
        f = info.value
        assert (f.kind, f.errno, f.detail) == ("changed", errno.ENOENT, f"{sources[3]}/pkg-run")

    @pytest.mark.parametrize("how", [1, 2])
    def test_existing_destination_names_the_target(self, core, tmp_path, how):
        sources = write_entry(tmp_path / "e", SAMPLE)
        table = core.make_table(sources, rows_of(SAMPLE), 1)
        targets = targets_in(tmp_path / "t")
        Path(targets[3], "pkg-run").write_text("in the way")
        with pytest.raises(CoreFailure) as info:
            core.link_tree(table, sources, targets, PREFIXES, [how] * 5, 1)
        f = info.value
        assert (f.kind, f.errno, f.detail) == ("io", errno.EEXIST, f"{targets[3]}/pkg-run")
        assert Path(targets[3], "pkg-run").read_text() == "in the way"

    def test_missing_target_for_a_key(self, core, tmp_path):
        sources = write_entry(tmp_path / "e", SAMPLE)
        table = core.make_table(sources, rows_of(SAMPLE), 1)
        targets = targets_in(tmp_path / "t")
        targets[4] = None
        with pytest.raises(CoreFailure) as info:
            core.link_tree(table, sources, targets, PREFIXES, [1] * 5, 1)
        assert info.value.kind == "table"

    def test_clone_where_it_cannot_falls_back_to_copies(self, core, tmp_path):
        sources = write_entry(tmp_path / "e", SAMPLE)
        table = core.make_table(sources, rows_of(SAMPLE), 1)
        targets = targets_in(tmp_path / "t")
        try:
            _r, _t, copied = core.link_tree(table, sources, targets, PREFIXES, [0] * 5, 2)
        except CoreFailure as f:  # pragma: no cover - a filesystem that says something else
            pytest.fail(f"clone failed instead of copying: {f}")
        assert copied in (0, len(SAMPLE))
        assert Path(targets[0], "pkg/mod.py").read_bytes() == b"x = 1\n"

    def test_many_wheels_in_one_call(self, core, tmp_path):
        """link_trees: every job's files, RECORD, top-level names and byte count, as
        link_tree gives them one by one (the threads take runs of rows of every job)."""
        many = {(0, f"big/d{i // 200}/f{i}.py"): (b"%d\n" % i, False) for i in range(700)}
        entries = [SAMPLE, many, {(0, "solo.py"): (b"", False)}]
        jobs, counters = [], bytearray(8 * len(entries))
        for n, files in enumerate(entries):
            sources = write_entry(tmp_path / f"e{n}", files)
            table = core.make_table(sources, rows_of(files), 2)
            jobs.append((table, sources, targets_in(tmp_path / f"t{n}"), PREFIXES, [1] * 5, None))
        done = core.link_trees(jobs, 2, counters)
        for n, (files, (record, tops, copied)) in enumerate(zip(entries, done)):
            assert record == record_of(files, PREFIXES)
            assert copied == 0
            targets = jobs[n][2]
            assert all(Path(targets[k], p).read_bytes() == d for (k, p), (d, _x) in files.items())
            firsts = [p.split("/")[0] for k, p, _f, _s in rows_of(files) if k == 0]
            assert tops[0] == list(dict.fromkeys(firsts))
            size = sum(len(d) for d, _x in files.values())
            assert int.from_bytes(counters[8 * n : 8 * n + 8], "little") == size
        assert core.link_trees([], 2) == []

    def test_record_of_many_runs_with_rows_skipped_and_quoted(self, core, tmp_path):
        """Each worker writes the RECORD text of the runs of rows it links: joined,
        they are the csv module's RECORD, whatever rows are skipped or left out
        (at the edges of runs too) and whichever names need quotes."""
        odd = {0: "a,b", 1: 'q"'}  # names that csv quotes
        files = {
            (i % 2, f"p/{i // 50}/{odd.get(i % 7, 'f')}{i}"): (b"x" * (i % 13), False)
            for i in range(600)
        }
        sources = write_entry(tmp_path / "e", files)
        rows = rows_of(files)
        table = core.make_table(sources, rows, 2)
        out = {0: "left out", 127: "left out", 128: "listed", 255: "left out", 256: "listed"}
        kind = {"left out": core.SKIP_UNLISTED, "listed": core.SKIP_LISTED}
        skip = bytes(kind[out[i]] if i in out else 0 for i in range(len(rows)))
        prefixes = ["", '../a,"b"/', "../x/", "../../bin/", "../../"]
        [(record, _tops, _)] = core.link_trees(
            [(table, sources, targets_in(tmp_path / "t"), prefixes, [1] * 5, skip)], 2
        )
        left = {(rows[i][0], rows[i][1]) for i, why in out.items() if why == "left out"}
        kept = {k: v for k, v in files.items() if k not in left}
        assert record == record_of(kept, prefixes)

    def test_a_failure_names_its_job(self, core, tmp_path):
        jobs = []
        for n in range(3):
            sources = write_entry(tmp_path / f"e{n}", SAMPLE)
            table = core.make_table(sources, rows_of(SAMPLE), 1)
            jobs.append((table, sources, targets_in(tmp_path / f"t{n}"), PREFIXES, [1] * 5, None))
        Path(jobs[2][1][3], "pkg-run").unlink()
        with pytest.raises(CoreFailure) as info:
            core.link_trees(jobs, 2)
        f = info.value
        assert (f.kind, f.job, f.errno) == ("changed", 2, errno.ENOENT)
        assert f.detail == f"{jobs[2][1][3]}/pkg-run"
        fresh = targets_in(tmp_path / "fresh")
        bad = (jobs[1][0] + b"\0" * 10, *jobs[1][1:])
        with pytest.raises(CoreFailure) as info:
            core.link_trees([(*jobs[0][:2], fresh, *jobs[0][3:]), bad], 2)
        assert (info.value.kind, info.value.job) == ("table", 1)
        assert not os.listdir(fresh[0])  # every table is checked before any link

    def test_bad_arguments(self, core, tmp_path):
        with pytest.raises(ValueError):
            core.link_tree(b"", [None] * 5, [None] * 5, [""] * 5, [7] * 5, 1)
        with pytest.raises(ValueError):
            core.link_tree(b"", [None] * 4, [None] * 4, [""] * 4, [1] * 4, 1)


_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0\r\n"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", "..") and len(s.encode()) < 100)
_paths = st.lists(_names, min_size=1, max_size=4).map("/".join)
_entries = st.dictionaries(
    st.tuples(st.integers(0, 4), _paths),
    st.tuples(st.binary(max_size=300), st.booleans()),
    min_size=1,
    max_size=25,
)


def _consistent(files: Files) -> bool:
    """No path is both a file and a directory under one key."""
    parents = {
        (k, "/".join(p.split("/")[:i])) for k, p in files for i in range(1, p.count("/") + 1)
    }
    return not (set(files) & parents)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(files=_entries.filter(_consistent), how=st.sampled_from([1, 2]),
       prefixes=st.lists(st.sampled_from(["", "../x/", '../a,"b"/', "../../bin/"]),
                         min_size=5, max_size=5))  # fmt: skip
def test_both_cores_give_the_same_tree_and_record(tmp_path_factory, files, how, prefixes):
    """From one cache entry, the compiled core and the twin link the same tree and
    return the same RECORD bytes and top-level names."""
    base = tmp_path_factory.mktemp("entry")
    sources = write_entry(base / "e", files)
    table = _core_py.make_table(sources, rows_of(files), 2)
    results = {}
    for c in ("compiled", "python"):
        targets = targets_in(base / c)
        record, tops, _ = load_core(c).link_tree(table, sources, targets, prefixes, [how] * 5, 2)
        results[c] = (record, tops, {k: v[:2] for k, v in tree(base / c).items()})
    assert results["compiled"] == results["python"]
    assert results["python"][0] == record_of(files, prefixes)
