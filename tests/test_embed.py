"""The options embedding tools need: mapping schemes, metadata, RECORD report mode,
``__pycache__`` members, ``-1`` optimization, library defaults, threads."""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
import sysconfig
import threading
from pathlib import Path

import pytest

import fastinst
from conftest import tree_snapshot
from wheelmaker import Member, make_wheel, rewrite_wheel

CLI = {"console_scripts": {"demo-cli": "demo:main"}}


def mapping(root: Path) -> dict[str, str]:
    """A sysconfig-shaped dict: the five keys and the others sysconfig gives."""
    return {
        "purelib": str(root / "lib"),
        "platlib": str(root / "lib"),
        "headers": str(root / "include" / "demo"),
        "scripts": str(root / "bin"),
        "data": str(root),
        "include": str(root / "include"),
        "platinclude": str(root / "include"),
        "stdlib": "/usr/lib/python3",
        "platstdlib": "/usr/lib/python3",
        "prefix": str(root),
    }


def record_rows(dist_info: str | Path) -> list[list[str]]:
    with open(Path(dist_info) / "RECORD", newline="") as f:
        return list(csv.reader(f))


class TestMappingScheme:
    def test_sysconfig_keys_are_ignored(self, tmp_path):
        paths = sysconfig.get_paths()
        scheme = fastinst.Scheme.from_mapping(paths)
        assert scheme.purelib == paths["purelib"] and scheme.scripts == paths["scripts"]
        assert scheme.headers == paths["include"]  # sysconfig has no "headers"
        scheme = fastinst.Scheme.from_mapping({**paths, "headers": "/h/demo"})
        assert scheme.headers == "/h/demo"

    def test_missing_key_still_refused(self):
        with pytest.raises(fastinst.SchemeError, match="lacks scripts"):
            fastinst.Scheme.from_mapping({"purelib": "/a", "platlib": "/a", "headers": "/h",
                                          "data": "/d"})  # fmt: skip

    def test_launchers_need_the_interpreter(self, wheel_dir, tmp_path):
        whl = make_wheel(wheel_dir, files={"demo.py": "def main(): pass\n"}, entry_points=CLI)
        with pytest.raises(fastinst.SchemeError, match="interpreter="):
            fastinst.install([whl], mapping(tmp_path / "env"))
        assert not (tmp_path / "env").exists()
        fastinst.install([whl], mapping(tmp_path / "env"), interpreter="/opt/target/python")
        launcher = (tmp_path / "env" / "bin" / "demo-cli").read_bytes()
        assert launcher.startswith(b"#!/opt/target/python\n")
        named = {**mapping(tmp_path / "named"), "python": "/opt/named/python"}
        fastinst.install([whl], named)  # or the mapping names it
        launcher = (tmp_path / "named" / "bin" / "demo-cli").read_bytes()
        assert launcher.startswith(b"#!/opt/named/python\n")

    def test_no_interpreter_needed_without_scripts(self, wheel_dir, tmp_path):
        whl = make_wheel(wheel_dir, files={"demo.py": "x = 1\n"})
        [r] = fastinst.install([whl], mapping(tmp_path / "env"))
        assert Path(r.dist_info).is_dir()

    def test_interpreter_overrides_a_scheme(self, wheel_dir, scheme):
        whl = make_wheel(wheel_dir, files={"demo.py": "def main(): pass\n"}, entry_points=CLI)
        fastinst.install([whl], scheme, interpreter="/opt/other/python")
        assert Path(scheme.scripts, "demo-cli").read_bytes().startswith(b"#!/opt/other/python\n")


class TestMetadata:
    def test_written_byte_for_byte(self, wheel_dir, scheme):
        whl = make_wheel(wheel_dir, files={"demo.py": "x = 1\n"})
        url = json.dumps({"url": "file:///w/demo.whl", "archive_info": {}}, indent=2).encode()
        files = {"INSTALLER": b"pdm", "direct_url.json": url, "licenses/NOTE": b"n"}
        [r] = fastinst.install([whl], scheme, metadata={whl: files}, requested=True)
        info = Path(r.dist_info)
        assert (info / "INSTALLER").read_bytes() == b"pdm"  # no newline added
        assert (info / "direct_url.json").read_bytes() == url  # not re-serialized
        assert (info / "licenses" / "NOTE").read_bytes() == b"n"
        assert (info / "REQUESTED").read_bytes() == b""
        rows = {row[0] for row in record_rows(info)}
        assert {f"{info.name}/{n}" for n in [*files, "REQUESTED"]} <= rows

    def test_no_installer_file(self, wheel_dir, scheme):
        whl = make_wheel(wheel_dir, files={"demo.py": "x = 1\n"})
        [r] = fastinst.install([whl], scheme, installer_name=None)
        assert sorted(os.listdir(r.dist_info)) == ["METADATA", "RECORD", "WHEEL"]

    @pytest.mark.parametrize("name", ["RECORD", "../x", "/abs", "a//b", ".fastinst-x", "a\\b"])
    def test_bad_names_refused(self, wheel_dir, scheme, name):
        whl = make_wheel(wheel_dir, files={"demo.py": "x = 1\n"})
        with pytest.raises(ValueError, match=r"cannot be a \.dist-info file name"):
            fastinst.install([whl], scheme, metadata={whl: {name: b""}})

    def test_a_wheel_member_is_not_overwritten(self, wheel_dir, scheme):
        whl = make_wheel(wheel_dir, files={"demo.py": "x = 1\n"})
        with pytest.raises(ValueError, match="METADATA is already in the wheel"):
            fastinst.install([whl], scheme, metadata={whl: {"METADATA": b""}})
        assert not Path(scheme.purelib).exists()


class TestRecordReport:
    def broken(self, wheel_dir: Path) -> Path:
        whl = make_wheel(wheel_dir, files={"demo/__init__.py": "x = 1\n", "demo/b.py": "b\n"})
        return rewrite_wheel(
            whl,
            replace={"demo/b.py": b"changed\n"},
            add=[Member("demo/extra.py", b"extra\n")],
        )

    def test_refused_by_default(self, wheel_dir, scheme):
        with pytest.raises(fastinst.RecordMismatch):
            fastinst.install([self.broken(wheel_dir)], scheme)

    @pytest.mark.parametrize("cache", [False, True])
    def test_report_installs_and_lists(self, wheel_dir, scheme, tmp_path, cache):
        whl = self.broken(wheel_dir)
        [r] = fastinst.install(
            [whl], scheme, verify_record="report", cache_dir=tmp_path / "c" if cache else None
        )
        assert sorted(r.record_issues) == [
            f"In {whl}, demo/extra.py is not mentioned in RECORD",
            f"In {whl}, hash / size of demo/b.py didn't match RECORD",
        ]
        assert Path(scheme.purelib, "demo", "b.py").read_bytes() == b"changed\n"
        # the installed RECORD tells the truth about what was written
        rows = {p: h for p, h, _s in record_rows(r.dist_info)}
        from wheelmaker import record_hash

        assert rows["demo/b.py"] == record_hash(b"changed\n")
        assert rows["demo/extra.py"] == record_hash(b"extra\n")

    def test_a_good_wheel_has_no_issues(self, wheel_dir, scheme):
        whl = make_wheel(wheel_dir, files={"demo.py": "x = 1\n"}, entry_points=CLI)
        [r] = fastinst.install([whl], scheme, verify_record="report")
        assert r.record_issues == ()

    def test_missing_record(self, wheel_dir, scheme):
        whl = rewrite_wheel(
            make_wheel(wheel_dir, files={"demo.py": "x = 1\n"}), drop=["demo-1.0.dist-info/RECORD"]
        )
        [r] = fastinst.install([whl], scheme, verify_record="report")
        assert len(r.record_issues) == 1 and "RECORD" in r.record_issues[0]

    def test_bad_mode(self, wheel_dir, scheme):
        with pytest.raises(ValueError, match="verify_record"):
            fastinst.install([], scheme, verify_record="warn")


@pytest.mark.parametrize("cached", [False, True], ids=["archive", "cache-entry"])
def test_pycache_members_skipped_with_a_warning(wheel_dir, scheme, caplog, tmp_path, cached):
    pyc = "demo/__pycache__/m.cpython-311.pyc"
    whl = make_wheel(wheel_dir, files={"demo/m.py": "x = 1\n", pyc: b"\0" * 16})
    cache = tmp_path / "cache" if cached else None
    if cached:  # the entry is built (with the .pyc) by an install without skip_pycache
        fastinst.install([whl], scheme, cache_dir=cache)
        assert Path(scheme.purelib, pyc).is_file()
    [kept] = fastinst.install([whl], scheme, dry_run=True, cache_dir=cache)
    assert str(Path(scheme.purelib, pyc)) in kept.files  # pip installs them
    [left] = fastinst.install([whl], scheme, dry_run=True, skip_pycache=True, cache_dir=cache)
    assert str(Path(scheme.purelib, pyc)) not in left.files
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="fastinst"):
        [r] = fastinst.install([whl], scheme, skip_pycache=True, cache_dir=cache)
    assert r.from_cache is cached
    assert not Path(scheme.purelib, pyc).exists()
    assert Path(scheme.purelib, "demo/m.py").is_file()
    assert pyc not in {row[0] for row in record_rows(r.dist_info)}
    assert "demo/m.py" in {row[0] for row in record_rows(r.dist_info)}
    assert len(r.files) == len(record_rows(r.dist_info))
    assert str(Path(scheme.purelib, pyc)) not in r.files
    assert "__pycache__" in caplog.text


def test_optimization_level_minus_one(wheel_dir, scheme, caplog):
    whl = make_wheel(wheel_dir, files={"demo/__init__.py": "x = 1\n"})
    with caplog.at_level(logging.WARNING, logger="fastinst"):
        [r] = fastinst.install(
            [whl],
            scheme,
            interpreter=sys.executable,
            compile_bytecode=True,
            optimization_levels=(-1,),
        )
    tag = sys.implementation.cache_tag
    pyc = f"demo/__pycache__/__init__.{tag}.pyc"
    assert Path(scheme.purelib, pyc).is_file()
    assert pyc in {row[0] for row in record_rows(r.dist_info)}
    assert caplog.text == ""
    with pytest.raises(ValueError, match="optimization levels"):
        fastinst.install([whl], scheme, compile_bytecode=True, optimization_levels=(3,))


def test_library_writes_no_cache_unless_asked(wheel_dir, scheme, _private_cache):
    before = sorted(p.name for p in _private_cache.iterdir())
    whl = make_wheel(wheel_dir, files={"demo.py": "x = 1\n"})
    [r] = fastinst.install([whl], scheme)
    assert not r.from_cache
    assert sorted(p.name for p in _private_cache.iterdir()) == before


def test_threads_of_one_process_install_safely(tmp_path):
    """Concurrent install() calls from threads: each whole, the tree as a serial install's."""
    wheels = tmp_path / "w"
    wheels.mkdir()
    made = [
        make_wheel(wheels, name=f"pkg{i}", files={f"pkg{i}/__init__.py": f"n = {i}\n" * 200})
        for i in range(8)
    ]
    shared = make_wheel(wheels, name="shared", files={"shared.py": "s = 1\n"})

    def scheme_in(root: Path) -> fastinst.Scheme:
        return fastinst.get_scheme(target=str(root))

    errors: list[BaseException] = []

    def run(group: list[Path]) -> None:
        try:
            for w in group:
                fastinst.install([w], scheme_in(tmp_path / "threads"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=([w, shared],)) for w in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    fastinst.install([*made, shared], scheme_in(tmp_path / "serial"))
    assert tree_snapshot(tmp_path / "threads") == tree_snapshot(tmp_path / "serial")


def test_a_library_install_does_not_pull_in_rich():
    from importlib.metadata import requires

    reqs = requires("fastinst") or []
    assert not [r for r in reqs if r.startswith("rich") and "extra ==" not in r], reqs


class TestSession:
    def wheels(self, wheel_dir: Path, n: int = 12) -> list[Path]:
        return [
            make_wheel(wheel_dir, name=f"p{i}", files={f"p{i}/__init__.py": f"i = {i}\n"})
            for i in range(n)
        ]

    def test_threads_add_one_commit(self, wheel_dir, scheme, tmp_path):
        from concurrent.futures import ThreadPoolExecutor

        wheels = self.wheels(wheel_dir)
        session = fastinst.InstallSession(scheme, installer_name="tool")
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda w: session.add(w, requested=w.name.startswith("p1")), wheels))
        assert len(session) == 12
        results = session.commit()
        assert sorted(r.name for r in results) == sorted(f"p{i}" for i in range(12))
        for r in results:
            assert Path(r.dist_info, "INSTALLER").read_bytes() == b"tool\n"
            assert Path(r.dist_info, "REQUESTED").exists() == r.name.startswith("p1")
        with pytest.raises(fastinst.SessionClosed):
            session.add(wheels[0])
        serial = fastinst.Scheme.from_mapping(
            {k: v.replace("/env/", "/serial/") for k, v in scheme.as_dict().items()},
            python=scheme.python,
        )
        fastinst.install(wheels, serial, installer_name="tool", requested=wheels[1:2] + wheels[10:])
        assert tree_snapshot(tmp_path / "env") == tree_snapshot(tmp_path / "serial")

    def test_all_or_nothing(self, wheel_dir, scheme):
        wheels = self.wheels(wheel_dir, 4)
        bad = rewrite_wheel(
            make_wheel(wheel_dir, name="bad", files={"bad.py": "x\n"}), replace={"bad.py": b"y\n"}
        )
        with pytest.raises(fastinst.RecordMismatch), fastinst.InstallSession(scheme) as session:
            for w in [*wheels, bad]:
                session.add(w)
        assert fastinst.list_installed(scheme) == []

    def test_upgrade_replaces_the_old_version(self, wheel_dir, scheme, tmp_path):
        old = make_wheel(wheel_dir, name="demo", files={"demo/old.py": "o\n"})
        fastinst.install([old], scheme)
        new_dir = tmp_path / "new"
        new_dir.mkdir()
        new = make_wheel(new_dir, name="demo", version="2.0", files={"demo/new.py": "n\n"})
        session = fastinst.InstallSession(scheme)
        session.add(new, metadata={"INSTALLER": b"pdm"})
        [r] = session.commit()
        assert (r.replaced, r.version) == ("1.0", "2.0")
        assert [d.version for d in fastinst.list_installed(scheme)] == ["2.0"]
        assert not Path(scheme.purelib, "demo", "old.py").exists()
        assert Path(r.dist_info, "INSTALLER").read_bytes() == b"pdm"

    def test_removals_in_the_same_transaction(self, wheel_dir, scheme):
        """Names given to remove() go with the wheels: all of it, or none of it."""
        keep, gone1, gone2 = self.wheels(wheel_dir, 3)
        fastinst.install([keep, gone1, gone2], scheme)
        newcomer = make_wheel(wheel_dir, name="newcomer", files={"newcomer.py": "n\n"})
        bad = rewrite_wheel(
            make_wheel(wheel_dir, name="bad", files={"bad.py": "x\n"}), replace={"bad.py": b"y\n"}
        )
        session = fastinst.InstallSession(scheme)
        session.add(newcomer)
        session.add(bad)
        session.remove("P1", "p2", "never-installed")
        with pytest.raises(fastinst.RecordMismatch):
            session.commit()
        assert sorted(d.name for d in fastinst.list_installed(scheme)) == ["p0", "p1", "p2"]
        assert Path(scheme.purelib, "p1", "__init__.py").exists()

        session = fastinst.InstallSession(scheme)
        threads = [threading.Thread(target=session.remove, args=(n,)) for n in ("p1", "p2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        session.add(newcomer)
        [result] = session.commit()
        assert result.name == "newcomer"
        assert sorted(d.name for d in fastinst.list_installed(scheme)) == ["newcomer", "p0"]
        assert not Path(scheme.purelib, "p1").exists()

        only_removals = fastinst.InstallSession(scheme)
        only_removals.remove("p0")
        assert only_removals.commit() == []
        assert [d.name for d in fastinst.list_installed(scheme)] == ["newcomer"]
        with pytest.raises(fastinst.SessionClosed):
            only_removals.remove("newcomer")

    def test_same_wheel_twice_and_bad_options(self, wheel_dir, scheme):
        [w] = self.wheels(wheel_dir, 1)
        session = fastinst.InstallSession(scheme)
        session.add(w)
        with pytest.raises(ValueError, match="already"):
            session.add(str(w))
        with pytest.raises(TypeError, match="add"):
            fastinst.InstallSession(scheme, requested=True)
        with pytest.raises(TypeError, match="remove"):
            fastinst.InstallSession(scheme, remove=["x"])
        with pytest.raises(TypeError, match="dry run"):
            fastinst.InstallSession(scheme, dry_run=True)


def test_wheel_done_when_the_wheel_is_staged(wheel_dir, scheme):
    """The "wheel-done" event comes once a wheel's files are staged, before they are published."""
    wheels = [make_wheel(wheel_dir, name=f"w{i}", files={f"w{i}.py": "x\n"}) for i in range(3)]
    seen = []

    def progress(event: str, wheel: str, done: int, total: int) -> None:
        if event == "wheel-done":
            name = Path(wheel).name.split("-")[0]
            seen.append((name, Path(scheme.purelib, f"{name}-1.0.dist-info").exists()))

    fastinst.install(wheels, scheme, progress=progress)
    assert seen == [("w0", False), ("w1", False), ("w2", False)]
    assert all(Path(scheme.purelib, f"w{i}.py").is_file() for i in range(3))
