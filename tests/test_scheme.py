"""get_scheme and choose_install_scheme against pip, on the real interpreters of this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from distro import (
    DEBIAN_PYTHON,
    find_interpreters,
    pip_schemes,
    pip_site_packages,
)
from fastinst import _probe
from fastinst._errors import ExternallyManaged, SchemeError
from fastinst._scheme import (
    Scheme,
    choose_install_scheme,
    get_scheme,
    interpreter_facts,
    probe_cache_dir,
)

KEYS = ("purelib", "platlib", "headers", "scripts", "data")

# (label, get_scheme keyword arguments); the same are given to pip's get_scheme.
CASES = [
    ("default", {"dist_name": "Dist"}),
    ("default-unnamed", {"dist_name": ""}),
    ("user", {"dist_name": "Dist", "user": True}),
    ("prefix", {"dist_name": "Dist", "prefix": "/opt/px"}),
    ("home", {"dist_name": "Dist", "home": "/opt/hx"}),
    ("root", {"dist_name": "Dist", "root": "/srv/rx"}),
    ("prefix-root", {"dist_name": "Dist", "prefix": "/opt/px", "root": "/srv/rx"}),
]

INTERPRETERS = find_interpreters()


def ours(python: str | None, **kwargs) -> dict[str, str]:
    return get_scheme(python, **kwargs).as_dict()


def assert_matches_pip(python: str, *, distro_prefix: bool = False, env=None) -> None:
    """Every case of CASES gives pip's answer inside ``python``.

    ``distro_prefix``: the interpreter's default scheme is a distro's
    (Debian's posix_local, Fedora's /local), where pip lets ``--prefix`` inherit
    the distro layout; fastinst gives the plain layout instead (see
    docs/schemes.md), so those cases are checked against the plain layout.
    """
    theirs = pip_schemes(python, [kw for _, kw in CASES], env=env)
    facts = interpreter_facts(python)
    for (label, kwargs), pip in zip(CASES, theirs):
        mine = ours(python, **kwargs)
        if distro_prefix and "prefix" in kwargs:
            assert "/local" in pip["purelib"], pip  # what pip does there
            root = kwargs.get("root", "")
            base = root + kwargs["prefix"] if root else kwargs["prefix"]
            xy = facts["version"]
            assert mine["purelib"] == f"{base}/lib/python{xy}/site-packages"
            assert mine["platlib"] == f"{base}/{facts['platlibdir']}/python{xy}/site-packages"
            assert mine["scripts"] == f"{base}/bin"
            assert mine["data"] == base
            continue
        assert mine == pip, f"{python} {label}"


# --- pip's answers -------------------------------------------------------------------


@pytest.mark.parametrize("python", INTERPRETERS, ids=lambda p: p.label)
def test_matches_pip(python):
    if not python.exists:
        pytest.skip(f"{python.path} is not on this machine")
    assert_matches_pip(python.path, distro_prefix=python.distro)


def test_debian_system_python_is_posix_local():
    if not os.path.exists(DEBIAN_PYTHON):
        pytest.skip("no Debian system python3")
    scheme = get_scheme(DEBIAN_PYTHON, dist_name="demo")
    xy = interpreter_facts(DEBIAN_PYTHON)["version"]
    assert scheme.kind == "posix_local"
    assert scheme.purelib == scheme.platlib == f"/usr/local/lib/python{xy}/dist-packages"
    assert scheme.scripts == "/usr/local/bin"
    assert scheme.data == "/usr/local"
    assert scheme.headers == f"/usr/include/python{xy}/demo"
    # Listing covers what that interpreter reads: apt's dist-packages too.
    assert "/usr/lib/python3/dist-packages" in scheme.library_dirs()
    assert scheme.python == DEBIAN_PYTHON


@pytest.mark.parametrize("system_site", [False, True], ids=["isolated", "system-site"])
@pytest.mark.parametrize("base", ["3.9", "3.12", "debian"])
def test_venv_matches_pip(base, system_site, tmp_path):
    base_python = {p.label: p for p in INTERPRETERS}.get(base)
    if base_python is None or not base_python.exists:
        pytest.skip(f"no {base} interpreter")
    venv = tmp_path / "venv"
    args = [base_python.path, "-m", "venv", "--without-pip", str(venv)]
    if system_site:
        args.insert(4, "--system-site-packages")
    subprocess.run(args, check=True)
    python = str(venv / "bin" / "python")
    # pip is run from the base interpreter's site-packages.
    env = dict(os.environ, PYTHONPATH=pip_site_packages(base_python.path))
    assert_matches_pip(python, env=env)
    scheme = get_scheme(python, dist_name="x")
    assert scheme.kind == "venv"
    assert scheme.python == python
    assert scheme.purelib.startswith(str(venv))
    xy = interpreter_facts(python)["version"]
    assert scheme.headers == str(venv / "include" / "site" / f"python{xy}" / "x")
    base_site = get_scheme(base_python.path).purelib
    assert (base_site in scheme.library_dirs()) == system_site
    # A venv's bin/python is a symlink to the base interpreter: not the same answer.
    assert get_scheme(base_python.path).purelib != scheme.purelib


# --- in-process and the probe ---------------------------------------------------------


@pytest.mark.parametrize("label, kwargs", CASES, ids=[c[0] for c in CASES])
def test_in_process_equals_probe(label, kwargs):
    here = get_scheme(None, **kwargs)
    there = get_scheme(sys.executable, **kwargs)
    assert here == there
    assert (here.kind, here.site_dirs, here.site_roots) == (
        there.kind,
        there.site_dirs,
        there.site_roots,
    )


def test_probe_runs_on_the_oldest_supported_python():
    py38 = {p.label: p for p in INTERPRETERS}.get("3.8")
    if py38 is None or not py38.exists:
        pytest.skip("no Python 3.8")
    out = subprocess.run(
        [py38.path, "-I", _probe.__file__], capture_output=True, text=True, check=True
    ).stdout
    facts = json.loads(out)
    assert facts["version"] == "3.8"
    assert facts["use_sysconfig"] is False  # pip uses distutils below 3.10


class TestProbeCache:
    def test_second_call_reads_the_cache(self, tmp_path, monkeypatch):
        monkeypatch.setenv("FASTINST_CACHE_DIR", str(tmp_path / "cache"))
        python = INTERPRETERS[-1].path if INTERPRETERS[-1].exists else sys.executable
        first = get_scheme(python)
        [cache_file] = (tmp_path / "cache" / "probe-v1").glob("*.json")
        assert not list(cache_file.parent.glob(".tmp-*"))  # written by rename
        # Doctor the cached answer: if a second call ran the probe again it
        # could not return this.
        facts = json.loads(cache_file.read_text())
        facts["schemes"]["default"]["paths"]["purelib"] = "/from/the/cache"
        cache_file.write_text(json.dumps(facts))
        second = get_scheme(python)
        assert second.purelib == "/from/the/cache"
        assert second.platlib == first.platlib

    def test_key_is_the_interpreter(self, tmp_path, monkeypatch):
        monkeypatch.setenv("FASTINST_CACHE_DIR", str(tmp_path / "cache"))
        existing = [p.path for p in INTERPRETERS if p.exists][:2]
        if len(existing) < 2:
            pytest.skip("needs two interpreters")
        a, b = (get_scheme(p) for p in existing)
        assert a.purelib != b.purelib
        assert len(list((tmp_path / "cache" / "probe-v1").glob("*.json"))) == 2

    def test_broken_cache_file_is_probed_again(self, tmp_path, monkeypatch):
        monkeypatch.setenv("FASTINST_CACHE_DIR", str(tmp_path / "cache"))
        expected = get_scheme(sys.executable)
        [cache_file] = (tmp_path / "cache" / "probe-v1").glob("*.json")
        cache_file.write_text("{not json")
        assert get_scheme(sys.executable) == expected
        assert json.loads(cache_file.read_text())["probe_version"] == _probe.PROBE_VERSION

    def test_unwritable_cache_dir_is_not_an_error(self, tmp_path, monkeypatch):
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        monkeypatch.setenv("FASTINST_CACHE_DIR", str(blocker / "below"))
        assert probe_cache_dir() == str(blocker / "below" / "probe-v1")
        assert get_scheme(sys.executable) == get_scheme(None)

    def test_not_an_interpreter(self, tmp_path):
        fake = tmp_path / "python"
        fake.write_text("#!/bin/sh\nexit 3\n")
        fake.chmod(0o755)
        with pytest.raises(SchemeError, match="cannot probe"):
            get_scheme(str(fake))
        with pytest.raises(SchemeError, match="does not exist"):
            get_scheme(str(tmp_path / "missing"))


# --- options ---------------------------------------------------------------------------


class TestOptions:
    def test_target(self, tmp_path):
        scheme = get_scheme(target=tmp_path / "t", dist_name="x")
        t = str(tmp_path / "t")
        assert scheme.as_dict() == {
            "purelib": t,
            "platlib": t,
            "headers": f"{t}/include",
            "scripts": f"{t}/bin",
            "data": t,
        }
        assert scheme.kind == "target"
        assert scheme.python == sys.executable

    def test_relative_paths_are_made_absolute(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        assert get_scheme(target="t").purelib == str(tmp_path / "t")
        assert get_scheme(prefix="p").scripts == str(tmp_path / "p" / "bin")

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"target": "/t", "user": True},
            {"target": "/t", "prefix": "/p"},
            {"target": "/t", "home": "/h"},
            {"target": "/t", "root": "/r"},
            {"user": True, "prefix": "/p"},
            {"user": True, "home": "/h"},
            {"home": "/h", "prefix": "/p"},
        ],
    )
    def test_invalid_combinations(self, kwargs):
        with pytest.raises(SchemeError):
            get_scheme(**kwargs)
        with pytest.raises(SchemeError):
            choose_install_scheme(**kwargs)

    def test_root_reroots_every_path(self):
        plain = get_scheme(dist_name="x")
        rooted = get_scheme(root="/srv/r", dist_name="x")
        for key in KEYS:
            assert getattr(rooted, key) == "/srv/r" + getattr(plain, key)
        assert all(d.startswith("/srv/r/") for d in rooted.site_dirs)

    def test_user_base_follows_the_environment(self, tmp_path, monkeypatch):
        monkeypatch.setenv("PYTHONUSERBASE", str(tmp_path / "ub"))
        python = next((p.path for p in INTERPRETERS if p.exists), sys.executable)
        scheme = get_scheme(python, user=True)
        assert scheme.kind == "user"
        assert scheme.scripts == str(tmp_path / "ub" / "bin")
        assert scheme.purelib.startswith(str(tmp_path / "ub" / "lib"))
        # The same cached probe answers for another user base.
        monkeypatch.setenv("PYTHONUSERBASE", str(tmp_path / "other"))
        assert get_scheme(python, user=True).scripts == str(tmp_path / "other" / "bin")

    def test_scheme_keys_are_strings(self):
        scheme = get_scheme()
        assert isinstance(scheme, Scheme)
        assert all(isinstance(v, str) and os.path.isabs(v) for v in scheme.as_dict().values())


# --- choosing where an install goes ---------------------------------------------------


class TestChooseInstallScheme:
    def test_explicit_choices_win(self, tmp_path):
        scheme, notice = choose_install_scheme(target=tmp_path, dist_name="x")
        assert (scheme.kind, notice) == ("target", None)
        scheme, notice = choose_install_scheme(prefix=tmp_path)
        assert (scheme.kind, notice) == ("prefix", None)

    def test_writable_site_packages_is_used(self, tmp_path, venv_factory):
        venv = venv_factory("choose")
        python = str(venv / "bin" / "python")
        scheme, notice = choose_install_scheme(python)
        assert notice is None
        assert scheme == get_scheme(python)

    def test_user_in_a_venv_without_system_site_packages(self, venv_factory):
        venv = venv_factory("no-global")
        with pytest.raises(SchemeError, match="system-site-packages"):
            choose_install_scheme(str(venv / "bin" / "python"), user=True)

    def test_user_when_the_user_site_is_disabled(self, monkeypatch):
        python = next((p.path for p in INTERPRETERS if p.exists and not p.distro), None)
        if python is None:
            pytest.skip("no plain interpreter")
        monkeypatch.setenv("PYTHONNOUSERSITE", "1")
        with pytest.raises(SchemeError, match="disabled"):
            choose_install_scheme(python, user=True)
        # ... and no silent fallback to it either.
        scheme, notice = choose_install_scheme(python)
        assert notice is None and scheme.kind != "user"

    def test_user_true_gives_the_user_scheme(self, tmp_path, monkeypatch):
        monkeypatch.setenv("PYTHONUSERBASE", str(tmp_path / "ub"))
        python = next((p.path for p in INTERPRETERS if p.exists and not p.distro), None)
        if python is None:
            pytest.skip("no plain interpreter")
        scheme, notice = choose_install_scheme(python, user=True)
        assert (scheme.kind, notice) == ("user", None)
        assert scheme.data == str(tmp_path / "ub")


class TestExternallyManaged:
    @pytest.fixture
    def debian(self):
        if not os.path.exists(DEBIAN_PYTHON):
            pytest.skip("no Debian system python3")
        marker = interpreter_facts(DEBIAN_PYTHON)["externally_managed"]
        if not os.path.isfile(marker):
            pytest.skip("this python3 is not marked EXTERNALLY-MANAGED")
        return DEBIAN_PYTHON, marker

    def test_refused_with_the_markers_message(self, debian):
        python, marker = debian
        with pytest.raises(ExternallyManaged) as info:
            choose_install_scheme(python)
        assert info.value.marker == marker
        import configparser

        parser = configparser.ConfigParser(interpolation=None)
        parser.read(marker, encoding="utf-8")
        assert str(info.value) == parser["externally-managed"]["Error"]
        # pip checks --user installs too.
        with pytest.raises(ExternallyManaged):
            choose_install_scheme(python, user=True)

    def test_break_system_packages(self, debian):
        python, _ = debian
        scheme, _notice = choose_install_scheme(python, break_system_packages=True)
        assert scheme.kind in ("posix_local", "user")

    @pytest.mark.parametrize("option", ["prefix", "target", "root", "home"])
    def test_other_locations_are_not_checked(self, debian, option, tmp_path):
        python, _ = debian
        scheme, _ = choose_install_scheme(python, **{option: str(tmp_path)})
        assert str(tmp_path) in scheme.purelib

    def test_venv_of_a_managed_python_is_not_managed(self, debian, tmp_path):
        python, _ = debian
        venv = tmp_path / "v"
        subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
        scheme, notice = choose_install_scheme(str(venv / "bin" / "python"))
        assert scheme.kind == "venv" and notice is None

    def test_marker_without_error_key_gives_the_default_message(self, tmp_path):
        from fastinst._scheme import _marker_message

        marker = tmp_path / "EXTERNALLY-MANAGED"
        marker.write_text("[externally-managed]\n")
        assert "managed externally" in _marker_message(str(marker), "/usr")
