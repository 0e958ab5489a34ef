"""Trees of any depth are walked and removed: the helper itself, and every place
that removes a tree (rollback, recovery, uninstall, the cache), on real trees
deeper than Python's recursion limit (and than PATH_MAX)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

import fastinst
from fastinst._cache import WheelCache
from fastinst._transaction import STAGE_PREFIX, Transaction
from fastinst._tree import iter_files, remove_tree
from wheelmaker import WheelSpec, make_wheel

DEEP = 1100  # deeper than the default recursion limit (1000)


@pytest.fixture(autouse=True)
def _no_deep_leftovers(tmp_path):
    """pytest removes old temporary directories with shutil.rmtree, which recurses:
    a deep tree left here would break every later session's clean-up."""
    yield
    remove_tree(str(tmp_path))


def make_deep(top: Path, depth: int = DEEP, name: str = "d", files: bool = True) -> Path:
    """``top/d/d/.../d`` with a file and a symlink at every level, made relative to
    open directories so that it may go deeper than PATH_MAX; returns ``top``."""
    top.mkdir(parents=True, exist_ok=True)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            if files:
                os.close(os.open("f", os.O_WRONLY | os.O_CREAT, 0o444, dir_fd=fd))
                os.symlink("/etc", "link", dir_fd=fd)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
    finally:
        os.close(fd)
    return top


class TestRemoveTree:
    def test_deeper_than_the_recursion_limit(self, tmp_path):
        victim = tmp_path / "outside"
        victim.mkdir()
        (victim / "keep").write_text("keep")
        top = make_deep(tmp_path / "t")
        os.symlink(victim, top / "d" / "to-outside")
        remove_tree(str(top))
        assert not top.exists()
        assert (victim / "keep").read_text() == "keep"  # a symlink is removed, not followed

    def test_deeper_than_path_max_with_few_descriptors(self, tmp_path):
        """2,100 levels of 2 bytes each (no path to the bottom fits in PATH_MAX),
        removed by a process that may hold only 64 descriptors."""
        top = make_deep(tmp_path / "t", depth=2100, name="dd", files=False)
        script = textwrap.dedent(
            f"""
            import resource, sys
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
            from fastinst._tree import remove_tree
            remove_tree({str(top)!r})
            """
        )
        subprocess.run([sys.executable, "-c", script], check=True)
        assert not top.exists()

    def test_files_symlinks_and_missing(self, tmp_path):
        f = tmp_path / "f"
        f.write_text("x")
        remove_tree(str(f))
        assert not f.exists()
        link = tmp_path / "link"
        link.symlink_to(tmp_path)
        remove_tree(str(link))
        assert not link.exists() and tmp_path.exists()
        remove_tree(str(tmp_path / "missing"))

    def test_errors_raise_or_are_ignored(self, tmp_path):
        """As a user who may not write into one directory: the first error is
        raised, or (ignore_errors) everything else goes."""
        if os.geteuid() != 0 or shutil.which("setpriv") is None:
            pytest.skip("needs root and setpriv")
        # pytest's own temporary directories are private to root.
        top = Path(tempfile.mkdtemp(prefix="fastinst-tree-")) / "t"
        (top / "locked").mkdir(parents=True)
        (top / "locked" / "f").write_text("x")
        (top / "free").write_text("x")
        os.chmod(top.parent, 0o755)
        subprocess.run(["chown", "-R", "nobody", str(top)], check=True)
        os.chmod(top / "locked", 0o555)
        script = textwrap.dedent(
            f"""
            from fastinst._tree import remove_tree
            try:
                remove_tree({str(top)!r})
            except PermissionError:
                print("raised")
            remove_tree({str(top)!r}, ignore_errors=True)
            """
        )
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        env = {**os.environ, "PYTHONPATH": str(Path(fastinst.__file__).parent.parent)}
        out = subprocess.run([*as_nobody, sys.executable, "-c", script], env=env,
                             capture_output=True, text=True, check=True)  # fmt: skip
        assert out.stdout == "raised\n"
        assert (top / "locked" / "f").exists() and not (top / "free").exists()
        remove_tree(str(top.parent))

    def test_iter_files_deep(self, tmp_path):
        top = make_deep(tmp_path / "t")
        names = [e.name for e in iter_files(str(top))]
        assert names.count("f") == DEEP and names.count("link") == DEEP


# --- the places that remove trees --------------------------------------------------------


@pytest.fixture
def scheme(tmp_path) -> fastinst.Scheme:
    root = tmp_path / "env"
    return fastinst.Scheme(
        purelib=str(root / "lib"),
        platlib=str(root / "lib"),
        headers=str(root / "include"),
        scripts=str(root / "bin"),
        data=str(root),
        python="/usr/bin/python3-test",
    )


def test_leftover_deep_staging_is_recovered(core, scheme, tmp_path):
    """A staging area 1,100 deep, as a killed (or, before, a refused) install left
    it: the next install removes it instead of failing with RecursionError for
    good; so does an uninstall."""
    lib = Path(scheme.purelib)
    make_deep(lib / f"{STAGE_PREFIX}999-dead", files=False)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    whl = make_wheel(wheels, WheelSpec(name="demo", files={"demo/__init__.py": ""}))
    fastinst.install([whl], scheme, cache_dir=None)
    assert sorted(p.name for p in lib.iterdir()) == ["demo", "demo-1.0.dist-info"]
    make_deep(Path(scheme.scripts) / f"{STAGE_PREFIX}998-dead", files=False)
    fastinst.uninstall("demo", scheme)
    assert list(Path(scheme.scripts).iterdir()) == []


def test_publish_merges_into_a_deep_existing_tree(tmp_path):
    """Publishing descends into every directory that exists in the target already;
    a staged file 1,100 directories down goes in without recursion."""
    root = tmp_path / "lib"
    rel = "/".join(["a"] * DEEP)
    make_deep(root, name="a", files=False)
    (root / rel / "old.txt").write_text("old")
    tx = Transaction(journal_dir=str(root))
    stage = Path(tx.add(str(root), rel + "/new.txt"))
    make_deep(Path(tx.stages[str(root)]), name="a", files=False)
    stage.write_text("new")
    tx.publish_all(set())
    tx.commit()
    assert (root / rel / "new.txt").read_text() == "new"
    assert (root / rel / "old.txt").read_text() == "old"
    assert sorted(p.name for p in root.iterdir()) == ["a"]


def test_rollback_removes_a_deep_staging_tree(tmp_path):
    root = tmp_path / "lib"
    root.mkdir()
    tx = Transaction(journal_dir=str(root))
    make_deep(Path(tx.stage_dir(str(root))), files=False)
    tx.rollback()
    assert list(root.iterdir()) == []


def test_uninstall_removes_a_deep_dist_info(core, scheme, tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    whl = make_wheel(wheels, WheelSpec(name="demo", files={"demo/__init__.py": ""}))
    fastinst.install([whl], scheme, cache_dir=None)
    make_deep(Path(scheme.purelib, "demo-1.0.dist-info", "junk"), files=False)
    fastinst.uninstall("demo", scheme)
    assert list(Path(scheme.purelib).iterdir()) == []


def test_cache_info_clean_and_prune_with_deep_trees(tmp_path):
    """A deep tree in an entry, or left in the cache's tmp/ by a killed build:
    ``cache info``, ``prune`` and ``clean`` go through them."""
    cache = WheelCache(str(tmp_path / "cache"))
    make_deep(Path(cache.entry_path("a" * 64), "tree"))
    make_deep(tmp_path / "cache" / "tmp" / "build-1", files=False)
    os.utime(tmp_path / "cache" / "tmp" / "build-1", (0, 0))
    assert cache.info()["entries"] == 1 and cache.info()["bytes"] == 4 * DEEP  # the symlinks
    os.utime(cache.entry_path("a" * 64), (0, 0))
    assert cache.prune(days=1) == ["a" * 64]
    assert not (tmp_path / "cache" / "tmp" / "build-1").exists()
    make_deep(Path(cache.entry_path("b" * 64), "tree"), files=False)
    make_deep(tmp_path / "cache" / "wheels-v1" / ("c" * 64), files=False)  # an old format's
    cache.clean()
    assert list(Path(cache.entry_path("b" * 64)).parent.iterdir()) == []
    assert not (tmp_path / "cache" / "wheels-v1").exists()
