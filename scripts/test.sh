#!/usr/bin/env bash
# The whole test suite: once with the compiled core, and the core-sensitive tests
# again with the pure-Python twin forced (FASTINST_NO_EXTENSIONS=1).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

run_pytest() {
    .venv/bin/python -m pytest "$@"
    local rc=$?
    if [ $rc -eq 5 ]; then
        echo "test: pytest collected no tests for: $*" >&2
        return 1  # an empty run is a broken suite, not a pass
    fi
    return $rc
}

run_pytest -q tests || exit 1
FASTINST_NO_EXTENSIONS=1 run_pytest -q tests/test_install.py tests/test_core.py tests/test_backend.py || exit 1
