"""``fastinst sync`` and ``fastinst.sync``: an environment made exactly a lock file."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import fastinst
from conftest import run_cli, tree_snapshot
from fastinst._lock import plan_sync, read_lock, select, sync
from fastinst._tags import TargetInterpreter
from wheelmaker import corrupt_crc, make_wheel

VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def lock_of(path: Path, *wheels: Path) -> Path:
    """A pylock.toml naming ``wheels`` by path and hash."""
    text = 'lock-version = "1.0"\ncreated-by = "test"\n\n'
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        text += (
            f'[[packages]]\nname = "{name.replace("_", "-")}"\nversion = "{version}"\n'
            f'wheels = [{{ path = "{wheel}", hashes = {{ sha256 = "{sha256(wheel)}" }} }}]\n\n'
        )
    path.write_text(text)
    return path


@pytest.fixture
def house(tmp_path) -> Path:
    d = tmp_path / "house"
    d.mkdir()
    make_wheel(
        d,
        name="demo",
        files={"demo/__init__.py": "V = 1\n"},
        entry_points={"console_scripts": {"demo": "demo:main"}},
    )
    make_wheel(d, name="tool", version="1.0", files={"tool.py": "V = 1\n"})
    make_wheel(d, name="tool", version="2.0", files={"tool.py": "V = 2\n"})
    make_wheel(d, name="extra", version="3.0", files={"extra/__init__.py": ""})
    return d


def w(house: Path, name: str, version: str = "1.0") -> Path:
    return house / f"{name}-{version}-py3-none-any.whl"


@pytest.fixture
def env(venv_factory, request) -> Path:
    return venv_factory(request.node.name[:40])


def py(env: Path) -> str:
    return str(env / "bin" / "python")


def site(env: Path) -> Path:
    return env / "lib" / f"python{VERSION}" / "site-packages"


def installed(env: Path) -> list[tuple[str, str]]:
    scheme = fastinst.get_scheme(py(env))
    return [(d.name, d.version) for d in fastinst.list_installed(scheme)]


class TestSync:
    def test_removes_installs_replaces_then_nothing(self, house, env, tmp_path):
        fastinst.install(
            [w(house, "tool"), w(house, "extra", "3.0")],
            fastinst.get_scheme(py(env)),
            cache_dir=None,
        )
        lock = lock_of(tmp_path / "pylock.toml", w(house, "demo"), w(house, "tool", "2.0"))
        proc = run_cli("sync", "--python", py(env), str(lock), "--no-cache")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines()[:-1] == [
            " + demo==1.0",
            " - extra==3.0",
            " - tool==1.0",
            " + tool==2.0",
        ]
        assert proc.stdout.splitlines()[-1].startswith("synced to ")
        assert installed(env) == [("demo", "1.0"), ("tool", "2.0")]
        assert not (site(env) / "extra").exists()

        before = tree_snapshot(env)
        proc = run_cli("sync", "--python", py(env), str(lock), "--no-cache")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("nothing to do: the environment is the lock (2 distributions")
        assert tree_snapshot(env) == before

    def test_nothing_to_do_needs_no_wheel_files(self, house, env, tmp_path):
        """Nothing is looked up, hashed or opened when everything matches already."""
        lock = lock_of(tmp_path / "pylock.toml", w(house, "demo"))
        assert run_cli("sync", "--python", py(env), str(lock), "--no-cache").returncode == 0
        os.unlink(w(house, "demo"))
        proc = run_cli("sync", "--python", py(env), str(lock), "--no-cache")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("nothing to do")

    def test_a_changed_lock_is_read_again(self, house, env, tmp_path):
        """What a lock selects is remembered by its bytes: an edited lock is a new one."""
        lock = lock_of(tmp_path / "pylock.toml", w(house, "tool"))
        scheme = fastinst.get_scheme(py(env))
        assert sync(lock, scheme, cache_dir=None).changed
        assert not sync(lock, scheme, cache_dir=None).changed  # remembered
        lock_of(lock, w(house, "tool", "2.0"))
        result = sync(lock, scheme, cache_dir=None)
        assert [(r.name, r.version, r.replaced) for r in result.installed] == [
            ("tool", "2.0", "1.0")
        ]
        assert not sync(lock, scheme, cache_dir=None).changed

    def test_one_transaction_a_failure_removes_nothing(self, house, env, tmp_path):
        scheme = fastinst.get_scheme(py(env))
        fastinst.install([w(house, "extra", "3.0")], scheme, cache_dir=None)
        broken = make_wheel(tmp_path, name="broken", files={"broken.py": "X = 1\n" * 100})
        corrupt_crc(broken, "broken.py")
        lock = lock_of(tmp_path / "pylock.toml", w(house, "demo"), broken)
        before = tree_snapshot(env)
        proc = run_cli("sync", "--python", py(env), str(lock), "--no-cache")
        assert proc.returncode == 1
        assert "CRC" in proc.stderr
        assert tree_snapshot(env) == before  # extra is still there, whole
        assert installed(env) == [("extra", "3.0")]

    def test_a_failure_at_publish_puts_the_removed_back(self, house, env, tmp_path, monkeypatch):
        """The removals are moved aside before anything is published; a failure while
        publishing (here: an I/O error) brings them back with the replaced version."""
        from fastinst import _transaction

        scheme = fastinst.get_scheme(py(env))
        fastinst.install([w(house, "tool"), w(house, "extra", "3.0")], scheme, cache_dir=None)
        lock = lock_of(tmp_path / "pylock.toml", w(house, "demo"), w(house, "tool", "2.0"))
        before = tree_snapshot(env)
        seen = []

        def failing_publish(self, last):
            seen.append(os.path.exists(os.path.join(scheme.purelib, "extra-3.0.dist-info")))
            seen.append(os.path.exists(os.path.join(scheme.purelib, "extra", "__init__.py")))
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(_transaction.Transaction, "publish_all", failing_publish)
        with pytest.raises(fastinst.InstallIOError):
            sync(lock, scheme, cache_dir=None)
        assert seen == [False, False]  # extra was moved out before the publish
        assert tree_snapshot(env) == before
        assert installed(env) == [("extra", "3.0"), ("tool", "1.0")]

    def test_keep_and_dry_run(self, house, env, tmp_path):
        scheme = fastinst.get_scheme(py(env))
        fastinst.install([w(house, "tool"), w(house, "extra", "3.0")], scheme, cache_dir=None)
        lock = lock_of(tmp_path / "pylock.toml", w(house, "demo"))
        before = tree_snapshot(env)
        result = sync(lock, scheme, keep=["Extra"], cache_dir=None, dry_run=True)
        assert tree_snapshot(env) == before
        assert [r.name for r in result.installed] == ["demo"]
        assert [r.name for r in result.removed] == ["tool"]
        assert result.kept == (("extra", "3.0"),)
        result = sync(lock, scheme, keep=["Extra"], cache_dir=None)
        assert installed(env) == [("demo", "1.0"), ("extra", "3.0")]
        assert result.changed

    def test_json(self, house, env, tmp_path):
        lock = lock_of(tmp_path / "pylock.toml", w(house, "demo"))
        proc = run_cli("sync", "--python", py(env), str(lock), "--no-cache", "--json")
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert [d["name"] for d in data["installed"]] == ["demo"]
        assert data["removed"] == [] and data["unchanged"] == [] and data["kept"] == []


class TestOwnTools:
    def test_fastinst_and_what_it_needs_are_kept_in_its_own_environment(self, house, tmp_path):
        """Planned (nothing touched) against the environment these tests run in."""
        lock = lock_of(tmp_path / "pylock.toml", w(house, "demo"))
        wheels = select(read_lock(lock), str(lock), TargetInterpreter(None))
        plan = plan_sync(wheels, fastinst.get_scheme())
        kept = {name.lower() for name, _v in plan.kept}
        assert {
            "fastinst",
            "packaging",
            "installer",
            "zstandard",
            "platformdirs",
            "pip",
        } <= kept
        removed = {d.name.lower() for d in plan.remove}
        assert "pytest" in removed and not kept & removed
        plan = plan_sync(wheels, fastinst.get_scheme(), keep_own_tools=False)
        assert "fastinst" in {d.name.lower() for d in plan.remove}
