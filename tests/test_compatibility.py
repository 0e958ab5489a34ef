"""What a wheel says about itself, checked: METADATA at open, then its Requires-Python
and tags against the target interpreter (by the library and the command line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastinst
from conftest import run_cli, tree_snapshot
from distro import find_interpreters
from fastinst import IncompatibleWheel, InvalidWheel
from fastinst._wheel import open_wheel
from wheelmaker import Member, WheelSpec, build_members, make_record, make_wheel, write_zip

HERE = "{}.{}.{}".format(*sys.version_info[:3])
TARGETS = {i.label: i for i in find_interpreters()}


def wheel_with_metadata(directory: Path, metadata: bytes | None, **spec: object) -> Path:
    """A wheel of ``demo 1.0`` whose METADATA is ``metadata`` (``None``: none at all),
    with a RECORD that is true for it."""
    s = WheelSpec(**{"files": {"demo/__init__.py": "X = 1\n"}, **spec})  # type: ignore[arg-type]
    dist_info = f"{s.name}-{s.version}.dist-info"
    members = [m for m in build_members(s) if not m.name.endswith(("/METADATA", "/RECORD"))]
    if metadata is not None:
        members.append(Member(f"{dist_info}/METADATA", metadata))
    members.append(Member(f"{dist_info}/RECORD", make_record(members, f"{dist_info}/RECORD")))
    return write_zip(directory / f"{s.name}-{s.version}-{s.tag}.whl", members)


@pytest.fixture(params=["archive", "cache"])
def cache_dir(request, tmp_path):
    return None if request.param == "archive" else tmp_path / "cache"


class TestMetadataAtOpen:
    @pytest.mark.parametrize(
        "metadata, reason",
        [
            (None, "the wheel has no METADATA file"),
            (b"Metadata-Version: 2.1\nSummary: x\n", "METADATA has no Name and Version"),
            (b"Metadata-Version: 2.1\nName: demo\n", "METADATA has no Version"),
            (b"Name: d\xe9mo\nVersion: 1.0\n", "METADATA is not valid UTF-8"),
            (b"Name: other\nVersion: 1.0\n", "METADATA has Name 'other', but the wheel's"),
            (b"Name: demo\nVersion: 2.0\n", "METADATA has Version '2.0', but the wheel's"),
            (b"Name: demo\nVersion: one\n", "METADATA has Version 'one'"),
        ],
        ids=["missing", "no-name-no-version", "no-version", "latin-1", "name", "version", "bad"],
    )
    def test_refused_and_nothing_written(self, wheel_dir, scheme, cache_dir, metadata, reason):
        whl = wheel_with_metadata(wheel_dir, metadata)
        with pytest.raises(InvalidWheel) as info:
            fastinst.install([whl], scheme, cache_dir=cache_dir)
        assert reason in info.value.reason
        assert info.value.member == "demo-1.0.dist-info/METADATA"
        assert info.value.wheel == str(whl)
        assert not Path(scheme.purelib).exists()
        if cache_dir is not None:
            assert not list(Path(cache_dir).glob("wheels-*/*"))

    def test_name_spelled_otherwise_is_the_same_name(self, wheel_dir):
        whl = wheel_with_metadata(
            wheel_dir, b"Metadata-Version: 2.1\nName: Demo.Pkg\nVersion: 1.0.0\n", name="demo_pkg"
        )
        assert open_wheel(str(whl)).name == "demo_pkg"

    def test_requires_python_is_exposed_from_the_archive_and_the_cache(self, wheel_dir, tmp_path):
        whl = make_wheel(wheel_dir, metadata_extra="Requires-Python:  >=3.8 \n")
        assert open_wheel(str(whl)).requires_python == ">=3.8"
        assert open_wheel(str(make_wheel(tmp_path, name="plain"))).requires_python is None
        from fastinst._cache import WheelCache

        cache = WheelCache(str(tmp_path / "cache"))
        digest = cache.wheel_digest(str(whl))
        [cold] = cache.populate_many([(open_wheel(str(whl)), digest)], 1, verified=True)
        warm = cache.load(digest, verified=True)  # the entry, built by populate_many
        assert cold.requires_python == warm.requires_python == ">=3.8"


class TestRequiresPython:
    @pytest.mark.parametrize("spec", [f">{HERE}", "<3", "==2.7.*", f"!={HERE}"])
    def test_refused_naming_the_interpreter_and_its_version(
        self, wheel_dir, tmp_path, cache_dir, spec
    ):
        whl = make_wheel(wheel_dir, metadata_extra=f"Requires-Python: {spec}\n")
        scheme = fastinst.get_scheme(target=tmp_path / "t")
        with pytest.raises(IncompatibleWheel) as info:
            fastinst.install([whl], scheme, cache_dir=cache_dir)
        assert f"demo 1.0 requires Python {spec}, but " in str(info.value)
        assert str(info.value).endswith(f"but {sys.executable} is Python {HERE}")
        assert not (tmp_path / "t").exists()
        with pytest.raises(IncompatibleWheel):
            fastinst.install([whl], scheme, cache_dir=cache_dir, dry_run=True)
        fastinst.install([whl], scheme, cache_dir=cache_dir, ignore_requires_python=True)
        assert (tmp_path / "t" / "demo-1.0.dist-info").is_dir()

    @pytest.mark.parametrize("spec", [">=3.8", f"=={HERE}", "~=3.8", ">=3, !=3.0.*, <4"])
    def test_accepted(self, wheel_dir, tmp_path, spec):
        whl = make_wheel(wheel_dir, metadata_extra=f"Requires-Python: {spec}\n")
        scheme = fastinst.get_scheme(target=tmp_path / "t")
        [result] = fastinst.install([whl], scheme, cache_dir=None)
        assert result.version == "1.0"

    def test_invalid_specifier_is_ignored_with_a_warning(self, wheel_dir, tmp_path, caplog):
        whl = make_wheel(wheel_dir, metadata_extra="Requires-Python: >=three\n")
        fastinst.install([whl], fastinst.get_scheme(target=tmp_path / "t"), cache_dir=None)
        assert "ignoring its invalid Requires-Python '>=three'" in caplog.text

    def test_an_interpreter_that_is_not_there_cannot_be_checked(self, wheel_dir, scheme):
        whl = make_wheel(wheel_dir, metadata_extra="Requires-Python: >=3.8\n")
        with pytest.raises(fastinst.SchemeError, match="ignore_requires_python skips the check"):
            fastinst.install([whl], scheme, cache_dir=None)
        fastinst.install([whl], scheme, cache_dir=None, ignore_requires_python=True)

    def test_checked_against_another_interpreter(self, wheel_dir, tmp_path):
        py38 = TARGETS["3.8"]
        if not py38.exists:
            pytest.skip("no Python 3.8")
        venv = tmp_path / "venv"
        subprocess.run([py38.path, "-m", "venv", "--without-pip", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        whl = make_wheel(wheel_dir, metadata_extra="Requires-Python: >=3.9\n")
        scheme = fastinst.get_scheme(python)
        with pytest.raises(IncompatibleWheel, match=rf"but {python} is Python 3\.8\.\d+$"):
            fastinst.install([whl], scheme, cache_dir=None)
        proc = run_cli("install", "--python", python, "--no-cache", str(whl))
        assert proc.returncode == 1
        assert "requires Python >=3.9, but" in proc.stderr and len(proc.stderr.splitlines()) == 1
        before = tree_snapshot(venv)
        proc = run_cli("install", "--python", python, "--ignore-requires-python", str(whl))
        assert proc.returncode == 0, proc.stderr
        assert tree_snapshot(venv) != before


class TestTagsInTheLibrary:
    def test_a_wheel_for_another_interpreter_is_refused(self, wheel_dir, tmp_path, cache_dir):
        whl = make_wheel(wheel_dir, tag="cp27-cp27m-win32")
        scheme = fastinst.get_scheme(target=tmp_path / "t")
        with pytest.raises(IncompatibleWheel, match="not compatible with") as info:
            fastinst.install([whl], scheme, cache_dir=cache_dir)
        assert info.value.wheel == str(whl)
        assert not (tmp_path / "t").exists()
        fastinst.install([whl], scheme, cache_dir=cache_dir, ignore_tags=True)
        assert (tmp_path / "t" / "demo-1.0.dist-info").is_dir()

    def test_the_schemes_interpreter_decides(self, wheel_dir, tmp_path):
        py38 = TARGETS["3.8"]
        if not py38.exists:
            pytest.skip("no Python 3.8")
        ours = f"cp{sys.version_info[0]}{sys.version_info[1]}"
        whl = make_wheel(wheel_dir, tag=f"{ours}-none-any")
        fastinst.install([whl], fastinst.get_scheme(target=tmp_path / "a"), cache_dir=None)
        with pytest.raises(IncompatibleWheel, match=f"not compatible with {py38.path}"):
            fastinst.install(
                [whl], fastinst.get_scheme(py38.path, target=tmp_path / "b"), cache_dir=None
            )

    def test_pure_wheels_ask_nothing_of_a_custom_schemes_interpreter(self, wheel_dir, tmp_path):
        """A hand-made scheme may name an interpreter that is not there: py3 wheels
        need nothing from it."""
        scheme = fastinst.Scheme(*(str(tmp_path / k) for k in "abcde"), python="/no/python")
        fastinst.install([make_wheel(wheel_dir, tag="py2.py3-none-any")], scheme, cache_dir=None)


# --- Requires-Python decided without packaging.specifiers, as packaging decides it --------

_numbers = st.lists(st.integers(0, 12), min_size=1, max_size=4).map(
    lambda parts: ".".join(map(str, parts))
)
_clause = st.builds(
    lambda space1, op, number, star, space2: f"{space1}{op}{space1}{number}{star}{space2}",
    st.sampled_from(["", " "]),
    st.sampled_from(["==", "!=", "<=", ">=", "<", ">", "~=", "==="]),
    _numbers,
    st.sampled_from(["", "", ".*"]),
    st.sampled_from(["", " "]),
)
_specs = st.lists(_clause, min_size=1, max_size=3).map(",".join) | st.sampled_from(
    ["", ">=3.8,", "1!3.8", ">=3.8.0rc1", ">=3.8.post1", "==3.8.*.1", ">= 3", "<4.0.0.0"]
)


@settings(max_examples=500, deadline=None)
@given(
    spec=_specs,
    version=st.tuples(st.integers(2, 4), st.integers(0, 14), st.integers(0, 12)),
)
def test_python_satisfies_agrees_with_packaging(spec, version):
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    from fastinst._tags import python_satisfies

    text = ".".join(map(str, version))
    try:
        expected: bool | None = Version(text) in SpecifierSet(spec)
    except InvalidSpecifier:
        expected = None
    assert python_satisfies(spec, text) == expected


def test_common_requires_python_needs_no_packaging_specifiers():
    code = (
        "import sys; from fastinst._tags import python_satisfies as p; "
        "assert p('>=2.7, !=3.0.*, !=3.1.*, !=3.2.*', '3.11.4'); assert not p('<3', '3.8.0'); "
        "print('packaging.specifiers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
