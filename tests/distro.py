"""Helpers for tests that need real interpreters: find them, ask pip inside them, and
build distro-like ones (a RHEL-style Python, root-owned copies other users can run).

Nothing here writes into a real interpreter's tree: distro-like interpreters are
copies, made under directories the caller owns.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

DEBIAN_PYTHON = "/usr/bin/python3"
PYPY = "/usr/bin/pypy3"
MINORS = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
# More interpreters to test against, as LABEL=PATH entries separated by os.pathsep
# (a 3.14 built elsewhere, a distributor's Python...): they join the matrix.
EXTRA_ENV = "FASTINST_TEST_PYTHONS"


@dataclass(frozen=True)
class Interpreter:
    label: str  # "3.9", "debian"...
    path: str
    exists: bool
    distro: bool = False  # its default scheme is a distributor's (posix_local...)


def pyenv_root() -> Path:
    env = os.environ.get("PYENV_ROOT")
    if env:
        return Path(env)
    try:
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    except OSError:
        pass
    return Path.home() / ".pyenv"


def find_interpreters() -> list[Interpreter]:
    """pyenv's CPython 3.8..3.14 (newest patch release of each; those missing are
    skipped), the interpreters named by $FASTINST_TEST_PYTHONS, Debian's python3 and
    pypy3."""
    versions = pyenv_root() / "versions"
    found = []
    for minor in MINORS:
        candidates = sorted(
            versions.glob(f"{minor}.*"),
            key=lambda p: [int(x) if x.isdigit() else 0 for x in p.name.split(".")],
        )
        candidates = [c for c in candidates if c.name.count(".") == 2]
        path = candidates[-1] / "bin" / "python" if candidates else versions / minor / "bin/python"
        found.append(Interpreter(minor, str(path), path.exists()))
    for item in filter(None, os.environ.get(EXTRA_ENV, "").split(os.pathsep)):
        label, sep, path_ = item.partition("=")
        if not sep or not os.path.isabs(path_):
            raise ValueError(f"{EXTRA_ENV}: {item!r} is not LABEL=/absolute/path/to/python")
        extra = Interpreter(label, path_, os.path.exists(path_), distro=_is_debian(path_))
        found = [i for i in found if i.label != label] + [extra]  # it stands for pyenv's
    found.append(Interpreter("debian", DEBIAN_PYTHON, _is_debian(DEBIAN_PYTHON), distro=True))
    # Debian's PyPy (apt-get install pypy3): PyPy's own names (lib/pypy3.9),
    # Debian's dist-packages, distutils below 3.10.
    found.append(Interpreter("pypy", PYPY, os.path.exists(PYPY) and _has_pip(PYPY)))
    return found


def _has_pip(python: str) -> bool:
    out = subprocess.run([python, "-c", "import pip"], capture_output=True)
    return out.returncode == 0


def _is_debian(python: str) -> bool:
    if not os.path.exists(python):
        return False
    out = subprocess.run(
        [python, "-c", "import sysconfig; print('posix_local' in sysconfig.get_scheme_names())"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() == "True"


_PIP_SCRIPT = r"""
import json, os, sys
from pip._internal.locations import get_scheme
out = []
for kw in json.loads(sys.argv[1]):
    kw = dict(kw)
    s = get_scheme(kw.pop("dist_name"), **kw)
    out.append({k: os.path.normpath(getattr(s, k))
                for k in ("purelib", "platlib", "headers", "scripts", "data")})
print(json.dumps(out))
"""


def pip_schemes(python: str, cases: list[dict], env: dict | None = None) -> list[dict[str, str]]:
    """What ``pip._internal.locations.get_scheme`` answers inside ``python``, per case.

    Paths are normalised (pip leaves a trailing ``/`` on headers for an unnamed
    distribution in a venv; fastinst does not).
    """
    out = subprocess.run(
        [python, "-c", _PIP_SCRIPT, json.dumps(cases)],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",  # no setup.cfg or pip.conf from the test's directory
    )
    if out.returncode != 0:
        raise AssertionError(f"pip failed in {python}:\n{out.stderr}")
    return json.loads(out.stdout)


def pip_site_packages(python: str) -> str:
    """The directory ``pip`` is imported from in ``python``."""
    out = subprocess.run(
        [python, "-c", "import os, pip; print(os.path.dirname(os.path.dirname(pip.__file__)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def running_python() -> str:
    return sys.executable


def stdlib_dir() -> str:
    return sysconfig.get_path("stdlib")


def copy_tree(src: str | Path, dst: str | Path, *, ignore: tuple[str, ...] = ()) -> None:
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns(*ignore))


# --- copies of interpreters --------------------------------------------------------------

# Big parts of the standard library no test here needs.
_STDLIB_SKIP = ("test", "idlelib", "tkinter", "turtledemo", "lib2to3", "*.a")


def copy_interpreter(
    version_dir: str | Path,
    prefix: str | Path,
    *,
    site_packages: tuple[str, ...] | None = None,
) -> str:
    """Copy a pyenv CPython install into ``prefix`` and return its ``bin/pythonX.Y``.

    The copy is self-contained: its executable's RUNPATH (an absolute path into
    the original tree, which other users may not be able to read) is rewritten
    to ``$ORIGIN/../lib`` in the copied bytes. ``site_packages``: the names to
    copy from the original site-packages (``None``: all of it); the sandbox's
    own ``.pth`` hooks are never copied.
    """
    src = Path(version_dir)
    dst = Path(prefix)
    [exe] = [p for p in (src / "bin").glob("python3.*") if p.name[len("python3.") :].isdigit()]
    xy = exe.name[len("python") :]
    (dst / "bin").mkdir(parents=True)
    (dst / "lib").mkdir()
    data = exe.read_bytes()
    old_runpath = str(src / "lib").encode() + b"\0"
    new_runpath = b"$ORIGIN/../lib\0"
    if old_runpath in data and len(new_runpath) <= len(old_runpath):
        padded = new_runpath + b"\0" * (len(old_runpath) - len(new_runpath))
        data = data.replace(old_runpath, padded)
    (dst / "bin" / exe.name).write_bytes(data)
    (dst / "bin" / exe.name).chmod(0o755)
    for alias in ("python3", "python"):
        (dst / "bin" / alias).symlink_to(exe.name)
    for lib in (src / "lib").glob(f"libpython{xy}*.so*"):
        shutil.copy2(lib, dst / "lib" / lib.name, follow_symlinks=False)
    stdlib = src / "lib" / f"python{xy}"
    shutil.copytree(
        stdlib,
        dst / "lib" / f"python{xy}",
        symlinks=True,
        ignore=shutil.ignore_patterns(*_STDLIB_SKIP, "site-packages"),
    )
    site = dst / "lib" / f"python{xy}" / "site-packages"
    site.mkdir()
    for entry in (stdlib / "site-packages").iterdir():
        if entry.name.startswith("_sandboxing"):
            continue
        if site_packages is not None and entry.name.split("-")[0] not in site_packages:
            continue
        if entry.is_dir():
            shutil.copytree(entry, site / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, site / entry.name)
    return str(dst / "bin" / exe.name)


def pyenv_version_dir(minor: str) -> Path | None:
    for interp in find_interpreters():
        if interp.label == minor and interp.exists:
            return Path(interp.path).parent.parent
    return None


# What Fedora/RHEL's CPython patches change, applied at start-up by sitecustomize
# (the copy's stdlib is not patched): platlibdir lib64, /usr/local site
# directories first, sysconfig's posix_prefix with /local outside venvs and RPM
# builds (patch 00251, Fedora 36+) and rpm_prefix as the unpatched original.
_RHEL_SITECUSTOMIZE = '''\
"""Fedora/RHEL-style layout for a test interpreter (written by fastinst's tests)."""
import os
import site
import sys
import sysconfig

sys.platlibdir = "lib64"
_system = sys.prefix == sys.base_prefix and "RPM_BUILD_ROOT" not in os.environ

_schemes = sysconfig._INSTALL_SCHEMES
_schemes["rpm_prefix"] = dict(_schemes["posix_prefix"])
if _system:
    _schemes["posix_prefix"] = dict(
        _schemes["posix_prefix"],
        purelib="{base}/local/lib/python{py_version_short}/site-packages",
        platlib="{platbase}/local/{platlibdir}/python{py_version_short}/site-packages",
        scripts="{base}/local/bin",
        data="{base}/local",
    )
    _local = os.path.join(sys.prefix, "local")
    if _local not in site.PREFIXES:
        site.PREFIXES.insert(0, _local)
    # site has already added the lib directories; add lib64 and /usr/local ones.
    for _d in site.getsitepackages():
        if os.path.isdir(_d) and _d not in sys.path:
            site.addsitedir(_d)
'''

# RHEL's distutils (patch 00251 before Fedora 36): an install without --prefix
# goes to sys.prefix + "/local" outside venvs and RPM builds.
_DISTUTILS_OLD = """\
                self.prefix = os.path.normpath(sys.prefix)
                self.exec_prefix = os.path.normpath(sys.exec_prefix)
"""
_DISTUTILS_NEW = """\
                if (sys.prefix == sys.base_prefix
                        and 'RPM_BUILD_ROOT' not in os.environ):
                    addition = "/local"
                else:
                    addition = ""
                self.prefix = os.path.normpath(sys.prefix) + addition
                self.exec_prefix = os.path.normpath(sys.exec_prefix) + addition
"""


def make_rhel_python(minor: str, root: str | Path) -> str | None:
    """A RHEL-like Python under ``root/usr`` (None when pyenv has no ``minor``).

    Only ``root/usr/lib/pythonX.Y/site-packages`` exists (with pip, as the
    distribution's RPMs would have it); ``usr/lib64/...`` and every
    ``usr/local/...`` site directory are absent, as on a fresh image.
    """
    src = pyenv_version_dir(minor)
    if src is None:
        return None
    prefix = Path(root) / "usr"
    python = copy_interpreter(src, prefix, site_packages=("pip", "setuptools", "_distutils_hack"))
    stdlib = prefix / "lib" / f"python{minor}"
    (stdlib / "sitecustomize.py").write_text(_RHEL_SITECUSTOMIZE)
    install_py = stdlib / "distutils" / "command" / "install.py"
    if install_py.exists():
        text = install_py.read_text()
        assert _DISTUTILS_OLD in text, "distutils changed; update the RHEL patch"
        install_py.write_text(text.replace(_DISTUTILS_OLD, _DISTUTILS_NEW))
    return python


def make_python_with_sitecustomize(minor: str, root: str | Path, code: str) -> str | None:
    """A copy of pyenv's ``minor`` under ``root`` whose sitecustomize runs ``code``."""
    src = pyenv_version_dir(minor)
    if src is None:
        return None
    python = copy_interpreter(src, Path(root), site_packages=("pip",))
    (Path(root) / "lib" / f"python{minor}" / "sitecustomize.py").write_text(code)
    return python


def make_world_readable(path: str | Path) -> None:
    """chmod a+rX below ``path`` (the tree stays root-owned and not writable by others)."""
    for dirpath, _dirnames, filenames in os.walk(path):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                os.chmod(p, os.stat(p).st_mode | 0o444)


def run_as_nobody(
    args: list[str], *, env: dict[str, str], cwd: str = "/", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` as the unprivileged user ``nobody`` with exactly ``env``."""
    cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *args]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def make_shared_dir() -> Path:
    """A root-owned directory in /tmp that every user can read (pytest's are private).

    The caller removes it.
    """
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="fastinst-shared-", dir="/tmp"))
    os.chmod(path, 0o755)
    return path


# fastinst's dependencies, copied for other users (pure Python, or built for the
# running version, which is the version copied).
_DEPENDENCIES = ("packaging", "platformdirs", "installer", "zstandard")


def prepare_for_other_users(shared: Path) -> str | None:
    """Copy this Python version and fastinst (sources and dependencies) into ``shared``.

    Returns the copied interpreter; run it with ``PYTHONPATH=shared/lib``.
    ``None`` when pyenv has no install of the running version.
    """
    import importlib.util

    xy = "{}.{}".format(*sys.version_info[:2])
    src = pyenv_version_dir(xy)
    if src is None:
        return None
    python = copy_interpreter(src, shared / "py", site_packages=())
    lib = shared / "lib"
    here = Path(__file__).resolve().parent.parent / "src" / "fastinst"
    shutil.copytree(here, lib / "fastinst", ignore=shutil.ignore_patterns("__pycache__"))
    for name in _DEPENDENCIES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        if spec.submodule_search_locations:
            pkg = Path(spec.origin).parent
            shutil.copytree(pkg, lib / pkg.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(spec.origin, lib / Path(spec.origin).name)
    make_world_readable(shared)
    return python


def make_home_for_nobody(shared: Path, name: str) -> Path:
    """A home directory for ``nobody`` inside ``shared``."""
    home = shared / name
    home.mkdir()
    os.chown(home, 65534, 65534)
    return home
