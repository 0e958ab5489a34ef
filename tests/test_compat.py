"""fastinst.compat against pypa/installer itself: the same wheels through both give
the same tree and the same .dist-info bytes; errors are caught as installer's are."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from installer import install as installer_install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.sources import WheelFile as InstallerWheelFile
from installer.sources import WheelSource

import fastinst
from conftest import tree_snapshot
from fastinst import compat
from wheelmaker import Member, make_wheel, rewrite_wheel

# installer warns (RuntimeWarning) about the __pycache__ member the wheels carry
pytestmark = pytest.mark.filterwarnings("ignore:Skip installing:RuntimeWarning")

RICH = {
    "demo/__init__.py": "def main():\n    return 0\n",
    "demo/sub/mod.py": "x = 1\n",
    "demo/tool.sh": "#!/bin/sh\necho hi\n",
    "demo/__pycache__/stale.cpython-311.pyc": b"\0" * 16,
    "demo-1.0.data/scripts/run-demo": "#!python\nimport demo\ndemo.main()\n",
    "demo-1.0.data/scripts/plain.sh": "#!/bin/sh\necho plain\n",
    "demo-1.0.data/data/share/demo/a.txt": "data\n",
    "demo-1.0.data/headers/demo.h": "int demo;\n",
    "demo-1.0.data/purelib/demo_extra.py": "y = 2\n",
    "zz_last.py": "z = 3\n",
    "demo.pth": "import demo\n",
}
EPS = {"console_scripts": {"demo-cli": "demo:main", "aaa": "demo:main"},
       "gui_scripts": {"demo-gui": "demo:main"}}  # fmt: skip


def scheme_dict(root: Path, split: bool) -> dict[str, str]:
    lib = root / "lib" / "python3" / "site-packages"
    return {
        "purelib": str(lib),
        "platlib": str(root / "lib64" / "python3" / "site-packages") if split else str(lib),
        "headers": str(root / "include" / "site" / "demo"),
        "scripts": str(root / "bin"),
        "data": str(root),
    }


def destination(root: Path, split: bool = False, **kwargs) -> SchemeDictionaryDestination:
    kwargs.setdefault("interpreter", sys.executable)
    kwargs.setdefault("script_kind", "posix")
    return SchemeDictionaryDestination(scheme_dict(root, split), **kwargs)


METADATA = {
    "INSTALLER": b"tool",
    "REQUESTED": b"",
    "direct_url.json": json.dumps(
        {"url": "file:///w/x.whl", "archive_info": {}}, indent=2
    ).encode(),
    "licenses/EXTRA": b"no newline at the end",
}


def both(wheel: Path, tmp_path: Path, source_kind: str = "compat", split: bool = False, **dest):
    """Install ``wheel`` with installer, then (at the same place) with compat; both trees."""
    import shutil

    env = tmp_path / "env"
    with InstallerWheelFile.open(wheel) as source:
        installer_install(source, destination(env, split, **dest), METADATA)
    theirs = tree_snapshot(env)
    shutil.rmtree(env)
    with open_source(source_kind, wheel, tmp_path) as source:
        compat.install(source, destination(env, split, **dest), METADATA)
    return theirs, tree_snapshot(env)


class TreeSource(WheelSource):
    """A wheel unpacked into a directory (as PDM's cache keeps them)."""

    def __init__(self, tree: Path, dist_info: str) -> None:
        name, version = dist_info[: -len(".dist-info")].rsplit("-", 1)
        super().__init__(name, version)
        self.tree = tree

    @property
    def dist_info_filenames(self) -> list[str]:
        return os.listdir(self.tree / self.dist_info_dir)

    def read_dist_info(self, filename: str) -> str:
        return (self.tree / self.dist_info_dir / filename).read_text("utf-8")

    def get_contents(self) -> Iterator:
        import csv

        rows = {r[0]: r for r in csv.reader(self.read_dist_info("RECORD").splitlines()) if r}
        for path in sorted(p for p in self.tree.rglob("*") if p.is_file()):
            name = path.relative_to(self.tree).as_posix()
            with open(path, "rb") as stream:
                yield rows.get(name, (name, "", "")), stream, bool(path.stat().st_mode & 0o111)


class open_source:  # a context manager
    def __init__(self, kind: str, wheel: Path, tmp_path: Path) -> None:
        self.kind, self.wheel, self.tmp_path = kind, wheel, tmp_path

    def __enter__(self):
        if self.kind == "tree":
            import zipfile

            tree = self.tmp_path / "tree"
            with zipfile.ZipFile(self.wheel) as zf:
                zf.extractall(tree)
                for info in zf.infolist():
                    os.chmod(tree / info.filename, (info.external_attr >> 16) & 0o777 or 0o644)
                dist_info = next(n.split("/")[0] for n in zf.namelist() if ".dist-info/" in n)
            return TreeSource(tree, dist_info)
        cls = compat.WheelFile if self.kind == "compat" else InstallerWheelFile
        self.cm = cls.open(self.wheel)
        return self.cm.__enter__()

    def __exit__(self, *exc):
        if self.kind != "tree":
            self.cm.__exit__(*exc)


@pytest.fixture
def rich_wheel(wheel_dir):
    return make_wheel(wheel_dir, files=RICH, entry_points=EPS, executables={"demo/tool.sh"})


class TestSameAsInstaller:
    @pytest.mark.parametrize("kind", ["compat", "installer", "tree"])
    def test_sources(self, rich_wheel, tmp_path, kind):
        theirs, ours = both(rich_wheel, tmp_path, kind)
        assert ours == theirs
        record = ours["lib/python3/site-packages/demo-1.0.dist-info/RECORD"][1].decode()
        assert "../../../bin/aaa," in record and "__pycache__" not in record

    def test_platlib_wheel_with_split_lib(self, wheel_dir, tmp_path):
        whl = make_wheel(wheel_dir, files=RICH, entry_points=EPS, purelib=False)
        theirs, ours = both(whl, tmp_path, split=True)
        assert ours == theirs

    def test_neither_tags_nor_requires_python_are_checked(self, wheel_dir, tmp_path):
        """installer.install leaves both to its caller (the tool picked the wheel);
        fastinst.install checks them by default, compat does not."""
        whl = make_wheel(
            wheel_dir, files=RICH, tag="cp27-cp27mu-win32", metadata_extra="Requires-Python: <3\n"
        )
        with pytest.raises(fastinst.IncompatibleWheel):
            fastinst.install(
                [whl], scheme_dict(tmp_path / "direct", False), interpreter=sys.executable
            )
        theirs, ours = both(whl, tmp_path)
        assert ours == theirs

    @pytest.mark.parametrize("levels", [(-1,), (0, 1)])
    def test_bytecode(self, rich_wheel, tmp_path, monkeypatch, levels):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1600000000")  # hash-based pycs: comparable
        theirs, ours = both(rich_wheel, tmp_path, bytecode_optimization_levels=levels)
        assert ours == theirs
        assert any(p.endswith(".pyc") and "stale" not in p for p in ours)

    def test_other_hash_algorithm(self, rich_wheel, tmp_path):
        theirs, ours = both(rich_wheel, tmp_path, hash_algorithm="sha512")
        assert ours == theirs

    def test_destdir(self, rich_wheel, tmp_path):
        import shutil

        stage = tmp_path / "stage"
        trees = []
        for install, opener in (
            (installer_install, InstallerWheelFile),
            (compat.install, compat.WheelFile),
        ):
            with opener.open(rich_wheel) as source:
                install(source, destination(tmp_path / "env", destdir=str(stage)), METADATA)
            assert not (tmp_path / "env").exists()
            trees.append(tree_snapshot(stage))
            shutil.rmtree(stage)
        assert trees[0] == trees[1]

    def test_a_wheel_with_a_wrong_record_installs_as_with_installer(self, wheel_dir, tmp_path):
        whl = make_wheel(wheel_dir, files={"demo/__init__.py": "x = 1\n"})
        whl = rewrite_wheel(
            whl, replace={"demo/__init__.py": b"x = 2\n"}, add=[Member("demo/new.py", b"n\n")]
        )
        theirs, ours = both(whl, tmp_path)
        assert ours == theirs


class TestErrors:
    def test_existing_file(self, rich_wheel, tmp_path):
        for install in (compat.install, installer_install):
            root = tmp_path / install.__module__
            target = Path(scheme_dict(root, False)["purelib"], "zz_last.py")
            target.parent.mkdir(parents=True)
            target.write_text("mine\n")
            with InstallerWheelFile.open(rich_wheel) as source, pytest.raises(FileExistsError):
                install(source, destination(root), {})
            assert target.read_text() == "mine\n"
            if install is compat.install:  # installer leaves what it wrote before
                assert sorted(os.listdir(target.parent)) == ["zz_last.py"]
        with compat.WheelFile.open(rich_wheel) as source:
            compat.install(source, destination(root, overwrite_existing=True), {})
        assert target.read_text() == "z = 3\n"

    def test_bad_wheel_caught_as_installer_error(self, wheel_dir, tmp_path):
        whl = make_wheel(wheel_dir, files={"demo.py": "x\n"}, wheel_version="2.0")
        for install in (installer_install, compat.install):
            with compat.WheelFile.open(whl) as source, pytest.raises(InstallerError):
                install(source, destination(tmp_path / install.__module__), {})
        with compat.WheelFile.open(whl) as source, pytest.raises(fastinst.InvalidWheel) as info:
            compat.install(source, destination(tmp_path / "x"), {})
        assert isinstance(info.value, ValueError) and info.value.wheel == str(whl)

    def test_os_errors_stay_os_errors(self, rich_wheel, tmp_path):
        root = tmp_path / "ro"
        root.mkdir()
        (root / "lib").write_text("a file where a directory is needed\n")
        with compat.WheelFile.open(rich_wheel) as source, pytest.raises(OSError) as info:
            compat.install(source, destination(root), {})
        assert isinstance(info.value, (InstallerError, fastinst.FastinstError))


class LinkingDestination(SchemeDictionaryDestination):
    """A destination that writes its own way (PDM links files out of its cache)."""

    written: list[str]

    def write_to_fs(self, scheme, path, stream, is_executable):
        self.written = [*getattr(self, "written", []), path]
        return super().write_to_fs(scheme, path, stream, is_executable)


class TestFallback:
    def test_overriding_destination_goes_to_installer(self, rich_wheel, tmp_path):
        dest = LinkingDestination(scheme_dict(tmp_path / "a", False), sys.executable, "posix")
        with compat.WheelFile.open(rich_wheel) as source:
            compat.install(source, dest, {})
        assert "demo/__init__.py" in dest.written  # installer called its writer

    def test_fallback_false_raises(self, rich_wheel, tmp_path):
        dest = LinkingDestination(scheme_dict(tmp_path / "a", False), sys.executable, "posix")
        with compat.WheelFile.open(rich_wheel) as source, pytest.raises(compat.Unsupported):
            compat.install(source, dest, {}, fallback=False)
        assert not (tmp_path / "a").exists()

    def test_trusted_destination_is_installed_by_fastinst(self, rich_wheel, tmp_path):
        dest = LinkingDestination(scheme_dict(tmp_path / "a", False), sys.executable, "posix")
        with compat.WheelFile.open(rich_wheel) as source:
            compat.install(source, dest, {}, trust_destination=True, fallback=False)
        assert not hasattr(dest, "written")
        mode = (tmp_path / "a" / "bin" / "demo-cli").stat().st_mode
        assert stat.S_IMODE(mode) & 0o111
