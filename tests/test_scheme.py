"""get_scheme and choose_install_scheme against pip, on the real interpreters of this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastinst
from distro import (
    DEBIAN_PYTHON,
    find_interpreters,
    make_home_for_nobody,
    make_python_with_sitecustomize,
    make_rhel_python,
    make_shared_dir,
    make_world_readable,
    pip_schemes,
    pip_site_packages,
    prepare_for_other_users,
    run_as_nobody,
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
from wheelmaker import make_wheel

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


@pytest.fixture(autouse=True)
def _own_home(tmp_path, monkeypatch):
    """A home directory of the test's own: pip's distutils code creates the user
    site directories when asked for the user scheme, and none of that belongs
    in the real home. Both pip and fastinst see this one."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("PYTHONUSERBASE", raising=False)
    monkeypatch.delenv("PYTHONNOUSERSITE", raising=False)
    return home


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
        # pip inherits the distro layout for ``--prefix`` with Debian's 3.8-3.13
        # (.../local/lib/pythonX.Y/dist-packages); with Debian's 3.14 it gives the
        # plain layout, fastinst's answer everywhere, which is then checked as is.
        if distro_prefix and "prefix" in kwargs and "/local/" in pip["purelib"]:
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


def test_pypy_names():
    pypy = {p.label: p for p in INTERPRETERS}["pypy"]
    if not pypy.exists:
        pytest.skip("no pypy3 with pip (apt-get install pypy3)")
    facts = interpreter_facts(pypy.path)
    assert facts["implementation"] == "pypy"
    assert get_scheme(pypy.path, home="/opt/h").purelib == "/opt/h/lib/pypy"
    assert f"/pypy{facts['version']}/" in get_scheme(pypy.path).purelib


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


# --- headers: one directory per distribution, as pip and uv ---------------------------

MODES = [
    ("default", {}),
    ("user", {"user": True}),
    ("prefix", {"prefix": "/opt/px"}),
    ("home", {"home": "/opt/hx"}),
    ("root", {"root": "/srv/rx"}),
    ("target", {"target": "/opt/tx"}),
]


@pytest.mark.parametrize("label, kwargs", MODES, ids=[m[0] for m in MODES])
@pytest.mark.parametrize(
    "python",
    [p for p in INTERPRETERS if p.label in ("3.9", "3.12", "debian")],
    ids=lambda p: p.label,
)
def test_headers_per_distribution(python, label, kwargs, tmp_path):
    if not python.exists:
        pytest.skip(f"{python.path} is not on this machine")
    unnamed = get_scheme(python.path, **kwargs)
    assert unnamed.headers_per_distribution
    named = get_scheme(python.path, dist_name="greenlet", **kwargs)
    assert not named.headers_per_distribution
    assert unnamed.for_distribution("greenlet") == named
    assert named.for_distribution("other") == named  # already one distribution's
    assert unnamed.headers_root == named.headers_root == os.path.dirname(named.headers)
    assert "UNKNOWN" not in unnamed.headers
    if label != "target":  # pip has no scheme for --target (see test_headers_installed_as_pip)
        [pip] = pip_schemes(python.path, [{"dist_name": "greenlet", **kwargs}])
        if not (python.distro and label == "prefix"):
            assert named.headers == pip["headers"]


HEADERS_WHEEL = {
    "hdrdemo/__init__.py": "X = 1\n",
    "hdrdemo-1.0.data/headers/hdrdemo.h": "int hdrdemo;\n",
    "hdrdemo-1.0.data/headers/sub/inner.h": "int inner;\n",
}


def _files(base: Path) -> set[str]:
    skip = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")
    return {
        str(p.relative_to(base))
        for p in base.rglob("*")
        if p.is_file() and p.name not in skip and "__pycache__" not in p.parts
    }


@pytest.mark.parametrize("option", ["venv", "user", "prefix", "root", "target", "system"])
def test_headers_installed_as_pip(option, tmp_path, monkeypatch):
    """Every file, headers included, lands where pip puts it, with the CLI's scheme
    resolved once for all wheels."""
    py = {p.label: p for p in INTERPRETERS}["3.12"]
    if not py.exists:
        pytest.skip("no Python 3.12")
    whl = make_wheel(tmp_path, name="hdrdemo", files=HEADERS_WHEEL)
    other = make_wheel(tmp_path, name="other", files={
        "other/__init__.py": "", "other-1.0.data/headers/hdrdemo.h": "int other;\n"})  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, HOME=str(tmp_path / "home"))
    trees = {}
    for tool in ("pip", "fastinst"):
        base = tmp_path / tool
        python = py.path
        opts: list[str] = []
        if option == "venv":
            subprocess.run([py.path, "-m", "venv", "--without-pip", str(base)], check=True)
            python = str(base / "bin" / "python")
        elif option == "user":
            env["PYTHONUSERBASE"] = str(base)
            opts = ["--user"]
        elif option == "system":
            python = make_rhel_python("3.12", base)
            if python is None:
                pytest.skip("no Python 3.12 to copy")
            before = _files(base)
        else:
            opts = [f"--{option}", str(base)]
        if tool == "pip":
            cmd = [py.path, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
                   "--no-compile", "--no-cache-dir", "-q", "--disable-pip-version-check",
                   "--break-system-packages", *opts, str(whl), str(other)]  # fmt: skip
        else:
            cmd = [sys.executable, "-m", "fastinst", "install", "--python", python, "-q",
                   "--break-system-packages", *opts, str(whl), str(other)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert proc.returncode == 0, f"{tool}: {proc.stderr}"
        files = _files(base)
        if option == "system":
            files -= before
        trees[tool] = files
    assert trees["fastinst"] == trees["pip"]
    headers = sorted(f for f in trees["pip"] if f.endswith(".h"))
    assert len(headers) == 3  # two distributions' hdrdemo.h, each in its own directory
    assert {os.path.basename(os.path.dirname(h)) for h in headers} >= {"hdrdemo", "other"}


LIBRARY_MODES = [*MODES, ("venv", {}), ("system", {})]


@pytest.mark.parametrize("label, kwargs", LIBRARY_MODES, ids=[m[0] for m in LIBRARY_MODES])
def test_headers_installed_by_the_library(label, kwargs, tmp_path):
    """install() with a scheme resolved once for all wheels (no distribution named)
    puts each wheel's headers in its own directory: the one get_scheme gives for
    that distribution, which is pip's (test_headers_per_distribution)."""
    py = {p.label: p for p in INTERPRETERS}["3.9"]
    if not py.exists:
        pytest.skip("no Python 3.9")
    python = py.path
    kwargs = {k: str(tmp_path / v.lstrip("/")) if k != "user" else v for k, v in kwargs.items()}
    if label == "venv":
        subprocess.run([python, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
        python = str(tmp_path / "venv" / "bin" / "python")
    elif label == "system":
        found = make_rhel_python("3.9", tmp_path / "rhel")
        assert found is not None
        python = found
    whl = make_wheel(tmp_path, name="hdrdemo", files=HEADERS_WHEEL)
    other = make_wheel(tmp_path, name="other", files={
        "other/__init__.py": "", "other-1.0.data/headers/hdrdemo.h": "int other;\n"})  # fmt: skip
    scheme = get_scheme(python, **kwargs)
    assert scheme.headers_per_distribution
    fastinst.install([whl, other], scheme)
    for name, text in (("hdrdemo", "int hdrdemo;\n"), ("other", "int other;\n")):
        headers = Path(get_scheme(python, dist_name=name, **kwargs).headers)
        assert headers.name == name
        assert (headers / "hdrdemo.h").read_text() == text
    inner = Path(get_scheme(python, dist_name="hdrdemo", **kwargs).headers, "sub", "inner.h")
    assert inner.read_text() == "int inner;\n"


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


# In the target interpreter: the probe's answer as its own ``dumps`` writes it and as
# ``json.dumps`` would, and its platform facts beside ``platform``'s.
_PROBE_BESIDE_STDLIB = r"""
import json, platform, runpy, sys
ns = runpy.run_path(sys.argv[1])
answer = ns["probe"](tags=True)
odd = ["a\"b\\c\n\r\t\b\f\x01\x7f\u00e9\u2028\U0001f600\udc80", -7, 0, None, True, [], {}, ()]
m = answer["markers"]
print(json.dumps({
    "dumps": [ns["dumps"](x) == json.dumps(x) for x in (answer, odd)],
    "probe": [m["platform_system"], m["platform_release"], m["platform_version"],
              m["platform_machine"], m["python_full_version"],
              m["platform_python_implementation"], m["python_version"],
              answer["tags"]["system"]],
    "platform": [platform.system(), platform.release(), platform.version(),
                 platform.machine(), platform.python_version(),
                 platform.python_implementation(),
                 ".".join(platform.python_version_tuple()[:2]), platform.system()],
}))
"""


@pytest.mark.parametrize("python", INTERPRETERS, ids=lambda p: p.label)
def test_probe_says_what_json_and_platform_say(python):
    """The probe writes its JSON and reads the platform without ``json`` and
    ``platform`` (they cost it a third of its time): the same answer."""
    if not python.exists:
        pytest.skip(f"{python.path} is not on this machine")
    out = subprocess.run(
        [python.path, "-I", "-c", _PROBE_BESIDE_STDLIB, _probe.__file__],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    got = json.loads(out)
    assert got["dumps"] == [True, True]
    assert got["probe"] == got["platform"]


def test_probe_imports_little_and_writes_no_bytecode(venv_factory):
    """The probe script in a venv imports neither ``json``, ``re``, ``platform``,
    ``typing`` nor ``contextlib``; it reads fastinst's own ``.pyc`` of ``_probe``
    when there is one for the target's version, and writes none."""
    from fastinst._probe_cache import _BOOTSTRAP

    python = str(venv_factory("probed") / "bin" / "python")
    cached = Path(_probe.__file__).parent / "__pycache__"
    before = sorted(cached.glob("_probe.*")) if cached.is_dir() else []
    proc = subprocess.run(
        [python, "-X", "importtime", "-I", "-c", _BOOTSTRAP, _probe.__file__],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(proc.stdout)["probe_version"] == _probe.PROBE_VERSION
    mods = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert not (mods & {"json", "re", "platform", "typing", "contextlib", "subprocess"})
    assert (sorted(cached.glob("_probe.*")) if cached.is_dir() else []) == before


class TestProbeCache:
    def test_second_call_reads_the_cache(self, tmp_path, monkeypatch):
        monkeypatch.setenv("FASTINST_CACHE_DIR", str(tmp_path / "cache"))
        python = INTERPRETERS[-1].path if INTERPRETERS[-1].exists else sys.executable
        first = get_scheme(python)
        [cache_file] = (tmp_path / "cache" / "probe-v2").glob("facts-*.json")
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
        assert len(list((tmp_path / "cache" / "probe-v2").glob("facts-*.json"))) == 2

    def test_broken_cache_file_is_probed_again(self, tmp_path, monkeypatch):
        monkeypatch.setenv("FASTINST_CACHE_DIR", str(tmp_path / "cache"))
        expected = get_scheme(sys.executable)
        [cache_file] = (tmp_path / "cache" / "probe-v2").glob("facts-*.json")
        cache_file.write_text("{not json")
        assert get_scheme(sys.executable) == expected
        assert json.loads(cache_file.read_text())["probe_version"] == _probe.PROBE_VERSION

    def test_unwritable_cache_dir_is_not_an_error(self, tmp_path, monkeypatch):
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        monkeypatch.setenv("FASTINST_CACHE_DIR", str(blocker / "below"))
        assert probe_cache_dir() == str(blocker / "below" / "probe-v2")
        assert get_scheme(sys.executable) == get_scheme(None)

    def test_scripts_are_not_cached(self, tmp_path, monkeypatch):
        """A wrapper (like a pyenv shim) can start another interpreter tomorrow."""
        monkeypatch.setenv("FASTINST_CACHE_DIR", str(tmp_path / "cache"))
        wrapper = tmp_path / "python-wrapper"
        wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
        wrapper.chmod(0o755)
        scheme = get_scheme(str(wrapper))
        assert not list((tmp_path / "cache").glob("probe-v2/*.json"))
        assert scheme.python == sys.executable  # what the wrapper runs
        assert scheme == get_scheme(sys.executable)

    def test_not_an_interpreter(self, tmp_path):
        fake = tmp_path / "python"
        fake.write_text("#!/bin/sh\nexit 3\n")
        fake.chmod(0o755)
        with pytest.raises(SchemeError, match="is not a Python interpreter"):
            get_scheme(str(fake))
        with pytest.raises(SchemeError, match="does not exist"):
            get_scheme(str(tmp_path / "missing"))


# --- options ---------------------------------------------------------------------------


class TestOptions:
    def test_target(self, tmp_path):
        scheme = get_scheme(target=tmp_path / "t", dist_name="x")
        t = str(tmp_path / "t")
        # Headers where pip's --target leaves them: its home scheme's (a venv's here).
        xy = "{}.{}".format(*sys.version_info[:2])
        in_venv = sys.prefix != sys.base_prefix
        headers = f"{t}/include/site/python{xy}/x" if in_venv else f"{t}/include/python/x"
        assert scheme.as_dict() == {
            "purelib": t,
            "platlib": t,
            "headers": headers,
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


# --- distro-like interpreters built here -------------------------------------------------


@pytest.fixture(scope="session")
def shared_dir():
    """A root-owned, world-readable directory for interpreters other users run."""
    import shutil

    path = make_shared_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def rhel39(shared_dir):
    """A RHEL-style Python 3.9 under ``shared_dir/rhel/usr`` (see distro.make_rhel_python)."""
    python = make_rhel_python("3.9", shared_dir / "rhel")
    if python is None:
        pytest.skip("no pyenv Python 3.9 to build a RHEL-like one from")
    make_world_readable(shared_dir / "rhel")
    return python


@pytest.fixture(scope="session")
def fedora312(tmp_path_factory):
    """The same patches on 3.12, where pip uses sysconfig (posix_prefix with /local)."""
    python = make_rhel_python("3.12", tmp_path_factory.mktemp("fedora"))
    if python is None:
        pytest.skip("no pyenv Python 3.12")
    return python


class TestRhelLike:
    """uv#2353: a RHEL-style system Python whose /usr/local site directories do not exist."""

    def test_matches_pip(self, rhel39):
        assert_matches_pip(rhel39)

    def test_layout(self, rhel39):
        usr = Path(rhel39).parent.parent
        scheme = get_scheme(rhel39, dist_name="httpx")
        assert scheme.purelib == str(usr / "local/lib/python3.9/site-packages")
        assert scheme.platlib == str(usr / "local/lib64/python3.9/site-packages")
        assert scheme.scripts == str(usr / "local/bin")
        assert scheme.data == str(usr / "local")
        assert not Path(scheme.purelib).exists() and not Path(scheme.platlib).exists()
        # Every directory that interpreter reads, lib and lib64, /usr/local or not.
        for d in (
            "local/lib64/python3.9/site-packages",
            "local/lib/python3.9/site-packages",
            "lib64/python3.9/site-packages",
            "lib/python3.9/site-packages",
        ):
            assert str(usr / d) in scheme.library_dirs()

    def test_listing_with_absent_site_directories(self, rhel39):
        from fastinst._installed import find_installed, list_installed

        scheme = get_scheme(rhel39)
        names = {d.name for d in list_installed(scheme)}
        assert "pip" in names  # from usr/lib/python3.9/site-packages
        assert find_installed("httpx", scheme) == []

    def test_root_installs_into_usr_local(self, rhel39):
        # As root everything is writable: no fallback, and the missing
        # directories are for the installer to create.
        scheme, notice = choose_install_scheme(rhel39)
        assert notice is None
        assert scheme == get_scheme(rhel39)

    def test_venv_of_it_is_plain(self, rhel39, tmp_path):
        venv = tmp_path / "v"
        subprocess.run([rhel39, "-m", "venv", "--without-pip", str(venv)], check=True)
        python = str(venv / "bin/python")
        pip_dir = Path(rhel39).parent.parent / "lib/python3.9/site-packages"
        env = dict(os.environ, PYTHONPATH=str(pip_dir))
        assert_matches_pip(python, env=env)
        scheme = get_scheme(python)
        assert scheme.purelib == str(venv / "lib/python3.9/site-packages")
        assert scheme.platlib == str(venv / "lib64/python3.9/site-packages")

    def test_fedora_like_312_matches_pip(self, fedora312):
        usr = Path(fedora312).parent.parent
        assert_matches_pip(fedora312, distro_prefix=True)
        scheme = get_scheme(fedora312)
        assert scheme.kind == "posix_prefix"
        assert scheme.platlib == str(usr / "local/lib64/python3.12/site-packages")
        prefixed = get_scheme(fedora312, prefix="/opt/p")
        assert prefixed.purelib == "/opt/p/lib/python3.12/site-packages"
        assert prefixed.platlib == "/opt/p/lib64/python3.12/site-packages"


def test_distributor_can_send_pip_back_to_distutils(tmp_path):
    """``sysconfig._PIP_USE_SYSCONFIG = False`` on 3.10+: pip (and fastinst) use distutils."""
    python = make_python_with_sitecustomize(
        "3.10",
        tmp_path / "py",
        "import sysconfig\nsysconfig._PIP_USE_SYSCONFIG = False\n",
    )
    if python is None:
        pytest.skip("no pyenv Python 3.10")
    facts = interpreter_facts(python)
    assert facts["use_sysconfig"] is False
    assert facts["schemes"]["default"]["name"] == "distutils:unix_prefix"
    assert_matches_pip(python)


# --- as a user who cannot write the system site-packages --------------------------------

_NOBODY_SCRIPT = r"""
import json, os, subprocess, sys
from fastinst._scheme import choose_install_scheme

out = {}

def record(key, call):
    try:
        scheme, notice = call()
        out[key] = {"paths": scheme.as_dict(), "kind": scheme.kind, "notice": notice}
    except Exception as exc:
        out[key] = {"error": type(exc).__name__, "message": str(exc)}

record("in_process", lambda: choose_install_scheme())
record("probe", lambda: choose_install_scheme(sys.executable))
record("explicit_system", lambda: choose_install_scheme(sys.executable, user=False))
for name, python in json.loads(sys.argv[1]).items():
    record(name, lambda: choose_install_scheme(python))
    record(name + "_break", lambda: choose_install_scheme(python, break_system_packages=True))
if len(sys.argv) > 2:  # install a wheel where the default choice says, then import it
    import fastinst

    scheme, notice = choose_install_scheme()
    fastinst.install([sys.argv[2]], scheme, cache_dir=None)
    ran = subprocess.run(
        [sys.executable, "-c", "import hello; print(hello.X, hello.__file__)"],
        capture_output=True, text=True,
    )
    out["installed"] = {"stdout": ran.stdout, "stderr": ran.stderr, "notice": notice}
venv = os.path.join(os.environ["HOME"], "venv")
subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
record("venv_user", lambda: choose_install_scheme(venv + "/bin/python", user=True))
record("venv_default", lambda: choose_install_scheme(venv + "/bin/python"))
print(json.dumps(out))
"""


@pytest.fixture(scope="session")
def nobody_python(shared_dir):
    """A root-owned copy of this Python version, with fastinst's sources, for ``nobody``."""
    import shutil

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv")
    python = prepare_for_other_users(shared_dir)
    if python is None:
        pytest.skip("no pyenv install of this Python version to copy")
    (shared_dir / "check.py").write_text(_NOBODY_SCRIPT)
    (shared_dir / "check.py").chmod(0o644)
    return python


def test_non_root_user_falls_back_to_the_user_site(nobody_python, shared_dir, rhel39, tmp_path):
    """uv#3635: a user who cannot write the system site-packages gets the user scheme."""
    # pytest's tmp directories are private to root: the home lives in shared_dir.
    home = make_home_for_nobody(shared_dir, f"home-{tmp_path.name}")
    others = {"rhel": rhel39}
    if os.path.exists(DEBIAN_PYTHON):
        others["debian"] = DEBIAN_PYTHON
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "PYTHONPATH": str(shared_dir / "lib"),
        "FASTINST_CACHE_DIR": str(home / "cache"),
        "LC_ALL": "C",
    }
    wheels = shared_dir / f"wheels-{tmp_path.name}"
    wheels.mkdir()
    wheel = make_wheel(wheels, name="hello", files={"hello/__init__.py": "X = 42\n"})
    make_world_readable(wheels)
    proc = run_as_nobody(
        [nobody_python, str(shared_dir / "check.py"), json.dumps(others), str(wheel)], env=env
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    xy = "{}.{}".format(*sys.version_info[:2])
    notice = "Defaulting to user installation because normal site-packages is not writeable"

    fallback = out["in_process"]
    assert (fallback["kind"], fallback["notice"]) == ("user", notice)
    assert fallback["paths"]["purelib"] == f"{home}/.local/lib/python{xy}/site-packages"
    assert fallback["paths"]["scripts"] == f"{home}/.local/bin"
    assert out["probe"] == fallback  # the probe path agrees, as nobody too
    # An explicit user=False is respected (the install layer reports the
    # permission error).
    assert out["explicit_system"]["kind"] == "posix_prefix"
    assert out["explicit_system"]["notice"] is None

    rhel = out["rhel"]
    assert (rhel["kind"], rhel["notice"]) == ("user", notice)
    assert rhel["paths"]["purelib"] == f"{home}/.local/lib/python3.9/site-packages"

    if "debian" in others:
        # PEP 668 comes first, as in pip; --break-system-packages then falls back.
        assert out["debian"]["error"] == "ExternallyManaged"
        assert out["debian_break"]["kind"] == "user"
        assert out["debian_break"]["notice"] == notice

    # End to end: the package lands in nobody's user site and imports.
    installed = out["installed"]
    assert installed["notice"] == notice
    assert installed["stdout"].split() == [
        "42",
        f"{home}/.local/lib/python{xy}/site-packages/hello/__init__.py",
    ], installed["stderr"]

    assert out["venv_user"]["error"] == "SchemeError"
    assert "system-site-packages" in out["venv_user"]["message"]
    assert out["venv_default"]["kind"] == "venv"
    assert out["venv_default"]["notice"] is None


def test_rhel_system_install_into_absent_usr_local(rhel39, tmp_path):
    """uv#2353 end to end: root installs into a RHEL-style Python 3.9 whose
    /usr/local/lib/python3.9/site-packages (and lib64) do not exist yet."""
    import shutil

    import fastinst
    from fastinst._installed import list_installed

    # A copy of the session's tree (hard links: installing only adds files).
    top = Path(rhel39).parent.parent.parent
    shutil.copytree(top, tmp_path / "rhel", symlinks=True, copy_function=os.link)
    usr = tmp_path / "rhel/usr"
    python = str(usr / "bin/python3.9")
    scheme, notice = choose_install_scheme(python)
    assert notice is None
    assert not (usr / "local").exists()
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    pure = make_wheel(wheels, name="httpx_like", files={"httpx_like/__init__.py": "X = 1\n"})
    plat = make_wheel(
        wheels, name="native_like", purelib=False, files={"native_like/__init__.py": "Y = 2\n"}
    )
    fastinst.install([pure, plat], scheme, cache_dir=None)
    assert (usr / "local/lib/python3.9/site-packages/httpx_like/__init__.py").is_file()
    assert (usr / "local/lib64/python3.9/site-packages/native_like/__init__.py").is_file()
    ran = subprocess.run(
        [python, "-c", "import httpx_like, native_like; print(httpx_like.X + native_like.Y)"],
        capture_output=True,
        text=True,
    )
    assert ran.stdout.strip() == "3", ran.stderr
    names = {d.name for d in list_installed(get_scheme(python))}
    assert {"httpx_like", "native_like", "pip"} <= names
