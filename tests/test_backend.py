"""The core selector: the compiled core must really be there, and the switch must work."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import fastinst


def test_compiled_core_was_built():
    """Fails when the extension silently did not build (the pure core would hide it)."""
    if os.environ.get("FASTINST_NO_EXTENSIONS"):
        pytest.skip("pure-Python core forced by FASTINST_NO_EXTENSIONS")
    assert fastinst.HAS_EXTENSION, "fastinst._core is not importable: the Cython build failed"
    assert sys.modules["fastinst._core"].__file__.endswith(".so")


def test_environment_variable_selects_pure_core():
    code = "import fastinst, fastinst._backend as b; print(fastinst.HAS_EXTENSION, b.core.__name__)"
    env = {**os.environ, "FASTINST_NO_EXTENSIONS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "fastinst._core_py"]


def test_both_cores_export_the_same_names():
    from fastinst import _core_py

    names = {
        "read_central_directory",
        "extract",
        "make_dirs",
        "make_table",
        "read_table",
        "link_tree",
        "sha256_file",
        "KEYS",
        "FLAG_EXEC",
        "LINK_CLONE",
        "LINK_HARDLINK",
        "LINK_COPY",
    }
    assert names <= set(dir(_core_py))
    if fastinst.HAS_EXTENSION:
        from fastinst import _core

        assert names <= set(dir(_core))


@pytest.mark.parametrize("kind", ["compiled", "python"])
def test_docstring_examples_of_the_cores_run(kind):
    """An example written as a doctest in a core's docstring is one: it runs and passes."""
    import doctest

    from conftest import load_core
    from fastinst import _core_py

    module = load_core(kind)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for name in _core_py.__all__:
        for test in finder.find(getattr(module, name), name, module=False, globs=vars(module)):
            runner.run(test)
    assert runner.failures == 0
    assert runner.tries >= 3  # read_table, make_table, sha256_file
