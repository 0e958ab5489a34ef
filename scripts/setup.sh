#!/usr/bin/env bash
# Set up a development environment in .venv: the build tools, fastinst itself
# (editable, with its Cython core compiled) and the test tools. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

# libdeflate makes inflate about 2.5x faster, ISA-L streams big members as fast
# (the core builds with zlib alone too);
# xfsprogs lets the tests make a filesystem with reflinks, to test clone mode for real.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    wanted=()
    [ -e /usr/include/libdeflate.h ] || wanted+=(libdeflate-dev)
    [ -e /usr/include/isa-l/igzip_lib.h ] || wanted+=(libisal-dev)
    command -v mkfs.xfs >/dev/null || wanted+=(xfsprogs)
    if [ ${#wanted[@]} -gt 0 ]; then
        echo "setup: apt-get install ${wanted[*]}"
        (apt-get update -qq && apt-get install -y -qq "${wanted[@]}" >/dev/null) \
            || echo "setup: could not install ${wanted[*]}; continuing without"
    fi
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "setuptools>=64" "Cython>=3.0" wheel
FASTINST_REQUIRE_EXTENSION=1 .venv/bin/python -m pip install -q --no-build-isolation -e ".[test,dev]"
.venv/bin/python -c 'import fastinst; assert fastinst.HAS_EXTENSION, "compiled core missing"; print("setup: fastinst", fastinst.__version__, "with the compiled core")'
