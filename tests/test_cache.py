"""The unpacked-wheel cache: link modes and their fallbacks on real filesystems,
concurrent and killed population, damaged entries."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fastinst
from conftest import run_cli
from fastinst._cache import WheelCache
from filesystems import tmpfs, xfs_with_reflink
from wheelmaker import make_wheel

pytestmark = pytest.mark.usefixtures("core")

FILES = {
    "pkg/__init__.py": "from pkg.mod import f\n",
    "pkg/mod.py": "def f():\n    return 42\n",
    "pkg/tool.sh": "#!/bin/sh\necho tool\n",
    "pkg/data/blob.bin": os.urandom(300_000),
}


def scheme_in(root: Path) -> fastinst.Scheme:
    return fastinst.Scheme(
        purelib=str(root / "site"),
        platlib=str(root / "site"),
        headers=str(root / "include"),
        scripts=str(root / "bin"),
        data=str(root),
        python=sys.executable,
    )


def pkg_wheel(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return make_wheel(
        directory,
        name="pkg",
        files=FILES,
        executables={"pkg/tool.sh"},
        entry_points={"console_scripts": {"pkg-run": "pkg:f"}},
    )


def installed(root: Path) -> dict[str, tuple[bytes, bool]]:
    """Relative path -> (content, executable), RECORD/INSTALLER left out."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name not in ("RECORD", "INSTALLER", "REQUESTED"):
            out[str(p.relative_to(root))] = (p.read_bytes(), bool(p.stat().st_mode & 0o111))
    return out


def cli_install(target: Path, cache: Path, whl: Path) -> subprocess.Popen[str]:
    """``fastinst install --target`` in a child process, stderr captured."""
    cmd = [sys.executable, "-m", "fastinst", "install", "-q", "--target", str(target),
           "--cache-dir", str(cache), str(whl)]  # fmt: skip
    return subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)


def cached_file(cache: Path, rel: str, key: str = "purelib") -> Path:
    [entry] = WheelCache(str(cache)).entries()
    return Path(entry.tree, key, rel)


class TestWarmEqualsCold:
    def test_same_tree_from_archive_cold_and_warm(self, tmp_path):
        whl = pkg_wheel(tmp_path / "w")
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=None)
        fastinst.install([whl], scheme_in(tmp_path / "b"), cache_dir=cache)  # cold
        [r] = fastinst.install([whl], scheme_in(tmp_path / "c"), cache_dir=cache, link_mode="copy")
        assert r.from_cache
        assert installed(tmp_path / "a") == installed(tmp_path / "b") == installed(tmp_path / "c")

    def test_same_bytes_under_another_name_hit_the_cache(self, tmp_path):
        whl = pkg_wheel(tmp_path / "w")
        other = tmp_path / "elsewhere" / whl.name
        other.parent.mkdir()
        other.write_bytes(whl.read_bytes())
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache)
        [r] = fastinst.install([other], scheme_in(tmp_path / "b"), cache_dir=cache)
        assert r.from_cache
        assert len(list(WheelCache(str(cache)).entries())) == 1


class TestLinkModes:
    def test_hardlink_shares_the_read_only_inode(self, tmp_path):
        whl = pkg_wheel(tmp_path / "w")
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache, link_mode="hardlink")
        target = tmp_path / "a/site/pkg/mod.py"
        source = cached_file(cache, "pkg/mod.py")
        assert os.stat(target).st_ino == os.stat(source).st_ino
        assert not os.stat(source).st_mode & 0o222, "cached files must be read-only"
        # RECORD, INSTALLER and launchers are written fresh, never linked.
        assert os.stat(tmp_path / "a/site/pkg-1.0.dist-info/RECORD").st_nlink == 1
        assert os.stat(tmp_path / "a/bin/pkg-run").st_nlink == 1

    def test_copy_is_independent_and_writable(self, tmp_path):
        whl = pkg_wheel(tmp_path / "w")
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache, link_mode="copy")
        target = tmp_path / "a/site/pkg/mod.py"
        assert os.stat(target).st_ino != os.stat(cached_file(cache, "pkg/mod.py")).st_ino
        assert os.stat(target).st_mode & 0o200
        assert os.stat(tmp_path / "a/site/pkg/tool.sh").st_mode & 0o111

    def test_clone_on_a_reflink_filesystem(self, tmp_path):
        with xfs_with_reflink(tmp_path / "xfs") as fs:
            big = {"pkg/__init__.py": "", "pkg/big.bin": os.urandom(40 << 20)}
            (fs / "w").mkdir()
            whl = make_wheel(fs / "w", name="pkg", files=big)
            cache = fs / "cache"
            fastinst.install([whl], scheme_in(fs / "a"), cache_dir=cache)
            free_before = os.statvfs(fs).f_bfree * os.statvfs(fs).f_frsize
            fastinst.install([whl], scheme_in(fs / "b"), cache_dir=cache, link_mode="clone")
            free_after = os.statvfs(fs).f_bfree * os.statvfs(fs).f_frsize
            target = fs / "b/site/pkg/big.bin"
            assert target.read_bytes() == big["pkg/big.bin"]
            assert os.stat(target).st_ino != os.stat(cached_file(cache, "pkg/big.bin")).st_ino
            # A clone shares the extents: 40 MB of content cost (almost) no space.
            assert free_before - free_after < 8 << 20

    def test_auto_picks_clone_where_it_works(self, tmp_path, caplog):
        with xfs_with_reflink(tmp_path / "xfs") as fs:
            whl = pkg_wheel(fs / "w")
            cache = fs / "cache"
            fastinst.install([whl], scheme_in(fs / "a"), cache_dir=cache)
            target = fs / "a/site/pkg/mod.py"
            assert os.stat(target).st_nlink == 1  # not a hardlink: a clone
            assert os.stat(target).st_ino != os.stat(cached_file(cache, "pkg/mod.py")).st_ino

    def test_auto_falls_back_to_hardlink_without_reflink(self, tmp_path, caplog):
        with tmpfs(tmp_path / "t") as fs:
            whl = pkg_wheel(fs / "w")
            cache = fs / "cache"
            with caplog.at_level(logging.INFO, logger="fastinst"):
                fastinst.install([whl], scheme_in(fs / "a"), cache_dir=cache)
            assert (
                os.stat(fs / "a/site/pkg/mod.py").st_ino
                == os.stat(cached_file(cache, "pkg/mod.py")).st_ino
            )
            assert "linking from the cache by hardlink" in caplog.text

    def test_auto_copies_across_devices(self, tmp_path, caplog):
        whl = pkg_wheel(tmp_path / "w")
        cache = tmp_path / "cache"  # on the test disk
        with tmpfs(tmp_path / "t") as fs:
            with caplog.at_level(logging.INFO, logger="fastinst"):
                fastinst.install([whl], scheme_in(fs / "a"), cache_dir=cache)
            assert (fs / "a/site/pkg/mod.py").read_text() == FILES["pkg/mod.py"]
            assert "linking from the cache by copy" in caplog.text
            assert caplog.text.count("linking from the cache") == 1, "decided once, not per file"

    def test_hardlink_limit_falls_back_to_copy(self, tmp_path):
        """A cached file already at ext4's 65,000 links (EMLINK) is copied instead."""
        image = tmp_path / "ext4.img"
        with open(image, "wb") as f:
            f.truncate(128 << 20)
        if os.geteuid() != 0:
            pytest.skip("needs root to mount")
        subprocess.run(["mkfs.ext4", "-q", "-N", "80000", str(image)], check=True)
        mnt = tmp_path / "ext4"
        mnt.mkdir()
        subprocess.run(["mount", "-o", "loop", str(image), str(mnt)], check=True)
        try:
            whl = pkg_wheel(mnt / "w")
            cache = mnt / "cache"
            fastinst.install([whl], scheme_in(mnt / "a"), cache_dir=cache, link_mode="hardlink")
            source = cached_file(cache, "pkg/mod.py")
            links = mnt / "links"
            links.mkdir()
            n = os.stat(source).st_nlink
            while n < 65000:
                try:
                    os.link(source, links / str(n))
                except OSError:
                    break
                n += 1
            with pytest.raises(OSError):
                os.link(source, links / "one-more")
            fastinst.install([whl], scheme_in(mnt / "b"), cache_dir=cache, link_mode="hardlink")
            assert (mnt / "b/site/pkg/mod.py").read_text() == FILES["pkg/mod.py"]
            assert os.stat(mnt / "b/site/pkg/mod.py").st_ino != os.stat(source).st_ino
        finally:
            subprocess.run(["umount", "-l", str(mnt)], check=False)

    def test_read_only_cache(self, tmp_path):
        whl = pkg_wheel(tmp_path / "w")
        with tmpfs(tmp_path / "ro") as fs:
            cache = fs / "cache"
            fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache)
            subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
            # Warm: linked (copied: another device) out of the read-only cache.
            [r] = fastinst.install([whl], scheme_in(tmp_path / "b"), cache_dir=cache)
            assert r.from_cache
            # Cold: the cache cannot take a new entry, so the archive is used directly.
            fresh = make_wheel(tmp_path / "w", name="fresh", files={"fresh.py": "x = 1\n"})
            [r] = fastinst.install([fresh], scheme_in(tmp_path / "c"), cache_dir=cache)
            assert not r.from_cache
            assert (tmp_path / "c/site/fresh.py").read_text() == "x = 1\n"


class TestPopulation:
    def test_concurrent_population_by_several_processes(self, tmp_path):
        big = {f"pkg/m{i}.py": f"X = {i}\n" * 200 for i in range(300)}
        big["pkg/__init__.py"] = ""
        (tmp_path / "w").mkdir()
        whl = make_wheel(tmp_path / "w", name="pkg", files=big)
        cache = tmp_path / "cache"
        procs = [cli_install(tmp_path / f"t{i}", cache, whl) for i in range(6)]
        for p in procs:
            _out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        entries = list(WheelCache(str(cache)).entries())
        assert len(entries) == 1
        assert WheelCache(str(cache)).verify(repair=False) == []
        assert not list((cache / "tmp").iterdir())
        for i in range(6):
            assert (tmp_path / f"t{i}/pkg/m299.py").read_text() == "X = 299\n" * 200

    def test_killed_population_leaves_nothing_trusted(self, tmp_path):
        files = {f"pkg/blob{i}.bin": os.urandom(2 << 20) for i in range(40)}
        files["pkg/__init__.py"] = ""
        (tmp_path / "w").mkdir()
        whl = make_wheel(tmp_path / "w", name="pkg", files=files)
        cache = tmp_path / "cache"
        for delay in (0.05, 0.15, 0.3):
            proc = cli_install(tmp_path / "t", cache, whl)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            # Whatever the kill interrupted, an entry that exists is complete.
            assert WheelCache(str(cache)).verify(repair=False) == []
        fastinst.install([whl], scheme_in(tmp_path / "after"), cache_dir=cache)
        assert (tmp_path / "after/site/pkg/blob39.bin").read_bytes() == files["pkg/blob39.bin"]
        assert WheelCache(str(cache)).verify(repair=False) == []


class TestUnpackedWhileOpened:
    """Cold wheels are unpacked into the cache while the next ones are opened
    (`_cache.EntryBuilder`): what is refused still refuses the install whole."""

    @staticmethod
    def wheels(directory: Path, count: int) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        return [
            make_wheel(directory, name=f"p{i}", files={f"p{i}/__init__.py": f"N = {i}\n" * 50,
                                                       f"p{i}/blob.bin": os.urandom(200_000)})
            for i in range(count)
        ]  # fmt: skip

    def test_many_cold_wheels_give_the_archive_tree(self, tmp_path):
        whls = self.wheels(tmp_path / "w", 6)
        cache = tmp_path / "cache"
        fastinst.install(whls, scheme_in(tmp_path / "a"), cache_dir=None)
        results = fastinst.install(whls, scheme_in(tmp_path / "b"), cache_dir=cache)
        assert not any(r.from_cache for r in results)
        assert installed(tmp_path / "a") == installed(tmp_path / "b")
        assert len(list(WheelCache(str(cache)).entries())) == 6
        assert WheelCache(str(cache)).verify(repair=False) == []
        assert not list((cache / "tmp").iterdir())

    def test_a_later_wheel_refused_leaves_the_environment_untouched(self, tmp_path):
        whls = self.wheels(tmp_path / "w", 4)
        bad = make_wheel(tmp_path / "w", name="zbad", files={"zbad/../../evil": "x"})
        cache = tmp_path / "cache"
        with pytest.raises(fastinst.UnsafePath):
            fastinst.install([*whls, bad], scheme_in(tmp_path / "env"), cache_dir=cache)
        assert not (tmp_path / "env").exists() or installed(tmp_path / "env") == {}
        # the entries made meanwhile are whole ones, of the good wheels; no build is left
        assert len(list(WheelCache(str(cache)).entries())) <= 4
        assert WheelCache(str(cache)).verify(repair=False) == []
        assert not list((cache / "tmp").iterdir())

    def test_an_earlier_wheel_that_fails_to_unpack_names_itself(self, tmp_path):
        from wheelmaker import corrupt_crc

        whls = self.wheels(tmp_path / "w", 4)
        corrupt_crc(whls[0], "p0/blob.bin")
        cache = tmp_path / "cache"
        with pytest.raises(fastinst.CorruptArchive) as caught:
            fastinst.install(whls, scheme_in(tmp_path / "env"), cache_dir=cache)
        assert caught.value.wheel == str(whls[0])
        assert caught.value.member == "p0/blob.bin"
        assert not (tmp_path / "env").exists() or installed(tmp_path / "env") == {}
        assert WheelCache(str(cache)).verify(repair=False) == []
        assert not list((cache / "tmp").iterdir())
        # the same wheels, repaired, install from what the cache kept and unpack the rest
        fixed = self.wheels(tmp_path / "fixed", 1)[0]
        results = fastinst.install([fixed, *whls[1:]], scheme_in(tmp_path / "ok"), cache_dir=cache)
        assert [r.name for r in results] == ["p0", "p1", "p2", "p3"]


class TestDamage:
    def test_verify_finds_and_removes_a_corrupted_entry(self, tmp_path):
        whl = pkg_wheel(tmp_path / "w")
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache)
        victim = cached_file(cache, "pkg/mod.py")
        os.chmod(victim, 0o644)
        victim.write_text("def f():\n    return 24\n")  # same size: only a re-hash sees it
        out = run_cli("cache", "verify", "--cache-dir", str(cache))
        assert out.returncode == 1
        assert "pkg/mod.py: content changed" in out.stdout
        assert list(WheelCache(str(cache)).entries()) == []
        [r] = fastinst.install([whl], scheme_in(tmp_path / "b"), cache_dir=cache)
        assert not r.from_cache  # re-extracted from the wheel
        assert (tmp_path / "b/site/pkg/mod.py").read_text() == FILES["pkg/mod.py"]

    def test_missing_cached_file_is_re_extracted_at_install(self, tmp_path):
        whl = pkg_wheel(tmp_path / "w")
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache)
        cached_file(cache, "pkg/mod.py").unlink()
        fastinst.install([whl], scheme_in(tmp_path / "b"), cache_dir=cache)
        assert (tmp_path / "b/site/pkg/mod.py").read_text() == FILES["pkg/mod.py"]
        assert WheelCache(str(cache)).verify(repair=False) == []

    def test_cache_commands(self, tmp_path):
        whl = pkg_wheel(tmp_path / "w")
        cache = tmp_path / "cache"
        fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache)
        assert run_cli("cache", "dir", "--cache-dir", str(cache)).stdout.strip() == str(cache)
        info = run_cli("cache", "info", "--cache-dir", str(cache), "--json")
        assert '"entries": 1' in info.stdout
        assert run_cli("cache", "prune", "--days", "1", "--cache-dir", str(cache)).returncode == 0
        assert len(list(WheelCache(str(cache)).entries())) == 1  # used just now
        entry = next(WheelCache(str(cache)).entries())
        old = time.time() - 10 * 86400
        os.utime(entry.path, (old, old))
        out = run_cli("cache", "prune", "--days", "1", "--cache-dir", str(cache))
        assert "removed 1 entry" in out.stdout
        assert run_cli("cache", "clean", "--cache-dir", str(cache)).returncode == 0
        assert list(WheelCache(str(cache)).entries()) == []
