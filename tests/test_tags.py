"""Wheel tag compatibility for the running interpreter and for another one (``--python``)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from typing import ClassVar

import pytest
from packaging import tags as ptags
from packaging.markers import default_environment

from distro import find_interpreters
from downloads import packaging_wheel
from fastinst import IncompatibleWheel, InvalidWheel, _probe
from fastinst._tags import (
    TargetInterpreter,
    best_wheel,
    check_compatible,
    tags_from_facts,
    wheel_tags,
)

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

    def test_pure_wheels_need_no_packaging_tags(self):
        """A warm install of a pure wheel must not pay for importing packaging.tags."""
        code = (
            "import sys; from fastinst._tags import TargetInterpreter as T; "
            f"t = T(None); assert t.accepts('x-1.0-py3-none-any.whl'); "
            f"assert t.accepts('x-1.0-py{PY}-none-any.whl'); "
            "assert not t.accepts('x-1.0-py2-none-any.whl'); "
            "print('packaging.tags' in sys.modules, 'packaging.markers' in sys.modules)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.stdout.split() == ["False", "False"], out.stderr

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
        cache = tmp_path / "cache"
        first = TargetInterpreter(python, cache_dir=cache).supported()
        assert first == [str(t) for t in ptags.sys_tags()]  # same build, same machine
        assert TargetInterpreter(python, cache_dir=cache).marker_environment() == (
            dict(default_environment())
        )
        kept = sorted(p.name.split("-")[0] for p in (cache / "probe-v2").glob("*.json"))
        assert kept == ["facts", "tags"]  # the probe's facts, and the tags computed from them
        for path in (cache / "probe-v2").glob("*.json"):
            path.unlink()  # and a removed answer is simply asked again
        assert TargetInterpreter(python, cache_dir=cache).supported() == first

    def test_no_cache_keeps_nothing(self, tmp_path, monkeypatch):
        import venv

        monkeypatch.setenv("FASTINST_CACHE_DIR", str(tmp_path / "default"))
        venv.create(tmp_path / "copy", symlinks=False, with_pip=False)
        python = str(tmp_path / "copy" / "bin" / "python")
        assert TargetInterpreter(python, cache_dir=None).supported()
        assert TargetInterpreter(None, cache_dir=None).supported()
        assert not (tmp_path / "default").exists()

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


# --- tags computed from facts equal packaging's inside the target -----------------------

_SYS_TAGS = (
    "import json, sys; sys.path.insert(0, sys.argv[1]); import packaging; "
    "from packaging import tags; "
    "print(json.dumps([packaging.__version__, [str(t) for t in tags.sys_tags()]]))"
)
# Run by this interpreter with a given packaging first on its path: fastinst's tags
# for the interpreter argv[2], from its facts.
_FROM_FACTS = (
    "import json, sys; sys.path.insert(0, sys.argv[1]); import packaging; "
    "from fastinst._tags import TargetInterpreter; "
    "t = TargetInterpreter(sys.argv[2], cache_dir=None); "
    "print(json.dumps([packaging.__version__, t.supported()]))"
)
OUR_PACKAGING = os.path.dirname(os.path.dirname(ptags.__file__))
TARGETS = {i.label: i for i in find_interpreters()}


def _run_json(args: list[str]) -> list:
    import json

    out = subprocess.run(args, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("packaging_version", ["ours", "25.0"])
@pytest.mark.parametrize("label", [label for label in TARGETS if label != "pypy"])
def test_tags_equal_sys_tags_inside_the_target(label, packaging_version):
    """fastinst's tags for a target are what sys_tags() gives in it, with the same
    packaging on both sides: fastinst's own where the target can import it (3.10+),
    and 25.0 (the last release for 3.8 and 3.9) everywhere."""
    target = TARGETS[label]
    if not target.exists:
        pytest.skip(f"{target.path} is not on this machine")
    if packaging_version == "ours":
        if label in ("3.8", "3.9"):
            pytest.skip("fastinst's packaging does not run on 3.8 and 3.9 (hence this design)")
        path = OUR_PACKAGING
    else:
        path = str(packaging_wheel(packaging_version))
    version, theirs = _run_json([target.path, "-I", "-c", _SYS_TAGS, path])
    mine_version, mine = _run_json([sys.executable, "-c", _FROM_FACTS, path, target.path])
    assert version == mine_version
    assert mine == theirs


@pytest.mark.parametrize("packaging_version", ["23.0", "24.2"])
def test_tags_follow_older_packaging_releases(packaging_version):
    """fastinst supports packaging>=23: its own functions give the tag lists."""
    target = TARGETS["3.12"] if TARGETS["3.12"].exists else TARGETS["debian"]
    if not target.exists:
        pytest.skip("no other interpreter")
    path = str(packaging_wheel(packaging_version))
    version, theirs = _run_json([target.path, "-I", "-c", _SYS_TAGS, path])
    _mine_version, mine = _run_json([sys.executable, "-c", _FROM_FACTS, path, target.path])
    assert version == packaging_version
    assert mine == theirs


def test_running_interpreter_facts_give_sys_tags():
    facts = _probe.tag_facts()
    assert tags_from_facts(facts) == [str(t) for t in ptags.sys_tags()]
    assert _probe.marker_environment() == dict(default_environment())


class TestFactsOfOtherPlatforms:
    """Facts from machines this one is not (the probe gathers them the same way)."""

    BASE: ClassVar[dict[str, object]] = {
        "interpreter": "cpython",
        "version": [3, 9],
        "py_version_nodot": "39",
        "py_debug": 0,
        "gil_disabled": None,
        "has_refcount": False,
        "extension_suffixes": [".cpython-39-x86_64-linux-gnu.so", ".abi3.so", ".so"],
        "ext_suffix": ".cpython-39-x86_64-linux-gnu.so",
        "is_32bit": False,
        "emscripten_version": None,
    }

    def test_musl(self):
        facts = dict(self.BASE, platform="linux-x86_64", system="Linux", glibc=None,
                     elf=None, musl=[1, 2], manylinux_module=None)  # fmt: skip
        tags = tags_from_facts(facts)
        assert "cp39-cp39-musllinux_1_2_x86_64" in tags
        assert "cp39-cp39-musllinux_1_0_x86_64" in tags
        assert not any("manylinux" in t for t in tags)

    def test_glibc_and_a_distributors_manylinux_module(self):
        facts = dict(self.BASE, platform="linux-x86_64", system="Linux", glibc="2.28",
                     elf=None, musl=None,
                     manylinux_module={"has_function": True, "legacy": {},
                                       "compatible": {"2_28_x86_64": False}})  # fmt: skip
        tags = tags_from_facts(facts)
        assert "cp39-cp39-manylinux_2_27_x86_64" in tags
        assert "cp39-cp39-manylinux_2_28_x86_64" not in tags  # the module said no
        assert "cp39-cp39-manylinux1_x86_64" in tags

    def test_macos(self):
        facts = dict(self.BASE, platform="macosx-11.0-arm64", system="Darwin",
                     mac_version=[14, 2], mac_arch="arm64",
                     ext_suffix=".cpython-39-darwin.so")  # fmt: skip
        tags = tags_from_facts(facts)
        assert tags[0] == "cp39-cp39-macosx_14_0_arm64"
        assert "cp39-abi3-macosx_11_0_universal2" in tags

    def test_debug_build_takes_normal_extensions(self):
        facts = dict(self.BASE, platform="linux-x86_64", system="Linux", glibc="2.36",
                     elf=None, musl=None, manylinux_module=None, py_debug=1)  # fmt: skip
        abis = list(dict.fromkeys(t.split("-")[1] for t in tags_from_facts(facts)))
        assert abis[:2] == ["cp39d", "cp39"]

    def test_malformed_facts_are_a_scheme_error(self):
        from fastinst import SchemeError

        with pytest.raises(SchemeError, match="malformed"):
            tags_from_facts({"interpreter": "cpython", "version": "3.9"}, "/x/python")
