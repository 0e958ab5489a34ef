"""The command line, for real: ``python -m fastinst`` in a subprocess, real wheels, real venvs.

Every error path is checked for its documented exit code and for one line on
stderr without a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging import tags as ptags

from conftest import run_cli, tree_snapshot
from fastinst import _cli
from wheelmaker import corrupt_crc, make_wheel, rewrite_wheel

BEST = str(next(iter(ptags.sys_tags())))
VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stderr
    return proc


def fails(proc: subprocess.CompletedProcess, code: int = 1) -> str:
    """The one stderr line of a failed command."""
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def env(venv_factory, request) -> Path:
    """A fresh venv (no pip)."""
    return venv_factory(request.node.name[:40])


def py(env: Path) -> str:
    return str(env / "bin" / "python")


def site(env: Path) -> Path:
    return env / "lib" / f"python{VERSION}" / "site-packages"


@pytest.fixture
def house(tmp_path) -> Path:
    """Wheels: demo 1.0 (with a console script) and 2.0, tool 2.0 pure and native, a win32 one."""
    d = tmp_path / "house"
    d.mkdir()
    make_wheel(
        d,
        name="demo",
        version="1.0",
        files={"demo/__init__.py": "def main():\n    print('demo 1.0 ran')\n", "demo/old.py": ""},
        entry_points={"console_scripts": {"demo": "demo:main"}},
        metadata_extra="Summary: A demo distribution\n",
    )
    make_wheel(d, name="demo", version="2.0", files={"demo/__init__.py": "V = 2\n"})
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
    return d


def demo1(house: Path) -> str:
    return str(house / "demo-1.0-py3-none-any.whl")


def imports(env: Path, code: str) -> str:
    return subprocess.run(
        [py(env), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


# --- help, version, usage -----------------------------------------------------------------


class TestHelp:
    @pytest.mark.parametrize(
        "command", [[], ["install"], ["uninstall"], ["list"], ["show"], ["scheme"], ["cache"]]
    )
    def test_help_documents_exit_codes(self, command):
        out = ok(run_cli(*command, "--help")).stdout
        assert "exit codes:" in out
        assert "130" in out

    def test_install_help_reads_well(self):
        out = ok(run_cli("install", "--help")).stdout
        for option in ("--requirement", "--find-links", "--target", "--prefix", "--user",
                       "--root", "--python", "--no-cache-dir", "--dry-run", "--compile",
                       "--json", "--quiet", "--verbose", "--break-system-packages"):  # fmt: skip
            assert option in out
        assert "fastinst install -f wheelhouse/ demo==1.0" in out

    def test_version(self):
        import fastinst

        assert ok(run_cli("--version")).stdout.strip() == f"fastinst {fastinst.__version__}"

    @pytest.mark.parametrize(
        "args",
        [
            [],
            ["frobnicate"],
            ["install", "--bogus", "x.whl"],
            ["install"],
            ["list", "--format", "yaml"],
            ["install", "--target", "a", "--user", "x.whl"],
            ["cache", "explode"],
        ],
    )
    def test_bad_usage_is_one_line_and_exit_2(self, args):
        line = fails(run_cli(*args), 2)
        assert "error:" in line and "--help" in line


# --- install -----------------------------------------------------------------------------


class TestInstall:
    def test_wheel_into_a_venv(self, env, house):
        proc = ok(run_cli("install", "--python", py(env), demo1(house)))
        assert proc.stdout.startswith("installed demo 1.0 in ")
        assert "files written, 0 removed, 0 of 1 wheel from the cache" in proc.stdout
        assert imports(env, "import demo; demo.main()") == "demo 1.0 ran"
        ran = subprocess.run([env / "bin" / "demo"], capture_output=True, text=True, check=True)
        assert ran.stdout.strip() == "demo 1.0 ran"
        info = site(env) / "demo-1.0.dist-info"
        assert (info / "INSTALLER").read_text() == "fastinst\n"
        assert (info / "REQUESTED").exists()
        direct = json.loads((info / "direct_url.json").read_text())
        digest = hashlib.sha256(Path(demo1(house)).read_bytes()).hexdigest()
        assert direct == {
            "url": Path(demo1(house)).as_uri(),
            "archive_info": {"hash": f"sha256={digest}", "hashes": {"sha256": digest}},
        }

    def test_upgrade_summary_and_second_install_from_cache(self, env, house, tmp_path):
        cache = str(tmp_path / "cache")
        ok(run_cli("install", "--python", py(env), "--cache-dir", cache, demo1(house)))
        proc = ok(
            run_cli(
                "install", "--python", py(env), "--cache-dir", cache, "-f", str(house), "demo==2.0"
            )
        )
        assert "installed demo 2.0 (replaced 1.0)" in proc.stdout
        assert ", 3 removed," in proc.stdout  # demo/old.py, bin/demo and the old .dist-info
        assert not (site(env) / "demo" / "old.py").exists()
        assert not (site(env) / "demo-2.0.dist-info" / "direct_url.json").exists()  # not direct
        proc = ok(run_cli("install", "--python", py(env), "--cache-dir", cache, demo1(house)))
        assert "1 of 1 wheel from the cache" in proc.stdout

    def test_quiet_verbose_json(self, env, house):
        assert ok(run_cli("install", "-q", "--python", py(env), demo1(house))).stdout == ""
        verbose = ok(run_cli("install", "-v", "--reinstall", "--python", py(env), demo1(house)))
        assert verbose.stdout.startswith("installed demo 1.0 (replaced 1.0) in ")
        assert "  demo 1.0: 10 files" in verbose.stderr  # step by step: stderr, as documented
        assert str(site(env) / "demo-1.0.dist-info") in verbose.stderr
        out = json.loads(
            ok(
                run_cli("install", "--json", "--reinstall", "--python", py(env), demo1(house))
            ).stdout
        )
        [r] = out["installed"]
        assert (r["name"], r["version"], r["replaced"], r["from_cache"]) == (
            "demo",
            "1.0",
            "1.0",
            True,
        )
        assert str(site(env) / "demo" / "__init__.py") in r["files"]
        assert out["scheme"]["purelib"] == str(site(env))
        assert out["dry_run"] is False and out["seconds"] > 0

    def test_target_no_cache_copy_jobs(self, house, tmp_path):
        target = tmp_path / "t"
        ok(run_cli("install", "--target", str(target), "--no-cache", "-j", "1", demo1(house)))
        assert (target / "demo" / "__init__.py").is_file()
        assert (target / "bin" / "demo").is_file()
        other = tmp_path / "t2"
        cache = tmp_path / "c"
        ok(run_cli("install", "-t", str(other), "--cache-dir", str(cache), "--link-mode", "copy",
                   demo1(house)))  # fmt: skip
        assert (other / "demo" / "__init__.py").stat().st_nlink == 1
        assert any((cache / "wheels-v2").iterdir())

    def test_dry_run_changes_nothing(self, env, house):
        ok(run_cli("install", "--python", py(env), demo1(house)))
        before = tree_snapshot(env)
        proc = ok(
            run_cli("install", "--dry-run", "--python", py(env), "-f", str(house), "demo==2.0")
        )
        assert "would install demo 2.0 (would replace 1.0)" in proc.stdout
        assert "nothing was changed" in proc.stdout
        assert tree_snapshot(env) == before
        out = json.loads(
            ok(run_cli("install", "--dry-run", "--json", "--python", py(env), demo1(house))).stdout
        )
        assert out["dry_run"] is True
        assert tree_snapshot(env) == before

    def test_compile(self, env, house):
        ok(run_cli("install", "--compile", "--python", py(env), demo1(house)))
        tag = sys.implementation.cache_tag
        assert (site(env) / "demo" / "__pycache__" / f"__init__.{tag}.pyc").is_file()
        ok(run_cli("install", "--no-compile", "--python", py(env), "-f", str(house), "demo==2.0"))
        assert not list((site(env) / "demo").glob("__pycache__/*.pyc"))

    def test_no_verify_record(self, env, house, tmp_path):
        lying = tmp_path / "lying"
        lying.mkdir()
        whl = make_wheel(lying, name="liar", files={"liar.py": "X = 1\n"})
        rewrite_wheel(whl, replace={"liar.py": b"X = 2\n"})  # RECORD still says X = 1
        line = fails(run_cli("install", "--python", py(env), str(whl)))
        assert "liar.py" in line and "RECORD" in line
        assert not (site(env) / "liar.py").exists()
        ok(run_cli("install", "--no-verify-record", "--no-cache", "--python", py(env), str(whl)))
        assert (site(env) / "liar.py").read_text() == "X = 2\n"

    def test_corrupt_wheel_changes_nothing(self, env, house, tmp_path):
        bad_dir = tmp_path / "bad"
        bad_dir.mkdir()
        bad = make_wheel(bad_dir, name="broken", files={"broken.py": "X = 1\n" * 100})
        corrupt_crc(bad, "broken.py")
        before = tree_snapshot(env)
        line = fails(run_cli("install", "--python", py(env), demo1(house), str(bad)))
        assert line.startswith("fastinst: error: ") and "broken" in line
        assert tree_snapshot(env) == before

    def test_missing_wheel_file(self, env, tmp_path):
        line = fails(
            run_cli("install", "--python", py(env), str(tmp_path / "nope-1.0-py3-none-any.whl"))
        )
        assert "no such file" in line

    def test_bad_interpreter(self, house, tmp_path):
        line = fails(run_cli("install", "--python", str(tmp_path / "nopython"), demo1(house)))
        assert "does not exist" in line

    def test_no_pip_options_are_accepted(self, env, house):
        ok(run_cli("install", "--no-deps", "--no-index", "--python", py(env), demo1(house)))
        proc = ok(run_cli("install", "-U", "--force-reinstall", "--python", py(env), demo1(house)))
        assert "(replaced 1.0)" in proc.stdout


class TestRequirements:
    def test_find_links_pins(self, env, house):
        proc = ok(
            run_cli("install", "--python", py(env), "-f", str(house), "demo==1.0", "Tool==2.0")
        )
        assert "installed demo 1.0, tool 2.0" in proc.stdout
        assert imports(env, "import tool; print(tool.KIND)") == "native"  # best-ranked file

    def test_requirements_file(self, env, house, tmp_path):
        reqs = tmp_path / "requirements.txt"
        reqs.write_text(
            f"# pinned\n--find-links {house}\ntool==2.0\n{demo1(house)}\n"
            'never==9.9 ; python_version < "3"\n'
        )
        ok(run_cli("install", "--python", py(env), "-r", str(reqs)))
        out = json.loads(ok(run_cli("list", "--json", "--python", py(env))).stdout)
        names = [d["name"] for d in out["distributions"]]
        assert names == ["demo", "tool"]

    def test_nothing_applies(self, env, tmp_path):
        reqs = tmp_path / "r.txt"
        reqs.write_text('demo==1.0 ; python_version < "3"\n')
        assert (
            "nothing to install"
            in ok(run_cli("install", "--python", py(env), "-r", str(reqs))).stdout
        )

    def test_no_match_names_the_directory_and_what_is_there(self, env, house):
        line = fails(run_cli("install", "--python", py(env), "-f", str(house), "demo==3.0"))
        assert line == (
            f"fastinst: error: demo==3.0: no matching wheel in {house} (found demo 1.0, 2.0)"
        )

    def test_loose_pin_refused(self, env, house):
        line = fails(run_cli("install", "--python", py(env), "-f", str(house), "demo>=1"))
        assert "demo>=1: only exact pins (name==version)" in line

    def test_pin_without_find_links(self, env):
        assert "needs --find-links" in fails(run_cli("install", "--python", py(env), "demo==1.0"))

    def test_error_in_a_file_names_the_line(self, env, house, tmp_path):
        reqs = tmp_path / "r.txt"
        reqs.write_text(f"-f {house}\ndemo==1.0\n--index-url https://example.invalid\n")
        line = fails(run_cli("install", "--python", py(env), "-r", str(reqs)))
        assert f"{reqs}:3:" in line and "not supported" in line

    def test_hash_mismatch(self, env, house, tmp_path):
        reqs = tmp_path / "r.txt"
        reqs.write_text(f"{demo1(house)} --hash=sha256:{'0' * 64}\n")
        line = fails(run_cli("install", "--python", py(env), "-r", str(reqs)))
        assert f"{reqs}:1: {demo1(house)}: the file matches none of its --hash values" in line
        assert not (site(env) / "demo").exists()

    def test_missing_requirements_file(self, env, tmp_path):
        line = fails(run_cli("install", "--python", py(env), "-r", str(tmp_path / "none.txt")))
        assert "cannot read requirements file" in line

    def test_incompatible_wheel_names_both_tag_lists(self, env, house):
        win = str(house / "win-1.0-cp27-cp27m-win32.whl")
        line = fails(run_cli("install", "--python", py(env), win))
        assert f"{win}: not compatible with {py(env)}" in line
        assert "the wheel is tagged cp27-cp27m-win32" in line
        assert f"the interpreter accepts {BEST}" in line
        line = fails(run_cli("install", "--python", py(env), "-f", str(house), "win==1.0"))
        assert "cp27-cp27m-win32" in line


def test_another_python_refuses_our_native_wheel_and_takes_a_pure_one(house, tmp_path):
    from test_tags import other_python

    python = other_python()
    if python is None:
        pytest.skip("no Python 3.8+ of another minor version on this machine")
    native = str(house / f"tool-2.0-{BEST}.whl")
    target = str(tmp_path / "t")
    line = fails(run_cli("install", "--python", python, "--target", target, native))
    assert f"not compatible with {python}: the wheel is tagged {BEST}" in line
    assert not os.path.exists(target)
    proc = ok(
        run_cli("install", "--python", python, "--target", target, "-f", str(house), "tool==2.0")
    )
    assert "installed tool 2.0" in proc.stdout
    assert (Path(target) / "tool.py").read_text() == "KIND = 'pure'\n"  # the one that suits


# --- uninstall, list, show, scheme ------------------------------------------------------------


@pytest.fixture
def installed(env, house) -> Path:
    ok(run_cli("install", "-q", "--python", py(env), "-f", str(house), demo1(house), "tool==2.0"))
    return env


class TestUninstall:
    def test_uninstall(self, installed):
        proc = ok(run_cli("uninstall", "-y", "--python", py(installed), "demo"))
        assert proc.stdout.startswith("uninstalled demo 1.0 (")
        assert not (site(installed) / "demo").exists()
        assert not (installed / "bin" / "demo").exists()

    def test_json(self, installed):
        out = json.loads(
            ok(run_cli("uninstall", "--json", "--python", py(installed), "tool")).stdout
        )
        [r] = out["uninstalled"]
        assert (r["name"], r["version"]) == ("tool", "2.0")

    def test_missing_name_is_skipped_with_a_warning(self, installed):
        """As pip and uv do (more in test_remove.py)."""
        proc = ok(run_cli("uninstall", "--python", py(installed), "demo", "ghost"))
        assert proc.stderr == "fastinst: Skipping ghost as it is not installed\n"
        assert not (site(installed) / "demo").exists()


class TestList:
    def test_columns(self, installed):
        lines = ok(run_cli("list", "--python", py(installed))).stdout.splitlines()
        assert lines[0].split() == ["Package", "Version", "Location"]
        assert lines[2].split() == ["demo", "1.0", str(site(installed))]
        assert lines[3].split()[:2] == ["tool", "2.0"]

    def test_freeze_and_json(self, installed):
        freeze = ok(run_cli("list", "--format", "freeze", "--python", py(installed))).stdout
        assert freeze.splitlines() == ["demo==1.0", "tool==2.0"]
        out = json.loads(ok(run_cli("list", "--json", "--python", py(installed))).stdout)
        assert (out["json_version"], out["command"]) == (1, "list")
        first = {"name": "demo", "version": "1.0", "location": str(site(installed))}
        assert out["distributions"][0] == first
        # --format json is pip's shape: the bare list
        rows = json.loads(ok(run_cli("list", "--format", "json", "--python", py(installed))).stdout)
        assert rows[0] == first

    def test_target(self, house, tmp_path):
        ok(run_cli("install", "-q", "--target", str(tmp_path / "t"), demo1(house)))
        out = ok(run_cli("list", "--format", "freeze", "--target", str(tmp_path / "t"))).stdout
        assert out == "demo==1.0\n"


class TestShow:
    def test_text(self, installed, house):
        out = ok(run_cli("show", "--python", py(installed), "Demo")).stdout
        assert out.splitlines() == [
            "Name: demo",
            "Version: 1.0",
            "Summary: A demo distribution",
            f"Location: {site(installed)}",
            "Requires: ",
            "Required-by: ",
            "Installer: fastinst",
            "Requested: yes",
            f"Direct-URL: {Path(demo1(house)).as_uri()}",
            "Entry-points:",
            "  [console_scripts] demo = demo:main",
            "Files: 10",
        ]

    def test_files_and_several_names(self, installed):
        out = ok(run_cli("show", "--files", "--python", py(installed), "demo", "tool")).stdout
        first, second = out.split("---\n")
        assert first.count("Files:") == 1
        assert "  ../../../bin/demo" in first.splitlines()  # relative to Location, as pip
        assert second.startswith("Name: tool\n")
        assert "Direct-URL" not in second  # found with --find-links

    def test_json(self, installed):
        [info] = json.loads(
            ok(run_cli("show", "--json", "-f", "--python", py(installed), "demo")).stdout
        )["distributions"]
        assert info["name"] == "demo" and info["requested"] is True
        assert info["entry_points"] == {"console_scripts": {"demo": "demo:main"}}
        assert info["files_count"] == len(info["files"]) == 10
        assert str(site(installed) / "demo" / "old.py") in info["files"]

    def test_not_installed(self, installed):
        line = fails(run_cli("show", "--python", py(installed), "ghost"))
        assert line.startswith("fastinst: error: ghost is not installed")


class TestScheme:
    def test_text_and_json(self, env):
        lines = ok(run_cli("scheme", "--python", py(env))).stdout.splitlines()
        assert lines[0] == f"purelib: {site(env)}"
        assert [line.split(":")[0] for line in lines] == [
            "purelib", "platlib", "headers", "scripts", "data",
        ]  # fmt: skip
        out = json.loads(ok(run_cli("scheme", "--json", "--target", "/opt/t")).stdout)
        assert out["purelib"] == "/opt/t" and out["scripts"] == "/opt/t/bin"
        assert out["kind"] == "target"

    def test_conflicting_options(self):
        line = fails(run_cli("scheme", "--target", "/t", "--root", "/r"))
        assert "fastinst: error:" in line


class TestCache:
    def test_json_actions(self, house, tmp_path):
        cache = str(tmp_path / "cache")
        ok(
            run_cli(
                "install", "-q", "--target", str(tmp_path / "t"), "--cache-dir", cache, demo1(house)
            )
        )
        assert json.loads(ok(run_cli("cache", "dir", "--json", "--cache-dir", cache)).stdout) == {
            "json_version": 1,
            "command": "cache dir",
            "path": cache,
        }
        info = json.loads(ok(run_cli("cache", "info", "--json", "--cache-dir", cache)).stdout)
        assert info["entries"] == 1 and info["bytes"] > 0
        assert "1 wheel," in ok(run_cli("cache", "info", "--cache-dir", cache)).stdout
        verify = json.loads(ok(run_cli("cache", "verify", "--json", "--cache-dir", cache)).stdout)
        assert verify["damaged"] == []
        prune = json.loads(ok(run_cli("cache", "prune", "--json", "--cache-dir", cache)).stdout)
        assert prune["removed"] == []
        assert ok(run_cli("cache", "clean", "-q", "--cache-dir", cache)).stdout == ""
        info = json.loads(ok(run_cli("cache", "info", "--json", "--cache-dir", cache)).stdout)
        assert info["entries"] == 0


# --- progress, interruption, import cost ---------------------------------------------------------


def run_in_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal; return (exit code, all output)."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child
        os.execve(sys.executable, [sys.executable, "-m", "fastinst", *args], env)
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
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode("utf-8", "replace")


class TestProgress:
    def test_bar_on_a_terminal(self, house, tmp_path):
        big = tmp_path / "big"
        big.mkdir()
        whl = make_wheel(
            big, name="big", files={f"big/f{i}.bin": os.urandom(1 << 18) for i in range(8)}
        )
        env = {**os.environ, "FASTINST_PROGRESS_DELAY": "0", "COLUMNS": "120", "TERM": "xterm"}
        code, out = run_in_pty(
            ["install", "--target", str(tmp_path / "t"), str(whl), demo1(house)], env
        )
        assert code == 0, out
        assert "installing" in out and "━" in out  # the bar was drawn
        assert "installed big 1.0, demo 1.0" in out

    def test_no_bar_when_quiet_or_off(self, house, tmp_path):
        env = {**os.environ, "FASTINST_PROGRESS_DELAY": "0", "TERM": "xterm"}
        code, out = run_in_pty(
            ["install", "-q", "--target", str(tmp_path / "q"), demo1(house)], env
        )
        assert (code, out) == (0, "")
        code, out = run_in_pty(
            ["install", "--progress-bar", "off", "--target", str(tmp_path / "o"), demo1(house)], env
        )
        assert code == 0 and "installing" not in out


def test_interrupt_exits_130(monkeypatch, capsys, house, tmp_path):
    import fastinst._install
    from fastinst import _cli

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fastinst._install, "install", interrupted)
    assert _cli.main(["install", "--target", str(tmp_path / "t"), demo1(house)]) == 130
    assert capsys.readouterr().err == "fastinst: error: interrupted; nothing was changed\n"


def test_internal_error_is_one_line_and_traceback_only_with_v(monkeypatch, capsys, house, tmp_path):
    import fastinst._install
    from fastinst import _cli

    def buggy(*_args, **_kwargs):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(fastinst._install, "install", buggy)
    args = ["install", "--target", str(tmp_path / "t"), demo1(house)]
    assert _cli.main(args) == 1
    assert capsys.readouterr().err == "fastinst: internal error: ZeroDivisionError: oops\n"
    assert _cli.main([*args, "-v"]) == 1
    assert "Traceback" in capsys.readouterr().err


def imported_modules(*args: str) -> set[str]:
    """Modules the command imports beyond what the interpreter's start-up does, run
    as the ``fastinst`` script runs it (``-m`` would import ``runpy`` and what it needs)."""

    script = "from fastinst._cli import run; run()"
    return _modules("-c", script, *args) - _modules("-c", "pass")


def _modules(*argv: str) -> set[str]:
    """Every module imported by ``python -X importtime *argv``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], capture_output=True, text=True
    )
    return {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}


def test_help_imports_only_argparse_and_the_cli():
    mods = imported_modules("--help")
    assert "fastinst._cli" in mods
    heavy = {"fastinst._install", "fastinst._scheme", "packaging", "json", "logging", "rich"}
    assert not (mods & heavy)


# What a warm install must not import (#15: for a small wheel from the cache the
# process is mostly start-up): not hashlib (the core hashes), shutil (rmtree,
# argparse's width), pathlib and urllib (direct_url.json), packaging (versions are
# compared as strings first), the archive and lock modules; nor logging (a third of
# the process; ``_log`` imports it when a record goes out), argparse (``_cli``
# parses the usual forms of ``install``), typing (types are for type checkers),
# signal and threading (``_signal`` is enough), json, re and enum (``_jsontext``;
# csv and base64 import re); nor collections, functools, contextlib and types
# (``_tuples``, ``_errors.suppress``), zlib and the zstd module (members of an
# archive); and into another interpreter's venv, whose answers the cache keeps, not
# sysconfig (the probe's, imported where it runs).
WARM_HEAVY = {"hashlib", "shutil", "bz2", "pathlib", "urllib.parse", "packaging.version",
              "fastinst._wheel", "fastinst._archive", "fastinst._lock",
              "logging", "argparse", "typing", "signal", "threading", "json", "re",
              "enum", "csv", "base64", "collections", "collections.abc", "functools",
              "contextlib", "types", "operator", "zlib", "fastinst._zstd"}  # fmt: skip


@pytest.mark.parametrize("where", ["target", "python"])
def test_warm_install_imports_only_what_it_needs(house, tmp_path, venv_factory, where):
    """A warm install imports nothing of `WARM_HEAVY` (into a directory, or into a
    venv made afresh at the same path, whose interpreter's answer the cache
    keeps), and compiles nothing (``typing.ForwardRef`` does: the first
    ``compile()`` costs 2-3 ms)."""
    cache = tmp_path / "cache"
    args = ["install", "-q", "--cache-dir", str(cache), demo1(house)]
    if where == "target":
        envs = [["--target", str(tmp_path / n)] for n in "abc"]
    else:
        env = venv_factory("warm")
        envs = [["--python", py(env)]] * 3

    def again() -> None:  # the venv as new (a CI job, a benchmark round)
        if where == "python":
            shutil.rmtree(env)
            venv.create(env, with_pip=False, symlinks=True)

    subprocess.run([sys.executable, "-m", "fastinst", *args, *envs[0]], check=True)
    again()
    mods = imported_modules(*args, *envs[1])
    again()
    assert "fastinst._link" in mods and "fastinst._cli_parser" not in mods
    if where == "python":
        heavy = WARM_HEAVY | {"sysconfig"}
    else:  # sysconfig is needed there, with what it imports itself (threading on 3.14)
        heavy = WARM_HEAVY - (_modules("-c", "import sysconfig") - _modules("-c", "pass"))
    assert not (mods & heavy), mods & heavy
    code = (
        "import builtins; compiled = []; real = builtins.compile\n"
        "def spy(source, filename, *a, **k):\n"
        "    if filename == '<string>':  # not a module's source (no .pyc, in a test)\n"
        "        compiled.append(source)\n"
        "    return real(source, filename, *a, **k)\n"
        "builtins.compile = spy\n"
        "from fastinst._cli import main\n"
        f"code = main({[*args, *envs[2]]!r})\n"
        "assert code == 0 and not compiled, compiled"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_warning_imports_logging_and_reaches_stderr(house, tmp_path):
    """``logging`` is imported for a record that goes out, and only then: a cache
    under a directory others can write is not used, which an install says, in the
    command line's format, unless ``-q``."""
    parent = tmp_path / "open"
    parent.mkdir()
    os.chmod(parent, 0o777)
    args = ["install", "--cache-dir", str(parent / "cache"), demo1(house), "--target"]
    proc = ok(run_cli(*args, str(tmp_path / "a")))
    assert proc.stderr == (
        f"fastinst: cached wheels and interpreter answers in {parent / 'cache'} are not "
        f"used: other users can write to {parent}\n"
    )
    assert ok(run_cli(*args, str(tmp_path / "b"), "-q")).stderr == ""
    assert "logging" in imported_modules(*args, str(tmp_path / "c"))
    assert "logging" not in imported_modules(*args, str(tmp_path / "d"), "-q")


def test_direct_url_is_what_pathlib_makes(tmp_path):
    from pathlib import Path

    from fastinst._cli import _direct_url

    for name in ("demo-1.0-py3-none-any.whl", "a b%c#d?é~_.-+!$&'()*,;=@[]-1.0-py3-none-any.whl"):
        wheel = tmp_path / "x y" / name
        wheel.parent.mkdir(exist_ok=True)
        wheel.write_bytes(b"")
        assert _direct_url(str(wheel), None, True)["url"] == Path(wheel).resolve().as_uri()
        link = tmp_path / "link.whl"
        link.unlink(missing_ok=True)
        link.symlink_to(wheel)
        assert _direct_url(str(link), None, True)["url"] == Path(link).resolve().as_uri()
    # Several wheels of one directory (resolved once), reached through a symlinked
    # directory, a relative path and a symlinked wheel.
    (tmp_path / "via").symlink_to(tmp_path / "x y")
    wheels = [str(tmp_path / "via" / n) for n in ("demo-1.0-py3-none-any.whl", "link.whl")]
    wheels += [os.path.relpath(tmp_path / "via" / "demo-1.0-py3-none-any.whl"), str(link)]
    (tmp_path / "x y" / "link.whl").symlink_to(tmp_path / "x y" / "demo-1.0-py3-none-any.whl")
    for path, url in _cli._direct_urls(wheels, None, True):
        assert url["url"] == Path(path).resolve().as_uri()


def test_install_of_pure_wheel_files_imports_no_requirement_parser_tags_nor_rich(house, tmp_path):
    mods = imported_modules("install", "-q", "--target", str(tmp_path / "t"), demo1(house))
    assert "fastinst._install" in mods
    assert not (mods & {"packaging.requirements", "packaging.tags", "rich"})


# --- the fast parse of install ----------------------------------------------------------

# Words an install command line is made of: every option of install (spelled out,
# abbreviated, joined to its value), values good and bad, and wheel names.
WORDS = [
    *_cli._INSTALL_FLAGS, *_cli._INSTALL_VALUES, "-v", "--verbose", "-vv", "-qv", "-h",
    "--help", "--version", "--", "-", "", "--cache", "--no-verify", "--python=py",
    "--python=", "--cache-dir=c", "--link-mode=copy", "--link-mode=bad", "-j4", "-j=4",
    "-tdir", "-t=dir", "--jobs=2", "--group=g", "copy", "hardlink", "off", "on", "4",
    "-1", "04", "x", "a.whl", "b.whl", "demo==1.0", "install", "sync", "-x y", "d ir",
]  # fmt: skip


def argparse_args(argv: list[str]) -> dict[str, object] | None:
    """What argparse makes of ``argv`` (None: a usage error, or help)."""
    from fastinst._cli_parser import _parser

    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            return vars(_parser("install").parse_args(argv))
    except SystemExit:
        return None


class TestInstallArgs:
    """``_cli._install_args`` parses what it parses exactly as argparse does."""

    @pytest.mark.parametrize(
        "argv",
        [
            ["install"],
            ["install", "a.whl"],
            ["install", "--python", "v/bin/python", "-q", "--cache-dir", "c", "six.whl"],
            ["install", "-q", "--cache-dir=c", "a.whl", "b.whl", "-v", "-v"],
            ["install", "a.whl", "--no-cache", "--link-mode", "copy", "-j", "4"],
            ["install", "-r", "pylock.toml", "--extra", "x", "--group", "g", "--group=h"],
            ["install", "-r", "a.txt", "-r", "b.txt", "-f", "house", "--find-links=h2", "x==1"],
            ["install", "--user", "--user", "-U", "--upgrade", "--reinstall", "--no-deps",
             "--no-index", "--require-hashes", "--force-reinstall", "a.whl"],
            ["install", "-t", "dir", "--root", "/r", "--no-verify-record", "--dry-run",
             "--json", "--compile", "--no-compile", "--progress-bar=off", "a.whl"],
            ["install", "--prefix", "p", "--break-system-packages", "--no-cache-dir",
             "--ignore-requires-python", "--home", "h", "a.whl"],  # exclusive: argparse
        ],
    )  # fmt: skip
    def test_the_usual_forms(self, argv):
        fast = _cli._install_args(argv)
        assert (None if fast is None else vars(fast)) == argparse_args(argv)

    @given(st.lists(st.sampled_from(WORDS), max_size=8))
    @settings(max_examples=400, deadline=None)
    def test_any_words(self, words):
        argv = ["install", *words]
        fast = _cli._install_args(argv)
        if fast is not None:  # otherwise argparse parses it
            assert vars(fast) == argparse_args(argv)

    @pytest.mark.parametrize(
        "argv",
        [
            ["install", "--help"],
            ["install", "--cache", "c", "a.whl"],
            ["install", "a.whl", "-q", "b.whl"],
            ["install", "-vv", "a.whl"],
            ["install", "--link-mode", "bad", "a.whl"],
            ["install", "--user", "-t", "d", "a.whl"],
            ["sync", "pylock.toml"],
            ["--python", "py", "install", "a.whl"],
        ],
    )
    def test_leaves_anything_else_to_argparse(self, argv):
        assert _cli._install_args(argv) is None
