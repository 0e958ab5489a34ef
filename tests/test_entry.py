"""Cache entries at install time: planned once, checked when used, rebuilt when
damaged, usable by digest without the wheel file; results and progress events."""

from __future__ import annotations

import hashlib
import logging
import os
import struct
from pathlib import Path

import pytest

import fastinst
from fastinst._cache import WheelCache
from fastinst._entry import FORMAT
from wheelmaker import make_wheel

pytestmark = pytest.mark.usefixtures("core")

FILES = {
    "pkg/__init__.py": "from pkg.mod import f\n",
    "pkg/mod.py": "def f():\n    return 42\n",
    "pkg-1.0.data/scripts/run": "#!python\nimport pkg\n",
    "pkg-1.0.data/scripts/plain.sh": "#!/bin/sh\necho plain\n",
    "pkg-1.0.data/data/share/pkg/a.txt": "a\n",
}


def scheme_in(root: Path) -> fastinst.Scheme:
    return fastinst.Scheme(
        purelib=str(root / "site"),
        platlib=str(root / "site"),
        headers=str(root / "include"),
        scripts=str(root / "bin"),
        data=str(root),
        python="/usr/bin/python3-test",
    )


@pytest.fixture
def whl(tmp_path) -> Path:
    (tmp_path / "w").mkdir()
    return make_wheel(tmp_path / "w", name="pkg", files=FILES,
                      entry_points={"console_scripts": {"pkg-cli": "pkg:f"}})  # fmt: skip


def entry_dir(cache: Path) -> Path:
    [entry] = WheelCache(str(cache)).entries()
    return Path(entry.path)


def record_rows(dist_info: str) -> dict[str, tuple[str, str]]:
    import csv

    with open(Path(dist_info, "RECORD"), newline="") as f:
        return {row[0]: (row[1], row[2]) for row in csv.reader(f)}


def true_record(root: Path, dist_info: str) -> None:
    """Every hashed RECORD row matches the installed file."""
    import base64

    base = Path(dist_info).parent
    for path, (hash_, size) in record_rows(dist_info).items():
        if not hash_:
            continue
        data = (base / path).read_bytes()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert (hash_, size) == (f"sha256={digest}", str(len(data))), path


class TestLayout:
    def test_entry_is_in_scheme_layout(self, whl, tmp_path):
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache)
        tree = entry_dir(cache) / "tree"
        assert (tree / "purelib/pkg/mod.py").is_file()
        assert (tree / "scripts/run").is_file() and (tree / "scripts/plain.sh").is_file()
        assert (tree / "data/share/pkg/a.txt").is_file()
        assert not (tree / "purelib/pkg-1.0.dist-info/RECORD").exists()  # written fresh

    def test_warm_equals_cold_equals_archive(self, whl, tmp_path):
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=None)
        fastinst.install([whl], scheme_in(tmp_path / "b"), cache_dir=cache)
        [r] = fastinst.install([whl], scheme_in(tmp_path / "c"), cache_dir=cache, link_mode="copy")
        assert r.from_cache

        def snap(root: Path) -> dict[str, tuple[bytes, bool]]:
            return {
                str(p.relative_to(root)): (p.read_bytes(), bool(p.stat().st_mode & 0o111))
                for p in root.rglob("*")
                if p.is_file() and p.name not in ("RECORD", "INSTALLER")
            }

        assert snap(tmp_path / "a") == snap(tmp_path / "b") == snap(tmp_path / "c")
        assert (tmp_path / "c/bin/run").read_bytes().startswith(b"#!/usr/bin/python3-test\n")
        assert os.access(tmp_path / "c/bin/plain.sh", os.X_OK)
        sets = [set(record_rows(str(tmp_path / d / "site/pkg-1.0.dist-info"))) for d in "abc"]
        assert sets[0] == sets[1] == sets[2]
        true_record(tmp_path / "c", r.dist_info)


class TestDamagedEntries:
    def test_file_edited_through_a_hardlink_is_caught(self, whl, tmp_path, caplog):
        """Editing an installed, hardlinked file edits the cache: the next warm install
        notices (size and time differ from the table), unpacks the wheel again and
        installs its true bytes with a true RECORD."""
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache, link_mode="hardlink")
        installed = tmp_path / "a/site/pkg/mod.py"
        assert os.stat(installed).st_nlink == 2
        os.chmod(installed, 0o644)
        installed.write_text("def f():\n    return 24\n")  # same size, through the link
        with caplog.at_level(logging.WARNING, logger="fastinst"):
            [b] = fastinst.install([whl], scheme_in(tmp_path / "b"), cache_dir=cache,
                                   link_mode="hardlink")  # fmt: skip
        assert "damaged" in caplog.text and "pkg/mod.py" in caplog.text
        assert (tmp_path / "b/site/pkg/mod.py").read_text() == FILES["pkg/mod.py"]
        true_record(tmp_path / "b", b.dist_info)
        assert not b.from_cache
        assert WheelCache(str(cache)).verify(repair=False) == []

    def test_rewritten_script_is_caught(self, whl, tmp_path):
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache)
        script = entry_dir(cache) / "tree/scripts/run"
        script.chmod(0o644)
        script.write_text("#!python\nimport os\n")
        fastinst.install([whl], scheme_in(tmp_path / "b"), cache_dir=cache)
        assert (tmp_path / "b/bin/run").read_text().endswith("import pkg\n")

    def test_symlink_planted_in_the_tree_is_not_followed(self, whl, tmp_path):
        secret = tmp_path / "secret.py"
        secret.write_text("SECRET = 1\n" + " " * 10)
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache)
        victim = entry_dir(cache) / "tree/purelib/pkg/mod.py"
        victim.unlink()
        victim.symlink_to(secret)
        for mode in ("hardlink", "copy"):
            target = tmp_path / f"b-{mode}"
            fastinst.install([whl], scheme_in(target), cache_dir=cache, link_mode=mode)
            installed = target / "site/pkg/mod.py"
            assert not installed.is_symlink()
            assert installed.read_text() == FILES["pkg/mod.py"]

    @pytest.mark.parametrize("damage", ["magic", "dotdot", "truncated"])
    def test_bad_entry_file_is_rebuilt(self, whl, tmp_path, damage):
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache)
        entry = entry_dir(cache) / "entry"
        data = entry.read_bytes()
        entry.chmod(0o644)
        if damage == "magic":
            data = b"X" + data[1:]
        elif damage == "truncated":
            data = data[:-3]
        else:  # a row that climbs out of its key's directory, the lengths kept right
            i = data.index(b"pkg/mod.py")
            data = data[:i] + b"../../../x" + data[i + 10 :]
        entry.write_bytes(data)
        [r] = fastinst.install([whl], scheme_in(tmp_path / "b"), cache_dir=cache)
        assert not r.from_cache
        assert (tmp_path / "b/site/pkg/mod.py").read_text() == FILES["pkg/mod.py"]
        assert not (tmp_path / "x").exists()

    def test_old_format_is_not_read_and_prune_removes_it(self, whl, tmp_path):
        cache = tmp_path / "cache"
        old = cache / "wheels-v1" / ("0" * 64)
        old.mkdir(parents=True)
        (old / "manifest.json").write_text("{}")
        [r] = fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache)
        assert not r.from_cache
        WheelCache(str(cache)).prune(days=30)
        assert not (cache / "wheels-v1").exists()


class TestWheelsOfKnownHash:
    def digest(self, whl: Path) -> str:
        return hashlib.sha256(whl.read_bytes()).hexdigest()

    def test_installed_from_the_cache_without_the_file(self, whl, tmp_path):
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache)
        digest = self.digest(whl)
        whl.unlink()
        [r] = fastinst.install(
            [whl], scheme_in(tmp_path / "b"), cache_dir=cache, requested=True, sha256={whl: digest}
        )
        assert r.from_cache and r.wheel == str(whl)
        assert (tmp_path / "b/site/pkg/mod.py").read_text() == FILES["pkg/mod.py"]
        assert (Path(r.dist_info) / "REQUESTED").exists()

    @pytest.mark.parametrize("cache_dir", [None, "cache"])
    def test_file_with_another_hash_is_refused(self, whl, tmp_path, cache_dir):
        cache = tmp_path / cache_dir if cache_dir else None
        with pytest.raises(fastinst.RecordMismatch, match="not the expected 0000"):
            fastinst.install(
                [whl], scheme_in(tmp_path / "a"), cache_dir=cache, sha256={whl: "0" * 64}
            )
        assert not (tmp_path / "a").exists()

    def test_neither_cached_nor_there(self, whl, tmp_path):
        digest = self.digest(whl)
        whl.unlink()
        with pytest.raises(fastinst.InvalidWheel, match="not in the cache"):
            fastinst.install(
                [whl], scheme_in(tmp_path / "a"), cache_dir=tmp_path / "cache", sha256={whl: digest}
            )

    def test_file_with_the_pinned_hash(self, whl, tmp_path):
        digest = self.digest(whl).upper()
        [r] = fastinst.install(
            [whl], scheme_in(tmp_path / "a"), cache_dir=None, sha256={whl: digest}
        )
        assert r.name == "pkg"


class TestResults:
    def test_files_are_read_from_record_when_asked(self, whl, tmp_path):
        [r] = fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=tmp_path / "cache")
        site = tmp_path / "a/site"
        expected = {
            str(site / "pkg/__init__.py"), str(site / "pkg/mod.py"),
            str(tmp_path / "a/bin/run"), str(tmp_path / "a/bin/plain.sh"),
            str(tmp_path / "a/bin/pkg-cli"), str(tmp_path / "a/share/pkg/a.txt"),
            *(str(site / f"pkg-1.0.dist-info/{n}")
              for n in ("METADATA", "WHEEL", "entry_points.txt", "INSTALLER", "RECORD")),
        }  # fmt: skip
        assert len(r.files) == len(expected)
        assert set(r.files) == expected
        assert str(site / "pkg/mod.py") in r.files
        assert list(r.files) == list(r.files[:])
        assert all(os.path.exists(f) for f in r.files)

    def test_dry_run_lists_the_same_files(self, whl, tmp_path):
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "x"), cache_dir=cache)
        for target, cache_dir in (("a", cache), ("b", None)):
            scheme = scheme_in(tmp_path / target)
            [dry] = fastinst.install([whl], scheme, cache_dir=cache_dir, dry_run=True)
            assert not (tmp_path / target).exists()
            [real] = fastinst.install([whl], scheme, cache_dir=cache_dir)
            assert set(dry.files) == set(real.files)


class TestProgress:
    def test_events_of_a_big_warm_wheel(self, tmp_path):
        (tmp_path / "w").mkdir()
        files = {f"big/f{i}.bin": os.urandom(1 << 20) for i in range(24)}
        whl = make_wheel(tmp_path / "w", name="big", files=files)
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache)
        events: list[tuple[str, int, int]] = []
        fastinst.install([whl], scheme_in(tmp_path / "b"), cache_dir=cache, link_mode="copy",
                         progress=lambda e, w, d, t: events.append((e, d, t)))  # fmt: skip
        assert events[0][0] == "wheel-start" and events[-1][0] == "wheel-done"
        total = events[0][2]
        assert total >= 24 << 20
        assert events[-1][1:] == (total, total)
        done = [d for e, d, _t in events if e == "bytes"]
        assert done == sorted(done) and all(0 <= d <= total for d in done)

    def test_every_wheel_starts_and_is_done(self, whl, tmp_path):
        (tmp_path / "w2").mkdir()
        other = make_wheel(tmp_path / "w2", name="other", files={"other.py": "x = 1\n"})
        for n, cache in enumerate((None, tmp_path / "cache", tmp_path / "cache")):
            events: list[tuple[str, str]] = []
            fastinst.install(
                [whl, other],
                scheme_in(tmp_path / f"t{n}"),
                cache_dir=cache,
                progress=lambda e, w, d, t, events=events: events.append((e, w)),
            )
            for w in (str(whl), str(other)):
                mine = [e for e, ww in events if ww == w]
                assert mine[0] == "wheel-start" and mine[-1] == "wheel-done"


def test_table_rows_are_sorted_and_stamped(whl, tmp_path):
    """The entry's table lists files directory by directory, with the cached file's
    size and time (what the warm path checks)."""
    cache = tmp_path / "cache"
    fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache)
    from fastinst import _backend
    from fastinst._entry import read_entry

    entry = read_entry(str(entry_dir(cache)), "x")
    assert entry is not None
    rows = _backend.core.read_table(entry.table)
    assert [(k, p) for k, p, *_ in rows] == sorted((k, p) for k, p, *_ in rows)
    for key, path, size, mtime, _flags, _sha in rows:
        st = os.lstat(f"{entry.sources()[key]}/{path}")
        assert (st.st_size, st.st_mtime_ns) == (size, mtime)
    assert [s.path for s in entry.scripts] == ["run"]  # plain.sh is linked, not rewritten
    assert struct.unpack_from("<16sI", entry_dir(cache).joinpath("entry").read_bytes())[1] == FORMAT
