"""Compiled wheels installed into other interpreters (``--python``): 3.8, 3.9, a RHEL-like 3.9.

The wheels hold a real C extension, compiled here by gcc against each target's own
headers (``cpXY`` and ``abi3``), tagged as PyPI's manylinux wheels are. Each is
installed by the command line into a venv of that interpreter (or into the
RHEL-like system interpreter itself) and imported there afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fastinst as fastinst_library
from distro import find_interpreters, make_rhel_python
from wheelmaker import make_wheel

TARGETS = {i.label: i for i in find_interpreters()}

HELLO_C = r"""
#ifdef LIMITED
#define Py_LIMITED_API 0x03080000
#endif
#include <Python.h>
static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(42); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "hello", NULL, -1, methods};
PyMODINIT_FUNC PyInit_hello(void) { return PyModule_Create(&module); }
"""


def target(label: str) -> str:
    found = TARGETS[label]
    if not found.exists:
        pytest.skip(f"no Python {label} on this machine")
    if shutil.which("gcc") is None:
        pytest.skip("no C compiler")
    return found.path


def config(python: str) -> dict[str, str]:
    code = (
        "import json, sysconfig; c = {k: sysconfig.get_config_var(k) "
        "for k in ('INCLUDEPY', 'EXT_SUFFIX', 'py_version_nodot')}; "
        "c['platform'] = sysconfig.get_platform(); print(json.dumps(c))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def build_extension_wheel(python: str, directory: Path, *, abi3: bool = False) -> Path:
    """A wheel holding ``hello``, a C extension built for ``python`` (``abi3``: the
    stable ABI of 3.8, tagged ``cp38-abi3``)."""
    cfg = config(python)
    arch = cfg["platform"].split("-", 1)[1].replace("-", "_").replace(".", "_")
    suffix = ".abi3.so" if abi3 else cfg["EXT_SUFFIX"]
    work = directory / ("abi3" if abi3 else cfg["py_version_nodot"])
    work.mkdir(parents=True)
    (work / "hello.c").write_text(HELLO_C)
    so = work / f"hello{suffix}"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O0", *(["-DLIMITED"] if abi3 else []),
         f"-I{cfg['INCLUDEPY']}", str(work / "hello.c"), "-o", str(so)],
        check=True,
    )  # fmt: skip
    nodot = cfg["py_version_nodot"]
    python_tag, abi = ("cp38", "abi3") if abi3 else (f"cp{nodot}", f"cp{nodot}")
    platform = f"manylinux_2_17_{arch}.manylinux2014_{arch}"
    return make_wheel(
        work,
        name="hello",
        version="1.0",
        tag=f"{python_tag}-{abi}-{platform}",
        purelib=False,
        files={so.name: so.read_bytes()},
    )


def fastinst(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fastinst", *args], capture_output=True, text=True)


def imports_hello(python: str) -> str:
    out = subprocess.run(
        [python, "-c", "import hello; print(hello.answer(), hello.__file__)"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("cache", ["cache", "no-cache"])
@pytest.mark.parametrize("abi3", [False, True], ids=["cpXY", "abi3"])
@pytest.mark.parametrize("label", ["3.8", "3.9"])
def test_compiled_wheel_into_a_venv(label, abi3, cache, tmp_path):
    python = target(label)
    wheel = build_extension_wheel(python, tmp_path / "build", abi3=abi3)
    env = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", "--without-pip", str(env)], check=True)
    options = ["--no-cache"] if cache == "no-cache" else []
    proc = fastinst("install", "--python", str(env / "bin" / "python"), *options, str(wheel))
    assert proc.returncode == 0, proc.stderr
    assert imports_hello(str(env / "bin" / "python")).startswith("42 " + str(env))


@pytest.mark.parametrize("abi3", [False, True], ids=["cpXY", "abi3"])
@pytest.mark.parametrize("label", ["3.8", "3.9"])
def test_compiled_wheel_by_the_library(label, abi3, tmp_path):
    """install() checks the wheel's tags against the scheme's interpreter itself."""
    python = target(label)
    wheel = build_extension_wheel(python, tmp_path / "build", abi3=abi3)
    subprocess.run([python, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    env_python = str(tmp_path / "venv" / "bin" / "python")
    [result] = fastinst_library.install([wheel], fastinst_library.get_scheme(env_python))
    assert result.name == "hello"
    assert imports_hello(env_python).startswith(f"42 {tmp_path / 'venv'}")


def test_compiled_wheel_of_another_version_is_refused(tmp_path):
    py38, py39 = target("3.8"), target("3.9")
    wheel = build_extension_wheel(py38, tmp_path / "build")
    env = tmp_path / "venv"
    subprocess.run([py39, "-m", "venv", "--without-pip", str(env)], check=True)
    proc = fastinst("install", "--python", str(env / "bin" / "python"), str(wheel))
    assert proc.returncode == 1
    [line] = proc.stderr.splitlines()
    assert "not compatible with" in line and "accepts cp39-cp39-" in line
    assert "the wheel is tagged cp38-cp38-manylinux" in line


@pytest.fixture(scope="module")
def rhel39(tmp_path_factory):
    """A RHEL-like system Python 3.9 (tests/distro.py), as uv#2353 describes."""
    python = make_rhel_python("3.9", tmp_path_factory.mktemp("rhel"))
    if python is None:
        pytest.skip("no pyenv Python 3.9 to build a RHEL-like one from")
    return python


@pytest.mark.parametrize("abi3", [False, True], ids=["cp39", "abi3"])
def test_compiled_wheel_into_a_rhel_like_system_python(rhel39, abi3, tmp_path):
    """By the command line, then by the library."""
    wheel = build_extension_wheel(target("3.9"), tmp_path / "build", abi3=abi3)
    proc = fastinst("install", "--python", rhel39, "--break-system-packages", str(wheel))
    assert proc.returncode == 0, proc.stderr
    usr = Path(rhel39).parent.parent
    # Root-Is-Purelib: false, so platlib: lib64 under /usr/local, as pip puts it.
    assert imports_hello(rhel39).startswith(f"42 {usr}/local/lib64/python3.9/site-packages/")
    proc = fastinst("uninstall", "--python", rhel39, "hello")
    assert proc.returncode == 0, proc.stderr
    # The library's install() into the same system scheme, then the CLI's uninstall.
    fastinst_library.install([wheel], fastinst_library.get_scheme(rhel39))
    assert imports_hello(rhel39).startswith(f"42 {usr}/local/lib64/python3.9/site-packages/")
    proc = fastinst("uninstall", "--python", rhel39, "hello")
    assert proc.returncode == 0, proc.stderr


def test_bytecode_compiled_by_a_38_target(tmp_path):
    """The bytecode worker runs on the oldest target too."""
    python = target("3.8")
    env = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", "--without-pip", str(env)], check=True)
    wheel = make_wheel(tmp_path, name="pure", files={"pure/__init__.py": "X = 1\n"})
    proc = fastinst("install", "--python", str(env / "bin" / "python"), "--compile", str(wheel))
    assert proc.returncode == 0, proc.stderr
    assert list(
        (env / "lib" / "python3.8" / "site-packages" / "pure").glob(
            "__pycache__/__init__.cpython-38.pyc"
        )
    )
