"""Removing distributions: the library's uninstall, the CLI's, and an upgrade's old
version, all by `_remove`: locked, journalled, all or nothing, and never beyond what is
the distribution's own (#10.10, #11, #14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fastinst
from conftest import run_cli
from fastinst._errors import MissingRecord, NotInstalled
from fastinst._installed import find_installed, list_installed
from fastinst._remove import plan_removals, uninstall
from fastinst._scheme import get_scheme
from faults import SRC, env_snapshot, leftovers, recover_in_child, scheme_in
from test_installed import make_dist, make_scheme
from test_transaction import assert_listed_are_whole
from wheelmaker import WheelSpec, make_wheel

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def files_below(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


def dirs_below(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir())


class TestUninstall:
    def test_removes_files_bytecode_dist_info_and_their_directories(self, tmp_path):
        scheme = make_scheme(tmp_path)
        site = Path(scheme.purelib)
        make_dist(
            site,
            "demo",
            files={
                "demo/sub/m.py": "x = 1\n",
                "../../../bin/demo": "#!/bin/sh\n",
                "../../../share/demo/data.txt": "d",
            },
        )
        make_dist(site, "neighbour")
        cache = site / "demo/sub/__pycache__"
        cache.mkdir()
        for pyc in ("m.cpython-39.pyc", "m.cpython-312.opt-1.pyc", "m.pypy310.pyc"):
            (cache / pyc).write_bytes(b"")
        (site / "demo/__pycache__").mkdir()
        (site / "demo/__pycache__/__init__.cpython-39.pyc").write_bytes(b"")

        [result] = uninstall("DEMO", scheme)

        assert (result.name, result.version) == ("demo", "1.0")
        assert not (site / "demo-1.0.dist-info").exists()
        assert not (site / "demo").exists()
        assert not (tmp_path / "bin/demo").exists()
        assert not (tmp_path / "share/demo").exists()
        assert find_installed("demo", scheme) == []
        assert [d.name for d in list_installed(scheme)] == ["neighbour"]
        assert (tmp_path / "bin").is_dir()  # scheme directories stay
        assert site.is_dir()
        assert leftovers(tmp_path) == []

    def test_unrecorded_files_keep_their_directory(self, tmp_path):
        scheme = make_scheme(tmp_path)
        site = Path(scheme.purelib)
        make_dist(site, "demo", files={"demo/m.py": ""})
        (site / "demo/__pycache__").mkdir()
        (site / "demo/__pycache__/m.cpython-39.pyc").write_bytes(b"")
        (site / "demo/__pycache__/stranger.cpython-39.pyc").write_bytes(b"")
        (site / "demo/runtime.log").write_text("made at run time")
        [result] = uninstall("demo", scheme)
        assert (site / "demo/runtime.log").exists()
        assert (site / "demo/__pycache__/stranger.cpython-39.pyc").exists()
        assert not (site / "demo/__pycache__/m.cpython-39.pyc").exists()
        assert not (site / "demo/m.py").exists()
        assert str(site / "demo") not in result.dirs

    def test_plan_touches_nothing(self, tmp_path):
        scheme = make_scheme(tmp_path)
        make_dist(scheme.purelib, "demo", files={"../../../bin/demo": ""})
        [dist] = find_installed("demo", scheme)
        before = sorted(p for p in tmp_path.rglob("*"))
        [plan] = plan_removals([dist], scheme)
        assert sorted(p for p in tmp_path.rglob("*")) == before
        assert str(tmp_path / "bin/demo") in plan.files
        assert plan.dist_info == dist.dist_info
        assert str(tmp_path / "bin") not in plan.dirs

    def test_not_installed(self, tmp_path):
        scheme = make_scheme(tmp_path)
        with pytest.raises(NotInstalled) as info:
            uninstall("ghost", scheme)
        assert info.value.name == "ghost"
        assert scheme.purelib in info.value.where

    def test_legacy_egg_info_is_refused(self, tmp_path):
        scheme = make_scheme(tmp_path)
        egg = Path(scheme.purelib, "oldpkg-0.9-py3.9.egg-info")
        egg.mkdir(parents=True)
        (egg / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: oldpkg\nVersion: 0.9\n")
        with pytest.raises(MissingRecord):
            uninstall("oldpkg", scheme)
        assert egg.exists()

    def test_from_lib64(self, tmp_path):
        scheme = make_scheme(tmp_path, platlib="lib64")
        make_dist(scheme.platlib, "native", files={"native/_c.so": "", "../../../bin/nat": ""})
        uninstall("native", scheme)
        assert not Path(scheme.platlib, "native").exists()
        assert not (tmp_path / "bin/nat").exists()

    def test_user_site_distribution_from_a_system_scheme(self, tmp_path):
        user_base = tmp_path / "home/.local"
        user_site = user_base / "lib/python3.9/site-packages"
        scheme = make_scheme(
            tmp_path / "usr",
            site_dirs=(str(user_site),),
            site_roots=((str(user_site), str(user_base)),),
        )
        make_dist(user_site, "mine", files={"../../../bin/mine": ""})
        uninstall("mine", scheme)
        assert not (user_base / "bin/mine").exists()
        assert user_site.is_dir()
        assert leftovers(tmp_path) == []

    def test_in_a_real_venv(self, tmp_path):
        venv = tmp_path / "v"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        scheme = get_scheme(str(venv / "bin/python"))
        make_dist(scheme.purelib, "Babel", "2.0", files={"../../../bin/pybabel": ""})
        uninstall("babel", scheme)
        assert list_installed(scheme) == []
        assert not Path(scheme.scripts, "pybabel").exists()
        assert Path(scheme.scripts, "python").exists()


class TestSeveralNames:
    def test_all_in_one_call(self, tmp_path):
        scheme = make_scheme(tmp_path)
        for name in ("a", "b", "c"):
            make_dist(scheme.purelib, name, files={f"../../../bin/{name}": ""})
        results = uninstall(["b", "A", "a"], scheme)  # spellings of one name count once
        assert [(r.name, len(r.files)) for r in results] == [("b", 2), ("a", 2)]
        assert [d.name for d in list_installed(scheme)] == ["c"]
        assert files_below(tmp_path / "bin") == ["c"]

    def test_a_missing_name_removes_nothing(self, tmp_path):
        scheme = make_scheme(tmp_path)
        make_dist(scheme.purelib, "a")
        before = env_snapshot(tmp_path)
        with pytest.raises(NotInstalled) as info:
            uninstall(["a", "ghost"], scheme)
        assert info.value.name == "ghost"
        assert env_snapshot(tmp_path) == before

    def test_missing_ok_skips_with_pips_warning(self, tmp_path, caplog):
        scheme = make_scheme(tmp_path)
        make_dist(scheme.purelib, "a")
        with caplog.at_level("WARNING", logger="fastinst"):
            results = uninstall(["ghost", "a"], scheme, missing_ok=True)
        assert [r.name for r in results] == ["a"]
        assert "Skipping ghost as it is not installed" in caplog.messages
        assert uninstall(["ghost"], scheme, missing_ok=True) == []

    def test_a_failure_puts_every_distribution_back(self, shared):
        """All or nothing: the second distribution cannot be moved (its directory is
        read-only to nobody), so the first one, already moved out, comes back."""
        env = shared / "env"
        scheme = make_scheme(env)
        make_dist(scheme.purelib, "a", files={"../../../bin/a": ""})
        make_dist(scheme.purelib, "b", files={"b/deep/x.py": ""})
        for path in [env, *env.rglob("*")]:
            os.chown(path, 65534, 65534)
        os.chmod(Path(scheme.purelib, "b/deep"), 0o555)
        before = env_snapshot(env)
        mapping = scheme.as_dict()
        out = as_nobody(
            "try:\n"
            f"    fastinst.uninstall(['a', 'b'], fastinst.Scheme.from_mapping({mapping!r}))\n"
            "except fastinst.PermissionDenied as e:\n    print('refused:', e)\n"
        )
        assert out.startswith("refused: [Errno 13] Permission denied; nothing was uninstalled")
        assert env_snapshot(env) == before
        assert leftovers(env) == []


@pytest.fixture
def shared():
    """A root-owned directory that nobody can read (pytest's tmp_path is private)."""
    import shutil

    from distro import make_shared_dir

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv")
    path = make_shared_dir()
    yield path
    shutil.rmtree(path)


def as_nobody(code: str) -> str:
    """Run ``code`` (with fastinst imported) as nobody; its stdout."""
    proc = subprocess.run(
        [
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {SRC!r}); import fastinst\n{code}",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": "/nonexistent"},
        cwd="/",
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# --- #10.10: only the directories that the removal emptied ---------------------------------


def test_directories_that_were_there_before_stay(tmp_path):
    """A venv's ``share/jupyter/kernels`` and a prefix's skeleton stay; the kernel's own
    directory, the package and its namespace parent go. (pip keeps the namespace
    parent ``nsp`` empty; uv keeps the kernel's directory; both keep ``kernels``.)"""
    scheme = make_scheme(tmp_path)
    for skeleton in ("share/jupyter/kernels", "share/man", "include/python3.9", "bin"):
        (tmp_path / skeleton).mkdir(parents=True)
    make_dist(
        scheme.purelib,
        "kern",
        files={
            "../../../share/jupyter/kernels/kern/kernel.json": "{}",
            "../../../share/man/man1/kern.1": "",
            "../../../include/python3.9/kern/kern.h": "",
            "nsp/sub/mod.py": "",
        },
    )
    before = dirs_below(tmp_path)
    [result] = uninstall("kern", scheme)
    after = dirs_below(tmp_path)
    gone = sorted(set(before) - set(after))
    assert gone == [
        "include/python3.9/kern",
        "lib/python3.9/site-packages/kern",
        "lib/python3.9/site-packages/kern-1.0.dist-info",
        "lib/python3.9/site-packages/nsp",
        "lib/python3.9/site-packages/nsp/sub",
        "share/jupyter/kernels/kern",
        "share/man/man1",
    ]
    assert "share/jupyter/kernels" in after and "share/man" in after
    assert sorted(result.dirs) == sorted(str(tmp_path / d) for d in gone if "dist-info" not in d)


def test_a_directory_empty_before_stays_when_its_file_was_gone(tmp_path):
    scheme = make_scheme(tmp_path)
    make_dist(scheme.purelib, "demo", files={"../../../share/demo/notes.txt": ""})
    (tmp_path / "share/demo/notes.txt").unlink()  # removed by hand long ago
    uninstall("demo", scheme)
    assert (tmp_path / "share/demo").is_dir()


def test_upgrade_keeps_directories_that_were_there_before(tmp_path, wheel_dir):
    env = tmp_path / "env"
    scheme = scheme_in(env)
    (env / "share/jupyter/kernels").mkdir(parents=True)
    v1 = make_wheel(
        wheel_dir,
        name="kern",
        version="1.0",
        files={
            "kern/__init__.py": "",
            "kern-1.0.data/data/share/jupyter/kernels/k/kernel.json": "",
        },
    )
    v2 = make_wheel(wheel_dir, name="kern", version="2.0", files={"kern/__init__.py": "2"})
    fastinst.install([v1], scheme, cache_dir=None)
    fastinst.install([v2], scheme, cache_dir=None)
    assert (env / "share/jupyter/kernels").is_dir()
    assert not (env / "share/jupyter/kernels/k").exists()


# --- #14: what a RECORD may not talk uninstall into ---------------------------------------


def test_a_planted_record_removes_only_its_own_files(tmp_path, caplog):
    """A distribution whose RECORD lists the interpreter, pyvenv.cfg, fastinst's lock,
    another distribution's file and a file outside the environment (pip and uv
    delete all but the last): uninstall removes its own files only, and says what it
    kept."""
    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    scheme = get_scheme(str(venv / "bin/python"))
    site = Path(scheme.purelib)
    outside = tmp_path / "victim.txt"
    outside.write_text("precious\n")
    make_dist(site, "good", files={"good/core.py": "", "../../../bin/good": ""})
    (site / ".fastinst.lock").write_text("")  # as a waiting install would hold it
    rows = (
        "../../../bin/python",
        "../../../bin/python3",
        f"../../../bin/{Path(os.path.realpath(venv / 'bin/python')).name}",
        "../../../pyvenv.cfg",
        ".fastinst.lock",
        "good/core.py",
        "../../../bin/good",
        os.path.relpath(outside, site),
        str(outside),
    )
    make_dist(site, "evil", files={"evil/x.py": ""}, extra_rows=rows)
    before = env_snapshot(venv)
    with caplog.at_level("WARNING", logger="fastinst"):
        [result] = uninstall("evil", scheme)
    assert sorted(result.files) == [str(site / "evil/__init__.py"), str(site / "evil/x.py")]
    assert len(result.kept) == len(rows)
    assert outside.read_text() == "precious\n"
    removed = set(before) - set(env_snapshot(venv))
    assert {p for p in removed if "evil" not in p} == set()
    assert (venv / "pyvenv.cfg").exists()  # (the lock file goes when the lock is released)
    assert [d.name for d in list_installed(scheme)] == ["good"]
    subprocess.run([str(venv / "bin/python"), "-c", "pass"], check=True)
    warned = "\n".join(caplog.messages)
    for reason in (
        "the environment's interpreter",
        "the environment's pyvenv.cfg",
        "a file of fastinst's own",
        "good 1.0 lists it too",
        "outside the environment",
    ):
        assert reason in warned


def test_files_two_removed_distributions_share_go(tmp_path):
    scheme = make_scheme(tmp_path)
    make_dist(scheme.purelib, "a", files={"ns/__init__.py": "", "ns/a.py": ""})
    make_dist(scheme.purelib, "b", files={"ns/__init__.py": "", "ns/b.py": ""})
    uninstall("a", scheme)
    assert Path(scheme.purelib, "ns/__init__.py").exists()  # b's too
    uninstall("b", scheme)
    assert not Path(scheme.purelib, "ns").exists()
    make_dist(scheme.purelib, "a", files={"ns/__init__.py": ""})
    make_dist(scheme.purelib, "b", files={"ns/__init__.py": ""})
    uninstall(["a", "b"], scheme)
    assert not Path(scheme.purelib, "ns").exists()


@pytest.mark.parametrize(
    "row",
    [
        "../../../../etc/passwd",  # above the scheme's data directory
        "/etc/passwd",  # absolute, elsewhere
        "../../../..",  # the data root's parent
        "../../..",  # a scheme root itself
        "tool/../../../../../../x",
    ],
)
def test_rows_outside_are_skipped_with_a_warning(tmp_path, row, caplog):
    """One such row no longer blocks uninstall for good: it is left alone, as uv does."""
    scheme = make_scheme(tmp_path / "env")
    make_dist(scheme.purelib, "tool", extra_rows=(row,))
    with caplog.at_level("WARNING", logger="fastinst"):
        [result] = uninstall("tool", scheme)
    assert result.kept == (f"{row}: outside the environment",)
    assert f"tool 1.0: not removing {row}: outside the environment" in caplog.messages
    assert list_installed(scheme) == []
    assert Path("/etc/passwd").exists() and (tmp_path / "env").is_dir()


def test_an_upgrade_is_not_blocked_by_a_row_outside(tmp_path, wheel_dir):
    env = tmp_path / "env"
    scheme = scheme_in(env)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    v1 = make_wheel(wheel_dir, name="demo", version="1.0", files={"demo/__init__.py": "1"})
    v2 = make_wheel(wheel_dir, name="demo", version="2.0", files={"demo/__init__.py": "2"})
    fastinst.install([v1], scheme, cache_dir=None)
    with open(env / "lib/demo-1.0.dist-info/RECORD", "a") as f:
        f.write("../victim.txt,,\n")
    [result] = fastinst.install([v2], scheme, cache_dir=None)
    assert result.replaced == "1.0"
    assert victim.read_text() == "keep\n"
    assert [d.version for d in list_installed(fastinst.Scheme.from_mapping(scheme))] == ["2.0"]


def test_symlinked_directory_cannot_redirect_removal(tmp_path):
    scheme = make_scheme(tmp_path / "env")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me")
    site = Path(scheme.purelib)
    make_dist(site, "demo", extra_rows=("demo/link/precious",))
    (site / "demo/link").symlink_to(outside)
    [result] = uninstall("demo", scheme)
    assert (outside / "precious").read_text() == "keep me"
    assert [k.rsplit(": ", 1)[1] for k in result.kept] == [
        "a directory on its path is a symlink that leads outside the environment"
    ]


# --- an upgrade where a directory becomes a file ------------------------------------------

DIR_V1 = WheelSpec(
    name="shape", version="1.0", files={"shape/__init__.py": "", "shape/x/a.py": "a"}
)
DIR_V2 = WheelSpec(name="shape", version="2.0", files={"shape/__init__.py": "", "shape/x": "f"})


def test_upgrade_where_a_directory_becomes_a_file(tmp_path, wheel_dir):
    """pip and uv upgrade; fastinst said "a directory is in the way"."""
    env = tmp_path / "env"
    scheme = scheme_in(env)
    v1, v2 = make_wheel(wheel_dir, DIR_V1), make_wheel(wheel_dir, DIR_V2)
    fastinst.install([v1], scheme, cache_dir=None)
    fastinst.install([v2], scheme, cache_dir=None)
    assert (env / "lib/shape/x").read_text() == "f"
    fastinst.install([v1], scheme, cache_dir=None)  # and back: a file becomes a directory
    assert (env / "lib/shape/x/a.py").read_text() == "a"
    assert leftovers(env) == []


def test_a_users_directory_in_the_way_is_still_refused(tmp_path, wheel_dir):
    env = tmp_path / "env"
    scheme = scheme_in(env)
    v1, v2 = make_wheel(wheel_dir, DIR_V1), make_wheel(wheel_dir, DIR_V2)
    fastinst.install([v1], scheme, cache_dir=None)
    (env / "lib/shape/x/mine.txt").write_text("user's")
    before = env_snapshot(env)
    with pytest.raises(fastinst.FastinstError):
        fastinst.install([v2], scheme, cache_dir=None)
    assert env_snapshot(env) == before


KILL_CHILD = r"""
import json, os, sys
sys.path.insert(0, {src!r})
import fastinst
args = json.loads(sys.argv[1])
real_rename, real_rmdir = os.rename, os.rmdir
count = 0

def counted(real):
    def call(*a, **kw):
        global count
        if args["env"] in str(a[0]):
            if count == args["k"]:
                os._exit(137)
            count += 1
        return real(*a, **kw)
    return call

os.rename, os.rmdir = counted(real_rename), counted(real_rmdir)
if args["wheels"]:
    fastinst.install(args["wheels"], args["scheme"], cache_dir=None)
else:
    fastinst.uninstall(args["names"], fastinst.Scheme.from_mapping(args["scheme"]))
"""


def _killed(env: Path, scheme: dict[str, str], k: int, *, names=(), wheels=()) -> int:
    payload = {
        "env": str(env),
        "scheme": scheme,
        "k": k,
        "names": list(names),
        "wheels": [str(w) for w in wheels],
    }
    result = subprocess.run(
        [sys.executable, "-c", KILL_CHILD.format(src=SRC), json.dumps(payload)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode in (0, 137), result.stderr
    return result.returncode


def test_uninstall_of_several_killed_at_every_rename_and_rmdir(tmp_path, wheel_dir):
    """Killed before any rename or rmdir: every distribution is listed whole or not at
    all, and after recover all of them are back (before the commit point) or all gone
    (after it, while the staging is removed); the last run removes them all."""
    env = tmp_path / "env"
    scheme = scheme_in(env)
    specs = [
        WheelSpec(
            name=n,
            files={f"{n}/__init__.py": "", f"{n}/sub/m.py": "", f"ns/{n}/x.py": ""},
            entry_points={"console_scripts": {f"{n}-cli": f"{n}:main"}},
        )
        for n in ("one", "two")
    ]
    fastinst.install([make_wheel(wheel_dir, s) for s in specs], scheme, cache_dir=None)
    old = env_snapshot(env)
    k = 0
    while _killed(env, scheme, k, names=["one", "two"]) == 137:
        assert assert_listed_are_whole(scheme) in (
            [("one", "1.0"), ("two", "1.0")],
            [("two", "1.0")],
            [],
        )
        recover_in_child(scheme)
        assert leftovers(env) == []
        if env_snapshot(env) != old:
            assert files_below(env) == [], f"killed at {k}"
            break
        k += 1
    assert k > 12
    fastinst.uninstall(["one", "two"], fastinst.Scheme.from_mapping(scheme), missing_ok=True)
    assert list_installed(fastinst.Scheme.from_mapping(scheme)) == []
    assert files_below(env) == []
    assert dirs_below(env) == ["bin", "lib"]


def test_directory_to_file_upgrade_killed_at_every_rename_and_rmdir(tmp_path, wheel_dir):
    env = tmp_path / "env"
    scheme = scheme_in(env)
    v1, v2 = make_wheel(wheel_dir, DIR_V1), make_wheel(wheel_dir, DIR_V2)
    clean = tmp_path / "clean"
    fastinst.install([v1], scheme_in(clean), cache_dir=None)
    fastinst.install([v2], scheme_in(clean), cache_dir=None)
    new = env_snapshot(clean)
    fastinst.install([v1], scheme, cache_dir=None)
    old = env_snapshot(env)
    k = 0
    while _killed(env, scheme, k, wheels=[v2]) == 137:
        recover_in_child(scheme)
        if env_snapshot(env) == new:  # killed after the commit point
            break
        assert env_snapshot(env) == old, f"killed at {k}"
        k += 1
    assert k > 5
    assert env_snapshot(env) == new and leftovers(env) == []


# --- the command line ----------------------------------------------------------------------


@pytest.fixture
def venv_with(tmp_path, wheel_dir):
    """A real venv with demo (a script) and other installed by the CLI."""
    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    wheels = [
        make_wheel(
            wheel_dir,
            name="demo",
            files={"demo/__init__.py": "", "demo/sub/m.py": ""},
            entry_points={"console_scripts": {"demo-cli": "demo:main"}},
        ),
        make_wheel(wheel_dir, name="other", files={"other.py": ""}),
    ]
    python = str(venv / "bin/python")
    proc = run_cli("install", "--no-cache", "--python", python, *map(str, wheels))
    assert proc.returncode == 0, proc.stderr
    return venv, python


class TestCommandLine:
    def test_missing_names_are_skipped_like_pip(self, venv_with):
        venv, python = venv_with
        proc = run_cli("uninstall", "-y", "--python", python, "ghost", "demo", "spectre")
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.splitlines() == [
            "fastinst: Skipping ghost as it is not installed",
            "fastinst: Skipping spectre as it is not installed",
        ]
        assert proc.stdout.startswith("uninstalled demo 1.0 (")
        assert not (venv / "bin/demo-cli").exists()
        scheme = get_scheme(python)
        assert [d.name for d in list_installed(scheme)] == ["other"]

    def test_json_lists_the_files_as_install_does(self, venv_with):
        venv, python = venv_with
        proc = run_cli("uninstall", "--json", "--python", python, "demo", "other")
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert [r["name"] for r in out["uninstalled"]] == ["demo", "other"]
        [demo, _other] = out["uninstalled"]
        assert str(venv / "bin/demo-cli") in demo["files"]
        assert demo["kept"] == []
        assert all(not Path(f).exists() for r in out["uninstalled"] for f in r["files"])

    def test_waits_for_the_lock_of_another_process(self, venv_with, tmp_path):
        """The bug: with another process holding the lock, the CLI's uninstall
        returned 0 at once and removed the package; it waits, as the library does."""
        venv, python = venv_with
        site = get_scheme(python).purelib
        ready, release = tmp_path / "ready", tmp_path / "release"
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import os, sys, time; sys.path.insert(0, {SRC!r})\n"
                "from fastinst import _transaction\n"
                f"with _transaction.environment_lock({site!r}):\n"
                f"    open({str(ready)!r}, 'w').close()\n"
                f"    while not os.path.exists({str(release)!r}): time.sleep(0.05)\n",
            ]
        )
        try:
            deadline = time.monotonic() + 30
            while not ready.exists():
                assert time.monotonic() < deadline and holder.poll() is None
                time.sleep(0.05)
            cli = subprocess.Popen(
                [sys.executable, "-m", "fastinst", "uninstall", "--python", python, "demo"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            time.sleep(1.5)
            assert cli.poll() is None, cli.communicate()
            assert (venv / "bin/demo-cli").exists()
            release.touch()
            out, err = cli.communicate(timeout=60)
            assert cli.returncode == 0, err
            assert out.startswith("uninstalled demo 1.0")
            assert not (venv / "bin/demo-cli").exists()
        finally:
            release.touch()
            holder.wait(30)

    def test_installs_and_cli_uninstalls_at_once(self, tmp_path, wheel_dir):
        """Library installs and CLI uninstalls of one distribution race (real
        processes): each takes its turn, so the end is it whole or no trace of it."""
        from test_concurrency import _check_whole, _start

        wheel = make_wheel(
            wheel_dir,
            name="pkg0",
            files={f"pkg0/m{i}.py": f"x = {i}\n" for i in range(200)},
            entry_points={"console_scripts": {"pkg0-cli": "pkg0:main"}},
        )
        env = tmp_path / "env"
        target = get_scheme(target=str(env))
        scheme = {**target.as_dict(), "python": target.python}  # its wheels have scripts
        fastinst.install([wheel], scheme, cache_dir=None)
        rounds = 6
        installers = [
            _start([[wheel]], scheme, None, tmp_path / f"lock{i}.log", rounds) for i in range(2)
        ]
        loop = (
            f"import subprocess, sys\nfor _ in range({rounds}):\n"
            "    subprocess.run([sys.executable, '-m', 'fastinst', 'uninstall', '-q',"
            f" '--target', {str(env)!r}, 'pkg0'], check=True)\n"
        )
        uninstaller = subprocess.Popen([sys.executable, "-c", loop], stderr=subprocess.PIPE)
        for p in [*installers, uninstaller]:
            _out, err = p.communicate(timeout=600)
            assert p.returncode == 0, err.decode()
        _check_whole(env, scheme)
        if not fastinst.list_installed(fastinst.Scheme.from_mapping(scheme)):
            assert files_below(env) == []

    def test_externally_managed_interpreter_is_refused(self):
        """pip refuses to uninstall from a PEP 668 interpreter; so does fastinst,
        before it looks for the names, unless --break-system-packages."""
        from distro import DEBIAN_PYTHON
        from fastinst._scheme import interpreter_facts

        if not os.path.exists(DEBIAN_PYTHON) or not os.path.isfile(
            interpreter_facts(DEBIAN_PYTHON)["externally_managed"]
        ):
            pytest.skip("no python3 marked EXTERNALLY-MANAGED")
        proc = run_cli("uninstall", "--python", DEBIAN_PYTHON, "surely-not-installed")
        assert proc.returncode == 1
        assert proc.stderr.startswith("fastinst: error: ")
        assert "Skipping" not in proc.stderr
        proc = run_cli(
            "uninstall",
            "--python",
            DEBIAN_PYTHON,
            "--break-system-packages",
            "surely-not-installed",
        )
        assert proc.returncode == 0, proc.stderr
        assert "Skipping surely-not-installed as it is not installed" in proc.stderr

    def test_not_writable_names_the_environment(self, shared):
        """As nobody, in root's environment: refused naming the directory, not the lock
        file, and nothing changed."""
        env = shared / "env"
        scheme = make_scheme(env)
        make_dist(scheme.purelib, "demo", files={"../../../bin/demo": ""})
        for path in [env, *env.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        before = env_snapshot(env)
        out = as_nobody(
            "try:\n"
            f"    fastinst.uninstall('demo', fastinst.Scheme.from_mapping({scheme.as_dict()!r}))\n"
            "except fastinst.PermissionDenied as e:\n    print(e)\n"
        )
        assert out.strip() == f"[Errno 13] cannot uninstall: Permission denied: '{scheme.purelib}'"
        assert env_snapshot(env) == before


# --- #11: the version that is already there -----------------------------------------------


def test_library_skip_installed_leaves_the_same_version_alone(tmp_path, wheel_dir):
    env = tmp_path / "env"
    scheme = scheme_in(env)
    v1 = make_wheel(wheel_dir, name="demo", version="1.0", files={"demo/__init__.py": "1"})
    other = make_wheel(wheel_dir, name="other", files={"other.py": ""})
    fastinst.install([v1], scheme, cache_dir=None)
    inode = (env / "lib/demo/__init__.py").stat().st_ino
    before = env_snapshot(env)
    results = fastinst.install([v1, other], scheme, cache_dir=None, skip_installed=True)
    assert [(r.name, r.already_installed, len(r.files)) for r in results] == [
        ("demo", True, 0),
        ("other", False, 5),  # other.py, METADATA, WHEEL, INSTALLER, RECORD
    ]
    assert results[0].dist_info == str(env / "lib/demo-1.0.dist-info")
    assert (env / "lib/demo/__init__.py").stat().st_ino == inode
    [again] = fastinst.install([v1], scheme, cache_dir=None, skip_installed=True)
    assert again.already_installed and leftovers(env) == []
    assert {k: v for k, v in env_snapshot(env).items() if "other" not in k} == before
    # The library's default replaces it, as an embedding tool that decided expects.
    [replaced] = fastinst.install([v1], scheme, cache_dir=None)
    assert (replaced.replaced, replaced.already_installed) == ("1.0", False)
    assert (env / "lib/demo/__init__.py").stat().st_ino != inode


def test_library_skip_installed_replaces_another_version(tmp_path, wheel_dir):
    env = tmp_path / "env"
    scheme = scheme_in(env)
    v1 = make_wheel(wheel_dir, name="demo", version="1.0", files={"demo/__init__.py": "1"})
    v2 = make_wheel(wheel_dir, name="demo", version="2.0", files={"demo/__init__.py": "2"})
    fastinst.install([v1], scheme, cache_dir=None)
    [r] = fastinst.install([v2], scheme, cache_dir=None, skip_installed=True)
    assert (r.replaced, r.already_installed) == ("1.0", False)


def test_cli_says_already_installed_like_pip(tmp_path, wheel_dir):
    """pip: "demo is already installed with the same version as the provided wheel.
    Use --force-reinstall ..."; uv: "Checked 1 package". Nothing changes."""
    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin/python")
    whl = str(make_wheel(wheel_dir, name="demo", files={"demo/__init__.py": ""}))
    assert run_cli("install", "--no-cache", "--python", python, whl).returncode == 0
    site = Path(get_scheme(python).purelib)
    inode = (site / "demo/__init__.py").stat().st_ino
    for flags in ([], ["-U"]):
        proc = run_cli("install", "--no-cache", *flags, "--python", python, whl)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "demo 1.0 is already installed (--reinstall installs it again)\n"
    out = json.loads(run_cli("install", "--no-cache", "--json", "--python", python, whl).stdout)
    assert [(r["name"], r["already_installed"], r["files"]) for r in out["installed"]] == [
        ("demo", True, [])
    ]
    assert (site / "demo/__init__.py").stat().st_ino == inode
    for flag in ("--reinstall", "--force-reinstall"):
        proc = run_cli("install", "--no-cache", flag, "--python", python, whl)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("installed demo 1.0 (replaced 1.0)")
        assert (site / "demo/__init__.py").stat().st_ino != inode
        inode = (site / "demo/__init__.py").stat().st_ino
