"""Staging, journal, rollback and recovery, at every point of an upgrade's publish.

A child process installs an upgrade and dies (``os._exit``, as SIGKILL would: no
``finally`` runs) just before its k-th rename, for every k; or fails there and rolls
back. After each death: every distribution that `list_installed` shows has a true
RECORD; after `recover` the environment is exactly the old one or exactly the new
one, with no leftovers, and the next install succeeds.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import fastinst
from fastinst import _transaction
from faults import SRC, env_snapshot, leftovers, recover_in_child, scheme_in
from wheelmaker import WheelSpec, make_wheel

V1 = WheelSpec(
    name="demo",
    version="1.0",
    files={
        "demo/__init__.py": "V = 1\n",
        "demo/old_only.py": "old\n",
        "demo/shared/x.py": "x1\n",
        "demo/shared/deep/y.py": "y1\n",
        "demo_helpers/h.py": "h1\n",
        "demo-1.0.data/data/share/demo/a.txt": "a1\n",
        "demo-1.0.data/headers/demo.h": "#define V 1\n",
        "demo-1.0.data/scripts/demo-sh": "#!/bin/sh\necho 1\n",
    },
    entry_points={"console_scripts": {"demo-cli": "demo:main", "demo-old": "demo:main"}},
)
V2 = WheelSpec(
    name="demo",
    version="2.0",
    files={
        "demo/__init__.py": "V = 2\n",
        "demo/new_only.py": "new\n",
        "demo/shared/x.py": "x2\n",
        "demo/shared/deep/y.py": "y2\n",
        "demo/shared/deep/z.py": "z2\n",
        "demo_extra/e.py": "e2\n",
        "demo-2.0.data/data/share/demo/a.txt": "a2\n",
        "demo-2.0.data/headers/demo.h": "#define V 2\n",
        "demo-2.0.data/scripts/demo-sh": "#!/bin/sh\necho 2\n",
    },
    entry_points={"console_scripts": {"demo-cli": "demo:main"}},
)

CHILD = r"""
import json, os, sys
sys.path.insert(0, {src!r})
import fastinst
args = json.loads(sys.argv[1])
env, k, mode = args["env"], args["k"], args["mode"]
real_rename, real_write, real_unlink = os.rename, os.write, os.unlink
count = 0

def rename(src, dst, *a, **kw):
    global count, k
    if env in str(src) or env in str(dst):
        if count == k:
            if mode == "kill":
                os._exit(137)
            k = -1  # once: the rollback's renames work
            raise OSError(5, "Input/output error (injected)", str(dst))
        count += 1
    return real_rename(src, dst, *a, **kw)

def write(fd, data):
    global count
    data = bytes(data)
    if mode == "torn" and data[:2] == b'["' and count == k:
        real_write(fd, data[: len(data) // 2])
        os._exit(137)
    marker = args.get("marker")
    if marker and data.startswith(b'"' + marker.encode()):
        if args.get("torn_marker"):
            real_write(fd, data[: len(data) // 2])
            os._exit(137)
        real_write(fd, data)
        os._exit(137)  # right after the marker: nothing after it ran
    return real_write(fd, data)

def unlink(path, *a, **kw):
    real_unlink(path, *a, **kw)
    if mode == "after-commit" and ".fastinst-journal-" in str(path):
        os._exit(137)

os.rename, os.write, os.unlink = rename, write, unlink
try:
    fastinst.install(args["wheels"], args["scheme"], cache_dir=None)
except fastinst.FastinstError as exc:
    print(type(exc).__name__, exc, file=sys.stderr)
    sys.exit(1)
"""


def _child(wheels: list[Path], scheme: dict[str, str], env: Path, k: int, mode: str, **extra):
    payload = {
        "wheels": [str(w) for w in wheels],
        "scheme": scheme,
        "env": str(env),
        "k": k,
        "mode": mode,
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-c", CHILD.format(src=SRC), json.dumps(payload)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_listed_are_whole(scheme: dict[str, str]) -> list[tuple[str, str]]:
    """Every distribution listed has every RECORD file present with its hash: none is
    half there. Returns (name, version) of each."""
    from test_install import assert_record_true

    s = fastinst.Scheme.from_mapping(scheme)
    listed = fastinst.list_installed(s)
    for dist in listed:
        assert_record_true(Path(dist.dist_info))
    return [(d.name, d.version) for d in listed]


@pytest.fixture
def upgrade(tmp_path):
    """(wheels dir, env, scheme, v2 wheel, old snapshot, new snapshot) for V1 -> V2."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    v1 = make_wheel(wheels, V1)
    v2 = make_wheel(wheels, V2)
    clean = tmp_path / "clean"
    clean_scheme = scheme_in(clean)
    fastinst.install([v1], clean_scheme, cache_dir=None)
    fastinst.install([v2], clean_scheme, cache_dir=None)
    new = env_snapshot(clean)
    env = tmp_path / "env"
    scheme = scheme_in(env)
    fastinst.install([v1], scheme, cache_dir=None)
    old = env_snapshot(env)
    return env, scheme, v2, old, new


def test_killed_before_every_rename_then_recovered(upgrade, tmp_path):
    env, scheme, v2, old, new = upgrade
    k = 0
    while True:
        result = _child([v2], scheme, env, k, "kill")
        if result.returncode == 0:
            break  # k is past the last rename: the install completed
        assert result.returncode == 137, result.stderr
        # Before any recovery: nothing listed is half there.
        listed = assert_listed_are_whole(scheme)
        assert listed in ([("demo", "1.0")], [("demo", "2.0")], []), (k, listed)
        recover_in_child(scheme)
        assert env_snapshot(env) == old, f"killed before rename {k}: not rolled back"
        assert leftovers(env) == []
        k += 1
    assert k > 15  # the upgrade really has that many renames, each one was a kill point
    assert env_snapshot(env) == new
    assert leftovers(env) == []


@pytest.mark.parametrize("line", [0, 3, 7])
def test_torn_journal_line(upgrade, line):
    """Killed while writing a journal line: the rename it announces never happened."""
    env, scheme, v2, old, new = upgrade
    # count is only advanced by renames; the write before rename ``line`` is torn.
    result = _child([v2], scheme, env, line, "torn")
    assert result.returncode == 137, result.stderr
    recover_in_child(scheme)
    assert env_snapshot(env) == old
    fastinst.install([v2], scheme, cache_dir=None)
    assert env_snapshot(env) == new and leftovers(env) == []


def test_killed_after_the_commit_point_keeps_the_new_version(upgrade):
    env, scheme, v2, _old, new = upgrade
    result = _child([v2], scheme, env, 10**6, "after-commit")
    assert result.returncode == 137, result.stderr
    assert assert_listed_are_whole(scheme) == [("demo", "2.0")]
    recover_in_child(scheme)  # removes the staging and backups; must not undo anything
    assert env_snapshot(env) == new
    assert leftovers(env) == []


@pytest.mark.parametrize("torn", [False, True], ids=["after-marker", "torn-marker"])
def test_killed_at_the_commit_marker(upgrade, torn):
    """The "committed" line is the commit point: killed right after it, recover keeps
    the new tree (and removes the staging); killed while writing it, the old one."""
    env, scheme, v2, old, new = upgrade
    result = _child([v2], scheme, env, 10**6, "kill", marker="committed", torn_marker=torn)
    assert result.returncode == 137, result.stderr
    assert_listed_are_whole(scheme)
    recover_in_child(scheme)
    assert env_snapshot(env) == (old if torn else new)
    assert leftovers(env) == []


def test_killed_after_a_rollback_marked_its_journal(upgrade):
    """A failure, a complete undo, the "undone" line, then a kill before the staging
    is removed: recover only removes it, and must not replay the renames."""
    env, scheme, v2, old, _new = upgrade
    result = _child([v2], scheme, env, 12, "fail", marker="undone")
    assert result.returncode == 137, result.stderr
    assert any(".fastinst-stage-" in p for p in leftovers(env))
    recover_in_child(scheme)
    assert env_snapshot(env) == old
    assert leftovers(env) == []


def test_failure_at_every_rename_rolls_back(upgrade):
    """An I/O error at any rename of the publish: the old version is back, exactly."""
    env, scheme, v2, old, new = upgrade
    k = 0
    while True:
        result = _child([v2], scheme, env, k, "fail")
        if result.returncode == 0:
            break
        assert result.returncode == 1, result.stderr
        assert "InstallIOError" in result.stderr and "Input/output error" in result.stderr
        assert env_snapshot(env) == old, f"failure at rename {k} not rolled back"
        assert leftovers(env) == []
        k += 1
    assert k > 15
    assert env_snapshot(env) == new


def test_rollback_that_cannot_undo_keeps_the_journal(upgrade, monkeypatch):
    """When undoing fails too, the journal stays and the next install finishes the undo."""
    env, scheme, v2, old, _new = upgrade
    real = os.rename
    calls = {"n": 0}

    def rename(src, dst, *a, **kw):
        if str(env) in str(src):
            calls["n"] += 1
            if calls["n"] >= 8:  # the 8th rename of the publish and every one after it
                raise OSError(errno.EIO, "Input/output error (injected)", str(dst))
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(fastinst.InstallIOError, match="could not be rolled back yet"):
        fastinst.install([v2], scheme, cache_dir=None)
    monkeypatch.setattr(os, "rename", real)
    assert any(p.startswith("lib/.fastinst-journal-") for p in leftovers(env))
    recover_in_child(scheme)
    assert env_snapshot(env) == old
    assert leftovers(env) == []


# --- the lock ---------------------------------------------------------------------------


def test_lock_excludes_and_a_killed_holder_does_not_block(tmp_path):
    d = tmp_path / "lib"
    d.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys, time; sys.path.insert(0, {SRC!r}); from fastinst import _transaction\n"
            f"with _transaction.environment_lock({str(d)!r}):\n"
            "    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline() == "held\n"
    got = threading.Event()

    def take() -> None:
        with _transaction.environment_lock(str(d)):
            got.set()

    t = threading.Thread(target=take)
    t.start()
    assert not got.wait(0.5)  # the holder has it
    assert (d / _transaction.LOCK_NAME).exists()  # and a killed holder leaves the file
    holder.kill()
    holder.wait()
    assert got.wait(10)  # ... which does not block: flock died with the process
    t.join()
    assert not (d / _transaction.LOCK_NAME).exists()  # removed on release


def test_lock_survives_its_directory_being_removed(tmp_path):
    d = tmp_path / "lib"
    with _transaction.environment_lock(str(d)):  # made again when it is missing
        assert (d / _transaction.LOCK_NAME).exists()


def test_recover_leaves_a_live_staging_area_alone(tmp_path):
    root = tmp_path / "bin"
    tx = _transaction.Transaction(journal_dir=str(tmp_path / "lib"))
    stage = Path(tx.stage_dir(str(root)))
    (stage / "tool").write_text("x")
    dead = root / (_transaction.STAGE_PREFIX + "12345-deadbeef")
    dead.mkdir()
    (dead / "junk").write_text("x")
    cleaned = _transaction.recover([str(root)], str(tmp_path / "lib"))
    assert stage.exists() and not dead.exists()
    assert cleaned == [f"removed leftover staging {dead}"]
    tx.rollback()
    assert not stage.exists()


def test_recover_in_another_process_skips_a_live_stage(tmp_path):
    """Two environments sharing a scripts directory (two user sites and ~/.local/bin):
    one's recover must not remove the other's staging while it installs."""
    root = tmp_path / "bin"
    tx = _transaction.Transaction(journal_dir=str(tmp_path / "lib-a"))
    stage = Path(tx.stage_dir(str(root)))
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {SRC!r}); from fastinst import _transaction\n"
            f"print(_transaction.recover([{str(root)!r}], {str(tmp_path / 'lib-b')!r}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"
    assert stage.exists()
    tx.rollback()


def test_waiters_take_turns(tmp_path):
    """Many processes appending to a log under the lock never interleave."""
    d = tmp_path / "lib"
    d.mkdir()
    log = tmp_path / "log"
    code = (
        f"import sys, time, os; sys.path.insert(0, {SRC!r}); from fastinst import _transaction\n"
        f"for i in range(20):\n"
        f"    with _transaction.environment_lock({str(d)!r}):\n"
        f"        with open({str(log)!r}, 'a') as f:\n"
        f"            f.write(f'{{os.getpid()}} in\\n'); f.flush(); time.sleep(0.001)\n"
        f"            f.write(f'{{os.getpid()}} out\\n')\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
    assert [p.wait(60) for p in procs] == [0] * 4
    lines = log.read_text().splitlines()
    assert len(lines) == 160
    for a, b in zip(lines[::2], lines[1::2]):
        assert a.split()[0] == b.split()[0] and a.endswith(" in") and b.endswith(" out")
    assert not (d / _transaction.LOCK_NAME).exists()


def test_shared_scripts_dir_keeps_a_killed_installs_backups(tmp_path):
    """Two environments share a scripts directory (as two user sites share
    ~/.local/bin). One is killed in the middle of an upgrade; the other installs
    (its recover sweeps that directory) before the first runs again. The staging
    holding the first one's old scripts is left alone, so its recover still gives
    back exactly the old tree."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    v1, v2 = make_wheel(wheels, V1), make_wheel(wheels, V2)
    other = make_wheel(
        wheels,
        WheelSpec(
            name="other", files={"other.py": ""}, entry_points={"console_scripts": {"other": "o:m"}}
        ),
    )
    shared = tmp_path / "shared-bin"
    kills = 0
    for k in range(2, 40, 3):  # an upgrade publishes new package directories whole
        base = tmp_path / f"k{k}"
        a = {**scheme_in(base / "a"), "scripts": str(shared)}
        b = {**scheme_in(base / "b"), "scripts": str(shared)}
        if shared.exists():
            shutil.rmtree(shared)
        fastinst.install([v1], a, cache_dir=None)
        old = env_snapshot(base), env_snapshot(shared)
        result = _child([v2], a, base, k, "kill")
        if result.returncode == 0:
            break
        kills += 1
        fastinst.install([other], b, cache_dir=None)  # sweeps the shared directory
        (shared / "other").unlink()
        shutil.rmtree(base / "b")
        recover_in_child(a)
        assert (env_snapshot(base), env_snapshot(shared)) == old, f"killed before rename {k}"
        assert leftovers(base) == [] and leftovers(shared) == []
    assert kills >= 3


def test_uninstall_after_a_killed_upgrade_recovers_first(upgrade, tmp_path):
    """uninstall takes the lock and runs recover like an install: after a killed
    upgrade it removes the restored old version whole, not a half-published tree."""
    env, scheme, v2, _old, _new = upgrade
    result = _child([v2], scheme, env, 14, "kill")
    assert result.returncode == 137, result.stderr
    [removed] = fastinst.uninstall("demo", fastinst.Scheme.from_mapping(scheme))
    assert removed.version == "1.0"
    assert [p for p in env.rglob("*") if not p.is_dir()] == []  # nothing of demo is left
    assert leftovers(env) == []


def test_a_planted_journal_renames_nothing(upgrade, tmp_path, caplog):
    """Recovery renames what a journal lists; one that fastinst did not write (no
    staging area of its own naming it) is ignored, so it cannot move files about."""
    env, scheme, _v2, _old, _new = upgrade
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    payload = Path(scheme["purelib"], "demo", "__init__.py")
    journal = Path(scheme["purelib"], _transaction.JOURNAL_PREFIX + "1-deadbeef")
    lines = [
        [str(tmp_path / "moved-here"), str(victim)],  # would move the victim
        [str(victim) + ".x", str(payload)],
        [str(tmp_path)],  # would rmdir/rmtree
        ["relative/../path", "x"],
    ]
    journal.write_text("".join(json.dumps(line) + "\n" for line in lines))
    before = env_snapshot(env)
    with caplog.at_level("WARNING", logger="fastinst"):
        _transaction.recover(list(scheme.values()), scheme["purelib"])
    assert victim.read_text() == "precious\n" and not (tmp_path / "moved-here").exists()
    assert env_snapshot(env) == before  # the journal itself is left where it is
    assert "ignoring" in caplog.text


UNINSTALL_CHILD = r"""
import json, os, sys
sys.path.insert(0, {src!r})
import fastinst
args = json.loads(sys.argv[1])
real_rename = os.rename
count = 0

def rename(src, dst, *a, **kw):
    global count
    if args["env"] in str(src):
        if count == args["k"]:
            os._exit(137)
        count += 1
    return real_rename(src, dst, *a, **kw)

os.rename = rename
fastinst.uninstall("demo", fastinst.Scheme.from_mapping(args["scheme"]))
"""


def test_uninstall_killed_before_every_rename(upgrade):
    """An uninstall killed anywhere: the distribution is listed whole or not at all,
    and after recover it is all there (before the commit point) or all gone."""
    env, scheme, _v2, old, _new = upgrade
    k = 0
    while True:
        payload = json.dumps({"env": str(env), "scheme": scheme, "k": k})
        result = subprocess.run(
            [sys.executable, "-c", UNINSTALL_CHILD.format(src=SRC), payload],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode == 0:
            break
        assert result.returncode == 137, result.stderr
        assert assert_listed_are_whole(scheme) in ([("demo", "1.0")], [])
        recover_in_child(scheme)
        assert env_snapshot(env) == old, f"killed before rename {k}"
        assert leftovers(env) == []
        k += 1
    assert k > 10
    assert assert_listed_are_whole(scheme) == []
    assert [p for p in env.rglob("*") if not p.is_dir()] == []
    assert leftovers(env) == []
