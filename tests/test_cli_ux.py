"""The command line as pip and uv users expect it (#11), each point run for real:
``python -m fastinst`` in a subprocess (a pseudo-terminal for the progress bar),
real wheels, real venvs, Debian's own interpreter where the point is about it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli, tree_snapshot
from wheelmaker import make_wheel

VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"
DEBIAN_PYTHON = "/usr/bin/python3"


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    return proc


def fails(proc: subprocess.CompletedProcess, code: int = 1) -> str:
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc.stderr


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env.update(extra)
    return env


def site(env: Path) -> Path:
    return env / "lib" / f"python{VERSION}" / "site-packages"


@pytest.fixture
def env(venv_factory, request) -> Path:
    return venv_factory(request.node.name[:40])


@pytest.fixture
def house(tmp_path) -> Path:
    d = tmp_path / "house"
    d.mkdir()
    make_wheel(d, name="demo", version="1.0", files={"demo/__init__.py": "V = 1\n"})
    return d


def demo(house: Path) -> str:
    return str(house / "demo-1.0-py3-none-any.whl")


# --- the environment -------------------------------------------------------------------


class TestEnvironment:
    def test_an_activated_venv_is_the_target(self, env, house):
        proc = ok(run_cli("install", demo(house), env=clean_env(VIRTUAL_ENV=str(env))))
        assert (site(env) / "demo" / "__init__.py").is_file()
        # Not the obvious environment (fastinst's own): the summary names it.
        assert proc.stdout.startswith(f"installed demo 1.0 into {env} in ")
        listed = ok(run_cli("list", "--format", "freeze", env=clean_env(VIRTUAL_ENV=str(env))))
        assert listed.stdout == "demo==1.0\n"

    def test_conda_prefix_when_no_venv_and_not_base(self, env, house, tmp_path):
        other = tmp_path / "nope"
        ok(run_cli("install", demo(house), env=clean_env(CONDA_PREFIX=str(env))))
        assert (site(env) / "demo").is_dir()
        # VIRTUAL_ENV wins over CONDA_PREFIX; conda's base environment is not a target.
        proc = ok(
            run_cli(
                "scheme",
                "--json",
                env=clean_env(VIRTUAL_ENV=str(env), CONDA_PREFIX=str(other)),
            )
        )
        assert json.loads(proc.stdout)["purelib"] == str(site(env))
        base = clean_env(CONDA_PREFIX=str(other), CONDA_DEFAULT_ENV="base")
        assert json.loads(ok(run_cli("scheme", "--json", env=base)).stdout)["purelib"] != str(
            site(env)
        )

    def test_explicit_python_wins_over_the_active_venv(self, env, venv_factory, house):
        other = venv_factory("other-active")
        ok(
            run_cli(
                "install",
                "--python",
                str(env / "bin" / "python"),
                demo(house),
                env=clean_env(VIRTUAL_ENV=str(other)),
            )
        )
        assert (site(env) / "demo").is_dir() and not (site(other) / "demo").exists()

    def test_a_stale_virtual_env_is_an_error_not_another_target(self, tmp_path, house):
        gone = tmp_path / "gone"
        line = fails(run_cli("install", demo(house), env=clean_env(VIRTUAL_ENV=str(gone))))
        assert f"$VIRTUAL_ENV is {gone}, which has no bin/python" in line

    def test_python_before_the_command_as_pip_takes_it(self, env, house):
        python = str(env / "bin" / "python")
        ok(run_cli("--python", python, "install", "-q", demo(house)))
        assert ok(run_cli("--python", python, "list", "--format", "freeze")).stdout == "demo==1.0\n"
        assert ok(run_cli(f"--python={python}", "show", "demo")).stdout.startswith("Name: demo\n")


@pytest.mark.skipif(
    not list(Path("/usr/lib").glob("python3*/EXTERNALLY-MANAGED")),
    reason="needs an interpreter marked EXTERNALLY-MANAGED (Debian's)",
)
class TestExternallyManaged:
    def test_says_pep_668_quotes_the_distributor_and_names_the_option(self, house):
        proc = run_cli("install", "--python", DEBIAN_PYTHON, demo(house))
        err = fails(proc)
        lines = err.splitlines()
        assert lines[0] == (
            f"fastinst: error: the environment of {DEBIAN_PYTHON} is externally managed (PEP 668)"
        )
        assert lines[1].startswith("  Its distributor says, in /usr/lib/python3")
        # The distributor's text keeps its own lines (Debian's is 10 lines, not one).
        quoted = [line for line in lines if line.startswith("    ")]
        assert len(quoted) > 3 and all(len(line) < 100 for line in lines)
        assert "--break-system-packages" in lines[-1]

    def test_json_error(self, house):
        proc = run_cli("install", "--json", "--python", DEBIAN_PYTHON, demo(house))
        fails(proc)
        error = json.loads(proc.stdout)["error"]
        assert error["type"] == "ExternallyManaged" and error["marker"].endswith("MANAGED")


def test_list_shows_a_debian_distribution_once_as_pip_does():
    dist_packages = Path("/usr/lib/python3/dist-packages")
    twins = [
        p.name.split("-")[0]
        for p in dist_packages.glob("*.dist-info")
        if (dist_packages / (p.name.split("-")[0] + ".egg-info")).exists()
    ]
    if not twins:
        pytest.skip("no distribution with both a .dist-info and an .egg-info here")
    out = ok(run_cli("list", "--python", DEBIAN_PYTHON, "--format", "freeze")).stdout
    names = [line.split("==")[0].lower() for line in out.splitlines()]
    assert len(names) == len(set(names))
    assert twins[0].lower().replace("_", "-") in names


# --- what is not a wheel -----------------------------------------------------------------


class TestNotAWheel:
    def test_sdist(self, tmp_path, env):
        sdist = tmp_path / "demo-1.0.tar.gz"
        sdist.write_bytes(b"\x1f\x8b not really")
        err = fails(run_cli("install", "--python", str(env / "bin" / "python"), str(sdist)))
        assert f"{sdist}: not a wheel" in err
        assert "build backend" in err and "Expected" not in err

    def test_a_random_file_and_a_directory(self, tmp_path, env):
        setup = tmp_path / "setup.py"
        setup.write_text("from setuptools import setup\n")
        python = str(env / "bin" / "python")
        assert f"{setup}: not a wheel" in fails(run_cli("install", "--python", python, str(setup)))
        err = fails(run_cli("install", "--python", python, str(tmp_path)))
        assert f"{tmp_path}: a directory, not a wheel" in err and "Expected" not in err

    def test_in_a_requirements_file(self, tmp_path, env):
        (tmp_path / "demo-1.0.tar.gz").write_bytes(b"")
        reqs = tmp_path / "r.txt"
        reqs.write_text("demo-1.0.tar.gz\n")
        err = fails(run_cli("install", "--python", str(env / "bin" / "python"), "-r", str(reqs)))
        assert f"{reqs}:1: demo-1.0.tar.gz: not a wheel: a source distribution" in err


# --- output --------------------------------------------------------------------------------


class TestSummary:
    def test_many_distributions_a_short_line_and_one_line_each(self, env, tmp_path):
        d = tmp_path / "many"
        d.mkdir()
        wheels = [
            str(make_wheel(d, name=name, version="1.0", files={f"{name.lower()}.py": ""}))
            for name in ("Charset_Normalizer", "zope.interface", "Alpha", "beta")
        ]
        python = str(env / "bin" / "python")
        lines = ok(run_cli("install", "--python", python, *wheels)).stdout.splitlines()
        assert lines[0].startswith("installed 4 distributions in ")
        assert lines[1:] == [
            " + alpha==1.0",
            " + beta==1.0",
            " + charset-normalizer==1.0",
            " + zope-interface==1.0",
        ]
        make_wheel(d, name="beta", version="2.0", files={"beta.py": ""})
        again = [*wheels[:3], str(d / "beta-2.0-py3-none-any.whl")]
        lines = ok(
            run_cli("install", "--reinstall", "--python", python, *again)
        ).stdout.splitlines()
        assert " - beta==1.0" in lines and lines.index(" - beta==1.0") + 1 == lines.index(
            " + beta==2.0"
        )
        assert ok(run_cli("install", "-q", "--python", python, *wheels)).stdout == ""

    def test_few_distributions_by_normalised_name(self, env, tmp_path):
        whl = make_wheel(tmp_path, name="Charset_Normalizer", version="3.0", files={"c.py": ""})
        out = ok(run_cli("install", "--python", str(env / "bin" / "python"), str(whl))).stdout
        assert out.startswith("installed charset-normalizer 3.0 in ")

    def test_verbose_goes_to_stderr_and_vv_lists_files(self, env, house):
        python = str(env / "bin" / "python")
        one = ok(run_cli("install", "-v", "--python", python, demo(house)))
        assert one.stdout.count("\n") == 1 and "  demo 1.0:" in one.stderr
        assert str(site(env) / "demo" / "__init__.py") not in one.stderr
        two = ok(run_cli("install", "-vv", "--reinstall", "--python", python, demo(house)))
        assert f"    {site(env) / 'demo' / '__init__.py'}" in two.stderr.splitlines()
        assert "scheme (venv):" in two.stderr  # debug records too


# --- JSON ---------------------------------------------------------------------------------


class TestJson:
    def test_every_command_has_the_versioned_shape(self, env, house, tmp_path):
        python = str(env / "bin" / "python")
        cache = str(tmp_path / "cache")
        docs = {}
        for args in (
            ["install", "--cache-dir", cache, demo(house)],
            ["list"],
            ["show", "demo"],
            ["scheme"],
            ["verify", "demo"],
            ["uninstall", "demo"],
        ):
            command = args[0]
            proc = ok(run_cli(*args[:1], "--json", "--python", python, *args[1:]))
            docs[command] = json.loads(proc.stdout)
        for action in ("dir", "info", "verify", "prune", "clean"):
            proc = ok(run_cli("cache", action, "--json", "--cache-dir", cache))
            docs[f"cache {action}"] = json.loads(proc.stdout)
        for command, doc in docs.items():
            assert doc["json_version"] == 1, command
            assert doc["command"] == command
        # files: a list of paths in both install and uninstall
        [installed] = docs["install"]["installed"]
        [removed] = docs["uninstall"]["uninstalled"]
        assert isinstance(installed["files"], list) and isinstance(removed["files"], list)
        assert removed["files"] and set(removed["files"]) <= set(installed["files"])

    def test_errors_are_json_too(self, env, tmp_path):
        proc = run_cli("install", "--json", "--python", str(env / "bin" / "python"), "x.whl")
        fails(proc)
        doc = json.loads(proc.stdout)
        assert doc["json_version"] == 1 and doc["command"] == "install"
        assert doc["error"]["exit_code"] == 1 and "x.whl" in doc["error"]["message"]
        proc = run_cli("install", "--json", "-j", "-2", "x.whl")
        fails(proc, 2)
        assert json.loads(proc.stdout)["error"]["type"] == "UsageError"

    def test_a_closed_pipe_is_not_an_error(self, env, house):
        python = str(env / "bin" / "python")
        ok(run_cli("install", "-q", "--python", python, demo(house)))
        # The reader is gone before fastinst writes: as with `| head -1` on a long output.
        proc = subprocess.Popen(
            [sys.executable, "-m", "fastinst", "list", "--json", "--python", python],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(),
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait() == 0, err
        assert err == ""
        shell = subprocess.run(
            f"set -o pipefail; '{sys.executable}' -m fastinst list --json "
            f"--python '{python}' | head -1",
            shell=True,
            executable="/bin/bash",
            capture_output=True,
            text=True,
            env=clean_env(),
        )
        assert (shell.returncode, shell.stdout, shell.stderr) == (0, "{\n", "")


# --- show, usage ---------------------------------------------------------------------------


class TestShow:
    def test_requires_and_required_by_as_pip(self, env, tmp_path):
        d = tmp_path / "w"
        d.mkdir()
        app = make_wheel(
            d,
            name="app",
            files={"app.py": ""},
            metadata_extra=(
                "Requires-Dist: Lib_One>=1\n"
                "Requires-Dist: zlib-two ; python_version >= '3'\n"
                "Requires-Dist: never ; python_version < '3'\n"
                "Requires-Dist: extra-only ; extra == 'fancy'\n"
            ),
        )
        one = make_wheel(d, name="Lib_One", files={"lib_one.py": ""})
        two = make_wheel(d, name="zlib_two", files={"zlib_two.py": ""})
        python = str(env / "bin" / "python")
        ok(run_cli("install", "-q", "--python", python, str(app), str(one), str(two)))
        out = ok(run_cli("show", "--python", python, "app", "lib-one")).stdout
        first, second = out.split("---\n")
        assert "Requires: Lib_One, zlib-two\n" in first and "Required-by: \n" in first
        assert "Requires: \n" in second and "Required-by: app\n" in second
        [info] = json.loads(ok(run_cli("show", "--json", "--python", python, "zlib-two")).stdout)[
            "distributions"
        ]
        assert (info["requires"], info["required_by"]) == ([], ["app"])


@pytest.mark.parametrize(
    "args",
    [
        ["install", "-j", "-1", "x.whl"],
        ["install", "--jobs=-4", "x.whl"],
        ["cache", "prune", "--days", "-3"],
        ["cache", "prune", "--days", "nan"],
    ],
)
def test_negative_counts_are_usage_errors(args):
    err = fails(run_cli(*args), 2)
    assert err.count("\n") == 1 and "must be 0" in err


def test_scheme_json_and_dry_run_change_nothing(env, house):
    before = tree_snapshot(env)
    out = ok(run_cli("install", "--dry-run", "--python", str(env / "bin" / "python"), demo(house)))
    assert out.stdout.startswith("would install demo 1.0, checked in ")
    assert tree_snapshot(env) == before


# --- the progress bar, in a pseudo-terminal -----------------------------------------------------


def frames_in_pty(args: list[str], columns: int, env: dict[str, str]) -> tuple[int, list[str]]:
    """Run the command on a pseudo-terminal ``columns`` wide; its exit code and the
    frames it drew (the text between carriage returns, escape codes removed)."""
    import fcntl
    import pty
    import re
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # the child
        os.execve(sys.executable, [sys.executable, "-m", "fastinst", *args], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))
    return os.waitstatus_to_exitcode(status), text.split("\r")


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> list[str]:
    """Three wheels of 70 MB unpacked each (zeros: small files): one pass each."""
    d = tmp_path_factory.mktemp("big")
    return [
        str(make_wheel(d, name=f"big{i}", files={f"big{i}/data.bin": bytes(70 << 20)}))
        for i in range(3)
    ]


class TestProgressBar:
    @pytest.mark.parametrize("cache", ["--no-cache", "--cache-dir"])
    def test_frames_at_80_columns_show_a_bar_and_a_moving_count(self, big, cache, tmp_path):
        env = clean_env(FASTINST_PROGRESS_DELAY="0", TERM="xterm", LANG="C.UTF-8")
        where = ["--no-cache"] if cache == "--no-cache" else [cache, str(tmp_path / "c")]
        code, frames = frames_in_pty(
            ["install", "--target", str(tmp_path / "t"), *where, *big], 80, env
        )
        assert code == 0, frames
        bars = [f for f in frames if f.startswith("installing ")]
        assert bars, frames
        # Fixed width: every frame is 79 columns, whatever it holds.
        assert {len(f) for f in bars} == {79}
        counts = [f.split()[1] for f in bars]
        assert counts[0] == "0/3" and counts[-1] == "3/3"
        assert len(set(counts)) >= 3, counts  # it moved, wheel by wheel
        # The total is there from the first frame on: MB of the wheel files.
        totals = {f.split("/")[2].split()[0] for f in bars}
        assert len(totals) == 1, totals
        assert any("━" in f and "─" in f for f in bars)  # part done, part not
        assert frames[-1].startswith("installed 3 distributions in") or any(
            f.startswith("installed big0 1.0, big1 1.0, big2 1.0 in ") for f in frames
        )

    def test_narrow_and_ascii_terminals(self, big, tmp_path):
        env = clean_env(FASTINST_PROGRESS_DELAY="0", TERM="xterm", PYTHONIOENCODING="ascii")
        code, frames = frames_in_pty(
            ["install", "--no-cache", "--target", str(tmp_path / "t"), big[0]], 50, env
        )
        assert code == 0, frames
        bars = [f for f in frames if f.startswith("installing ")]
        assert bars and {len(f) for f in bars} == {49}
        assert any("#" in f for f in bars)

    def test_no_bar_off_a_terminal_quiet_or_json(self, big, tmp_path):
        env = clean_env(FASTINST_PROGRESS_DELAY="0", TERM="xterm")
        for flag in ("-q", "--json"):
            code, frames = frames_in_pty(
                ["install", flag, "--no-cache", "--target", str(tmp_path / flag), big[0]], 80, env
            )
            assert code == 0 and not any(f.startswith("installing") for f in frames)


# --- errors that named internals ----------------------------------------------------------------


@pytest.fixture(scope="module")
def nobody():
    """A root-owned copy of this Python with fastinst's sources, for ``nobody``."""
    import shutil

    from distro import make_shared_dir, prepare_for_other_users

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv")
    shared = make_shared_dir()
    try:
        python = prepare_for_other_users(shared)
        if python is None:
            pytest.skip("no pyenv install of this Python version to copy")
        yield shared, python
    finally:
        shutil.rmtree(shared, ignore_errors=True)


class TestTargetNotWritable:
    def test_read_only_target_names_the_directory(self, tmp_path, house):
        from filesystems import tmpfs

        with tmpfs(tmp_path / "ro") as mnt:
            (mnt / "t").mkdir()
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
            err = fails(run_cli("install", "--no-cache", "--target", str(mnt / "t"), demo(house)))
        assert (
            err == f"fastinst: error: {mnt / 't'}: Read-only file system; nothing was installed\n"
        )

    def test_root_owned_environment_as_another_user(self, nobody):
        from distro import make_home_for_nobody, make_world_readable, run_as_nobody

        shared, python = nobody
        venv = shared / "root-venv"
        subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
        wheels = shared / "wheels"
        wheels.mkdir(exist_ok=True)
        wheel = make_wheel(wheels, name="hello", files={"hello/__init__.py": ""})
        make_world_readable(shared)
        home = make_home_for_nobody(shared, "home-perm")
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "PYTHONPATH": str(shared / "lib"),
            "FASTINST_CACHE_DIR": str(home / "cache"),
        }
        site_packages = next(venv.glob("lib/python*/site-packages"))
        run = [python, "-m", "fastinst", "install", str(wheel)]
        proc = run_as_nobody([*run, "--python", str(venv / "bin" / "python")], env=env)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr == (
            f"fastinst: error: {site_packages}: Permission denied; nothing was installed; "
            "check the permissions of the environment's directories\n"
        )
        # Outside a venv, with the user site off (so no fallback to it): pip's --user advice.
        proc = run_as_nobody(run, env={**env, "PYTHONNOUSERSITE": "1"})
        assert proc.returncode == 1, proc.stderr
        assert ".fastinst" not in proc.stderr and proc.stderr.count("\n") == 1
        assert "Permission denied; nothing was installed; consider --user" in proc.stderr


class TestLinkModes:
    def test_clone_where_the_filesystem_cannot(self, tmp_path, house):
        err = fails(
            run_cli(
                "install", "--link-mode", "clone", "--cache-dir", str(tmp_path / "c"),
                "--target", str(tmp_path / "t"), demo(house),
            )
        )  # fmt: skip
        if "does not support clones" not in err:
            pytest.skip(f"this filesystem clones: {err}")
        assert ".fastinst-stage" not in err and "Errno" not in err
        assert not (tmp_path / "t" / "demo").exists()

    def test_hardlink_falling_back_to_copies_says_so_once(self, tmp_path, house):
        from filesystems import tmpfs

        with tmpfs(tmp_path / "other") as mount:
            # below the mount's root: a fresh tmpfs is 1777, which the trust rule
            # accepts above a cache (sticky) but not as the cache itself
            cache = mount / "cache"
            args = ["install", "--link-mode", "hardlink", "--cache-dir", str(cache)]
            proc = ok(run_cli(*args, "--target", str(tmp_path / "t"), demo(house)))
        warnings = [line for line in proc.stderr.splitlines() if "hardlink" in line]
        assert len(warnings) == 1, proc.stderr
        assert "cannot hardlink from the cache" in warnings[0] and "copying" in warnings[0]
        assert (tmp_path / "t" / "demo" / "__init__.py").stat().st_nlink == 1


# --- Ctrl-C, SIGTERM, a killed install, a held lock ---------------------------------------------


def start_install(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "fastinst", "install", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )


def wait_for_staging(target: Path, proc: subprocess.Popen, timeout: float = 60) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if target.is_dir() and any(p.name.startswith(".fastinst-stage-") for p in target.iterdir()):
            return True
        time.sleep(0.002)
    return False


class TestInterrupts:
    def test_ctrl_c_says_rolling_back_at_once(self, big, tmp_path):
        import signal

        target = tmp_path / "t"
        target.mkdir()
        proc = start_install(["--no-cache", "--target", str(target), *big])
        if not wait_for_staging(target, proc):
            proc.kill()
            pytest.skip("the install finished before it could be interrupted")
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        lines = err.strip().splitlines()
        assert lines[0] == "fastinst: interrupted; rolling back...", err
        if lines[1].endswith("it stands, nothing was rolled back"):
            # A loaded machine let the install reach its commit before the signal.
            assert (target / "big2-1.0.dist-info").is_dir()
        else:
            assert lines == [
                "fastinst: interrupted; rolling back...",
                "fastinst: error: interrupted; nothing was changed",
            ]
            assert list(target.iterdir()) == []

    def test_three_ctrl_c_never_claim_nothing_changed_when_a_rollback_is_left(self, big, tmp_path):
        import signal
        import time

        target = tmp_path / "t"
        target.mkdir()
        proc = start_install(["--no-cache", "--target", str(target), *big])
        if not wait_for_staging(target, proc):
            proc.kill()
            pytest.skip("the install finished before it could be interrupted")
        for _ in range(3):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.02)
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        names = sorted(p.name for p in target.iterdir())
        left = [n for n in names if n.startswith(".fastinst-")]
        last = err.strip().splitlines()[-1]
        if left:  # the rollback was cut short: the message says who finishes it
            assert last == (
                f"fastinst: error: interrupted during the rollback; the next fastinst run "
                f"in {target} finishes it"
            ), (left, err)
            again = ok(run_cli("install", "--no-cache", "--target", str(target), big[0]))
            assert "finished an interrupted install first" in again.stderr
        elif last.endswith("it stands, nothing was rolled back"):  # too late to stop it
            assert "big2-1.0.dist-info" in names
        else:
            assert last == "fastinst: error: interrupted; nothing was changed"
            assert names == []

    def test_the_next_run_says_it_recovered_a_killed_install(self, big, tmp_path):
        import signal

        target = tmp_path / "t"
        target.mkdir()
        for _attempt in range(3):
            proc = start_install(["--no-cache", "--target", str(target), *big])
            if wait_for_staging(target, proc):
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                if any(p.name.startswith(".fastinst-journal-") for p in target.iterdir()):
                    break
            proc.wait()
        else:
            pytest.skip("could not kill an install half-way")
        proc = ok(run_cli("install", "--no-cache", "--target", str(target), big[0]))
        notes = [line for line in proc.stderr.splitlines() if "interrupted install" in line]
        assert len(notes) == 1 and notes[0].startswith(
            "fastinst: finished an interrupted install first ("
        ), proc.stderr
        assert sorted(p.name for p in target.iterdir()) == ["big0", "big0-1.0.dist-info"]


class TestLockWait:
    def read_line(self, proc: subprocess.Popen, timeout: float = 60) -> str:
        import threading

        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            return proc.stderr.readline()
        finally:
            timer.cancel()

    def test_names_the_pid_holding_the_lock_and_sigterm_exits_143(self, env, house):
        import signal

        from fastinst import _transaction

        with _transaction.environment_lock(str(site(env))):
            proc = start_install(["--python", str(env / "bin" / "python"), demo(house)])
            line = self.read_line(proc)
            assert line == (
                f"fastinst: waiting for another fastinst process (pid {os.getpid()}) "
                f"to finish in {site(env)}\n"
            )
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err
        assert err.strip().splitlines() == [
            "fastinst: terminated; rolling back...",
            "fastinst: error: terminated; nothing was changed",
        ]
        assert not (site(env) / "demo").exists()

    def test_a_stopped_holder_is_named_as_such(self, env, house):
        import signal

        src = str(Path(__file__).resolve().parent.parent / "src")
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, time; sys.path.insert(0, sys.argv[1]); "
                "from fastinst import _transaction; "
                "lock = _transaction.environment_lock(sys.argv[2]); lock.__enter__(); "
                "print('held', flush=True); time.sleep(600)",
                src,
                str(site(env)),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout.readline() == "held\n"
            holder.send_signal(signal.SIGSTOP)
            proc = start_install(["--python", str(env / "bin" / "python"), demo(house)])
            line = self.read_line(proc)
            assert f"(pid {holder.pid}, which is stopped: resume it" in line
            holder.send_signal(signal.SIGCONT)
            holder.kill()
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            assert out.startswith("installed demo 1.0 in ")
        finally:
            holder.kill()
            holder.wait()


def test_scheme_headers_are_per_distribution_not_unknown(tmp_path):
    base = os.path.join(sys.base_prefix, "bin", "python3")  # not a venv: headers per name
    proc = ok(run_cli("scheme", "--prefix", str(tmp_path / "p"), "--python", base))
    assert "UNKNOWN" not in proc.stdout
    headers = [line for line in proc.stdout.splitlines() if line.startswith("headers: ")]
    assert headers[0].endswith("/<distribution>")
    doc = json.loads(
        ok(run_cli("scheme", "--json", "--prefix", str(tmp_path / "p"), "--python", base)).stdout
    )
    assert "UNKNOWN" not in doc["headers"] and doc["headers"].startswith(str(tmp_path / "p"))
