"""Listing and finding distributions and reading their RECORDs, in directories built by the
tests (uninstalling them: test_remove.py)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from fastinst._installed import (
    InstalledDistribution,
    MissingRecord,
    find_installed,
    list_installed,
    read_installed_record,
    record_paths,
)
from fastinst._remove import uninstall
from fastinst._scheme import Scheme


def make_scheme(root: Path, *, platlib: str = "lib", **extra) -> Scheme:
    """A POSIX-prefix-like scheme under ``root``; nothing is created."""
    return Scheme(
        purelib=str(root / "lib/python3.9/site-packages"),
        platlib=str(root / platlib / "python3.9/site-packages"),
        headers=str(root / "include/python3.9/UNKNOWN"),
        scripts=str(root / "bin"),
        data=str(root),
        python="/usr/bin/python3.9",
        **extra,
    )


def make_dist(
    location: Path | str,
    name: str,
    version: str = "1.0",
    files: dict[str, str] | None = None,
    *,
    dir_name: str | None = None,
    metadata_name: str | None = None,
    installer: str | None = "pip",
    extra_rows: tuple[str, ...] = (),
) -> Path:
    """A .dist-info in ``location`` whose RECORD lists ``files`` (relative to ``location``)."""
    location = Path(location)
    files = {f"{name.lower()}/__init__.py": "", **(files or {})}
    info = location / (dir_name or f"{name}-{version}.dist-info")
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {metadata_name or name}\nVersion: {version}\n"
        "\nbody\nName: not-a-header\n"
    )
    if installer is not None:
        (info / "INSTALLER").write_text(installer + "\n")
    rows = []
    for rel, content in files.items():
        path = location / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        rows.append([rel, "", ""])
    rel_info = info.name
    rows += [[f"{rel_info}/METADATA", "", ""], [f"{rel_info}/RECORD", "", ""]]
    rows += [[r, "", ""] for r in extra_rows]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    (info / "RECORD").write_text(buf.getvalue())
    return info


class TestList:
    def test_missing_directories_are_empty(self, tmp_path):
        assert list_installed(make_scheme(tmp_path / "nothing-here")) == []

    def test_lib_and_lib64_split(self, tmp_path):
        scheme = make_scheme(tmp_path, platlib="lib64")
        make_dist(scheme.purelib, "pure", "1.0")
        make_dist(scheme.platlib, "native", "2.0")
        dists = list_installed(scheme)
        assert [(d.name, d.version, d.location) for d in dists] == [
            ("native", "2.0", scheme.platlib),
            ("pure", "1.0", scheme.purelib),
        ]

    def test_site_dirs_are_listed_too(self, tmp_path):
        user_site = tmp_path / "home/.local/lib/python3.9/site-packages"
        scheme = make_scheme(tmp_path / "usr", site_dirs=(str(user_site),))
        make_dist(user_site, "mine")
        make_dist(scheme.purelib, "mine", "0.5")
        dists = list_installed(scheme)
        assert [(d.version, d.location) for d in dists] == sorted(
            [("1.0", str(user_site)), ("0.5", scheme.purelib)], key=lambda x: x[1]
        )

    def test_fields(self, tmp_path):
        scheme = make_scheme(tmp_path)
        info = make_dist(scheme.purelib, "Demo", "3.1", installer="fastinst")
        [d] = list_installed(scheme)
        assert scheme.purelib in d.roots
        assert d._replace(roots=()) == InstalledDistribution(
            name="Demo",
            version="3.1",
            dist_info=str(info),
            location=scheme.purelib,
            installer="fastinst",
        )
        (info / "INSTALLER").unlink()
        assert list_installed(scheme)[0].installer is None

    def test_legacy_egg_info_is_listed(self, tmp_path):
        scheme = make_scheme(tmp_path)
        site = Path(scheme.purelib)
        egg = site / "oldpkg-0.9-py3.9.egg-info"
        egg.mkdir(parents=True)
        (egg / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: oldpkg\nVersion: 0.9\n")
        (site / "flat-1.2-py3.9.egg-info").write_text("Name: flat\nVersion: 1.2\n")
        names = {(d.name, d.version) for d in list_installed(scheme)}
        assert names == {("oldpkg", "0.9"), ("flat", "1.2")}
        with pytest.raises(MissingRecord):
            uninstall("oldpkg", scheme)
        assert egg.exists()

    def test_other_entries_are_ignored(self, tmp_path):
        scheme = make_scheme(tmp_path)
        site = Path(scheme.purelib)
        site.mkdir(parents=True)
        (site / "module.py").write_text("")
        (site / "pkg").mkdir()
        (site / ".fastinst-tx.dist-info").mkdir()  # staging leftovers are not dists
        assert list_installed(scheme) == []


class TestFind:
    def test_normalised_names(self, tmp_path):
        scheme = make_scheme(tmp_path)
        make_dist(scheme.purelib, "Babel", "2.0")
        for query in ("babel", "BABEL", "Babel"):
            [d] = find_installed(query, scheme)
            assert (d.name, d.version) == ("Babel", "2.0")
        assert find_installed("babe", scheme) == []

    def test_separators(self, tmp_path):
        scheme = make_scheme(tmp_path)
        make_dist(scheme.purelib, "zope_interface", "5.0", metadata_name="zope.interface")
        for query in ("zope.interface", "zope-interface", "Zope_Interface"):
            assert len(find_installed(query, scheme)) == 1

    def test_ambiguous_directory_name_is_settled_by_metadata(self, tmp_path):
        scheme = make_scheme(tmp_path)
        # An old tool wrote the name with its dash: "foo-bar-1.0.dist-info".
        make_dist(scheme.purelib, "foo-bar", "1.0", dir_name="foo-bar-1.0.dist-info")
        assert [d.name for d in find_installed("foo-bar", scheme)] == ["foo-bar"]
        assert [d.name for d in find_installed("foo_bar", scheme)] == ["foo-bar"]
        assert find_installed("foo", scheme) == []

    def test_metadata_name_wins_over_the_directory(self, tmp_path):
        scheme = make_scheme(tmp_path)
        make_dist(scheme.purelib, "renamed", dir_name="old-1.0.dist-info", metadata_name="other")
        assert find_installed("old", scheme) == []

    def test_every_copy_in_directory_order(self, tmp_path):
        scheme = make_scheme(tmp_path, platlib="lib64")
        make_dist(scheme.platlib, "dup", "2")
        make_dist(scheme.purelib, "dup", "1")
        assert [d.version for d in find_installed("dup", scheme)] == ["1", "2"]


class TestRecord:
    def test_paths_are_relative_to_the_location(self, tmp_path):
        scheme = make_scheme(tmp_path)
        info = make_dist(
            scheme.purelib, "tool", files={"../../../bin/tool": "#!python\n", "tool/a.py": "x"}
        )
        [dist] = find_installed("tool", scheme)
        assert read_installed_record(dist) == [
            str(tmp_path / "lib/python3.9/site-packages/tool/__init__.py"),
            str(tmp_path / "bin/tool"),
            str(tmp_path / "lib/python3.9/site-packages/tool/a.py"),
            str(info / "METADATA"),
            str(info / "RECORD"),
        ]

    @pytest.mark.parametrize(
        "row",
        [
            "../../../../etc/passwd",  # above the scheme's data directory
            "/etc/passwd",  # absolute, elsewhere
            "../../../..",  # the data root's parent
            "../../..",  # a scheme root itself
            "tool/../../../../../../x",
        ],
    )
    def test_rows_escaping_the_scheme_are_set_apart(self, tmp_path, row):
        scheme = make_scheme(tmp_path / "env")
        make_dist(scheme.purelib, "tool", extra_rows=(row,))
        [dist] = find_installed("tool", scheme)
        inside, outside = record_paths(dist)
        assert outside == [row]
        assert str(Path(scheme.purelib, "tool/__init__.py")) in inside
        assert read_installed_record(dist) == inside

    def test_absolute_rows_inside_the_scheme_are_fine(self, tmp_path):
        scheme = make_scheme(tmp_path)
        script = tmp_path / "bin/abs-tool"
        make_dist(scheme.purelib, "tool", extra_rows=(str(script),))
        [dist] = find_installed("tool", scheme)
        assert str(script) in read_installed_record(dist)

    def test_headers_of_any_distribution(self, tmp_path):
        scheme = make_scheme(tmp_path)  # resolved without a dist name: .../UNKNOWN
        make_dist(scheme.purelib, "cext", files={"../../../include/python3.9/cext/c.h": ""})
        [dist] = find_installed("cext", scheme)
        assert str(tmp_path / "include/python3.9/cext/c.h") in read_installed_record(dist)

    def test_no_record(self, tmp_path):
        scheme = make_scheme(tmp_path)
        info = make_dist(scheme.purelib, "norecord")
        (info / "RECORD").unlink()
        [dist] = find_installed("norecord", scheme)
        with pytest.raises(MissingRecord):
            read_installed_record(dist)
