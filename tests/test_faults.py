"""Faults on real filesystems, and processes killed half-way through a large install.

- A small tmpfs that fills up during an install (and one left with every amount of
  free space from none to enough): `InstallIOError` with ENOSPC, the environment
  unchanged, no staging left.
- A target directory remounted read-only between staging and publishing, and one
  remounted read-only by another thread while the files are being written.
- A real EIO: ext2 mounted ``sync`` from a loop device whose backing file lives on
  a tmpfs too small for it, so that writes fail with EIO at the ``write`` call.
- SIGKILL, SIGINT and SIGTERM at random moments of a large upgrade (thousands of
  files, built here): after each, every listed distribution is whole, `recover`
  gives exactly the old or the new tree, and a re-run gives a clean install's tree.

Mounting needs root; without it these tests skip. ``--soak`` runs many more kills.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import fastinst
from fastinst import _transaction
from faults import (
    SRC,
    big_wheel,
    child_install,
    env_snapshot,
    leftovers,
    recover_in_child,
    scheme_in,
)
from filesystems import tmpfs
from test_install import assert_record_true
from wheelmaker import WheelSpec, make_wheel

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting filesystems needs root")

V1_FILES = {"demo/__init__.py": "V = 1\n", "demo/old.py": "old\n", "demo-1.0.data/data/d.txt": "1"}


def _install_v1(wheels: Path, scheme: dict[str, str]) -> None:
    v1 = make_wheel(
        wheels,
        WheelSpec(
            name="demo",
            version="1.0",
            files=V1_FILES,
            entry_points={"console_scripts": {"demo": "demo:main"}},
        ),
    )
    fastinst.install([v1], scheme, cache_dir=None)


@pytest.fixture(scope="module")
def big_upgrade(tmp_path_factory) -> Path:
    """demo 2.0: 400 modules and 24 MiB of random bytes (too big for a 16 MiB tmpfs)."""
    d = tmp_path_factory.mktemp("big-upgrade")
    return big_wheel(d, "demo", "2.0", files=400, size=2048, big=24 << 20)


def _free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


# --- disk full ----------------------------------------------------------------------------


@pytest.mark.parametrize("cache", ["archive", "cache"])
def test_disk_full_half_way_rolls_back(core, cache, big_upgrade, tmp_path):
    with tmpfs(tmp_path / "mnt", "16m") as mnt:
        env = mnt / "env"
        scheme = scheme_in(env)
        wheels = tmp_path / "wheels"
        wheels.mkdir()
        _install_v1(wheels, scheme)
        before = env_snapshot(env)
        free = _free_bytes(mnt)
        cache_dir = None if cache == "archive" else tmp_path / "cache"  # the cache is on disk
        with pytest.raises(fastinst.InstallIOError) as info:
            fastinst.install([big_upgrade], scheme, cache_dir=cache_dir)
        assert info.value.errno == errno.ENOSPC
        assert "No space left on device" in str(info.value)
        assert str(mnt) in str(info.value)  # names the file it could not write
        assert env_snapshot(env) == before
        assert leftovers(env) == []
        assert _free_bytes(mnt) == free  # every staged byte was given back
        assert [
            (d.name, d.version)
            for d in fastinst.list_installed(fastinst.Scheme.from_mapping(scheme))
        ] == [("demo", "1.0")]


def test_every_amount_of_free_space(core, tmp_path, soak):
    """From no free page to enough, one page more each time: every install either
    succeeds whole or fails with ENOSPC leaving the environment as it was."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    files = {f"demo/m{i}.py": f"X = {i}\n" * 300 for i in range(12)}
    files.update({"demo-2.0.data/scripts/tool": "#!python\n", "demo-2.0.data/headers/h.h": "x"})
    v2 = make_wheel(
        wheels,
        WheelSpec(
            name="demo",
            version="2.0",
            files=files,
            entry_points={"console_scripts": {"demo2": "demo:main"}},
        ),
    )
    with tmpfs(tmp_path / "mnt", "2m") as mnt:
        env = mnt / "env"
        scheme = scheme_in(env)
        _install_v1(wheels, scheme)
        before = env_snapshot(env)
        page = os.statvfs(mnt).f_frsize
        outcomes = []
        for pages in range(0, 200 if soak else 60, 1 if soak else 2):
            filler = mnt / "filler"
            filler.write_bytes(b"")
            with open(filler, "wb") as f:
                f.write(bytes(max(0, _free_bytes(mnt) - pages * page)))
            try:
                fastinst.install([v2], scheme, cache_dir=None)
            except fastinst.InstallIOError as exc:
                assert exc.errno == errno.ENOSPC, exc
                assert env_snapshot(env) == before, f"{pages} free pages"
                assert leftovers(env) == []
                outcomes.append("full")
                continue
            finally:
                filler.unlink()
            outcomes.append("ok")
            assert_record_true(env / "lib" / "demo-2.0.dist-info")
            break
        assert outcomes[0] == "full" and outcomes[-1] == "ok", outcomes
        assert outcomes.count("full") >= 5  # it failed at many different points


def test_every_number_of_free_inodes(core, tmp_path, soak):
    """The same with inodes: a tmpfs that has room for every byte but only so many
    more files and directories (ENOSPC from the inode table, not the blocks)."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    files = {f"demo/sub{i % 3}/m{i}.py": f"X = {i}\n" for i in range(12)}
    files["demo-2.0.data/headers/h.h"] = "x"
    v2 = make_wheel(wheels, WheelSpec(name="demo", version="2.0", files=files))
    with tmpfs(tmp_path / "mnt", "16m") as mnt:
        env = mnt / "env"
        scheme = scheme_in(env)
        _install_v1(wheels, scheme)
        before = env_snapshot(env)
        outcomes = []
        for extra in range(0, 60, 1 if soak else 3):
            st = os.statvfs(mnt)
            used = st.f_files - st.f_ffree
            assert _remount(mnt, f"nr_inodes={used + extra}").returncode == 0
            try:
                fastinst.install([v2], scheme, cache_dir=None)
            except fastinst.InstallIOError as exc:
                assert exc.errno == errno.ENOSPC, exc
                assert env_snapshot(env) == before, f"{extra} free inodes"
                assert leftovers(env) == []
                outcomes.append("full")
                continue
            outcomes.append("ok")
            assert_record_true(env / "lib" / "demo-2.0.dist-info")
            break
        assert outcomes[0] == "full" and outcomes[-1] == "ok", outcomes
        assert outcomes.count("full") >= 5


def test_cache_on_a_full_disk(core, big_upgrade, tmp_path, caplog):
    """The cache's filesystem is full, the environment's is not: the install goes
    ahead from the archive, with a warning that says so; nothing is left half-built
    in the cache."""
    with tmpfs(tmp_path / "cache", "8m") as cache:
        cache.chmod(0o755)  # a fresh tmpfs is 1777: not a cache the trust rule lets us use
        env = tmp_path / "env"
        scheme = scheme_in(env)
        wheels = tmp_path / "wheels"
        wheels.mkdir()
        _install_v1(wheels, scheme)
        with caplog.at_level("WARNING", logger="fastinst"):
            fastinst.install([big_upgrade], scheme, cache_dir=cache)
        assert f"cache {cache} not usable (No space left on device)" in caplog.text
        assert "installing from the archives" in caplog.text
        assert_record_true(env / "lib" / "demo-2.0.dist-info")
        assert leftovers(env) == []
        assert not list((cache / "tmp").iterdir()) if (cache / "tmp").exists() else True


# --- read-only -----------------------------------------------------------------------------


def _remount(mnt: Path, mode: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["mount", "-o", f"remount,{mode}", str(mnt)], capture_output=True)


def test_target_read_only_between_stage_and_publish(core, tmp_path, monkeypatch):
    """purelib on one filesystem, scripts and data on another that goes read-only
    once everything is staged and the old version moved aside. Neither the publish
    nor the undo can write there: the error says so, the journal is kept, and once
    the filesystem is writable again the next run restores the old version exactly."""
    with tmpfs(tmp_path / "ro", "64m") as ro:
        env = tmp_path / "env"
        scheme = {
            **scheme_in(env),
            "scripts": str(ro / "bin"),
            "data": str(ro / "data"),
            "headers": str(ro / "include"),
        }
        wheels = tmp_path / "wheels"
        wheels.mkdir()
        _install_v1(wheels, scheme)
        old_env, old_ro = env_snapshot(env), env_snapshot(ro)
        v2 = big_wheel(wheels, "demo", "2.0", files=200, size=512)
        real_publish = _transaction.Transaction.publish_all

        def publish_after_remount(self, last):
            assert _remount(ro, "ro").returncode == 0
            return real_publish(self, last)

        monkeypatch.setattr(_transaction.Transaction, "publish_all", publish_after_remount)
        try:
            with pytest.raises(fastinst.InstallIOError) as info:
                fastinst.install([v2], scheme, cache_dir=None)
            assert info.value.errno == errno.EROFS
            assert "Read-only file system" in str(info.value)
            assert "could not be rolled back yet" in str(info.value)
            assert any(".fastinst-journal-" in p for p in leftovers(env))
        finally:
            assert _remount(ro, "rw").returncode == 0
        monkeypatch.setattr(_transaction.Transaction, "publish_all", real_publish)
        recover_in_child(scheme)
        assert env_snapshot(env) == old_env and env_snapshot(ro) == old_ro
        assert leftovers(env) == [] and leftovers(ro) == []
        listed = fastinst.list_installed(fastinst.Scheme.from_mapping(scheme))
        assert [d.version for d in listed] == ["1.0"]
        fastinst.install([v2], scheme, cache_dir=None)
        assert leftovers(env) == [] and leftovers(ro) == []
        assert_record_true(env / "lib" / "demo-2.0.dist-info")


def test_read_only_target_before_anything_is_staged(core, tmp_path):
    """A scripts directory on a read-only filesystem: refused with EROFS, nothing left."""
    with tmpfs(tmp_path / "ro", "16m") as ro:
        env = tmp_path / "env"
        scheme = {**scheme_in(env), "scripts": str(ro / "bin")}
        wheels = tmp_path / "wheels"
        wheels.mkdir()
        _install_v1(wheels, scheme)
        before = env_snapshot(env), env_snapshot(ro)
        assert _remount(ro, "ro").returncode == 0
        try:
            v2 = big_wheel(wheels, "demo", "2.0", files=50, size=512)
            with pytest.raises(fastinst.PermissionDenied) as info:
                fastinst.install([v2], scheme, cache_dir=None)
            assert info.value.errno == errno.EROFS
            assert (env_snapshot(env), env_snapshot(ro)) == before
            assert leftovers(env) == []
        finally:
            _remount(ro, "rw")


def test_target_remounted_read_only_while_writing(core, tmp_path, soak):
    """Another thread remounts the whole environment read-only while the core writes
    files into it. The install fails; once writable again, the next run recovers the
    old tree exactly."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    v2 = big_wheel(wheels, "demo", "2.0", files=1500, size=2048)
    for attempt in range(6 if soak else 2):
        with tmpfs(tmp_path / f"mnt{attempt}", "128m") as mnt:
            env = mnt / "env"
            scheme = scheme_in(env)
            _install_v1(wheels, scheme)
            before = env_snapshot(env)
            stop = threading.Event()
            done = threading.Event()

            def remount_when_staging_appears(
                env: Path = env, mnt: Path = mnt, stop=stop, done=done
            ) -> None:
                lib = env / "lib"
                while not stop.is_set():
                    if any(p.name.startswith(".fastinst-stage-") for p in lib.iterdir()):
                        time.sleep(random.uniform(0, 0.05))
                        # EBUSY while a file is open for writing: try again at once.
                        while not stop.is_set() and _remount(mnt, "ro").returncode != 0:
                            pass
                        done.set()
                        return

            t = threading.Thread(target=remount_when_staging_appears)
            t.start()
            try:
                fastinst.install([v2], scheme, cache_dir=None)
            except fastinst.InstallIOError as exc:
                assert exc.errno in (errno.EROFS,), exc
            else:
                pass  # the install won the race: it finished before the remount
            finally:
                stop.set()
                t.join()
                _remount(mnt, "rw")
            recover_in_child(scheme)
            after = env_snapshot(env)
            if done.is_set() and after != before:
                # Only possible if the install had committed before the remount.
                assert_record_true(env / "lib" / "demo-2.0.dist-info")
            else:
                assert after == before
            assert leftovers(env) == []


# --- a failing device ------------------------------------------------------------------------
#
# No device-mapper here (no /dev/mapper/control, no dm module) and no block fault
# injection (no make-it-fail), so the failing device is ext4 mounted ``sync`` on a
# loop device whose backing file lives on a tmpfs too small for it: once the tmpfs
# is full every write to the device fails. The block layer reports the backing's
# ENOSPC; ext4 turns a failed journal write into EIO and then goes read-only
# (EROFS) -- which of the three the install sees first depends on timing.


@contextlib.contextmanager
def failing_disk(where: Path, backing: str = "6m", size: str = "64M") -> Iterator[Path]:
    for tool in ("mkfs.ext4", "fsck.ext4", "losetup"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    back = where.parent / f"{where.name}-backing"
    with tmpfs(back, backing):
        image = back / "disk.img"
        subprocess.run(["truncate", "-s", size, str(image)], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
        where.mkdir(parents=True, exist_ok=True)

        def mount(options: str) -> None:
            out = subprocess.run(
                ["mount", "-o", f"loop,{options}", str(image), str(where)],
                capture_output=True,
                text=True,
            )
            if out.returncode != 0:
                pytest.skip(f"cannot loop-mount here: {out.stderr.strip()}")

        def repair() -> None:
            """Unmount, give the backing store room, fsck, mount again."""
            subprocess.run(["umount", str(where)], check=True)
            _remount(back, "size=256m")
            subprocess.run(["fsck.ext4", "-y", "-f", str(image)], capture_output=True)
            mount("sync")

        mount("sync,errors=continue")
        try:
            yield where, repair
        finally:
            subprocess.run(["umount", "-l", str(where)], check=False)


def test_failing_device_half_way(core, big_upgrade, tmp_path):
    """Writes start failing in the middle of an upgrade: a one-line InstallIOError that
    says why; once the device is repaired, the next run leaves exactly the old tree."""
    with failing_disk(tmp_path / "disk") as (disk, repair):
        env = disk / "env"
        scheme = scheme_in(env)
        wheels = tmp_path / "wheels"
        wheels.mkdir()
        _install_v1(wheels, scheme)
        before = env_snapshot(env)
        with pytest.raises(fastinst.InstallIOError) as info:
            fastinst.install([big_upgrade], scheme, cache_dir=None)
        exc = info.value
        assert exc.errno in (errno.EIO, errno.ENOSPC, errno.EROFS), exc
        assert os.strerror(exc.errno) in str(exc) and "\n" not in str(exc)
        repair()
        recover_in_child(scheme)
        assert env_snapshot(env) == before
        assert leftovers(env) == []
        fastinst.install([big_upgrade], scheme, cache_dir=None)
        assert_record_true(env / "lib" / "demo-2.0.dist-info")


# --- killed half-way -------------------------------------------------------------------------
#
# Every kill test uses the ``--target`` layout (everything below one directory), so
# that the library (in a child process) and the CLI install the very same tree.


def _scheme(env: Path) -> dict[str, str]:
    scheme = fastinst.get_scheme(target=str(env))
    return {**scheme.as_dict(), "python": scheme.python}


CLI_CHILD = r"""
import sys
sys.path.insert(0, {src!r})
from fastinst._cli import main
sys.exit(main(sys.argv[1:]))
"""


def _start(via: str, wheel: Path, env: Path, cache: Path | None) -> subprocess.Popen[bytes]:
    """The upgrade in a child: the library ("api"; "api-py" with the pure-Python
    core), or the command line ("cli")."""
    if via.startswith("api"):
        core = {"FASTINST_NO_EXTENSIONS": "1"} if via == "api-py" else {}
        return child_install([wheel], _scheme(env), cache, env=core)
    cache_args = ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            CLI_CHILD.format(src=SRC),
            "install",
            "--target",
            str(env),
            *cache_args,
            "-q",
            str(wheel),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def kill_setup(tmp_path_factory):
    """On a tmpfs (metadata is ten times faster there than on this disk): big v1 and
    v2 wheels (thousands of files), the tree of a clean install of v1, and how long
    the upgrade takes in a child process."""
    with tmpfs(tmp_path_factory.mktemp("kill") / "mnt", "1g") as d:
        v1 = big_wheel(d, "bigpkg", "1.0", files=2000, size=256, big=1 << 20)
        v2 = big_wheel(d, "bigpkg", "2.0", files=2400, size=256, big=2 << 20)
        fastinst.install([v1], _scheme(d / "old"), cache_dir=None)
        setup = {"v1": v1, "v2": v2, "dir": d, "old": env_snapshot(d / "old"), "count": 0}
        start = time.monotonic()
        _reference(setup, "api", False)
        setup["duration"] = time.monotonic() - start
        yield setup


def _reference(setup, via: str, cached: bool):
    """The tree of v1 upgraded to v2 without interruption, the same way (the CLI writes
    REQUESTED; out of a cache, files are read-only hardlinks)."""
    key = f"new-{via}-{cached}"
    if key not in setup:
        env = _old_env(setup, setup["dir"] / key)
        proc = _start(via, setup["v2"], env, setup["dir"] / "cache" if cached else None)
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        setup[key] = env_snapshot(env)
    return setup[key]


def _old_env(setup, env: Path) -> Path:
    if env.exists():
        shutil.rmtree(env)
    shutil.copytree(setup["dir"] / "old", env, symlinks=True)
    return env


def _listed(env: Path) -> list[tuple[str, str]]:
    """What list_installed shows, checking that each one is whole (RECORD true)."""
    listed = fastinst.list_installed(fastinst.Scheme.from_mapping(_scheme(env)))
    for dist in listed:
        assert_record_true(Path(dist.dist_info))
    return [(d.name, d.version) for d in listed]


KILLS = [
    ("SIGKILL", "api", False),
    ("SIGKILL", "api", True),
    ("SIGKILL", "api-py", False),
    ("SIGKILL", "cli", False),
    ("SIGINT", "api", False),
    ("SIGINT", "cli", True),
    ("SIGTERM", "cli", False),
]
KILL_IDS = [f"{s}-{v}-{'cache' if c else 'archive'}" for s, v, c in KILLS]


@pytest.mark.parametrize(("sig", "via", "cached"), KILLS, ids=KILL_IDS)
def test_killed_at_random_points(kill_setup, soak, sig, via, cached):
    """Kill an upgrade of thousands of files at random moments. After each kill every
    listed distribution is whole; SIGINT and SIGTERM roll back at once (no leftovers),
    SIGKILL's leftovers are undone by recover: the tree is exactly the old or the new
    one. Finally a re-run succeeds and gives a clean install's tree."""
    new = _reference(kill_setup, via, cached)
    kill_setup["count"] += 1
    work = kill_setup["dir"] / f"test{kill_setup['count']}"
    env = _old_env(kill_setup, work / "env")
    cache = work / "cache" if cached else None
    old = kill_setup["old"]
    signum = getattr(signal, sig)
    rng = random.Random(f"{sig}-{via}-{cached}")
    for i in range(30 if soak else 2):
        proc = _start(via, kill_setup["v2"], env, cache)
        time.sleep(rng.uniform(0.2, 1.0) * kill_setup["duration"])
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=120)
        rc = proc.returncode
        assert set(_listed(env)) <= {("bigpkg", "1.0"), ("bigpkg", "2.0")}
        if signum != signal.SIGKILL and rc != -signum:
            # Turned into KeyboardInterrupt (or too late to matter): rolled back at once.
            assert rc in (0, 1, 130, 143), err
            if via == "cli" and rc:
                # "rolling back..." at once (when the install had started), then the
                # error line; 143 for SIGTERM (#11).
                lines = err.decode().splitlines()
                what = "terminated" if signum == signal.SIGTERM else "interrupted"
                assert rc == (143 if what == "terminated" else 130), err
                assert 1 <= len(lines) <= 2 and lines[-1].startswith(f"fastinst: error: {what}")
                assert lines[:-1] in ([], [f"fastinst: {what}; rolling back..."]), err
            assert env_snapshot(env) in (old, new), err
            assert leftovers(env) == []
        if i % 2 == 0:  # recover alone (the way every install starts, under the lock)
            recover_in_child(_scheme(env))
            state = env_snapshot(env)
            assert state in (old, new)
        else:  # or straight away the next install, which recovers first
            rerun = _start(via, kill_setup["v2"], env, cache)
            _out, err = rerun.communicate(timeout=120)
            assert rerun.returncode == 0, err
            state = env_snapshot(env)
            assert state == new
        assert leftovers(env) == []
        assert len(_listed(env)) == 1
        if state == new:
            _old_env(kill_setup, env)
    proc = _start(via, kill_setup["v2"], env, cache)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert env_snapshot(env) == new
    assert leftovers(env) == []
    assert _listed(env) == [("bigpkg", "2.0")]


def test_the_library_installs_no_signal_handlers(tmp_path):
    """Only the command line turns SIGTERM into a rollback; an embedding program's
    handlers are its own."""
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    whl = make_wheel(tmp_path, WheelSpec(name="demo", files={"demo.py": ""}))
    fastinst.install([whl], scheme_in(tmp_path / "env"), cache_dir=None)
    after = {s: signal.getsignal(s) for s in before}
    assert after == before


KILLED_AFTER_COMMIT = r"""
import os, sys
sys.path.insert(0, {src!r})
import fastinst
from fastinst import _transaction

def killed(self, entry):
    _transaction.Transaction._write_journal_real(self, entry)
    if entry == "committed":
        os._exit(9)  # as SIGKILL would: the journal says committed, no cleanup ran

_transaction.Transaction._write_journal_real = _transaction.Transaction._write_journal
_transaction.Transaction._write_journal = killed
fastinst.install([sys.argv[1]], fastinst.Scheme.from_mapping({scheme!r}))
"""


def test_already_installed_still_finishes_a_killed_install(tmp_path, wheel_dir):
    """A process killed after its commit point leaves the new version published with
    its journal and staging; the next install of that same version is "already
    installed", and must still clean up what the killed one left (it did not: the
    kill tests found the leftovers now and then)."""
    env = tmp_path / "env"
    scheme = scheme_in(env)
    old = make_wheel(wheel_dir, name="demo", files={"demo/__init__.py": "v = 1\n"})
    fastinst.install([old], scheme)
    new_dir = tmp_path / "new"
    new_dir.mkdir()
    new = make_wheel(new_dir, name="demo", version="2.0", files={"demo/__init__.py": "v = 2\n"})
    child = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_COMMIT.format(src=SRC, scheme=scheme), str(new)],
        capture_output=True,
    )
    assert child.returncode == 9, child.stderr
    assert leftovers(env), "the child should have died before its cleanup"
    [result] = fastinst.install([new], scheme, skip_installed=True)
    assert result.already_installed
    assert leftovers(env) == []
    listed = fastinst.list_installed(fastinst.Scheme.from_mapping(scheme))
    assert [(d.name, d.version) for d in listed] == [("demo", "2.0")]
    assert (env / "lib" / "demo" / "__init__.py").read_text() == "v = 2\n"
