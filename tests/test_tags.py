"""Wheel tag compatibility for the running interpreter and for another one (``--python``)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

import pytest
from packaging import tags as ptags

from fastinst import IncompatibleWheel, InvalidWheel
from fastinst._scheme import probe_cache_dir
from fastinst._tags import TargetInterpreter, best_wheel, check_compatible, wheel_tags

PY = f"{sys.version_info[0]}{sys.version_info[1]}"
BEST = str(next(iter(ptags.sys_tags())))  # e.g. cp311-cp311-manylinux_2_36_x86_64


def other_python() -> str | None:
    """An interpreter of another minor version (3.8+) that runs, if the machine has one."""
    mine = (sys.version_info[0], sys.version_info[1])
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    candidates += [shutil.which(f"python3.{m}") or "" for m in range(8, 15)]
    for c in candidates:
        if not c:
            continue
        proc = subprocess.run(
            [c, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True
        )
        if proc.returncode == 0:
            version = tuple(int(v) for v in proc.stdout.split())
            if version != mine and version >= (3, 8):
                return c
    return None


class TestWheelTags:
    def test_expanded(self):
        assert wheel_tags("d/x-1.0-py2.py3-none-any.whl") == {"py2-none-any", "py3-none-any"}

    def test_bad_name_is_invalid_wheel(self):
        with pytest.raises(InvalidWheel, match="bad wheel filename"):
            wheel_tags("not-a-wheel.whl")


class TestRunningInterpreter:
    @pytest.mark.parametrize(
        "name",
        [
            "x-1.0-py3-none-any.whl",
            "x-1.0-py2.py3-none-any.whl",
            f"x-1.0-py{PY}-none-any.whl",
            "x-1.0-py30-none-any.whl",
            f"x-1.0-{BEST}.whl",
        ],
    )
    def test_accepted(self, name):
        check_compatible([name])

    @pytest.mark.parametrize(
        "name",
        [
            "x-1.0-py2-none-any.whl",
            "x-1.0-cp27-cp27m-win32.whl",
            "x-1.0-py399-none-any.whl",
            "x-1.0-cp311-cp311-macosx_11_0_arm64.whl",
        ],
    )
    def test_refused_with_both_tag_lists(self, name):
        with pytest.raises(IncompatibleWheel) as info:
            check_compatible(["/w/ok-1.0-py3-none-any.whl", "/w/" + name])
        message = str(info.value)
        assert info.value.wheel == "/w/" + name
        assert "the wheel is tagged " + ", ".join(sorted(wheel_tags(name))) in message
        assert BEST in message  # the best tag the interpreter accepts

    def test_fast_path_agrees_with_packaging(self):
        """The pure-wheel shortcut accepts exactly what sys_tags() ranks."""
        target = TargetInterpreter(None)
        supported = {str(t) for t in ptags.sys_tags()}
        for py in ["py2", "py3", "py30", f"py{PY}", "py399", "py4", f"cp{PY}", "cp27", "pp39"]:
            tag = f"{py}-none-any"
            assert target._is_pure_for_us({tag}) == (tag in supported), tag
            assert target.accepts(f"x-1.0-{tag}.whl") == (tag in supported), tag

    def test_best_wheel_prefers_the_most_specific(self):
        target = TargetInterpreter(None)
        pure, native = "x-1.0-py3-none-any.whl", f"x-1.0-{BEST}.whl"
        assert best_wheel([pure, native], target) == native
        assert best_wheel([native, pure], target) == native
        assert best_wheel(["x-1.0-cp27-cp27m-win32.whl"], target) is None

    def test_marker_environment(self):
        env = TargetInterpreter(None).marker_environment()
        assert env["python_version"] == f"{sys.version_info[0]}.{sys.version_info[1]}"


class TestOtherInterpreter:
    def test_venv_of_the_running_interpreter_needs_no_probe(self, venv_factory):
        venv = venv_factory("tags")
        target = TargetInterpreter(str(venv / "bin" / "python"))
        assert target._in_process
        assert target.supported() == [str(t) for t in ptags.sys_tags()]
        check_compatible([f"x-1.0-{BEST}.whl"], str(venv / "bin" / "python"))

    def test_running_interpreter_answer_is_cached(self, monkeypatch):
        expected = TargetInterpreter(None).supported()  # computed or read: now on disk

        def no_more(*_args, **_kwargs):
            raise AssertionError("sys_tags() called again")

        monkeypatch.setattr(ptags, "sys_tags", no_more)
        assert TargetInterpreter(None).supported() == expected

    def test_another_binary_is_probed_and_cached(self, tmp_path):
        import venv

        venv.create(tmp_path / "copy", symlinks=False, with_pip=False)  # a copy of the binary
        python = str(tmp_path / "copy" / "bin" / "python")
        before = set(glob.glob(os.path.join(probe_cache_dir(), "tags", "*.json")))
        first = TargetInterpreter(python).supported()
        assert first == [str(t) for t in ptags.sys_tags()]  # same build, same machine
        assert TargetInterpreter(python).marker_environment()["python_version"] == (
            f"{sys.version_info[0]}.{sys.version_info[1]}"
        )
        after = set(glob.glob(os.path.join(probe_cache_dir(), "tags", "*.json")))
        [new] = after - before
        assert TargetInterpreter(python).supported() == first
        os.unlink(new)  # and a removed cache file is simply asked again
        assert TargetInterpreter(python).supported() == first

    def test_another_version_refuses_our_native_wheel(self):
        python = other_python()
        if python is None:
            pytest.skip("no Python 3.8+ of another minor version on this machine")
        with pytest.raises(IncompatibleWheel, match=f"not compatible with {python}") as info:
            check_compatible([f"x-1.0-{BEST}.whl"], python)
        theirs = TargetInterpreter(python).supported()[0]
        assert theirs in str(info.value)
        check_compatible([f"x-1.0-{theirs}.whl", "x-1.0-py3-none-any.whl"], python)

    def test_not_an_interpreter(self, tmp_path):
        from fastinst import SchemeError

        fake = tmp_path / "python"
        fake.write_text("#!/bin/sh\nexit 3\n")
        fake.chmod(0o755)
        with pytest.raises(SchemeError):
            TargetInterpreter(str(fake)).supported()
