"""Trust boundaries of the cache (#14): a cache directory that another user can
change, or that sits where another user can swap it, is not used.

The rule is ``_trust``'s: the cache directory is owned by the current user and no
one else can write to it, and every directory above it is the user's or root's
and writable by no one else (unless sticky, as ``/tmp``). The other user is real
(``nobody``, through ``setpriv``) and the directories are real.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import fastinst
from conftest import CORES, run_cli
from fastinst import _trust
from fastinst._scheme import get_scheme
from wheelmaker import Member, WheelSpec, build_members, make_wheel, write_zip

NOBODY = 65534
MOD = "def f():\n    return 42\n"
EVIL = "def f():\n    return 66\n"  # the same size
FILES = {"pkg/__init__.py": "from pkg.mod import f\n", "pkg/mod.py": MOD}


def needs_root() -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv")


@pytest.fixture
def shared():
    """A root-owned directory in /tmp that ``nobody`` can reach (tmp_path is private)."""
    from distro import make_shared_dir

    needs_root()
    path = make_shared_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def as_nobody(code: str, *args: str) -> None:
    """Run Python ``code`` as ``nobody`` (Debian's python3: any user can run it)."""
    from distro import run_as_nobody

    proc = run_as_nobody(["/usr/bin/python3", "-c", code, *args], env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# --- interpreter answers (probe-v2) ----------------------------------------------------------


def answer_file(cache: Path) -> Path:
    [found] = (cache / "probe-v2").glob("facts-*.json")
    return found


def plant(answer: Path, purelib: str) -> None:
    facts = json.loads(answer.read_text())
    facts["schemes"]["default"]["paths"]["purelib"] = purelib
    answer.write_text(json.dumps(facts))


@pytest.fixture
def python(venv_factory) -> str:
    return str(venv_factory("probed") / "bin" / "python")


class TestInterpreterAnswers:
    def test_under_a_directory_others_can_write(self, shared, python, caplog):
        """Another user who can write a directory above the cache can rename it
        away and put theirs in its place between the check and the use: answers
        there are not used. A sticky directory (as /tmp) is fine."""
        parent = shared / "open"
        parent.mkdir()
        cache = parent / "cache"
        right = get_scheme(python, cache_dir=cache)
        plant(answer_file(cache), "/planted")
        assert get_scheme(python, cache_dir=cache).purelib == "/planted"  # ours: used
        os.chmod(parent, 0o777)
        with caplog.at_level(logging.WARNING, logger="fastinst"):
            assert get_scheme(python, cache_dir=cache) == right
            assert get_scheme(python, cache_dir=cache) == right
        assert warnings(caplog) == [
            f"cached wheels and interpreter answers in {cache} are not used: "
            f"other users can write to {parent}"
        ]  # once
        caplog.clear()
        os.chmod(parent, 0o1777)
        with caplog.at_level(logging.WARNING, logger="fastinst"):
            assert get_scheme(python, cache_dir=cache).purelib == "/planted"
        assert warnings(caplog) == []

    def test_in_another_users_home(self, shared, python, caplog):
        """``sudo`` without ``-H``: root's cache in a user's home, in a directory root
        made. The user can move it and put theirs in its place: not used, as pip
        disables a cache whose parent is not the current user's."""
        needs_root()
        home = shared / "home"
        home.mkdir()
        cache = home / ".cache" / "fastinst"
        right = get_scheme(python, cache_dir=cache)
        plant(answer_file(cache), "/planted")
        os.chown(home, NOBODY, NOBODY)
        os.chown(home / ".cache", NOBODY, NOBODY)
        with caplog.at_level(logging.WARNING, logger="fastinst"):
            assert get_scheme(python, cache_dir=cache) == right
        assert warnings(caplog) == [
            f"cached wheels and interpreter answers in {cache} are not used: "
            f"{home} is owned by another user (uid {NOBODY})"
        ]
        # And what the user then does with it changes nothing.
        as_nobody(
            "import os, sys; os.rename(sys.argv[1], sys.argv[1] + '.old'); "
            "os.makedirs(os.path.join(sys.argv[1], 'probe-v2'))",
            str(cache),
        )
        shutil.copy(answer_file(Path(f"{cache}.old")), cache / "probe-v2")
        assert get_scheme(python, cache_dir=cache) == right

    def test_a_cache_directory_owned_by_another_user(self, shared, python, caplog):
        needs_root()
        cache = shared / "cache"
        right = get_scheme(python, cache_dir=cache)
        plant(answer_file(cache), "/planted")
        os.chown(cache, NOBODY, NOBODY)
        with caplog.at_level(logging.WARNING, logger="fastinst"):
            assert get_scheme(python, cache_dir=cache) == right
        assert warnings(caplog) == [
            f"cached wheels and interpreter answers in {cache} are not used: "
            f"it is owned by another user (uid {NOBODY})"
        ]

    def test_a_symlink_to_the_cache_is_followed_and_checked(self, tmp_path, python, caplog):
        """A link to a sound cache is fine: the real path is what is checked and used."""
        real = tmp_path / "real"
        right = get_scheme(python, cache_dir=real)
        plant(answer_file(real), "/kept")
        (tmp_path / "link").symlink_to(real)
        with caplog.at_level(logging.WARNING, logger="fastinst"):
            assert get_scheme(python, cache_dir=tmp_path / "link").purelib == "/kept"
        assert warnings(caplog) == []
        assert right.purelib != "/kept"

    def test_own_group_writable_cache_under_umask_002(self, tmp_path, python, caplog):
        """On systems that give each user a private group (and umask 002), the
        user's own directories are group-writable: that group is no one else."""
        if not _trust._private_group(os.getegid()):
            pytest.skip("the current group is not the user's private group")
        cache = tmp_path / "cache"
        cache.mkdir()
        os.chmod(cache, 0o775)
        old = os.umask(0o002)
        try:
            with caplog.at_level(logging.WARNING, logger="fastinst"):
                get_scheme(python, cache_dir=cache)
                plant(answer_file(cache), "/kept")
                assert get_scheme(python, cache_dir=cache).purelib == "/kept"
        finally:
            os.umask(old)
        assert warnings(caplog) == []
        # what fastinst makes itself is writable by the user alone, whatever the umask
        assert stat.S_IMODE((cache / "probe-v2").stat().st_mode) == 0o755

    def test_made_levels_are_the_users_alone(self, tmp_path):
        old = os.umask(0o002)
        try:
            _trust.make_dirs(str(tmp_path / "a" / "b" / "c"))
        finally:
            os.umask(old)
        for p in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
            assert stat.S_IMODE(p.stat().st_mode) == 0o755, p


# --- cached wheels ---------------------------------------------------------------------------


# Rewrites a file its user owns (a cached file is read-only) with the same size and
# restores its times: what the cache's own checks (size, mtime) cannot see.
TAMPER = """
import os, sys
for p in sys.argv[1:]:
    st = os.stat(p)
    os.chmod(p, 0o644)
    data = open(p, 'rb').read().replace(b'42', b'66')
    with open(p, 'r+b') as f:
        f.write(data)
    os.chmod(p, st.st_mode & 0o7777)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
"""


def scheme_in(root: Path) -> fastinst.Scheme:
    return fastinst.Scheme(
        purelib=str(root / "site"),
        platlib=str(root / "site"),
        headers=str(root / "include"),
        scripts=str(root / "bin"),
        data=str(root),
        python=sys.executable,
    )


def cached(cache: Path, name: str) -> list[Path]:
    """Every file called ``name`` in the cache's entries (whatever the layout)."""
    return sorted(
        p for p in cache.rglob(name) if p.is_file() and "probe" not in str(p.relative_to(cache))
    )


def chown_tree(path: Path, uid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [*dirnames, *filenames]:
            os.lchown(os.path.join(dirpath, name), uid, uid)
    os.lchown(path, uid, uid)


def cli_env(core: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env.pop("FASTINST_NO_EXTENSIONS", None)
    if core == "python":
        env["FASTINST_NO_EXTENSIONS"] = "1"
    env.update(extra)
    return env


@pytest.fixture(params=CORES)
def core_env(request):
    """The command line's environment, once with each core."""
    if request.param == "compiled" and os.environ.get("FASTINST_NO_EXTENSIONS"):
        pytest.skip("FASTINST_NO_EXTENSIONS is set")
    return request.param


def assert_true_install(site: Path, cache: Path) -> None:
    """The wheel's own bytes, in root's own files, none shared with the cache."""
    mod = site / "pkg" / "mod.py"
    assert mod.read_text() == MOD
    cached_inodes = {(p.stat().st_dev, p.stat().st_ino) for p in cache.rglob("*") if p.is_file()}
    for p in site.rglob("*"):
        st = p.lstat()
        assert st.st_uid == os.geteuid(), p
        assert (st.st_dev, st.st_ino) not in cached_inodes, p


def warnings_about(stderr: str, cache: Path) -> list[str]:
    return [line for line in stderr.splitlines() if str(cache) in line]


# --- the trust rule: a cache another user can write is not used ------------------------------


class TestAnotherUsersCache:
    def fill_as_nobody(self, shared: Path, cache: Path) -> Path:
        """A cache ``nobody`` owns, with a poisoned entry for the wheel returned."""
        whl = make_wheel(shared, name="pkg", files=FILES)
        fastinst.install([whl], scheme_in(shared / "first"), cache_dir=cache)
        chown_tree(cache, NOBODY)  # as if nobody had filled it
        mods = cached(cache, "mod.py")
        assert mods, "the cache holds the wheel's files"
        as_nobody(TAMPER, *map(str, mods))
        return whl

    def test_shared_cache_dir(self, shared, tmp_path, core_env):
        """FASTINST_CACHE_DIR shared with another user: root's warm install would
        hardlink files that user owns (and has just changed) into root's environment."""
        cache = shared / "cache"
        whl = self.fill_as_nobody(shared, cache)
        target = tmp_path / "target"
        env = cli_env(core_env, FASTINST_CACHE_DIR=str(cache))
        proc = run_cli("install", "--target", str(target), str(whl), env=env)
        assert proc.returncode == 0, proc.stderr
        [warning] = warnings_about(proc.stderr, cache)
        assert "not used" in warning and f"another user (uid {NOBODY})" in warning
        assert_true_install(target, cache)
        # nothing of root's went into it either
        assert [p for p in cache.rglob("*") if p.lstat().st_uid != NOBODY] == []

    def test_root_with_a_users_home(self, shared, tmp_path, core_env):
        """``sudo`` without ``-H``: the default cache is in the user's home."""
        home = shared / "home"
        home.mkdir()
        cache = home / ".cache" / "fastinst"
        whl = self.fill_as_nobody(shared, cache)
        chown_tree(home, NOBODY)
        target = tmp_path / "target"
        env = cli_env(core_env, HOME=str(home))
        for name in ("FASTINST_CACHE_DIR", "XDG_CACHE_HOME"):
            env.pop(name, None)
        proc = run_cli("install", "--target", str(target), str(whl), env=env)
        assert proc.returncode == 0, proc.stderr
        assert len(warnings_about(proc.stderr, cache)) == 1, proc.stderr
        assert_true_install(target, cache)

    def test_root_owned_cache_that_others_can_write(self, shared, tmp_path, core_env):
        """A shared cache made world-writable: another user swaps in entries of their
        own, with the same names, sizes and times."""
        cache = shared / "cache"
        whl = make_wheel(shared, name="pkg", files=FILES)
        fastinst.install([whl], scheme_in(shared / "first"), cache_dir=cache)
        os.chmod(cache, 0o777)
        as_nobody(
            """
import os, shutil, sys
cache = sys.argv[1]
for name in os.listdir(cache):
    path = os.path.join(cache, name)
    if os.path.isdir(path):
        shutil.copytree(path, path + '.mine', symlinks=True)
        os.rename(path, path + '.old')
        os.rename(path + '.mine', path)
""",
            str(cache),
        )
        mods = [p for p in cached(cache, "mod.py") if ".old" not in str(p)]
        assert mods and all(p.stat().st_uid == NOBODY for p in mods)
        as_nobody(TAMPER, *map(str, mods))
        target = tmp_path / "target"
        env = cli_env(core_env, FASTINST_CACHE_DIR=str(cache))
        proc = run_cli("install", "--target", str(target), str(whl), env=env)
        assert proc.returncode == 0, proc.stderr
        [warning] = warnings_about(proc.stderr, cache)
        assert "other users can write to it" in warning
        assert_true_install(target, cache)

    def test_a_parent_others_can_write(self, shared, tmp_path, core):
        """A parent that another user can write lets them rename the cache away and
        put theirs in its place between the check and the use: not used either. A
        sticky parent (/tmp) is fine."""
        parent = shared / "open"
        parent.mkdir(mode=0o777)
        os.chmod(parent, 0o777)
        whl = make_wheel(tmp_path, name="pkg", files=FILES)
        records = []
        handler = logging.Handler()
        handler.emit = records.append  # type: ignore[method-assign]
        logging.getLogger("fastinst").addHandler(handler)
        try:
            fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=parent / "cache")
            assert not list((parent / "cache").rglob("mod.py"))
            os.chmod(parent, 0o1777)
            fastinst.install([whl], scheme_in(tmp_path / "b"), cache_dir=parent / "cache")
        finally:
            logging.getLogger("fastinst").removeHandler(handler)
        messages = [r.getMessage() for r in records if r.levelno == logging.WARNING]
        assert len(messages) == 1 and str(parent) in messages[0], messages
        assert messages[0].endswith(f"are not used: other users can write to {parent}")
        assert cached(parent / "cache", "mod.py")

    def test_warned_once_per_process(self, shared, tmp_path, core, caplog):
        cache = shared / "cache"
        whl = self.fill_as_nobody(shared, cache)
        with caplog.at_level(logging.WARNING, logger="fastinst"):
            for name in "abc":
                fastinst.install([whl], scheme_in(tmp_path / name), cache_dir=cache)
                assert_true_install(tmp_path / name / "site", cache)
        assert len([r for r in caplog.records if str(cache) in r.getMessage()]) == 1

    def test_own_cache_under_umask_002_stays_trusted(self, tmp_path, core, caplog):
        """A group-writable umask must not make fastinst's own cache untrusted: its
        directories are made writable by the user alone."""
        whl = make_wheel(tmp_path, name="pkg", files=FILES)
        cache = tmp_path / "cache"
        with umask(0o002), caplog.at_level(logging.WARNING, logger="fastinst"):
            fastinst.install([whl], scheme_in(tmp_path / "a"), cache_dir=cache)
            fastinst.install(
                [whl], scheme_in(tmp_path / "b"), cache_dir=cache, link_mode="hardlink"
            )
        assert not caplog.records, caplog.records
        assert (tmp_path / "b" / "site" / "pkg" / "mod.py").stat().st_nlink > 1
        for p in cache.rglob("*"):
            st = p.lstat()
            assert not st.st_mode & 0o022, (p, oct(st.st_mode))


# --- what an entry says is not followed blindly ----------------------------------------------


def trusted_cache(tmp_path: Path) -> tuple[Path, Path]:
    """A wheel and a cache of ours that holds it."""
    whl = make_wheel(tmp_path, name="pkg", files=FILES)
    cache = tmp_path / "cache"
    fastinst.install([whl], scheme_in(tmp_path / "first"), cache_dir=cache)
    return whl, cache


def same_stamp(path: Path, like: Path) -> None:
    st = like.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def secret(tmp_path: Path, like: Path) -> Path:
    """A root-only file of the cached file's size and times."""
    path = tmp_path / "secret"
    path.write_text(MOD.replace("42", "77"))
    os.chmod(path, 0o600)
    same_stamp(path, like)
    return path


@pytest.mark.parametrize("link_mode", ["copy", "hardlink"])
class TestEntryNotFollowedBlindly:
    def install_again(self, tmp_path: Path, whl: Path, cache: Path, link_mode: str) -> Path:
        site = tmp_path / "env" / "site"
        fastinst.install([whl], scheme_in(tmp_path / "env"), cache_dir=cache, link_mode=link_mode)
        return site

    def assert_own_files(self, site: Path) -> None:
        for p in site.rglob("*"):
            st = p.lstat()
            assert not p.is_symlink(), p
            assert st.st_uid == os.geteuid(), p
            assert not st.st_mode & 0o022, (p, oct(st.st_mode))
        assert (site / "pkg" / "mod.py").read_text() == MOD

    def test_symlinked_file(self, tmp_path, core, link_mode):
        """A cached file that is a symlink to a root-only file of the same size and
        time: a copy made it readable by everyone."""
        whl, cache = trusted_cache(tmp_path)
        [mod] = cached(cache, "mod.py")
        target = secret(tmp_path, mod)
        mod.unlink()
        mod.symlink_to(target)
        site = self.install_again(tmp_path, whl, cache, link_mode)
        self.assert_own_files(site)

    def test_symlinked_directory(self, tmp_path, core, link_mode):
        """A directory of an entry's tree replaced by a symlink to one elsewhere."""
        whl, cache = trusted_cache(tmp_path)
        [mod] = cached(cache, "mod.py")
        elsewhere = tmp_path / "elsewhere"
        shutil.copytree(mod.parent, elsewhere, symlinks=True)
        os.chmod(elsewhere / "mod.py", 0o644)
        (elsewhere / "mod.py").write_text(EVIL)
        same_stamp(elsewhere / "mod.py", mod)
        for p in elsewhere.iterdir():
            same_stamp(p, mod.parent / p.name)
        os.chmod(mod.parent, 0o755)
        shutil.rmtree(mod.parent)
        mod.parent.symlink_to(elsewhere)
        site = self.install_again(tmp_path, whl, cache, link_mode)
        self.assert_own_files(site)

    def test_file_owned_by_another_user(self, tmp_path, core, link_mode):
        """A file of our cache that belongs to someone else (restored from an archive,
        say) is not linked: that user could change it in our environment."""
        needs_root()
        whl, cache = trusted_cache(tmp_path)
        [mod] = cached(cache, "mod.py")
        os.lchown(mod, NOBODY, NOBODY)
        site = self.install_again(tmp_path, whl, cache, link_mode)
        self.assert_own_files(site)

    def test_file_others_can_write(self, tmp_path, core, link_mode):
        whl, cache = trusted_cache(tmp_path)
        [mod] = cached(cache, "mod.py")
        os.chmod(mod, 0o666)
        site = self.install_again(tmp_path, whl, cache, link_mode)
        self.assert_own_files(site)


class TestCacheVerify:
    """``cache verify`` reports every entry a warm install would not use as it is."""

    def verify(self, cache: Path, core: str) -> subprocess.CompletedProcess[str]:
        return run_cli("cache", "verify", "--cache-dir", str(cache), env=cli_env(core))

    def test_symlink_to_the_same_bytes(self, tmp_path, core_env):
        """The same bytes, but in a file others can change: not a sound entry."""
        _whl, cache = trusted_cache(tmp_path)
        [mod] = cached(cache, "mod.py")
        copy = tmp_path / "copy.py"
        shutil.copy2(mod, copy)
        os.chmod(copy, 0o666)
        mod.unlink()
        mod.symlink_to(copy)
        proc = self.verify(cache, core_env)
        assert proc.returncode == 1, proc
        assert "mod.py" in proc.stdout + proc.stderr

    def test_symlinked_directory_with_the_same_bytes(self, tmp_path, core_env):
        _whl, cache = trusted_cache(tmp_path)
        [mod] = cached(cache, "mod.py")
        elsewhere = tmp_path / "elsewhere"
        shutil.copytree(mod.parent, elsewhere)
        os.chmod(mod.parent, 0o755)
        shutil.rmtree(mod.parent)
        mod.parent.symlink_to(elsewhere)
        proc = self.verify(cache, core_env)
        assert proc.returncode == 1, proc
        assert "pkg" in proc.stdout + proc.stderr

    def test_file_owned_by_another_user(self, tmp_path, core_env):
        needs_root()
        _whl, cache = trusted_cache(tmp_path)
        [mod] = cached(cache, "mod.py")
        os.lchown(mod, NOBODY, NOBODY)
        proc = self.verify(cache, core_env)
        assert proc.returncode == 1, proc
        assert "mod.py" in proc.stdout + proc.stderr

    def test_file_others_can_write(self, tmp_path, core_env):
        _whl, cache = trusted_cache(tmp_path)
        [mod] = cached(cache, "mod.py")
        os.chmod(mod, 0o666)
        proc = self.verify(cache, core_env)
        assert proc.returncode == 1, proc
        assert "mod.py" in proc.stdout + proc.stderr

    def test_another_users_cache(self, shared, core_env):
        needs_root()
        cache = shared / "cache"
        whl = make_wheel(shared, name="pkg", files=FILES)
        fastinst.install([whl], scheme_in(shared / "first"), cache_dir=cache)
        chown_tree(cache, NOBODY)
        proc = self.verify(cache, core_env)
        assert proc.returncode == 1, proc
        assert str(cache) in proc.stdout + proc.stderr and "another user" in proc.stderr

    def test_sound_entry_passes(self, tmp_path, core_env):
        _whl, cache = trusted_cache(tmp_path)
        proc = self.verify(cache, core_env)
        assert proc.returncode == 0, proc


# --- the index of wheel files: what a user cannot put back -------------------------------------


def stored_wheel(directory: Path, mod: str) -> Path:
    """A wheel whose members are stored: the same size whatever ``mod`` says."""
    spec = WheelSpec(name="pkg", files={**FILES, "pkg/mod.py": mod})
    members = build_members(spec)
    for m in members:
        m.compress = zipfile.ZIP_STORED
    return write_zip(directory / "pkg-1.0-py3-none-any.whl", members)


def test_wheel_rewritten_in_place_with_its_mtime_restored(tmp_path, core):
    """Same path, inode, size and mtime, other bytes: the new bytes are installed."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    whl = stored_wheel(tmp_path / "a", MOD)
    other = stored_wheel(tmp_path / "b", EVIL).read_bytes()
    assert len(other) == whl.stat().st_size
    cache = tmp_path / "cache"
    fastinst.install([whl], scheme_in(tmp_path / "one"), cache_dir=cache)
    st = whl.stat()
    with open(whl, "r+b") as f:
        f.write(other)
    os.utime(whl, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (whl.stat().st_ino, whl.stat().st_size, whl.stat().st_mtime_ns) == (
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
    )
    fastinst.install([whl], scheme_in(tmp_path / "two"), cache_dir=cache)
    assert (tmp_path / "two" / "site" / "pkg" / "mod.py").read_text() == EVIL


# --- every RECORD algorithm, with and without the cache ----------------------------------------

ALGORITHMS = ["sha384", "sha512", "sha3_256", "blake2b", "blake2s"]


def wheel_hashed_with(directory: Path, algorithm: str, tamper: bool) -> Path:
    """A wheel whose RECORD uses ``algorithm``; with ``tamper``, mod.py differs from it."""
    members = build_members(WheelSpec(name="pkg", files=FILES))
    record = members.pop()
    rows = []
    for m in members:
        digest = hashlib.new(algorithm, m.data).digest()
        b64 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        rows.append(f"{m.name},{algorithm}={b64},{len(m.data)}\n")
    rows.append(f"{record.name},,\n")
    if tamper:
        for m in members:
            if m.name == "pkg/mod.py":
                m.data = EVIL.encode()
    return write_zip(
        directory / "pkg-1.0-py3-none-any.whl",
        [*members, Member(record.name, "".join(rows).encode())],
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("use_cache", [True, False], ids=["cache", "no-cache"])
class TestOtherAlgorithms:
    def test_tampered_file_refused(self, tmp_path, core, algorithm, use_cache):
        whl = wheel_hashed_with(tmp_path, algorithm, tamper=True)
        cache = tmp_path / "cache" if use_cache else None
        with pytest.raises(fastinst.RecordMismatch) as info:
            fastinst.install([whl], scheme_in(tmp_path / "env"), cache_dir=cache)
        assert info.value.member == "pkg/mod.py"
        assert not (tmp_path / "env" / "site" / "pkg").exists()

    def test_sound_wheel_installs(self, tmp_path, core, algorithm, use_cache):
        whl = wheel_hashed_with(tmp_path, algorithm, tamper=False)
        cache = tmp_path / "cache" if use_cache else None
        for name in ("cold", "warm"):
            fastinst.install([whl], scheme_in(tmp_path / name), cache_dir=cache)
            assert (tmp_path / name / "site" / "pkg" / "mod.py").read_text() == MOD


# --- modes: whatever the umask of whoever filled the cache ----------------------------------


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def readable_by_nobody(path: Path) -> bool:
    from distro import run_as_nobody

    proc = run_as_nobody(["cat", str(path)], env={"PATH": "/usr/bin:/bin"})
    return proc.returncode == 0


@pytest.mark.parametrize("link_mode", ["auto", "hardlink", "copy"])
class TestModes:
    def test_cache_filled_under_umask_077(self, shared, core, link_mode):
        """A later environment made under umask 022 gets files everyone can read."""
        whl = make_wheel(shared, name="pkg", files=FILES, executables={"pkg/__init__.py"})
        cache = shared / "cache"
        with umask(0o077):
            fastinst.install([whl], scheme_in(shared / "first"), cache_dir=cache)
        for p in cache.rglob("*"):
            if p.is_file() and "tree" in p.relative_to(cache).parts:
                assert p.stat().st_mode & 0o777 in (0o444, 0o555), (p, oct(p.stat().st_mode))
        env = shared / "env"
        with umask(0o022):
            fastinst.install([whl], scheme_in(env), cache_dir=cache, link_mode=link_mode)
        mod = env / "site" / "pkg" / "mod.py"
        assert mod.stat().st_mode & 0o444 == 0o444, oct(mod.stat().st_mode)
        assert (env / "site" / "pkg" / "__init__.py").stat().st_mode & 0o111 == 0o111
        assert readable_by_nobody(mod)

    def test_install_under_umask_077(self, shared, core, link_mode):
        """A process whose umask keeps its files private gets private files, even
        from a cache that an earlier umask filled with files everyone can read (a
        hardlink would share the cache's mode: it is not used then)."""
        whl = make_wheel(shared, name="pkg", files=FILES)
        cache = shared / "cache"
        with umask(0o022):
            fastinst.install([whl], scheme_in(shared / "first"), cache_dir=cache)
        env = shared / "env"
        env.mkdir(mode=0o755)
        with umask(0o077):
            fastinst.install([whl], scheme_in(env), cache_dir=cache, link_mode=link_mode)
        for p in (env / "site").rglob("*"):
            assert not p.stat().st_mode & 0o077, (p, oct(p.stat().st_mode))
        assert not readable_by_nobody(env / "site" / "pkg" / "mod.py")


def test_install_never_sets_the_umask(tmp_path, core):
    """An embedder's other threads create files while fastinst installs, so the
    process-wide umask must never change under them, not even for a moment: setting
    it and setting it back (how fastinst once read it) gave a file of Poetry's
    worker pool the wrong mode. Every call into C is watched, in every thread."""
    whl = make_wheel(tmp_path, name="pkg", files=FILES)
    calls: list[str] = []

    def watch(frame: object, event: str, arg: object) -> None:
        if event == "c_call" and arg is os.umask:
            calls.append(event)

    import threading

    threading.setprofile(watch)
    sys.setprofile(watch)
    try:
        caches = (None, tmp_path / "cache", tmp_path / "cache")  # none, cold, warm
        for n, cache in enumerate(caches):
            fastinst.install([whl], scheme_in(tmp_path / f"env{n}"), cache_dir=cache)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    assert calls == []
    assert (tmp_path / "env2" / "site" / "pkg" / "mod.py").read_text() == MOD
