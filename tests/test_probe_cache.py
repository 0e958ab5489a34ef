"""Asking an interpreter about itself: what ``--python`` accepts, the probe's bounds and
its one-line errors, and the trust rule for kept answers (with a real other user)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fastinst
from conftest import run_cli
from distro import find_interpreters, pyenv_root, run_as_nobody
from fastinst import SchemeError, _probe_cache
from fastinst._scheme import get_scheme, interpreter_facts
from wheelmaker import make_wheel


def script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def one_line_error(python: str) -> str:
    with pytest.raises(SchemeError) as info:
        get_scheme(python, cache_dir=None)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300, message
    return message


# --- what --python names --------------------------------------------------------------------


class TestFindingTheInterpreter:
    def test_a_venv_directory_is_its_interpreter(self, venv_factory):
        venv = venv_factory("as-dir")
        assert get_scheme(str(venv), cache_dir=None) == get_scheme(
            str(venv / "bin" / "python"), cache_dir=None
        )

    def test_a_directory_that_is_no_venv(self, tmp_path):
        assert "is a directory without bin/python" in one_line_error(str(tmp_path))

    def test_the_cli_takes_a_venv_directory(self, venv_factory, tmp_path):
        venv = venv_factory("cli-dir")
        whl = make_wheel(tmp_path, name="viadir", files={"viadir.py": "X = 1\n"})
        proc = run_cli("install", "--python", str(venv), str(whl))
        assert proc.returncode == 0, proc.stderr
        assert list(venv.glob("lib/python*/site-packages/viadir.py"))

    def test_missing(self, tmp_path):
        assert "does not exist" in one_line_error(str(tmp_path / "nope"))
        assert "not found on PATH" in one_line_error("no-such-python-anywhere")


# --- what is not a (supported) Python, in one line -----------------------------------------------


class TestNotAPython:
    def test_ls(self):
        message = one_line_error("/bin/ls")
        assert message.startswith("/bin/ls is not a Python interpreter")
        assert "import sys" not in message  # nothing of the probe's text

    def test_ls_on_the_command_line(self, tmp_path):
        whl = make_wheel(tmp_path)
        proc = run_cli("install", "--python", "/bin/ls", str(whl))
        assert proc.returncode == 1
        [line] = proc.stderr.splitlines()
        assert line.startswith("fastinst: error: /bin/ls is not a Python interpreter")
        assert len(line) < 200

    def test_a_file_that_is_not_executable(self, tmp_path):
        plain = tmp_path / "python"
        plain.write_text("not a program")
        assert "Permission denied" in one_line_error(str(plain))

    @pytest.mark.parametrize("version", ["2.7", "3.6", "3.7"])
    def test_old_pythons_say_what_they_are(self, version):
        found = sorted((pyenv_root() / "versions").glob(f"{version}.*/bin/python"))
        if not found:
            pytest.skip(f"no pyenv Python {version}")
        message = one_line_error(str(found[-1]))
        if version == "2.7":
            assert "is not Python 3: fastinst installs for Python 3.8 or later" in message
        else:
            assert f"is Python {version}: fastinst installs for Python 3.8 or later" in message

    def test_an_answer_missing_keys(self, tmp_path):
        fake = script(tmp_path / "python", 'echo \'{"probe_version": 2, "executable": "/x"}\'\n')
        message = one_line_error(fake)
        assert "gave an incomplete answer to fastinst's interpreter probe" in message
        assert "'version' missing or malformed" in message

    def test_a_crashing_start_up(self, tmp_path):
        fake = script(
            tmp_path / "python",
            "echo 'Traceback (most recent call last):' >&2\n"
            "echo 'ImportError: broken sitecustomize' >&2\nexit 1\n",
        )
        assert one_line_error(fake) == (
            f"fastinst's interpreter probe failed in {fake}: ImportError: broken sitecustomize"
        )

    def test_a_flood_is_cut_short(self, tmp_path):
        fake = script(tmp_path / "python", "exec yes\n")
        start = time.monotonic()
        message = one_line_error(fake)
        assert "is not a Python interpreter: it printed over 1 MB" in message
        assert time.monotonic() - start < 15

    def test_a_hang_is_stopped_with_everything_it_started(self, tmp_path, monkeypatch):
        monkeypatch.setattr(_probe_cache, "PROBE_TIMEOUT", 1.0)
        marker = f"fastinst-test-{os.getpid()}-{time.monotonic_ns()}"
        # A child that keeps the probe's stdout open, and sleeps on.
        fake = script(tmp_path / "python", f"sleep 300 {marker} &\nsleep 300\n")
        start = time.monotonic()
        message = one_line_error(fake)
        assert "did not answer fastinst's interpreter probe within 1 s" in message
        assert time.monotonic() - start < 10
        time.sleep(0.2)
        left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
        assert left.stdout == "", "the probe's child was left running"

    def test_start_up_output_before_the_answer_is_fine(self, tmp_path):
        chatty = script(
            tmp_path / "python", f'echo "hello from site"\nexec {sys.executable} "$@"\n'
        )
        assert get_scheme(chatty, cache_dir=None) == get_scheme(sys.executable, cache_dir=None)


# --- the trust rule, and --no-cache ---------------------------------------------------------


def _answer_file(cache: Path) -> Path:
    [found] = (cache / "probe-v2").glob("facts-*.json")
    return found


def _plant(answer: Path, purelib: str) -> None:
    facts = json.loads(answer.read_text())
    facts["schemes"]["default"]["paths"]["purelib"] = purelib
    answer.write_text(json.dumps(facts))


class TestTrust:
    def test_own_directory_is_used(self, tmp_path, venv_factory):
        python = str(venv_factory("trusted") / "bin" / "python")
        cache = tmp_path / "cache"
        get_scheme(python, cache_dir=cache)
        _plant(_answer_file(cache), "/from/the/cache")
        assert get_scheme(python, cache_dir=cache).purelib == "/from/the/cache"
        assert stat.S_IMODE((cache / "probe-v2").stat().st_mode) == 0o755

    def test_a_directory_others_can_write_is_not(self, tmp_path, venv_factory, caplog):
        python = str(venv_factory("group") / "bin" / "python")
        cache = tmp_path / "cache"
        right = get_scheme(python, cache_dir=cache)
        _plant(_answer_file(cache), "/planted")
        (cache / "probe-v2").chmod(0o777)
        with caplog.at_level(logging.WARNING, logger="fastinst"):
            assert get_scheme(python, cache_dir=cache) == right
            assert get_scheme(python, cache_dir=cache) == right
        warnings = [r.getMessage() for r in caplog.records]
        assert warnings == [
            f"interpreter answers in {cache / 'probe-v2'} are not used: other users can write to it"
        ]  # once

    def test_a_file_of_another_user_in_our_directory_is_not(self, tmp_path, venv_factory):
        if os.geteuid() != 0:
            pytest.skip("needs root to give a file away")
        python = str(venv_factory("given") / "bin" / "python")
        cache = tmp_path / "cache"
        right = get_scheme(python, cache_dir=cache)
        answer = _answer_file(cache)
        _plant(answer, "/planted")
        os.chown(answer, 65534, 65534)
        assert get_scheme(python, cache_dir=cache) == right

    def test_no_cache_reads_and_writes_nothing(self, tmp_path, venv_factory):
        python = str(venv_factory("nocache") / "bin" / "python")
        cache = tmp_path / "cache"
        right = get_scheme(python, cache_dir=cache)
        _plant(_answer_file(cache), "/planted")
        assert get_scheme(python, cache_dir=None) == right
        before = sorted(os.listdir(cache / "probe-v2"))
        interpreter_facts(sys.executable, cache_dir=None)
        assert sorted(os.listdir(cache / "probe-v2")) == before


@pytest.fixture
def nobodys_cache(tmp_path_factory):
    """A cache directory made by ``nobody`` (a real other user), under a directory
    root lets everyone use; removed afterwards."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv")
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="fastinst-nobody-", dir="/tmp"))
    shared.chmod(0o755)
    home = shared / "home"
    home.mkdir()
    os.chown(home, 65534, 65534)
    yield shared, home / "cache"
    shutil.rmtree(shared, ignore_errors=True)


def test_a_planted_answer_does_not_redirect_roots_install(nobodys_cache, tmp_path, venv_factory):
    """#14: root running with a user's cache (a shared FASTINST_CACHE_DIR, or root
    with that user's HOME) ignores the answers that user can write, with or
    without --no-cache, and installs where the interpreter says."""
    shared, cache = nobodys_cache
    venv = venv_factory("root-env")
    python = str(venv / "bin" / "python")
    # The answer root would keep for this venv, redirected, planted by nobody.
    mine = tmp_path / "mine"
    get_scheme(python, cache_dir=mine)
    planted = shared / "planted.json"
    shutil.copy(_answer_file(mine), planted)
    evil = shared / "evil"
    _plant(planted, str(evil))
    planted.chmod(0o644)
    target = cache / "probe-v2" / _answer_file(mine).name
    proc = run_as_nobody(
        [sys.executable, "-I", "-c",
         "import os, shutil, sys; os.makedirs(os.path.dirname(sys.argv[2])); "
         "shutil.copy(sys.argv[1], sys.argv[2])",
         str(planted), str(target)],
        env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert target.stat().st_uid == 65534 and target.parent.stat().st_uid == 65534
    whl = make_wheel(tmp_path, name="rooted", files={"rooted.py": "X = 1\n"})
    env = dict(os.environ, FASTINST_CACHE_DIR=str(cache))
    for options in ([], ["--no-cache"]):
        proc = run_cli("install", "--python", python, *options, str(whl), env=env)
        assert proc.returncode == 0, proc.stderr
        assert list(venv.glob("lib/python*/site-packages/rooted.py"))
        assert not evil.exists()
        if not options:
            assert "are not used: it is owned by another user (uid 65534)" in proc.stderr
        else:
            assert proc.stderr == ""  # --no-cache does not even look


# --- one probe per interpreter and process ----------------------------------------------------


def counted_venv(base: Path, label: str = "3.9") -> tuple[str, Path]:
    """A venv of another interpreter (its answers cannot be computed in-process)
    that counts its own starts (a ``.pth`` line runs at every start, ``-I`` or not)."""
    found = {i.label: i for i in find_interpreters()}[label]
    if not found.exists:
        pytest.skip(f"no Python {label}")
    venv = base / f"counted-{label}"
    subprocess.run([found.path, "-m", "venv", "--without-pip", str(venv)], check=True)
    starts = base / "starts"
    [site] = venv.glob("lib/python*/site-packages")
    # Each start once (site may read the directory twice: lib and the lib64 link).
    line = f"import os; open({str(starts)!r}, 'a').write('%d\\n' % os.getpid())\n"
    (site / "count.pth").write_text(line)
    return str(venv / "bin" / "python"), starts


def starts_of(counter: Path) -> int:
    return len(set(counter.read_text().split())) if counter.exists() else 0


class TestOneProbePerProcess:
    def test_library_installs_without_a_cache(self, tmp_path):
        """The library keeps no cache by default: each install() checks Requires-Python
        against the scheme's interpreter, which its first answer serves."""
        python, starts = counted_venv(tmp_path)
        scheme = get_scheme(python, cache_dir=None)
        assert starts_of(starts) == 1
        whl = make_wheel(tmp_path, name="often", metadata_extra="Requires-Python: >=3.8\n")
        for _ in range(3):
            fastinst.install([whl], scheme)
        assert starts_of(starts) == 1
        assert list(Path(scheme.purelib).glob("often-1.0.dist-info"))

    def test_cli_no_cache(self, tmp_path):
        """--no-cache: the scheme, the wheel selection and install() ask the
        interpreter once, and nothing is written to the cache directory."""
        python, starts = counted_venv(tmp_path)
        cache = tmp_path / "user-cache"
        whl = make_wheel(tmp_path, name="once", metadata_extra="Requires-Python: >=3.8\n")
        env = dict(os.environ, FASTINST_CACHE_DIR=str(cache))
        env.pop("VIRTUAL_ENV", None)
        proc = run_cli("install", "--python", python, "--no-cache", str(whl), env=env)
        assert proc.returncode == 0, proc.stderr
        assert starts_of(starts) == 1
        assert not cache.exists()

    def test_a_cache_that_went_away_is_written_again(self, tmp_path):
        python, starts = counted_venv(tmp_path)
        cache = tmp_path / "cache"
        right = get_scheme(python, cache_dir=cache)
        shutil.rmtree(cache)
        assert get_scheme(python, cache_dir=cache) == right
        assert starts_of(starts) == 1
        assert json.loads(_answer_file(cache).read_text())["executable"]


# --- a probe started early ------------------------------------------------------------------


class TestStartedEarly:
    """``start_probe`` (the CLI without a cache) runs the probe while the caller works;
    `run_probe` collects it: the same answer, the same errors, one start."""

    @pytest.mark.parametrize("label", [i.label for i in find_interpreters()])
    def test_the_same_answer(self, label):
        found = {i.label: i for i in find_interpreters()}[label]
        if not found.exists:
            pytest.skip(f"no {label} interpreter")
        path = _probe_cache.find_interpreter(found.path)
        _probe_cache.start_probe(found.path)
        assert path in _probe_cache._started
        early = _probe_cache.run_probe(path)
        assert path not in _probe_cache._started
        assert early == _probe_cache.run_probe(path)

    def test_one_start(self, tmp_path):
        python, starts = counted_venv(tmp_path)
        _probe_cache.start_probe(python)
        _probe_cache.start_probe(python)  # a second call starts nothing more
        answer = _probe_cache.run_probe(_probe_cache.find_interpreter(python))
        assert answer["in_venv"] and starts_of(starts) == 1

    def test_errors_are_said_when_the_answer_is_asked_for(self, tmp_path):
        _probe_cache.start_probe(str(tmp_path / "nope"))  # nothing to start: no error here
        assert "does not exist" in one_line_error(str(tmp_path / "nope"))
        _probe_cache.start_probe("/bin/ls")
        assert "/bin/ls" in _probe_cache._started
        assert one_line_error("/bin/ls").startswith("/bin/ls is not a Python interpreter")
        assert "/bin/ls" not in _probe_cache._started

    def test_the_cli_without_a_cache_probes_once_and_installs(self, tmp_path):
        """The CLI starts the probe first and collects it for the scheme."""
        python, starts = counted_venv(tmp_path)
        whl = make_wheel(
            tmp_path,
            name="early",
            files={"early.py": "X = 1\n"},
            metadata_extra="Requires-Python: >=3.8\n",
        )
        proc = run_cli("install", "--python", python, "--no-cache", str(whl))
        assert proc.returncode == 0, proc.stderr
        assert starts_of(starts) == 1
        assert list(Path(python).parent.parent.glob("lib/python*/site-packages/early.py"))
