"""Our fast paths agree with the reference implementations they stand in for
(packaging's name and file-name parsing, the csv module's RECORD writing)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

import fastinst
from fastinst._names import canonical_name
from fastinst._wheel import _parse_filename

NAME_CHARS = "abcXYZ09-_."


@given(st.text(alphabet=NAME_CHARS, max_size=24))
def test_canonical_name_agrees_with_packaging(name):
    assert canonical_name(name) == canonicalize_name(name)


@given(
    st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._]{0,8}[A-Za-z0-9])?", fullmatch=True),
    st.sampled_from(["1.0", "2.0.post1", "1!3.4rc2", "0.0.1.dev0", "10", "1.0+local.7", "x.y"]),
    st.sampled_from(["", "-1", "-2abc", "-x"]),
    st.sampled_from(["py3-none-any", "cp311-cp311-manylinux_2_17_x86_64", "py2.py3-none-any"]),
)
def test_filename_parsing_agrees_with_packaging(name, version, build, tags):
    filename = f"{name}-{version}{build}-{tags}.whl"
    try:
        expected = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        with pytest.raises(fastinst.InvalidWheel):
            _parse_filename(filename)
        return
    assert _parse_filename(filename) == (str(expected[0]), expected[1])


@given(
    st.lists(
        st.tuples(
            st.text(alphabet='ab/,"\r\n .é', min_size=1, max_size=12),
            st.sampled_from(["", "sha256=abc_-", "sha256=x,y"]),
            st.sampled_from(["", "0", "123"]),
        ),
        max_size=6,
    )
)
def test_record_writer_writes_what_csv_writes(rows):
    """RECORD is written as the csv module writes it, except that a field with a
    carriage return is quoted on every Python (3.13's csv quotes it, older ones did
    not; the compiled core writes RECORD rows the same way). csv itself quotes a
    carriage return when it is part of the line terminator: that is the oracle."""
    import csv
    import io

    from fastinst._records import format_record

    expected = ""
    for row in rows:
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerow(row)
        expected += out.getvalue()[:-2] + "\n"
    assert format_record(rows) == expected.encode("utf-8")


def test_installed_version_compared_as_a_string_first():
    """skip_installed reads name and version from the file name without packaging,
    which is imported only when the strings differ (``1.0.0`` is ``1.0``)."""
    from fastinst._install import _name_and_version, _same_version

    assert _name_and_version("/w/Foo_Bar-1.0-py3-none-any.whl") == ("foo-bar", "1.0")
    assert _name_and_version("/w/foo-1.0-1b-py3-none-any.whl") == ("foo", "1.0")
    assert _same_version("1.0", "1.0") and _same_version("1.0.0", "1.0")
    assert not _same_version("1.1", "1.0") and not _same_version("1.0", "1.0.post0")
    assert _same_version("not-a-version", "not-a-version")
