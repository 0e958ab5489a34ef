"""atheris harness: coverage-guided fuzzing of wheel reading and installing, by hand.

Not run in CI (``tests/test_fuzz.py`` runs the hypothesis version there). Each input
is written as a wheel and installed with the compiled core and with the
pure-Python twin (see ``test_fuzz._check_both_cores``): anything but a
`FastinstError`, a write outside the environment, a change after a failure, a
false RECORD after a success, or the two cores disagreeing, is a crash that
atheris reports with the input that caused it. With ``--record`` the input is a
RECORD file for `parse_record` instead.

Run (``pip install atheris``; root mounts a tmpfs for speed if you point TMPDIR at one)::

    python tests/fuzz/fuzz_wheel.py -atheris_runs=100000 /tmp/wheel-corpus
    python tests/fuzz/fuzz_wheel.py --record -max_total_time=600

The corpus directory is seeded with small real wheels on first use.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import atheris

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))

with atheris.instrument_imports():
    import fastinst._core_py
    import fastinst._install
    import fastinst._installed
    import fastinst._plan
    import fastinst._wheel
    from fastinst._errors import RecordMismatch
    from fastinst._records import parse_record
from test_fuzz import SEEDS, _check_both_cores  # noqa: E402  (not instrumented: pytest)

assert fastinst._core_py and fastinst._install and fastinst._installed and fastinst._plan
assert fastinst._wheel


def one_wheel(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    cache = fdp.ConsumeBool()
    _check_both_cores(fdp.ConsumeBytes(fdp.remaining_bytes()), cache)


def one_record(data: bytes) -> None:
    with contextlib.suppress(RecordMismatch):
        parse_record("w.whl", "demo-1.0.dist-info/RECORD", data)


def main() -> None:
    record = "--record" in sys.argv
    argv = [a for a in sys.argv if a != "--record"]
    corpus = [a for a in argv[1:] if not a.startswith("-")]
    if corpus and not record:
        d = Path(corpus[0])
        d.mkdir(parents=True, exist_ok=True)
        if not any(d.iterdir()):
            for i, seed in enumerate(SEEDS):
                (d / f"seed{i}").write_bytes(b"\0" + seed)  # first byte: the cache flag
    atheris.Setup(argv, one_record if record else one_wheel)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
