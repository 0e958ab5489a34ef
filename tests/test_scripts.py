"""Launchers and shebangs, for every platform installer knows (pure functions: the
platform is given, not detected, so the Windows cases run here honestly)."""

from __future__ import annotations

import io
import zipfile

import pytest

from fastinst._scripts import fix_script, launcher_kind, make_launcher, shebang
from fastinst._wheel import EntryPoint


@pytest.mark.parametrize(
    ("platform", "machine", "kind"),
    [
        ("linux", "x86_64", "posix"),
        ("darwin", "arm64", "posix"),
        ("freebsd14", "amd64", "posix"),
        ("win32", "AMD64", "win-amd64"),
        ("win32", "ARM64", "win-arm64"),
        ("win32", "x86", "win-ia32"),
        ("win32", "ARM", "win-arm"),
    ],
)
def test_launcher_kind(platform, machine, kind):
    assert launcher_kind(platform, machine) == kind


@pytest.mark.parametrize("kind", ["win-amd64", "win-arm64", "win-ia32"])
@pytest.mark.parametrize("section", ["console", "gui"])
def test_windows_launchers(kind, section):
    ep = EntryPoint("tool", "pkg.cli", "main", section)
    python = r"C:\Program Files\Python311\python.exe"
    name, data = make_launcher(ep, python, kind)
    assert name == "tool.exe"
    assert data[:2] == b"MZ"  # a PE executable with the script appended
    expected = python if section == "console" else python.replace("python.exe", "pythonw.exe")
    assert b"#!" + expected.encode() + b"\n" in data
    archive = zipfile.ZipFile(io.BytesIO(data[data.rindex(b"PK\x03\x04") :]))
    assert b"from pkg.cli import main" in archive.read("__main__.py")


def test_posix_launcher():
    name, data = make_launcher(EntryPoint("tool", "pkg.cli", "main", "console"), "/venv/bin/python")
    assert name == "tool"
    assert data.startswith(b"#!/venv/bin/python\n")
    assert b"sys.exit(main())" in data


@pytest.mark.parametrize(
    ("python", "simple"),
    [
        ("/usr/bin/python3", True),
        ("/opt/my python/bin/python", False),
        ("/" + "d/" * 70 + "py", False),
    ],
)
def test_shebang_forms(python, simple):
    line = shebang(python)
    if simple:
        assert line == b"#!" + python.encode()
    else:
        assert line.startswith(b"#!/bin/sh\n'''exec' ")
        assert b'"$0" "$@"' in line


@pytest.mark.parametrize(
    ("script", "fixed"),
    [
        (b"#!python\nprint(1)\n", b"#!/py\nprint(1)\n"),
        (b"#!pythonw -u\r\nprint(1)\n", b"#!/py\nprint(1)\n"),
        (b"#!/bin/sh\necho\n", b"#!/bin/sh\necho\n"),
        (b"#!python", b"#!/py\n"),
        (b"", b""),
    ],
)
def test_fix_script_as_pip_does(script, fixed):
    assert fix_script(script, "/py") == fixed
