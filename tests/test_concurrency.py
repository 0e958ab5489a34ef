"""Several processes installing into one environment and one cache at once.

Each child installs its wheels several times over; the lock is wrapped (in the
child) to log when each install holds it, so the test sees that they took turns.
The end result must be the tree of a serial install: the same files, the same
RECORDs, every RECORD true, nothing left over. ``--soak`` runs many more rounds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import fastinst
from faults import SRC, big_wheel, env_snapshot, leftovers, scheme_in
from filesystems import tmpfs
from test_install import assert_record_true
from wheelmaker import WheelSpec, make_wheel

CHILD = r"""
import contextlib, json, os, sys, time
sys.path.insert(0, {src!r})
import fastinst
from fastinst import _transaction

args = json.loads(sys.argv[1])
real_lock = _transaction.environment_lock

@contextlib.contextmanager
def logged_lock(directory):
    with real_lock(directory):
        with open(args["log"], "a") as f:
            f.write(f"{{os.getpid()}} in\n")
        try:
            yield
        finally:
            with open(args["log"], "a") as f:
                f.write(f"{{os.getpid()}} out\n")

_transaction.environment_lock = logged_lock
if args.get("hold"):
    # A slow publish, to be killed in the middle of: it stops after two renames.
    real_record = _transaction.Transaction._record
    renames = [0]

    def slow_record(self, src, dst):
        real_record(self, src, dst)
        renames[0] += 1
        if renames[0] == 2:
            with open(args["log"], "a") as f:
                f.write(f"{{os.getpid()}} publishing\n")
            time.sleep(args["hold"])

    _transaction.Transaction._record = slow_record
for _ in range(args["rounds"]):
    for group in args["groups"]:
        fastinst.install(group, args["scheme"], cache_dir=args["cache"])
"""


@pytest.fixture
def workdir(tmp_path) -> Iterator[Path]:
    """A tmpfs when we may mount one (metadata is much faster there), else tmp_path."""
    if os.geteuid() != 0:
        yield tmp_path
        return
    with tmpfs(tmp_path / "mnt", "512m") as mnt:
        yield mnt


def _start(
    groups: list[list[Path]],
    scheme: dict[str, str],
    cache: Path | None,
    log: Path,
    rounds: int,
    hold: float = 0,
) -> subprocess.Popen[bytes]:
    payload = {
        "groups": [[str(w) for w in g] for g in groups],
        "scheme": scheme,
        "cache": None if cache is None else str(cache),
        "log": str(log),
        "rounds": rounds,
        "hold": hold,
    }
    return subprocess.Popen(
        [sys.executable, "-c", CHILD.format(src=SRC), json.dumps(payload)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _took_turns(log: Path) -> int:
    """Check the lock log: "in" and "out" strictly alternate, by the same process."""
    lines = log.read_text().splitlines()
    assert len(lines) % 2 == 0, lines[-3:]
    for a, b in zip(lines[::2], lines[1::2]):
        pid_a, what_a = a.split()
        pid_b, what_b = b.split()
        assert (what_a, what_b) == ("in", "out") and pid_a == pid_b, (a, b)
    return len(lines) // 2


def _wheels(d: Path) -> list[Path]:
    """Four distributions of a few hundred files each, with scripts and data."""
    return [big_wheel(d, f"pkg{i}", "1.0", files=150, size=256, seed=i) for i in range(4)]


def _check_whole(env: Path, scheme: dict[str, str]) -> None:
    for dist in fastinst.list_installed(fastinst.Scheme.from_mapping(scheme)):
        assert_record_true(Path(dist.dist_info))
    assert leftovers(env) == []


@pytest.mark.parametrize("cached", [True, False], ids=["cache", "archive"])
def test_many_installers_one_environment(workdir, soak, cached):
    wheels_dir = workdir / "wheels"
    wheels_dir.mkdir()
    w = _wheels(wheels_dir)
    # Each child installs its own distribution and two that others install too.
    groups = [[[w[i]], [w[(i + 1) % 4], w[(i + 2) % 4]]] for i in range(4)]
    env = workdir / "env"
    scheme = scheme_in(env)
    cache = workdir / "cache" if cached else None
    log = workdir / "lock.log"
    rounds = 12 if soak else 2
    procs = [_start(g, scheme, cache, log, rounds) for g in groups]
    for p in procs:
        _out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
    assert _took_turns(log) == 4 * 2 * rounds
    # The serial install of the same wheels, the same way.
    serial = workdir / "serial"
    fastinst.install(w, scheme_in(serial), cache_dir=workdir / "cache2" if cached else None)
    assert env_snapshot(env) == env_snapshot(serial)
    _check_whole(env, scheme)
    assert not (env / "lib" / ".fastinst.lock").exists()


def test_racing_versions_end_as_one_serial_order(workdir, soak):
    """demo 1.0 and demo 2.0 installed at once, over and over: the result is the tree
    of one serial order or the other, never a mix."""
    wheels_dir = workdir / "wheels"
    wheels_dir.mkdir()
    v1 = big_wheel(wheels_dir, "demo", "1.0", files=300, size=256)
    v2 = big_wheel(wheels_dir, "demo", "2.0", files=300, size=256)
    refs = []
    for order in ((v1, v2), (v2, v1)):
        ref = workdir / f"ref-{len(refs)}"
        for whl in order:
            fastinst.install([whl], scheme_in(ref), cache_dir=workdir / "ref-cache")
        refs.append(env_snapshot(ref))
    env = workdir / "env"
    scheme = scheme_in(env)
    for round_ in range(10 if soak else 2):
        log = workdir / f"lock{round_}.log"
        procs = [_start([[whl]], scheme, workdir / "cache", log, 2) for whl in (v1, v2, v1, v2)]
        for p in procs:
            _out, err = p.communicate(timeout=600)
            assert p.returncode == 0, err.decode()
        assert _took_turns(log) == 8
        order = [line.split()[0] for line in log.read_text().splitlines()[::2]]
        last = {str(p.pid): whl for p, whl in zip(procs, (v1, v2, v1, v2))}[order[-1]]
        assert env_snapshot(env) == refs[0 if last == v2 else 1]
        _check_whole(env, scheme)


def test_a_killed_installer_does_not_block_the_others(workdir):
    """One installer is killed (SIGKILL) while it holds the lock; the others go on,
    the first of them recovers what it left, and the tree is a serial install's."""
    wheels_dir = workdir / "wheels"
    wheels_dir.mkdir()
    big = big_wheel(wheels_dir, "bigone", "1.0", files=2000, size=256, big=4 << 20)
    small = [
        make_wheel(wheels_dir, WheelSpec(name=f"small{i}", files={f"small{i}.py": "x"}))
        for i in range(3)
    ]
    env = workdir / "env"
    scheme = scheme_in(env)
    log = workdir / "lock.log"
    victim = _start([[big]], scheme, None, log, 1, hold=60)
    deadline = time.monotonic() + 60
    while not (log.exists() and "publishing" in log.read_text()):
        assert time.monotonic() < deadline and victim.poll() is None
        time.sleep(0.005)
    others = [_start([[s]], scheme, None, log, 1) for s in small]
    time.sleep(0.2)  # they wait for the lock
    victim.send_signal(signal.SIGKILL)
    assert victim.wait() == -signal.SIGKILL
    held = [line for line in log.read_text().splitlines() if line.startswith(f"{victim.pid} ")]
    assert held == [f"{victim.pid} in", f"{victim.pid} publishing"]  # killed mid-publish
    for p in others:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    serial = workdir / "serial"
    fastinst.install(small, scheme_in(serial), cache_dir=None)
    # The killed install was undone by the first of the others: as if it never ran.
    assert not (env / "lib" / "bigone-1.0.dist-info").exists()
    assert env_snapshot(env) == env_snapshot(serial)
    _check_whole(env, scheme)


def test_environments_sharing_a_scripts_directory(workdir, soak):
    """Two environments with their own library directories (and locks) share the
    scripts and data directories, as two user sites share ~/.local: installing into
    both at once, each one's recover must leave the other's live staging alone."""
    wheels_dir = workdir / "wheels"
    wheels_dir.mkdir()
    w = _wheels(wheels_dir)
    shared = {"scripts": str(workdir / "bin"), "data": str(workdir / "share")}
    schemes = [{**scheme_in(workdir / f"env{i}"), **shared} for i in range(2)]
    rounds = 15 if soak else 4
    procs = [
        _start([[w[2 * i]], [w[2 * i + 1]]], schemes[i], None, workdir / f"lock{i}.log", rounds)
        for i in range(2)
    ]
    for p in procs:
        _out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
    serial = workdir / "serial"
    serial_shared = {"scripts": str(serial / "bin"), "data": str(serial / "share")}
    for i in range(2):
        s = {**scheme_in(serial / f"env{i}"), **serial_shared}
        fastinst.install([w[2 * i], w[2 * i + 1]], s, cache_dir=None)
        _check_whole(workdir / f"env{i}", schemes[i])
        assert env_snapshot(workdir / f"env{i}") == env_snapshot(serial / f"env{i}")
    for name in ("bin", "share"):
        assert env_snapshot(workdir / name) == env_snapshot(serial / name)
        assert leftovers(workdir / name) == []


UNINSTALLER = r"""
import sys
sys.path.insert(0, {src!r})
import fastinst
scheme = fastinst.Scheme.from_mapping({scheme!r})
for _ in range({rounds}):
    try:
        fastinst.uninstall("pkg0", scheme)
    except fastinst.NotInstalled:
        pass
"""


def test_installs_and_uninstalls_at_once(workdir, soak):
    """Installs and uninstalls of one distribution race: each takes its turn, so the
    end is either the distribution whole or no trace of it."""
    wheels_dir = workdir / "wheels"
    wheels_dir.mkdir()
    w = _wheels(wheels_dir)[0]
    env = workdir / "env"
    scheme = scheme_in(env)
    fastinst.install([w], scheme, cache_dir=None)
    rounds = 30 if soak else 6
    installers = [_start([[w]], scheme, None, workdir / f"lock{i}.log", rounds) for i in range(2)]
    code = UNINSTALLER.format(src=SRC, scheme=scheme, rounds=rounds)
    uninstaller = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    for p in [*installers, uninstaller]:
        _out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
    listed = fastinst.list_installed(fastinst.Scheme.from_mapping(scheme))
    _check_whole(env, scheme)
    if not listed:
        assert [p for p in env.rglob("*") if not p.is_dir()] == []
