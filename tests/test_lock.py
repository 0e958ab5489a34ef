"""Installing from a PEP 751 lock file (``pylock.toml``): select, find, check, install.

The lock files come from the real tools, as they write them: ``pip lock`` and
``uv export --format pylock.toml``, both run here against a local wheelhouse
with no index. Trees are compared with pip's install of the same lock
(``benchmarks/compare_tree.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging import tags as ptags

import fastinst
from conftest import run_cli, tree_snapshot
from fastinst._lock import (
    HashMismatch,
    LockError,
    WheelsNotFound,
    install_lock,
    is_lock_path,
    locate,
    read_lock,
    select,
)
from fastinst._tags import TargetInterpreter
from wheelmaker import make_wheel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from compare_tree import compare_envs

BEST = str(next(iter(ptags.sys_tags())))
VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


def clean_env(**extra: str) -> dict[str, str]:
    """No pip configuration from the machine (its find-links, its index)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env.update(extra)
    return env


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), **kwargs)
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def uv() -> str:
    path = shutil.which("uv", path=os.path.dirname(sys.executable))
    if path is None:
        pytest.skip("uv is not installed (pip install -e '.[test]' brings it)")
    return path


@pytest.fixture(scope="module")
def house(tmp_path_factory) -> Path:
    """demo 1.0 (a package and a console script, requires tool), tool 2.0."""
    d = tmp_path_factory.mktemp("house")
    make_wheel(
        d,
        name="demo",
        files={"demo/__init__.py": "def main():\n    print('demo ran')\n", "demo/data.txt": "d"},
        entry_points={"console_scripts": {"demo": "demo:main"}},
        metadata_extra="Requires-Dist: tool\n",
    )
    make_wheel(d, name="tool", version="2.0", files={"tool.py": "KIND = 'pure'\n"})
    return d


@pytest.fixture(scope="module")
def pip_lock(house, tmp_path_factory) -> Path:
    """The lock ``pip lock`` writes for demo from the wheelhouse (file: URLs)."""
    lock = tmp_path_factory.mktemp("piplock") / "pylock.toml"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "lock",
            "-q",
            "--no-index",
            "-f",
            str(house),
            "demo",
            "-o",
            str(lock),
        ]
    )
    assert 'created-by = "pip"' in lock.read_text()
    return lock


@pytest.fixture
def env(venv_factory, request) -> Path:
    return venv_factory(request.node.name[:40])


def py(env: Path) -> str:
    return str(env / "bin" / "python")


def site(env: Path) -> Path:
    return env / "lib" / f"python{VERSION}" / "site-packages"


def pip_install(env: Path, lock: Path) -> None:
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            py(env),
            "install",
            "-q",
            "--no-index",
            "--no-compile",
            "-r",
            str(lock),
        ]
    )


def write_lock(path: Path, packages: str, header: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'lock-version = "1.0"\ncreated-by = "test"\n{header}\n{packages}')
    return path


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def wheel_entry(name: str, version: str, wheel: Path, *, key: str = "wheels", **fields) -> str:
    """A [[packages]] table with one wheel (or an archive) given by ``fields``
    (``path``: the wheel's own, unless given)."""
    fields.setdefault("path", str(wheel))
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items() if k != "marker")
    marker = f"marker = {json.dumps(fields['marker'])}\n" if "marker" in fields else ""
    if key == "archive":
        return (
            f'[[packages]]\nname = "{name}"\nversion = "{version}"\n{marker}'
            f"[packages.archive]\n{extra}"
            f'hashes = {{ sha256 = "{sha256(wheel)}" }}\n\n'
        )
    return (
        f'[[packages]]\nname = "{name}"\nversion = "{version}"\n{marker}'
        f'[[packages.wheels]]\nname = "{wheel.name}"\n{extra}'
        f'hashes = {{ sha256 = "{sha256(wheel)}" }}\n\n'
    )


class TestLockFromPip:
    def test_installs_the_tree_pip_installs(self, pip_lock, env, venv_factory):
        proc = run_cli("install", "--python", py(env), "-r", str(pip_lock), "--no-cache")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("installed demo 1.0, tool 2.0 in ")
        out = subprocess.run([str(env / "bin" / "demo")], capture_output=True, text=True)
        assert out.stdout == "demo ran\n"
        reference = venv_factory("pip-reference")
        pip_install(reference, pip_lock)
        assert compare_envs(reference, env) == []
        # pip writes no direct_url.json for a locked wheel, and REQUESTED for each.
        for dist in ("demo-1.0", "tool-2.0"):
            info = site(env) / f"{dist}.dist-info"
            assert (info / "REQUESTED").is_file()
            assert not (info / "direct_url.json").exists()
            assert (info / "INSTALLER").read_text() == "fastinst\n"

    def test_a_changed_hash_is_refused_and_nothing_changes(self, pip_lock, env, tmp_path):
        text = pip_lock.read_text()
        old = text.split('sha256 = "')[1][:64]
        bad = write_lock(tmp_path / "bad" / "pylock.toml", "")
        bad.write_text(text.replace(old, "0" * 64))
        before = tree_snapshot(env)
        proc = run_cli(
            "install", "--python", py(env), "-r", str(bad), "--cache-dir", str(tmp_path / "cache")
        )
        assert proc.returncode == 1
        [line] = proc.stderr.strip().splitlines()
        assert "1 wheel does not match the lock's hashes" in line
        assert f"has sha256:{old}, the lock says sha256:{'0' * 64}" in line
        assert tree_snapshot(env) == before

    def test_wheels_found_nowhere_are_listed_together(self, pip_lock, env, tmp_path):
        moved = tmp_path / "elsewhere" / "pylock.toml"
        moved.parent.mkdir()
        # The lock's file: URLs point into a wheelhouse that is not there.
        moved.write_text(pip_lock.read_text().replace("house", "gone-house"))
        proc = run_cli("install", "--python", py(env), "-r", str(moved), "--no-cache")
        assert proc.returncode == 1
        [line] = proc.stderr.strip().splitlines()
        assert "2 locked wheels not found" in line
        assert "demo-1.0-py3-none-any.whl (demo 1.0) (looked at " in line
        assert "tool-2.0-py3-none-any.whl (tool 2.0) (looked at " in line
        assert "in no --find-links directory (none given)" in line
        assert not (site(env) / "demo").exists()

    def test_find_links_when_the_lock_path_is_gone(self, pip_lock, house, env, tmp_path):
        moved = tmp_path / "pylock.toml"
        moved.write_text(pip_lock.read_text().replace("house", "gone-house"))
        proc = run_cli(
            "install", "--python", py(env), "-r", str(moved), "-f", str(house), "--no-cache"
        )
        assert proc.returncode == 0, proc.stderr
        assert (site(env) / "tool.py").is_file()

    def test_a_lock_comes_alone(self, pip_lock, house, env):
        proc = run_cli(
            "install",
            "--python",
            py(env),
            "-r",
            str(pip_lock),
            str(house / "tool-2.0-py3-none-any.whl"),
        )
        assert proc.returncode == 2
        assert "a lock file is installed on its own" in proc.stderr

    def test_extra_needs_a_lock(self, house, env):
        proc = run_cli(
            "install", "--python", py(env), "--extra", "x", str(house / "tool-2.0-py3-none-any.whl")
        )
        assert proc.returncode == 2
        assert "--extra and --group need a lock file" in proc.stderr

    def test_dry_run_and_json(self, pip_lock, env):
        before = tree_snapshot(env)
        proc = run_cli("install", "--python", py(env), "-r", str(pip_lock), "--dry-run", "--json")
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert data["dry_run"] is True
        assert [d["name"] for d in data["installed"]] == ["demo", "tool"]
        assert tree_snapshot(env) == before


@pytest.fixture(scope="module")
def uv_lock(house, tmp_path_factory) -> Path:
    """``uv export --format pylock.toml`` of a project depending on demo (a path
    dependency: an archive with a relative path) and, through it, tool."""
    project = tmp_path_factory.mktemp("uvproject")
    rel = os.path.relpath(house / "demo-1.0-py3-none-any.whl", project)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.9"\n'
        'dependencies = ["demo"]\n'
        f'[tool.uv.sources]\ndemo = {{ path = "{rel}" }}\n'
    )
    cache = str(tmp_path_factory.mktemp("uvcache"))
    common = ["--no-index", "--find-links", str(house), "--cache-dir", cache, "--offline"]
    run([uv(), "lock", *common], cwd=project)
    run(
        [
            uv(),
            "export",
            "--format",
            "pylock.toml",
            "--no-emit-project",
            "-o",
            "pylock.toml",
            *common,
        ],
        cwd=project,
    )
    lock = project / "pylock.toml"
    assert 'created-by = "uv"' in lock.read_text()
    assert f'archive = {{ path = "{rel}"' in lock.read_text()  # relative to the lock
    return lock


class TestLockFromUv:
    def test_installs_the_tree_pip_installs(self, uv_lock, env, venv_factory, tmp_path):
        # From another directory: the archive's path is taken from the lock's directory.
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "fastinst",
                "install",
                "--python",
                py(env),
                "-r",
                str(uv_lock),
                "--no-cache",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        reference = venv_factory("uv-reference")
        pip_install(reference, uv_lock)
        assert compare_envs(reference, env) == []
        # An archive is a direct reference: PEP 610, with the lock's hash, as pip writes it.
        url = json.loads((site(env) / "demo-1.0.dist-info" / "direct_url.json").read_text())
        want = json.loads((site(reference) / "demo-1.0.dist-info" / "direct_url.json").read_text())
        assert url["archive_info"]["hashes"] == want["archive_info"]["hashes"]
        assert url["archive_info"]["hash"] == want["archive_info"]["hash"]
        assert url["url"] == want["url"]

    def test_the_project_itself_is_refused_by_name(self, uv_lock, env, tmp_path):
        text = uv_lock.read_text()
        with_project = write_lock(tmp_path / "p" / "pylock.toml", "")
        with_project.write_text(
            text + '\n[[packages]]\nname = "app"\ndirectory = { path = ".", editable = true }\n'
        )
        proc = run_cli("install", "--python", py(env), "-r", str(with_project), "--no-cache")
        assert proc.returncode == 1
        assert (
            "app (packages[2]): a directory (.); fastinst installs wheels only and runs no "
            "build backend" in proc.stderr
        )


class TestSelect:
    """Markers, tags and Requires-Python, for the target interpreter."""

    @pytest.fixture
    def wheels(self, tmp_path) -> Path:
        d = tmp_path / "w"
        d.mkdir()
        make_wheel(d, name="tool", version="2.0", files={"tool.py": "KIND = 'pure'\n"})
        make_wheel(
            d,
            name="tool",
            version="2.0",
            tag=BEST,
            purelib=False,
            files={"tool.py": "KIND = 'native'\n"},
        )
        make_wheel(d, name="win", version="1.0", tag="cp27-cp27m-win32", files={"win.py": ""})
        make_wheel(d, name="extra-only", files={"extra_only.py": ""})
        make_wheel(d, name="dev-only", files={"dev_only.py": ""})
        return d

    def choose(self, lock: Path, **kwargs) -> list[tuple[str, str]]:
        chosen = select(read_lock(lock), str(lock), TargetInterpreter(None), **kwargs)
        return [(w.name, w.filename) for w in chosen]

    def test_the_best_tag_wins_and_markers_are_evaluated(self, wheels, tmp_path):
        pure, native = (wheels / "tool-2.0-py3-none-any.whl", wheels / f"tool-2.0-{BEST}.whl")
        win = wheels / "win-1.0-cp27-cp27m-win32.whl"
        lock = write_lock(
            tmp_path / "pylock.toml",
            f'[[packages]]\nname = "tool"\nversion = "2.0"\n'
            f'wheels = [{{ path = "{pure}", hashes = {{ sha256 = "{sha256(pure)}" }} }},'
            f' {{ path = "{native}", hashes = {{ sha256 = "{sha256(native)}" }} }}]\n\n'
            + wheel_entry("win", "1.0", win, marker="sys_platform == 'win32'")
            + wheel_entry(
                "extra-only",
                "1.0",
                wheels / "extra_only-1.0-py3-none-any.whl",
                marker="'fast' in extras",
            )
            + wheel_entry(
                "dev-only",
                "1.0",
                wheels / "dev_only-1.0-py3-none-any.whl",
                marker="'dev' in dependency_groups",
            ),
            header='extras = ["fast"]\ndependency-groups = ["dev"]\ndefault-groups = []\n',
        )
        assert self.choose(lock) == [("tool", native.name)]
        assert self.choose(lock, extras=["Fast"]) == [
            ("tool", native.name),
            ("extra-only", "extra_only-1.0-py3-none-any.whl"),
        ]
        assert self.choose(lock, groups=["dev"])[-1] == (
            "dev-only",
            "dev_only-1.0-py3-none-any.whl",
        )
        with pytest.raises(LockError, match="the lock has no extra nope"):
            self.choose(lock, extras=["nope"])
        with pytest.raises(LockError, match="the lock has no dependency group nope"):
            self.choose(lock, groups=["nope"])

    def test_every_problem_is_listed_at_once(self, wheels, tmp_path):
        win = wheels / "win-1.0-cp27-cp27m-win32.whl"
        tool = wheels / "tool-2.0-py3-none-any.whl"
        lock = write_lock(
            tmp_path / "pylock.toml",
            wheel_entry("win", "1.0", win) + '[[packages]]\nname = "src"\nversion = "1.0"\n'
            '[packages.sdist]\npath = "src-1.0.tar.gz"\nhashes = { sha256 = "00" }\n\n'
            '[[packages]]\nname = "vcs"\n[packages.vcs]\ntype = "git"\n'
            'url = "https://example.invalid/vcs.git"\ncommit-id = "abc"\n\n'
            '[[packages]]\nname = "old"\nrequires-python = "<3"\n'
            f'wheels = [{{ path = "{tool.name.replace("tool", "old")}", '
            'hashes = { sha256 = "00" } }]\n\n'
            '[[packages]]\nname = "arch"\n[packages.archive]\npath = "arch-1.0.tar.gz"\n'
            'hashes = { sha256 = "00" }\n',
        )
        with pytest.raises(LockError) as info:
            self.choose(lock)
        problems = info.value.problems
        assert len(problems) == 5, problems
        assert problems[0].startswith(
            "win (packages[0]): no wheel for this interpreter; the lock has cp27-cp27m-win32;"
        )
        assert problems[1] == (
            "src (packages[1]): only an sdist is locked (src-1.0.tar.gz); "
            "fastinst installs wheels only and runs no build backend"
        )
        assert problems[2].startswith("vcs (packages[2]): a git checkout (https://example")
        assert problems[3].startswith("old (packages[3]): requires Python <3, not 3.")
        assert problems[4].startswith("arch (packages[4]): an archive that is not a wheel")
        assert str(info.value).startswith(f"{lock}: cannot be installed for ")

    def test_lock_requires_python(self, tmp_path):
        lock = write_lock(
            tmp_path / "pylock.toml", "packages = []\n", header='requires-python = ">=4"\n'
        )
        with pytest.raises(LockError, match=r"the lock requires Python >=4, not 3\."):
            self.choose(lock)

    def test_environments(self, tmp_path):
        lock = write_lock(
            tmp_path / "pylock.toml",
            "packages = []\n",
            header="environments = [\"sys_platform == 'win32'\"]\n",
        )
        with pytest.raises(LockError, match="the lock is for environments"):
            self.choose(lock)

    def test_a_wheel_of_another_name(self, wheels, tmp_path):
        tool = wheels / "tool-2.0-py3-none-any.whl"
        lock = write_lock(tmp_path / "pylock.toml", wheel_entry("demo", "2.0", tool))
        with pytest.raises(LockError, match="is not consistent with package name 'demo'"):
            self.choose(lock)  # packaging.pylock's own check
        lock = write_lock(tmp_path / "pylock.toml", wheel_entry("demo", "2.0", tool, key="archive"))
        with pytest.raises(LockError, match=r"tool-2\.0-py3-none-any\.whl is not a wheel of demo"):
            self.choose(lock)

    @pytest.mark.parametrize(
        "text, reason",
        [
            ("lock-version = [", "invalid TOML"),
            ('lock-version = "1.0"\n', "not a valid PEP 751 lock file: Missing required value"),
            ('lock-version = "2.0"\ncreated-by = "x"\npackages = []\n', "is not supported"),
        ],
    )
    def test_bad_files(self, tmp_path, text, reason):
        path = tmp_path / "pylock.toml"
        path.write_text(text)
        with pytest.raises(LockError, match=reason):
            read_lock(path)

    def test_lock_file_names(self):
        assert is_lock_path("pylock.toml") and is_lock_path("a/pylock.dev.toml")
        assert not is_lock_path("pylock.a.b.toml") and not is_lock_path("requirements.txt")


class TestLocate:
    def test_cache_then_path_then_find_links(self, house, tmp_path):
        demo = house / "demo-1.0-py3-none-any.whl"
        lock = write_lock(
            tmp_path / "pylock.toml", wheel_entry("demo", "1.0", demo, path="nowhere/" + demo.name)
        )
        wheels = select(read_lock(lock), str(lock), TargetInterpreter(None))
        with pytest.raises(WheelsNotFound) as info:
            locate(wheels, str(lock))
        assert list(info.value.missing) == ["demo-1.0-py3-none-any.whl (demo 1.0)"]
        assert info.value.missing["demo-1.0-py3-none-any.whl (demo 1.0)"] == (
            f"at {tmp_path / 'nowhere' / demo.name}",
            "in no --find-links directory (none given)",
        )
        [found] = locate(wheels, str(lock), find_links=[str(house)])
        assert found.path == str(demo) and not found.in_cache

        from fastinst._cache import WheelCache

        cache = WheelCache(str(tmp_path / "cache"))
        fastinst.install(
            [demo],
            fastinst.Scheme.from_mapping(
                {
                    k: str(tmp_path / "t" / k)
                    for k in ("purelib", "platlib", "headers", "scripts", "data")
                }
            ),
            cache_dir=cache.root,
        )
        [found] = locate(wheels, str(lock), cache=cache)
        assert found.in_cache and found.path is None and found.digest == sha256(demo)

    def test_a_file_with_another_hash(self, house, tmp_path):
        demo = house / "demo-1.0-py3-none-any.whl"
        lock = write_lock(tmp_path / "pylock.toml", wheel_entry("demo", "1.0", demo))
        lock.write_text(lock.read_text().replace(sha256(demo), "f" * 64))
        wheels = select(read_lock(lock), str(lock), TargetInterpreter(None))
        with pytest.raises(HashMismatch) as info:
            locate(wheels, str(lock), find_links=[str(house)])
        assert info.value.files == {str(demo): (f"sha256:{'f' * 64}", f"sha256:{sha256(demo)}")}


class TestWarmCache:
    def test_a_warm_cache_needs_no_wheel_files(self, pip_lock, house, venv_factory, tmp_path):
        """The lock's SHA-256 is the cache's key: with the wheels gone, and the lock's
        file: URLs pointing nowhere, a second environment installs from the cache."""
        cache = tmp_path / "cache"
        first = venv_factory("warm-first")
        proc = run_cli(
            "install", "--python", py(first), "-r", str(pip_lock), "--cache-dir", str(cache)
        )
        assert proc.returncode == 0, proc.stderr
        gone = tmp_path / "elsewhere" / "pylock.toml"
        gone.parent.mkdir()
        gone.write_text(pip_lock.read_text().replace(str(house), str(tmp_path / "no-such-dir")))
        second = venv_factory("warm-second")
        proc = run_cli(
            "install", "--python", py(second), "-r", str(gone), "--cache-dir", str(cache)
        )
        assert proc.returncode == 0, proc.stderr
        assert "2 of 2 wheels from the cache" in proc.stdout
        assert compare_envs(first, second) == []
        out = subprocess.run([str(second / "bin" / "demo")], capture_output=True, text=True)
        assert out.stdout == "demo ran\n"

    def test_a_cache_entry_is_not_taken_for_another_hash(self, pip_lock, env, tmp_path):
        """A changed hash finds no entry, and no file: nothing is installed."""
        cache = tmp_path / "cache"
        assert (
            run_cli(
                "install", "--python", py(env), "-r", str(pip_lock), "--cache-dir", str(cache)
            ).returncode
            == 0
        )
        text = pip_lock.read_text()
        old = text.split('sha256 = "')[1][:64]
        bad = tmp_path / "bad" / "pylock.toml"
        bad.parent.mkdir()
        bad.write_text(text.replace(old, "1" * 64).replace("house", "no-house"))
        fresh = env.parent / "fresh"
        import venv

        venv.create(fresh, with_pip=False, symlinks=True)
        before = tree_snapshot(fresh)
        proc = run_cli("install", "--python", py(fresh), "-r", str(bad), "--cache-dir", str(cache))
        assert proc.returncode == 1
        assert "1 locked wheel not found" in proc.stderr
        assert "in the cache " in proc.stderr and "by sha256 1111111111111111..." in proc.stderr
        assert tree_snapshot(fresh) == before


class TestSelectionKept:
    """With a cache, what a lock selects is kept by the lock's bytes (and the
    interpreter, extras, groups): a lock installed before is not parsed again."""

    SCRIPT = (
        "import sys, fastinst\n"
        "from fastinst._lock import install_lock\n"
        "rs = install_lock(sys.argv[1], fastinst.get_scheme(sys.argv[2]), cache_dir=sys.argv[3])\n"
        "print(sorted((r.name, r.version) for r in rs))\n"
        "print('packaging.pylock' in sys.modules, 'tomllib' in sys.modules)\n"
    )

    def install(self, lock: Path, env: Path, cache: Path) -> list[str]:
        out = run([sys.executable, "-c", self.SCRIPT, str(lock), py(env), str(cache)])
        return out.stdout.splitlines()

    def test_a_lock_installed_before_is_not_parsed(self, pip_lock, venv_factory, tmp_path):
        cache = tmp_path / "cache"
        first = self.install(pip_lock, venv_factory("kept-1"), cache)
        assert first == ["[('demo', '1.0'), ('tool', '2.0')]", "True True"]
        assert len(list((cache / "probe-v2").glob("select-*.json"))) == 1
        second = self.install(pip_lock, venv_factory("kept-2"), cache)
        assert second == ["[('demo', '1.0'), ('tool', '2.0')]", "False False"]

    def test_other_bytes_are_parsed_and_checked(self, house, venv_factory, tmp_path):
        """An edited lock is another key: its own selection, its own errors."""
        cache = tmp_path / "cache"
        demo, tool = sorted(house.glob("demo-*.whl"))[0], sorted(house.glob("tool-*.whl"))[0]
        lock = write_lock(tmp_path / "l" / "pylock.toml", wheel_entry("tool", "2.0", tool))
        assert self.install(lock, venv_factory("edit-1"), cache)[0] == "[('tool', '2.0')]"
        write_lock(lock, wheel_entry("demo", "1.0", demo) + wheel_entry("tool", "2.0", tool))
        out = self.install(lock, venv_factory("edit-2"), cache)
        assert out == ["[('demo', '1.0'), ('tool', '2.0')]", "True True"]
        write_lock(lock, wheel_entry("tool", "2.0", tool) + "x = [")
        with pytest.raises(LockError, match="invalid TOML"):
            install_lock(lock, fastinst.get_scheme(py(venv_factory("edit-3"))), cache_dir=cache)

    def test_a_damaged_selection_is_not_used(self, pip_lock, venv_factory, tmp_path):
        cache = tmp_path / "cache"
        self.install(pip_lock, venv_factory("bad-1"), cache)
        (kept,) = (cache / "probe-v2").glob("select-*.json")
        for text in (
            '{"wheels": [["demo", "1.0"]]}',
            '{"wheels": [[1, 2, 3, {}, null, null, false, "p"]]}',
            "{",
        ):
            kept.write_text(text)
            out = self.install(pip_lock, venv_factory("bad-2"), cache)
            assert out == ["[('demo', '1.0'), ('tool', '2.0')]", "True True"], text


class TestLibrary:
    def test_install_lock(self, pip_lock, env, tmp_path):
        scheme = fastinst.get_scheme(py(env))
        results = install_lock(pip_lock, scheme, cache_dir=tmp_path / "cache")
        assert [(r.name, r.version) for r in results] == [("demo", "1.0"), ("tool", "2.0")]
        assert all(r.ok for r in fastinst.verify(None, scheme))
