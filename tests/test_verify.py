"""``fastinst.verify`` and ``fastinst verify``: installed files against their RECORDs.

Real wheels installed by fastinst (and by pip) into real venvs and schemes, then
edited, truncated, removed, added to, the way a person or a broken tool would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastinst
from conftest import run_cli
from fastinst._verify import BYTECODE, MISSING, MODIFIED, NOT_A_FILE, OUTSIDE, UNLISTED, verify
from wheelmaker import WheelSpec, build_members, make_wheel, wheel_filename, write_zip

VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture
def installed(scheme, wheel_dir):
    """demo 1.0 (a package, a module, a console script) and tool 2.0, installed."""
    demo = make_wheel(
        wheel_dir,
        name="demo",
        files={"demo/__init__.py": "A = 1\n", "demo/sub/data.txt": "data\n", "demo_mod.py": ""},
        entry_points={"console_scripts": {"demo": "demo:main"}},
    )
    tool = make_wheel(wheel_dir, name="tool", version="2.0", files={"tool/__init__.py": "B = 2\n"})
    fastinst.install([demo, tool], scheme, cache_dir=None)
    return scheme


def kinds(result) -> list[tuple[str, str]]:
    return [(os.path.basename(i.path), i.kind) for i in result.differences]


def by_name(results) -> dict:
    return {r.name: r for r in results}


class TestLibrary:
    def test_fresh_install_matches(self, installed, core):
        results = verify(None, installed)
        assert [(r.name, r.ok) for r in results] == [("demo", True), ("tool", True)]
        demo = by_name(results)["demo"]
        # package files, module, METADATA, WHEEL, entry_points.txt, INSTALLER, REQUESTED?
        assert demo.checked >= 6
        assert demo.notes == ()  # RECORD's own row needs no note

    def test_an_edit_of_the_same_size_is_named(self, installed, core):
        path = Path(installed.purelib, "demo", "__init__.py")
        path.write_text("A = 2\n")
        (demo,) = verify(["demo"], installed)
        assert not demo.ok
        assert demo.differences[0].path == str(path)
        assert demo.differences[0].kind == MODIFIED
        assert demo.differences[0].detail == "sha256 differs from RECORD"

    def test_a_size_change_is_named_without_hashing(self, installed):
        path = Path(installed.purelib, "demo", "sub", "data.txt")
        path.write_text("longer data\n")
        (demo,) = verify(["demo"], installed)
        assert kinds(demo) == [("data.txt", MODIFIED)]
        assert demo.differences[0].detail == "size is 12, RECORD says 5"

    def test_missing_files_and_scripts(self, installed):
        os.unlink(Path(installed.purelib, "demo_mod.py"))
        os.unlink(Path(installed.scripts, "demo"))
        (demo,) = verify(["demo"], installed)
        assert sorted(kinds(demo)) == [("demo", MISSING), ("demo_mod.py", MISSING)]

    def test_a_file_added_to_a_package_is_unlisted(self, installed):
        Path(installed.purelib, "demo", "sub", "extra.py").write_text("")
        Path(installed.purelib, "demo-1.0.dist-info", "extra").write_text("")
        Path(installed.purelib, "stray.py").write_text("")  # in no package: nobody's
        results = by_name(verify(None, installed))
        assert sorted(kinds(results["demo"])) == [("extra", UNLISTED), ("extra.py", UNLISTED)]
        assert results["tool"].ok

    def test_bytecode_is_a_note_not_a_difference(self, installed):
        cache = Path(installed.purelib, "demo", "__pycache__")
        cache.mkdir()
        (cache / f"__init__.cpython-{VERSION.replace('.', '')}.pyc").write_bytes(b"\0")
        (demo,) = verify(["demo"], installed)
        assert demo.ok
        assert [n.kind for n in demo.notes] == [BYTECODE]

    def test_a_namespace_package_shared_by_two_distributions(self, scheme, wheel_dir):
        a = make_wheel(wheel_dir, name="ns-a", files={"ns/a/__init__.py": ""})
        b = make_wheel(wheel_dir, name="ns-b", files={"ns/b/__init__.py": ""})
        fastinst.install([a, b], scheme, cache_dir=None)
        assert all(r.ok for r in verify(None, scheme))
        Path(scheme.purelib, "ns", "c.py").write_text("")
        results = by_name(verify(None, scheme))
        # Both own "ns": each names the file no RECORD lists.
        assert kinds(results["ns-a"]) == [("c.py", UNLISTED)]
        assert kinds(results["ns-b"]) == [("c.py", UNLISTED)]

    def test_other_algorithms_are_checked(self, scheme, tmp_path):
        import base64
        import hashlib

        spec = WheelSpec(name="other", files={"other.py": "X = 1\n"})
        members = build_members(spec)
        record = members[-1]
        digest = base64.urlsafe_b64encode(hashlib.sha512(b"X = 1\n").digest()).rstrip(b"=")
        record.data = record.data.replace(
            next(ln for ln in record.data.split(b"\n") if ln.startswith(b"other.py,")),
            b"other.py,sha512=" + digest + b",6",
        )
        wheel = write_zip(tmp_path / wheel_filename(spec), members)
        fastinst.install([wheel], scheme, cache_dir=None)
        assert verify(["other"], scheme)[0].ok
        Path(scheme.purelib, "other.py").write_text("X = 2\n")
        assert verify(["other"], scheme)[0].differences[0].detail == "sha512 differs from RECORD"

    def test_a_fifo_in_record_is_not_read(self, installed):
        path = Path(installed.purelib, "demo_mod.py")
        path.unlink()
        os.mkfifo(path)
        (demo,) = verify(["demo"], installed)  # would block forever if it were opened
        assert kinds(demo) == [("demo_mod.py", NOT_A_FILE)]

    def test_a_record_row_outside_the_environment_is_not_followed(self, installed, tmp_path):
        secret = tmp_path / "secret"
        secret.write_text("s")
        record = Path(installed.purelib, "demo-1.0.dist-info", "RECORD")
        rel = os.path.relpath(secret, installed.purelib)
        record.write_text(record.read_text() + f"{rel},sha256=AAAA,1\n")
        (demo,) = verify(["demo"], installed)
        assert kinds(demo) == [("secret", OUTSIDE)]

    def test_a_distribution_without_record_is_noted(self, installed):
        os.unlink(Path(installed.purelib, "tool-2.0.dist-info", "RECORD"))
        (tool,) = verify(["tool"], installed)
        assert tool.ok and tool.checked == 0
        assert [n.kind for n in tool.notes] == ["no RECORD"]

    def test_an_unknown_name(self, installed):
        with pytest.raises(fastinst.NotInstalled):
            verify(["demo", "nope"], installed)

    def test_an_edit_through_a_cache_hardlink(self, scheme, wheel_dir, tmp_path):
        """The issue's case: a hardlinked file edited in place edits the cache too."""
        wheel = make_wheel(wheel_dir, name="linked", files={"linked.py": "X = 1\n"})
        fastinst.install([wheel], scheme, cache_dir=tmp_path / "cache", link_mode="hardlink")
        path = Path(scheme.purelib, "linked.py")
        assert path.stat().st_nlink == 2
        os.chmod(path, 0o644)  # the cache keeps it read-only; a person or tool chmods it
        path.write_text("X = 2\n")
        (result,) = verify(["linked"], scheme)
        assert kinds(result) == [("linked.py", MODIFIED)]


def venv_python(env: Path) -> str:
    return str(env / "bin" / "python")


class TestCommandLine:
    def test_pip_install_then_edit(self, venv_factory, wheel_dir):
        """pip's RECORD (bytecode listed without hashes) verifies; an edit is named, exit 1."""
        env = venv_factory("verify-pip")
        wheel = make_wheel(wheel_dir, name="demo", files={"demo/__init__.py": "A = 1\n"})
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        clean["PIP_CONFIG_FILE"] = os.devnull
        pip = [sys.executable, "-m", "pip", "--python", venv_python(env), "install", "-q"]
        subprocess.run([*pip, "--no-index", "--no-deps", str(wheel)], check=True, env=clean)
        proc = run_cli("verify", "--python", venv_python(env))
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines()[-1].startswith("verified 1 distribution, ")
        assert "no differences; 1 bytecode file" in proc.stdout

        site = env / "lib" / f"python{VERSION}" / "site-packages"
        (site / "demo" / "__init__.py").write_text("A = 9\n")
        proc = run_cli("verify", "--python", venv_python(env), "demo")
        assert proc.returncode == 1, proc.stderr
        assert proc.stdout.splitlines()[:2] == [
            "demo 1.0: 1 difference",
            f"  modified   {site / 'demo' / '__init__.py'}: sha256 differs from RECORD",
        ]
        assert "1 differs (demo 1.0)" in proc.stdout

        data = json.loads(run_cli("verify", "--python", venv_python(env), "--json").stdout)
        assert data["ok"] is False
        (dist,) = data["distributions"]
        assert dist["differences"] == [
            {
                "path": str(site / "demo" / "__init__.py"),
                "kind": "modified",
                "detail": "sha256 differs from RECORD",
            }
        ]
        assert [n["kind"] for n in dist["notes"]] == ["bytecode"]

    def test_unknown_name_is_one_line(self, venv_factory):
        env = venv_factory("verify-none")
        proc = run_cli("verify", "--python", venv_python(env), "nothing-here")
        assert proc.returncode == 1
        assert proc.stderr.strip().splitlines() == [
            f"fastinst: error: nothing-here is not installed in "
            f"{env / 'lib' / f'python{VERSION}' / 'site-packages'}"
        ]

    def test_unknown_name_in_a_debian_venv_names_what_exists(self, tmp_path):
        """Debian's interpreter reads three dist-packages directories in a venv, were
        they there: the message names the one that is (``where`` keeps them all)."""
        debian = "/usr/bin/python3"
        ask = "import sysconfig; print('posix_local' in sysconfig.get_scheme_names())"
        if (
            not os.path.exists(debian)
            or subprocess.run([debian, "-c", ask], capture_output=True, text=True).stdout.strip()
            != "True"
        ):
            pytest.skip("no Debian python3 here")
        env = tmp_path / "deb-venv"
        subprocess.run([debian, "-m", "venv", "--without-pip", str(env)], check=True)
        scheme = fastinst.get_scheme(str(env / "bin" / "python"))
        assert len(scheme.library_dirs()) > 1  # what makes this case
        with pytest.raises(fastinst.NotInstalled) as info:
            verify(["nothing-here"], scheme)
        (site,) = [d for d in info.value.where if os.path.isdir(d)]
        assert info.value.where == list(scheme.library_dirs())
        assert str(info.value) == f"nothing-here is not installed in {site}"

    def test_help(self):
        proc = run_cli("verify", "--help")
        assert proc.returncode == 0
        assert "exit codes:" in proc.stdout and "RECORD" in proc.stdout
