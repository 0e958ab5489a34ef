"""Two wheels of one install that ship the same file (#10.3): installed as pip
installs them one after the other, the later wheel's file kept."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest

import fastinst
from wheelmaker import make_wheel

pytestmark = pytest.mark.usefixtures("core")


def scheme_in(root: Path) -> fastinst.Scheme:
    return fastinst.Scheme(
        purelib=str(root / "site"),
        platlib=str(root / "site"),
        headers=str(root / "include"),
        scripts=str(root / "bin"),
        data=str(root),
        python="/usr/bin/python3-test",
    )


def listed(result: fastinst.InstallResult) -> set[str]:
    with open(Path(result.dist_info, "RECORD"), newline="") as f:
        return {row[0] for row in csv.reader(f)}


@pytest.fixture(params=["archive", "cache"])
def cache_dir(request, tmp_path) -> Path | None:
    return None if request.param == "archive" else tmp_path / "cache"


def backports(d: Path, name: str, init: str, **kw) -> Path:
    d.mkdir(exist_ok=True)
    files = {"backports/__init__.py": init, f"backports/{name}.py": f"NAME = {name!r}\n"}
    return make_wheel(d, name=f"backports.{name}", files=files, **kw)


def test_same_file_same_bytes(tmp_path, cache_dir, caplog):
    init = "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"
    a = backports(tmp_path / "w", "a", init)
    b = backports(tmp_path / "w", "b", init)
    with caplog.at_level(logging.WARNING, logger="fastinst"):
        ra, rb = fastinst.install([a, b], scheme_in(tmp_path / "env"), cache_dir=cache_dir)
    site = tmp_path / "env/site"
    assert (site / "backports/a.py").is_file() and (site / "backports/b.py").is_file()
    assert (site / "backports/__init__.py").read_text() == init
    assert "backports/__init__.py" in listed(ra) and "backports/__init__.py" in listed(rb)
    assert "different contents" not in caplog.text


def test_later_wheel_wins_with_one_warning(tmp_path, cache_dir, caplog):
    a = backports(tmp_path / "w", "a", "# a\n")
    b = backports(tmp_path / "w", "b", "# b, longer\n")
    with caplog.at_level(logging.WARNING, logger="fastinst"):
        fastinst.install([a, b], scheme_in(tmp_path / "env"), cache_dir=cache_dir)
    assert (tmp_path / "env/site/backports/__init__.py").read_text() == "# b, longer\n"
    warnings = [r.getMessage() for r in caplog.records if "different contents" in r.getMessage()]
    assert len(warnings) == 1
    assert "backports.a" in warnings[0] and "backports.b" in warnings[0]
    assert "backports/__init__.py" in warnings[0]
    # and the other order
    fastinst.install([b, a], scheme_in(tmp_path / "env2"), cache_dir=cache_dir)
    assert (tmp_path / "env2/site/backports/__init__.py").read_text() == "# a\n"


def test_same_launcher_name(tmp_path, cache_dir):
    (tmp_path / "w").mkdir()
    a = make_wheel(tmp_path / "w", name="one", files={"one.py": "def main(): pass\n"},
                   entry_points={"console_scripts": {"tool": "one:main"}})  # fmt: skip
    b = make_wheel(tmp_path / "w", name="two", files={"two.py": "def main(): pass\n"},
                   entry_points={"console_scripts": {"tool": "two:main"}})  # fmt: skip
    fastinst.install([a, b], scheme_in(tmp_path / "env"), cache_dir=cache_dir)
    assert "from two import main" in (tmp_path / "env/bin/tool").read_text()


def test_file_where_the_other_has_a_directory(tmp_path, cache_dir):
    (tmp_path / "w").mkdir()
    a = make_wheel(tmp_path / "w", name="one", files={"ns/x": "file\n"})
    b = make_wheel(tmp_path / "w", name="two", files={"ns/x/y.py": "dir\n"})
    with pytest.raises(fastinst.InvalidWheel, match="a file here and a directory"):
        fastinst.install([a, b], scheme_in(tmp_path / "env"), cache_dir=cache_dir)
    assert not (tmp_path / "env/site/ns").exists()


def test_namespace_directory_is_merged_into_an_existing_one(tmp_path, cache_dir):
    a = backports(tmp_path / "w", "a", "")
    b = backports(tmp_path / "w", "b", "")
    fastinst.install([a], scheme_in(tmp_path / "env"), cache_dir=cache_dir)
    fastinst.install([b], scheme_in(tmp_path / "env"), cache_dir=cache_dir)
    fastinst.uninstall("backports.b", scheme_in(tmp_path / "env"))
    assert (tmp_path / "env/site/backports/a.py").is_file()


def test_one_wheel_purelib_and_platlib_in_one_directory(tmp_path, cache_dir):
    """A wheel's purelib and platlib keys both land in a venv's site-packages:
    distinct files merge, the same file twice is refused."""
    (tmp_path / "w").mkdir()
    ok = make_wheel(tmp_path / "w", name="mix", purelib=False,
                    files={"mix/a.py": "a\n", "mix-1.0.data/purelib/mix/b.py": "b\n"})  # fmt: skip
    fastinst.install([ok], scheme_in(tmp_path / "env"), cache_dir=cache_dir)
    assert (tmp_path / "env/site/mix/a.py").is_file() and (tmp_path / "env/site/mix/b.py").is_file()
    (tmp_path / "w2").mkdir()
    bad = make_wheel(tmp_path / "w2", name="mix", purelib=False,
                     files={"mix/a.py": "a\n", "mix-1.0.data/purelib/mix/a.py": "b\n"})  # fmt: skip
    with pytest.raises(fastinst.UnsafePath, match="same path"):
        fastinst.install([bad], scheme_in(tmp_path / "env2"), cache_dir=cache_dir)
