#!/usr/bin/env bash
# The one-command demo: set up, build the example wheels, install them with
# fastinst into a fresh venv, run what was installed, list it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

work=$(mktemp -d -t fastinst-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "demo: building the example wheels"
for project in examples/*/; do
    .venv/bin/python -m pip wheel -q --no-deps --no-build-isolation -w "$work/wheels" "$project"
done
ls "$work/wheels"

echo "demo: a fresh venv at $work/env"
.venv/bin/python -m venv --without-pip "$work/env"

echo "demo: fastinst install"
.venv/bin/fastinst install --python "$work/env/bin/python" --cache-dir "$work/cache" "$work"/wheels/*.whl

echo "demo: running what was installed"
"$work/env/bin/hello-fastinst"
"$work/env/bin/data-demo-script"   # a .data/scripts file whose #!python now names the venv
"$work/env/bin/python" -c 'import data_demo; print(data_demo.describe())'

echo "demo: fastinst list"
.venv/bin/fastinst list --python "$work/env/bin/python"
