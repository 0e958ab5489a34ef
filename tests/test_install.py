"""End-to-end installs of wheels the tests build, with both cores."""

from __future__ import annotations

import base64
import csv
import hashlib
import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastinst
from conftest import tree_snapshot
from filesystems import tmpfs
from wheelmaker import (
    ZIP_ZSTANDARD,
    WheelSpec,
    build_members,
    make_wheel,
    rewrite_wheel,
    wheel_filename,
    write_zip,
    write_zip_raw,
)

pytestmark = pytest.mark.usefixtures("core")


@pytest.fixture(params=["archive", "cache"])
def do_install(request, tmp_path):
    """fastinst.install straight from the archives, or through a fresh cache."""
    cache_dir = None if request.param == "archive" else tmp_path / "cache"

    def run(wheels, scheme, **kwargs):
        kwargs.setdefault("cache_dir", cache_dir)
        return fastinst.install(wheels, scheme, **kwargs)

    return run


def read_record(dist_info: Path) -> list[list[str]]:
    with open(dist_info / "RECORD", newline="") as f:
        return list(csv.reader(f))


def assert_record_true(dist_info: Path) -> None:
    """Every RECORD row names an existing file with that hash and size."""
    for path, digest, size in read_record(dist_info):
        target = (dist_info.parent / path).resolve()
        assert target.is_file(), path
        if path.endswith("/RECORD"):
            assert (digest, size) == ("", "")
            continue
        data = target.read_bytes()
        expected = (
            "sha256="
            + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        )
        assert (digest, size) == (expected, str(len(data))), path


class TestBasicInstall:
    def test_files_land_in_purelib(self, do_install, wheel_dir, scheme):
        whl = make_wheel(
            wheel_dir,
            name="demo",
            files={"demo/__init__.py": "VALUE = 1\n", "demo/sub/data.bin": bytes(range(256)) * 100},
        )
        [result] = do_install([whl], scheme)
        purelib = Path(scheme.purelib)
        assert (purelib / "demo/__init__.py").read_text() == "VALUE = 1\n"
        assert (purelib / "demo/sub/data.bin").read_bytes() == bytes(range(256)) * 100
        assert result.name == "demo" and result.version == "1.0"
        assert result.dist_info == str(purelib / "demo-1.0.dist-info")
        assert str(purelib / "demo/__init__.py") in result.files
        assert (purelib / "demo-1.0.dist-info/INSTALLER").read_text() == "fastinst\n"
        assert not (purelib / "demo-1.0.dist-info/REQUESTED").exists()
        assert not Path(scheme.platlib).exists()
        assert_record_true(purelib / "demo-1.0.dist-info")

    def test_platlib_when_not_purelib(self, do_install, wheel_dir, scheme):
        whl = make_wheel(
            wheel_dir,
            name="native",
            purelib=False,
            tag="cp311-cp311-linux_x86_64",
            files={"native/__init__.py": ""},
        )
        do_install([whl], scheme, ignore_tags=True)  # the scheme's interpreter is made up
        assert (Path(scheme.platlib) / "native/__init__.py").exists()
        assert (Path(scheme.platlib) / "native-1.0.dist-info/RECORD").exists()
        assert not Path(scheme.purelib, "native").exists()

    def test_mapping_scheme_and_missing_directories(self, do_install, wheel_dir, tmp_path):
        whl = make_wheel(wheel_dir, files={"demo.py": "x = 1\n"})
        base = tmp_path / "does" / "not" / "exist"
        paths = {k: str(base / k) for k in ("purelib", "platlib", "headers", "scripts", "data")}
        do_install([whl], paths)
        assert (base / "purelib/demo.py").exists()

    def test_requested_direct_url_and_installer_name(self, do_install, wheel_dir, scheme):
        whl = make_wheel(wheel_dir, files={"demo.py": ""})
        url = {"url": "file:///x/demo-1.0-py3-none-any.whl", "archive_info": {}}
        do_install([whl], scheme, requested=True, direct_url={str(whl): url}, installer_name="tool")
        info = Path(scheme.purelib, "demo-1.0.dist-info")
        assert (info / "REQUESTED").read_bytes() == b""
        assert (info / "INSTALLER").read_text() == "tool\n"
        assert (
            '"url": "file:///x/demo-1.0-py3-none-any.whl"' in (info / "direct_url.json").read_text()
        )
        assert_record_true(info)

    @pytest.mark.parametrize("warm", [False, True])
    def test_a_wheels_own_installer_is_replaced(self, do_install, wheel_dir, scheme, warm):
        # pip writes its INSTALLER (and REQUESTED, direct_url.json) over the ones a
        # wheel ships; fastinst writes them while the core links the wheel's
        # files, so the wheel's own must be left out, not raced with.
        own = {
            "demo-1.0.dist-info/INSTALLER": "builder\n",
            "demo-1.0.dist-info/REQUESTED": "wheel's own\n",
            "demo-1.0.dist-info/direct_url.json": '{"url": "file:///elsewhere"}',
        }
        whl = make_wheel(wheel_dir, files={"demo.py": "", **own})
        url = {"url": "file:///x/demo-1.0-py3-none-any.whl", "archive_info": {}}
        if warm:  # the second install links from the entry the first one made
            do_install([whl], scheme)
        do_install([whl], scheme, requested=True, direct_url={str(whl): url})
        info = Path(scheme.purelib, "demo-1.0.dist-info")
        assert (info / "INSTALLER").read_text() == "fastinst\n"
        assert (info / "REQUESTED").read_bytes() == b""
        assert "file:///x/demo" in (info / "direct_url.json").read_text()
        paths = [row[0] for row in read_record(info)]
        assert len(paths) == len(set(paths))  # each file once, with its true hash
        assert {f"demo-1.0.dist-info/{n}" for n in ("INSTALLER", "REQUESTED")} <= set(paths)
        assert_record_true(info)
        # What fastinst does not write this time is the wheel's.
        do_install([whl], scheme, installer_name=None)
        assert (info / "INSTALLER").read_text() == "builder\n"
        assert (info / "REQUESTED").read_text() == "wheel's own\n"
        assert '"file:///elsewhere"' in (info / "direct_url.json").read_text()
        assert_record_true(info)

    def test_executable_bits_kept(self, do_install, wheel_dir, scheme):
        whl = make_wheel(
            wheel_dir,
            files={"demo/tool.sh": "#!/bin/sh\n", "demo/plain.txt": "x"},
            executables={"demo/tool.sh"},
        )
        do_install([whl], scheme)
        assert os.stat(Path(scheme.purelib, "demo/tool.sh")).st_mode & 0o111
        assert not os.stat(Path(scheme.purelib, "demo/plain.txt")).st_mode & 0o111

    def test_many_wheels_at_once(self, do_install, wheel_dir, scheme):
        wheels = [
            make_wheel(
                wheel_dir,
                name=f"pkg{i}",
                files={f"pkg{i}/m{j}.py": f"X = {j}\n" for j in range(30)},
            )
            for i in range(6)
        ]
        results = do_install(wheels, scheme, jobs=2)
        assert [r.name for r in results] == [f"pkg{i}" for i in range(6)]
        for i in range(6):
            assert Path(scheme.purelib, f"pkg{i}/m29.py").read_text() == "X = 29\n"

    def test_zstd_members(self, do_install, wheel_dir, scheme):
        spec = WheelSpec(
            name="zed", files={"zed/__init__.py": "Z = 'zstd'\n" * 50, "zed/s.txt": "stored"}
        )
        members = build_members(spec)
        members[0].compress = ZIP_ZSTANDARD
        members[1].compress = 0
        whl = write_zip(wheel_dir / wheel_filename(spec), members)
        do_install([whl], scheme)
        assert Path(scheme.purelib, "zed/__init__.py").read_text() == "Z = 'zstd'\n" * 50
        assert Path(scheme.purelib, "zed/s.txt").read_text() == "stored"

    def test_big_zstd_member_checked_against_record(self, do_install, wheel_dir, scheme):
        """A 6 MiB zstd member is streamed with the same checks: a changed byte is refused."""
        big = b"".join(b"line %d of a zstd member\n" % i for i in range(250_000))
        spec = WheelSpec(name="zed", files={"zed/big.txt": big, "zed/__init__.py": ""})
        members = build_members(spec)
        for m in members:
            m.compress = ZIP_ZSTANDARD
        whl = write_zip(wheel_dir / wheel_filename(spec), members)
        do_install([whl], scheme)
        assert Path(scheme.purelib, "zed/big.txt").read_bytes() == big
        members[0].data = big[:-2] + b"!\n"  # RECORD still has the old hash
        (wheel_dir / "bad").mkdir()
        bad = write_zip(wheel_dir / "bad" / wheel_filename(spec), members)
        with pytest.raises(fastinst.RecordMismatch) as info:
            do_install([bad], scheme)
        assert info.value.member == "zed/big.txt"

    def test_zstd_window_over_8_mib_is_refused(self, do_install, wheel_dir, scheme):
        spec = WheelSpec(name="zed", files={"zed/w.bin": bytes(range(256)) * (17 << 12)})
        members = build_members(spec)
        members[0].compress = ZIP_ZSTANDARD
        whl = write_zip_raw(wheel_dir / wheel_filename(spec), members, zstd_window_log=24)
        with pytest.raises(fastinst.CorruptArchive, match="zstd window over 8 MiB") as info:
            do_install([whl], scheme)
        assert (info.value.wheel, info.value.member) == (str(whl), "zed/w.bin")
        assert not Path(scheme.purelib, "zed").exists()


class TestDataAndScripts:
    def test_data_routing(self, do_install, wheel_dir, scheme):
        whl = make_wheel(
            wheel_dir,
            files={
                "demo/__init__.py": "",
                "demo-1.0.data/purelib/pure.py": "p",
                "demo-1.0.data/platlib/plat.py": "q",
                "demo-1.0.data/headers/demo.h": "#define X 1\n",
                "demo-1.0.data/data/share/demo/file.txt": "data",
                "demo-1.0.data/scripts/run-demo": "#!python\nprint('hi')\n",
                "demo-1.0.data/scripts/shell-tool": "#!/bin/sh\necho hi\n",
            },
        )
        do_install([whl], scheme)
        assert Path(scheme.purelib, "pure.py").read_text() == "p"
        assert Path(scheme.platlib, "plat.py").read_text() == "q"
        assert Path(scheme.headers, "demo.h").read_text() == "#define X 1\n"
        assert Path(scheme.data, "share/demo/file.txt").read_text() == "data"
        script = Path(scheme.scripts, "run-demo")
        assert script.read_text() == f"#!{scheme.python}\nprint('hi')\n"
        assert script.stat().st_mode & 0o111
        assert Path(scheme.scripts, "shell-tool").read_text() == "#!/bin/sh\necho hi\n"
        assert Path(scheme.scripts, "shell-tool").stat().st_mode & 0o111
        info = Path(scheme.purelib, "demo-1.0.dist-info")
        assert_record_true(info)
        rows = {r[0] for r in read_record(info)}
        assert os.path.relpath(script, scheme.purelib) in rows
        assert not Path(scheme.purelib, "demo-1.0.data").exists()

    def test_entry_points(self, do_install, wheel_dir, scheme):
        whl = make_wheel(
            wheel_dir,
            files={"demo/__init__.py": "def main():\n    print('main ran')\n"},
            entry_points={
                "console_scripts": {"demo-cli": "demo:main"},
                "gui_scripts": {"demo-gui": "demo:main"},
            },
        )
        do_install([whl], scheme)
        for name in ("demo-cli", "demo-gui"):
            launcher = Path(scheme.scripts, name)
            text = launcher.read_text()
            assert text.startswith(f"#!{scheme.python}\n")
            assert "from demo import main" in text and "sys.exit(main())" in text
            assert launcher.stat().st_mode & 0o111
        assert_record_true(Path(scheme.purelib, "demo-1.0.dist-info"))

    def test_launcher_runs_in_a_real_venv(self, do_install, wheel_dir, venv_factory):
        env = venv_factory("launch")
        py = env / "bin" / "python"
        scheme = fastinst.get_scheme(str(py))
        whl = make_wheel(
            wheel_dir,
            name="hello",
            files={"hello/__init__.py": "def main():\n    print('hello from', __name__)\n"},
            entry_points={"console_scripts": {"hello": "hello:main"}},
        )
        do_install([whl], scheme)
        out = subprocess.run([env / "bin" / "hello"], capture_output=True, text=True, check=True)
        assert out.stdout == "hello from hello\n"

    def test_long_interpreter_path_uses_sh_exec(self, do_install, wheel_dir, scheme):
        long_python = "/opt/" + "very-long-directory-name/" * 6 + "with space/python"
        scheme = fastinst.Scheme(**scheme.as_dict(), python=long_python)
        whl = make_wheel(
            wheel_dir,
            files={"demo/__init__.py": ""},
            entry_points={"console_scripts": {"demo": "demo:main"}},
        )
        do_install([whl], scheme)
        text = Path(scheme.scripts, "demo").read_text()
        assert text.startswith("#!/bin/sh\n'''exec' '/opt/")


def test_no_verify_record_installs_a_mismatched_wheel(do_install, wheel_dir, scheme):
    whl = make_wheel(wheel_dir, files={"demo/__init__.py": "x = 1\n"})
    rewrite_wheel(whl, replace={"demo/__init__.py": b"x = 2\n"})
    with pytest.raises(fastinst.RecordMismatch):
        do_install([whl], scheme)
    do_install([whl], scheme, verify_record=False)
    assert Path(scheme.purelib, "demo/__init__.py").read_text() == "x = 2\n"
    assert_record_true(Path(scheme.purelib, "demo-1.0.dist-info"))


def test_one_bad_wheel_installs_nothing(do_install, wheel_dir, scheme, tmp_path):
    good = make_wheel(
        wheel_dir, name="good", files={"good/__init__.py": "", "good/big.bin": os.urandom(1 << 20)}
    )
    bad_dir = wheel_dir / "bad"
    bad_dir.mkdir()
    bad = make_wheel(bad_dir, name="bad", files={"bad/__init__.py": "x = 1\n"})
    rewrite_wheel(bad, replace={"bad/__init__.py": b"x = 2\n"})
    with pytest.raises(fastinst.RecordMismatch):
        do_install([good, bad], scheme)
    assert tree_snapshot(Path(scheme.purelib).parent) == {}


class TestUpgrade:
    def test_upgrade_replaces_old_files(self, do_install, wheel_dir, scheme):
        v1 = make_wheel(
            wheel_dir,
            name="demo",
            version="1.0",
            files={"demo/__init__.py": "V = 1\n", "demo/old_only.py": "", "demo/shared/x.py": "1"},
            entry_points={"console_scripts": {"demo-old": "demo:main"}},
        )
        do_install([v1], scheme)
        assert Path(scheme.purelib, "demo/old_only.py").exists()
        v2_dir = wheel_dir / "v2"
        v2_dir.mkdir()
        v2 = make_wheel(
            v2_dir,
            name="demo",
            version="2.0",
            files={"demo/__init__.py": "V = 2\n", "demo/new_only.py": "", "demo/shared/x.py": "2"},
        )
        [result] = do_install([v2], scheme)
        purelib = Path(scheme.purelib)
        assert result.replaced == "1.0"
        assert (purelib / "demo/__init__.py").read_text() == "V = 2\n"
        assert (purelib / "demo/shared/x.py").read_text() == "2"
        assert (purelib / "demo/new_only.py").exists()
        assert not (purelib / "demo/old_only.py").exists()
        assert not (purelib / "demo-1.0.dist-info").exists()
        assert not Path(scheme.scripts, "demo-old").exists()
        assert_record_true(purelib / "demo-2.0.dist-info")

    def test_failed_upgrade_keeps_old_version(self, do_install, wheel_dir, scheme):
        v1 = make_wheel(
            wheel_dir, name="demo", version="1.0", files={"demo/__init__.py": "V = 1\n"}
        )
        do_install([v1], scheme)
        before = tree_snapshot(Path(scheme.purelib).parent)
        v2_dir = wheel_dir / "v2"
        v2_dir.mkdir()
        v2 = make_wheel(v2_dir, name="demo", version="2.0", files={"demo/__init__.py": "V = 2\n"})
        rewrite_wheel(v2, replace={"demo/__init__.py": b"tampered"})
        with pytest.raises(fastinst.RecordMismatch):
            do_install([v2], scheme)
        assert tree_snapshot(Path(scheme.purelib).parent) == before

    def test_reinstall_same_version(self, do_install, wheel_dir, scheme):
        whl = make_wheel(wheel_dir, files={"demo/__init__.py": "V = 1\n"})
        do_install([whl], scheme)
        do_install([whl], scheme)
        assert Path(scheme.purelib, "demo/__init__.py").read_text() == "V = 1\n"
        assert_record_true(Path(scheme.purelib, "demo-1.0.dist-info"))


def test_read_only_target_is_refused_cleanly(do_install, wheel_dir, tmp_path):
    """A target on a read-only filesystem: PermissionDenied, and nothing changes."""
    whl = make_wheel(wheel_dir, files={"demo.py": ""})
    with tmpfs(tmp_path / "ro", size="8m") as fs:
        (fs / "site").mkdir()
        (fs / "site" / "existing.py").write_text("keep\n")
        subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
        before = tree_snapshot(fs)
        paths = {k: str(fs / "site") for k in ("purelib", "platlib", "headers", "scripts", "data")}
        with pytest.raises(fastinst.PermissionDenied) as info:
            do_install([whl], paths)
        assert "nothing was installed" in str(info.value)
        assert tree_snapshot(fs) == before


class TestEmbeddingOptions:
    def test_dry_run_touches_nothing_and_tells_the_plan(
        self, do_install, wheel_dir, scheme, tmp_path
    ):
        v1 = make_wheel(
            wheel_dir,
            name="demo",
            version="1.0",
            files={"demo/__init__.py": "V = 1\n", "demo/old.py": ""},
        )
        do_install([v1], scheme)
        before = tree_snapshot(tmp_path)
        v2_dir = wheel_dir / "v2"
        v2_dir.mkdir()
        v2 = make_wheel(
            v2_dir,
            name="demo",
            version="2.0",
            files={"demo/__init__.py": "V = 2\n"},
            entry_points={"console_scripts": {"demo": "demo:main"}},
        )
        [plan] = do_install([v2], scheme, dry_run=True, requested=True)
        assert tree_snapshot(tmp_path, exclude=("cache", "wheels")) == {
            k: v for k, v in before.items() if not k.startswith("wheels")
        }
        purelib = Path(scheme.purelib)
        assert plan.replaced == "1.0"
        assert str(purelib / "demo/__init__.py") in plan.files
        assert str(Path(scheme.scripts, "demo")) in plan.files
        assert str(purelib / "demo-2.0.dist-info/REQUESTED") in plan.files
        assert str(purelib / "demo/old.py") in plan.removed
        assert str(purelib / "demo/__init__.py") not in plan.removed

    def test_removed_files_are_reported(self, do_install, wheel_dir, scheme):
        v1 = make_wheel(
            wheel_dir, name="demo", version="1.0", files={"demo/__init__.py": "", "demo/old.py": ""}
        )
        do_install([v1], scheme)
        v2_dir = wheel_dir / "v2"
        v2_dir.mkdir()
        v2 = make_wheel(v2_dir, name="demo", version="2.0", files={"demo/__init__.py": ""})
        [r] = do_install([v2], scheme)
        assert str(Path(scheme.purelib, "demo/old.py")) in r.removed
        assert str(Path(scheme.purelib, "demo-1.0.dist-info")) in r.removed

    def test_progress_events(self, do_install, wheel_dir, scheme):
        wheels = [
            make_wheel(
                wheel_dir, name=f"p{i}", files={f"p{i}/data.bin": os.urandom(1000 * (i + 1))}
            )
            for i in range(3)
        ]
        events = []
        do_install(wheels, scheme, progress=lambda *a: events.append(a))
        for i, whl in enumerate(wheels):
            mine = [e for e in events if e[1] == str(whl)]
            assert [e[0] for e in mine] == ["wheel-start", "bytes", "wheel-done"]
            total = mine[0][3]
            assert total >= 1000 * (i + 1)
            assert mine[-1][2:] == (total, total)

    @pytest.mark.parametrize("enabled", [True, False])
    def test_the_collector_is_paused_while_installing_and_left_as_found(
        self, do_install, wheel_dir, scheme, enabled
    ):
        """The cyclic garbage collector walks every member's objects for nothing
        (they form no cycles): paused during an install, as it was after."""
        import gc

        whl = make_wheel(wheel_dir, name="gcdemo", files={"gcdemo/__init__.py": "x = 1\n"})
        seen = []
        was = gc.isenabled()
        (gc.enable if enabled else gc.disable)()
        try:
            do_install([whl], scheme, progress=lambda *a: seen.append(gc.isenabled()))
            assert gc.isenabled() is enabled
        finally:
            (gc.enable if was else gc.disable)()
        assert seen and not any(seen)

    def test_compile_bytecode_with_the_target_interpreter(
        self, do_install, wheel_dir, venv_factory
    ):
        env = venv_factory("compile")
        py = env / "bin" / "python"
        scheme = fastinst.get_scheme(str(py))
        site = scheme.purelib
        whl = make_wheel(
            wheel_dir, name="comp", files={"comp/__init__.py": "X = 1\n", "comp/bad.py": "def (\n"}
        )
        [r] = do_install(
            [whl],
            scheme,
            compile_bytecode=True,
            optimization_levels=(0, 1),
            invalidation_mode="checked-hash",
        )
        pycache = Path(site, "comp", "__pycache__")
        tag = sys.implementation.cache_tag
        assert (pycache / f"__init__.{tag}.pyc").is_file()
        assert (pycache / f"__init__.{tag}.opt-1.pyc").is_file()
        assert not list(pycache.glob("bad.*"))  # a syntax error is reported, not fatal
        data = (pycache / f"__init__.{tag}.pyc").read_bytes()
        assert int.from_bytes(data[4:8], "little") == 0b11  # checked-hash flags
        assert str(pycache / f"__init__.{tag}.pyc") in r.files
        assert_record_true(Path(r.dist_info))
        # Tracebacks name the final path, not the staging area it was compiled in.
        code = marshal.loads(data[16:])
        assert code.co_filename == str(Path(site, "comp", "__init__.py"))
        fastinst.uninstall("comp", scheme)
        assert not pycache.exists()


@pytest.mark.parametrize(
    "python",
    ["/usr/bin/python3", "/opt/with space/bin/python", "/" + "long-dir/" * 20 + "python3"],
)
@pytest.mark.parametrize("section", ["console", "gui"])
def test_reused_launcher_body_gives_installers_exact_launcher(python, section):
    """Warm installs rebuild launchers from a cached body: byte for byte installer's."""
    from installer.scripts import Script

    from fastinst._scripts import make_launcher, posix_body
    from fastinst._wheel import EntryPoint

    ep = EntryPoint("tool", "pkg.cli", "main.run", section)
    expected = Script("tool", "pkg.cli", "main.run", section=section).generate(python, "posix")
    cached = EntryPoint(ep.name, ep.module, ep.attr, ep.section, posix_body(ep))
    assert make_launcher(cached, python) == expected
    assert make_launcher(ep, python) == expected


def test_a_wheel_refused_for_its_data_dirs_leaves_no_cache_entry(wheel_dir, scheme, tmp_path):
    from fastinst._cache import WheelCache

    whl = make_wheel(wheel_dir, files={"demo-1.0.data/etc/x": "x"})
    cache = tmp_path / "cache"
    with pytest.raises(fastinst.InvalidWheel, match="unknown"):
        fastinst.install([whl], scheme, cache_dir=cache)
    assert list(WheelCache(str(cache)).entries()) == []


@pytest.mark.parametrize(
    ("name", "fragment"), [(".fastinst-journal", "reserved"), ("x" * 300, "too long")]
)
def test_odd_entry_point_names_refused(wheel_dir, scheme, name, fragment):
    whl = make_wheel(wheel_dir, files={"demo/__init__.py": ""},
                     entry_points={"console_scripts": {name: "demo:main"}})  # fmt: skip
    with pytest.raises(fastinst.InvalidWheel, match=fragment):
        fastinst.install([whl], scheme, cache_dir=None)


def test_several_archives_written_while_the_next_are_planned(wheel_dir, scheme, tmp_path):
    """Without a cache the core starts on the first wheel while the next wheels'
    tasks are made (`_archive.Extraction`): the same tree as one wheel at a time,
    and a member of a later wheel that fails its CRC still leaves nothing."""
    from wheelmaker import corrupt_crc

    whls = [
        make_wheel(wheel_dir, name=f"p{i}", files={f"p{i}/__init__.py": f"N = {i}\n",
                                                   f"p{i}/blob.bin": os.urandom(100_000)})
        for i in range(5)
    ]  # fmt: skip
    results = fastinst.install(whls, scheme)
    assert [r.name for r in results] == [f"p{i}" for i in range(5)]
    one_by_one = fastinst.Scheme(**{**scheme.as_dict(), "purelib": str(tmp_path / "one")})
    for whl in whls:
        fastinst.install([whl], one_by_one)
    assert tree_snapshot(Path(scheme.purelib)) == tree_snapshot(tmp_path / "one")

    corrupt_crc(whls[4], "p4/blob.bin")
    fresh = fastinst.Scheme(**{**scheme.as_dict(), "purelib": str(tmp_path / "fresh")})
    with pytest.raises(fastinst.CorruptArchive) as caught:
        fastinst.install(whls, fresh)
    assert caught.value.wheel == str(whls[4])
    assert not (tmp_path / "fresh").exists() or os.listdir(tmp_path / "fresh") == []
