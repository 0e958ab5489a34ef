"""The PDM and Poetry plugins (plugins/) in the real tools, from the package index.

Each tool is installed once into a venv of its own (kept between test runs beside
pytest's temporary directories), with the plugin and this checkout's fastinst.
A project is synced from a local wheelhouse, offline (a find_links directory
for PDM, a PEP 503 index on 127.0.0.1 for Poetry), first by the stock tool and
then, in a fresh venv at the same path, with the plugin on; after each step
(install, upgrade, remove) the two environments must be equal file for file.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simpleindex import serve
from wheelmaker import corrupt_crc, make_wheel

REPO = Path(__file__).resolve().parent.parent
PDM = "pdm==2.29.4"
PDM_EXTRA = ["hishel[httpx2]==1.4.0"]  # PDM 2.29.4 does not run with hishel 2
POETRY = "poetry==2.5.1"
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)


def tool_venv(base: Path, name: str, requirements: list[str], plugin: str) -> Path:
    """A venv with ``requirements`` (kept between runs), the plugin and this fastinst."""
    venv = base / f"{name}-py{sys.version_info[0]}{sys.version_info[1]}"
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs at once build it once
        marker = venv / "fastinst-ready"
        if not marker.exists() or marker.read_text() != repr(requirements):
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([BASE_PYTHON, "-m", "venv", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
            needs = [*requirements, "zstandard", "setuptools>=70.1"]
            subprocess.run([*pip, *needs], check=True)
            marker.write_text(repr(requirements))
        # This checkout's fastinst (with its compiled core), and the plugin from plugins/.
        site = next((venv / "lib").glob("python3*/site-packages"))
        (site / "fastinst-checkout.pth").write_text(str(REPO / "src") + "\n")
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
             "--no-build-isolation", "--no-index", str(REPO / "plugins" / plugin)],
            check=True,
        )  # fmt: skip
    return venv


@pytest.fixture(scope="session")
def tools_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp().parent / "fastinst-tools"


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    house = tmp_path_factory.mktemp("wheelhouse")
    make_wheel(
        house,
        name="alpha",
        files={
            "alpha/__init__.py": "def main():\n    print('alpha')\n",
            "alpha-1.0.data/data/share/alpha/a.txt": "a\n",
            "alpha-1.0.data/scripts/alpha-sh": "#!python\nprint('sh')\n",
        },
        entry_points={"console_scripts": {"alpha": "alpha:main"}},
        # executable, as builders make scripts (installer would keep a script
        # without the bit as it is; fastinst, like pip, makes every script executable)
        executables={"alpha-1.0.data/scripts/alpha-sh"},
        metadata_extra="Requires-Dist: beta\n",
    )
    for v in ("1.0", "2.0"):
        files = {"beta/__init__.py": f"V = {v!r}\n", f"beta/only_{v[0]}.py": ""}
        make_wheel(house, name="beta", version=v, files=files)
    make_wheel(house, name="gamma", purelib=False, files={"gamma.py": "g = 1\n", "gamma.pth": ""})
    make_wheel(house, name="ns_delta", files={"ns/delta/__init__.py": "d = 1\n"})
    make_wheel(house, name="ns_eps", files={"ns/eps/__init__.py": "e = 1\n"})
    (house / "broken").mkdir()
    broken = make_wheel(house / "broken", name="broken", files={"broken/__init__.py": "b\n" * 99})
    corrupt_crc(broken, "broken/__init__.py")
    return house


def environment(venv: Path) -> dict[str, object]:
    """A venv's files and contents; RECORDs as sets of rows (their order is free),
    without bytecode the interpreter wrote when the tools ran it, without fastinst's
    own lock file."""
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(venv):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            path = Path(dirpath, name)
            rel = str(path.relative_to(venv))
            if name.startswith(".fastinst"):
                continue
            data = path.read_bytes()
            mode = path.stat().st_mode
            out[rel] = (mode, sorted(data.splitlines()) if name == "RECORD" else data)
    return out


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def isolated_env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TERM")}
    return {**keep, "HOME": str(home), "NO_COLOR": "1", "COLUMNS": "200"}


def fresh_venv(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([BASE_PYTHON, "-m", "venv", "--without-pip", str(path)], check=True)


def record_of(venv: Path, dist_info: str) -> bytes:
    return next(venv.glob(f"lib/python3*/site-packages/{dist_info}/RECORD")).read_bytes()


@pytest.mark.slow
def test_pdm(tools_dir, wheelhouse, tmp_path):
    pdm = str(tool_venv(tools_dir, "pdm-2.29.4", [PDM, *PDM_EXTRA], "pdm-fastinst") / "bin/pdm")
    project = tmp_path / "project"
    project.mkdir()
    env = {
        **isolated_env(tmp_path / "home"),
        "PDM_CHECK_UPDATE": "false",
        "PDM_CACHE_DIR": str(tmp_path / "pdm-cache"),
        "PDM_CONFIG_FILE": str(tmp_path / "pdm-config.toml"),
    }
    pyproject = f"""[project]
name = "project"
version = "0"
requires-python = ">=3.9"
dependencies = ["alpha", "beta<2", "gamma", "ns-delta", "ns-eps"]

[tool.pdm]
distribution = false

[[tool.pdm.source]]
name = "pypi"
url = "{wheelhouse.as_uri()}"
type = "find_links"
"""
    venv = project / ".venv"
    steps: dict[str, list[dict[str, object]]] = {}
    records: dict[str, bytes] = {}
    for mode in ("stock", "fastinst"):
        (project / "pyproject.toml").write_text(pyproject)
        (project / "pdm.lock").unlink(missing_ok=True)
        (project / "pdm.toml").unlink(missing_ok=True)
        fresh_venv(venv)
        run([pdm, "use", "-f", str(venv / "bin" / "python")], project, env)
        run([pdm, "config", "-l", "fastinst.enable", str(mode == "fastinst").lower()], project, env)
        run([pdm, "lock"], project, env)
        snaps = steps[mode] = []
        run([pdm, "sync"], project, env)
        snaps.append(environment(venv))
        listed = run([pdm, "list", "--fields", "name,version", "--csv"], project, env)
        assert "alpha,1.0" in listed and "beta,1.0" in listed
        records[mode] = record_of(venv, "alpha-1.0.dist-info")
        run([pdm, "add", "beta>=2"], project, env)  # an upgrade
        snaps.append(environment(venv))
        run([pdm, "remove", "gamma"], project, env)
        snaps.append(environment(venv))
        listed = run([pdm, "list", "--fields", "name,version", "--csv"], project, env)
        assert "beta,2.0" in listed and "gamma" not in listed
    for step, (stock, ours) in enumerate(zip(steps["stock"], steps["fastinst"])):
        assert ours == stock, f"step {step}"
    # fastinst did install it: its RECORD lists the same rows in another order
    assert records["fastinst"] != records["stock"]

    # One transaction per sync: a wheel that fails leaves nothing of the others.
    shutil.copy(wheelhouse / "broken" / "broken-1.0-py3-none-any.whl", tmp_path / "b.whl")
    house = tmp_path / "house2"
    shutil.copytree(wheelhouse, house, ignore=shutil.ignore_patterns("broken"))
    shutil.copy(tmp_path / "b.whl", house / "broken-1.0-py3-none-any.whl")
    text = pyproject.replace(wheelhouse.as_uri(), house.as_uri()).replace('"ns-eps"]', '"broken"]')
    (project / "pyproject.toml").write_text(text)
    (project / "pdm.lock").unlink()
    fresh_venv(venv)
    run([pdm, "lock"], project, env)
    proc = subprocess.run([pdm, "sync"], cwd=project, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    site = next(venv.glob("lib/python3*/site-packages"))
    assert sorted(os.listdir(site)) == []


@pytest.mark.slow
def test_poetry(tools_dir, wheelhouse, tmp_path):
    poetry = str(tool_venv(tools_dir, "poetry-2.5.1", [POETRY], "poetry-fastinst") / "bin/poetry")
    project = tmp_path / "project"
    project.mkdir()
    venv = project / ".venv"
    base_env = {
        **isolated_env(tmp_path / "home"),
        "POETRY_CACHE_DIR": str(tmp_path / "poetry-cache"),
        "POETRY_CONFIG_DIR": str(tmp_path / "poetry-config"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "POETRY_VIRTUALENVS_CREATE": "false",
        "POETRY_INSTALLER_BUILTIN_UNINSTALL": "true",
        "VIRTUAL_ENV": str(venv),
    }
    base_env["PATH"] = f"{venv / 'bin'}:{base_env.get('PATH', '/usr/bin:/bin')}"
    steps: dict[str, list[dict[str, object]]] = {}
    records: dict[str, bytes] = {}
    with serve(wheelhouse) as index:
        pyproject = f"""[project]
name = "project"
version = "0"
requires-python = ">=3.9"
dependencies = ["alpha", "beta<2", "gamma", "ns-delta", "ns-eps"]

[tool.poetry]
package-mode = false

[[tool.poetry.source]]
name = "local"
url = "{index}"
priority = "primary"
"""
        for mode in ("stock", "fastinst"):
            enable = str(mode == "fastinst").lower()
            (project / "pyproject.toml").write_text(
                f"{pyproject}\n[tool.poetry-fastinst]\nenable = {enable}\n"
            )
            (project / "poetry.lock").unlink(missing_ok=True)
            fresh_venv(venv)
            env = base_env
            run([poetry, "lock"], project, env)
            snaps = steps[mode] = []
            run([poetry, "install"], project, env)
            snaps.append(environment(venv))
            shown = run([poetry, "show"], project, env)
            assert "alpha" in shown and "1.0" in shown
            records[mode] = record_of(venv, "alpha-1.0.dist-info")
            run([poetry, "add", "beta>=2"], project, env)  # an upgrade
            snaps.append(environment(venv))
            run([poetry, "remove", "gamma"], project, env)
            snaps.append(environment(venv))
            shown = run([poetry, "show"], project, env)
            assert "gamma" not in shown and "2.0" in shown
    for step, (stock, ours) in enumerate(zip(steps["stock"], steps["fastinst"])):
        assert ours == stock, f"step {step}"
    # fastinst did install it: its RECORD lists the same rows in another order
    assert records["fastinst"] != records["stock"]
