"""Our light name handling agrees with packaging's (which is slower to import)."""

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
