#!/usr/bin/env bash
# The whole test suite: once with the compiled core, and the core-sensitive tests
# again with the pure-Python twin forced (FASTINST_NO_EXTENSIONS=1). First the
# checks STYLE.md asks for: ruff (lint and format), mypy --strict, cython-lint.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

# Each run gets a temporary directory of its own, removed at the end: pytest's shared
# /tmp/pytest-of-$USER would have this run clean up after other runs on the machine
# (and their trees may be too deep for pytest's recursive removal).
tmp=$(mktemp -d -t fastinst-tests.XXXXXX) || exit 1
cleanup() {
    # A test killed before its teardown leaves its tmpfs mounted under $tmp (some
    # read-only): unmount those first, deepest first, or rm cannot remove them.
    findmnt -rn -o TARGET | grep -F "$tmp/" | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
runs=0

run_pytest() {
    runs=$((runs + 1))
    .venv/bin/python -m pytest --basetemp "$tmp/run$runs" "$@"
    local rc=$?
    if [ $rc -eq 5 ]; then
        echo "test: pytest collected no tests for: $*" >&2
        return 1  # an empty run is a broken suite, not a pass
    fi
    return $rc
}

lint() {
    local bin=.venv/bin
    "$bin/ruff" check src tests benchmarks || return 1
    "$bin/ruff" format --check src tests benchmarks || return 1
    "$bin/mypy" || return 1
    PATH="$PWD/$bin:$PATH" "$bin/cython-lint" --max-line-length 100 \
        src/fastinst/*.pyx src/fastinst/*.pxi src/fastinst/*.pxd || return 1
}
lint || { echo "test: lint or type check failed" >&2; exit 1; }

run_pytest -q tests || exit 1
FASTINST_NO_EXTENSIONS=1 run_pytest -q tests/test_install.py tests/test_core.py tests/test_backend.py || exit 1
