"""Compile installed ``.py`` files to bytecode with the target interpreter.

Bytecode is specific to the interpreter that reads it (magic number, cache tag),
so the compiling is done by worker processes of the *target* interpreter, one per
core, each reading file names on stdin and answering on stdout. The files are
compiled in the staging area, with the final path as the name shown in tracebacks,
so the ``.pyc`` files are published with everything else, all or nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ._distinfo import Row
    from ._transaction import Transaction

INVALIDATION_MODES = ("timestamp", "checked-hash", "unchecked-hash")

# Runs inside the target interpreter (Python 3.8+, stdlib only). One JSON request
# per line: [source, shown_name]; one JSON answer per line: [ok, [pyc paths] | error].
_WORKER = r"""
import importlib.util, json, py_compile, sys
levels = json.loads(sys.argv[1])
mode = sys.argv[2]
invalidation = (
    py_compile.PycInvalidationMode[mode.upper().replace("-", "_")] if mode != "default" else None
)
for line in sys.stdin:
    source, shown = json.loads(line)
    written = []
    try:
        for level in levels:
            cfile = importlib.util.cache_from_source(source, optimization=level or "")
            kwargs = {"invalidation_mode": invalidation} if invalidation is not None else {}
            py_compile.compile(source, cfile, shown, doraise=True, optimize=level, **kwargs)
            written.append(cfile)
        answer = [True, written]
    except Exception as exc:  # a file that does not compile is reported, not fatal
        answer = [False, "%s: %s" % (type(exc).__name__, exc)]
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
"""


def compile_files(
    python: str,
    files: Sequence[tuple[str, str]],
    *,
    optimization_levels: Sequence[int] = (0,),
    invalidation_mode: str | None = None,
    workers: int = 0,
) -> tuple[list[str], list[str]]:
    """Compile each ``(source, shown_name)`` with ``python``.

    Returns the ``.pyc`` paths written and one message per file that did not
    compile (a syntax error in a wheel's file is the wheel's business; pip warns
    and goes on too). ``invalidation_mode`` is one of `INVALIDATION_MODES` or
    ``None`` for py_compile's default (which honours ``SOURCE_DATE_EPOCH``).
    """
    if not files:
        return [], []
    if invalidation_mode is not None and invalidation_mode not in INVALIDATION_MODES:
        raise ValueError(f"invalidation_mode must be one of {', '.join(INVALIDATION_MODES)}")
    count = min(workers or os.cpu_count() or 1, len(files))
    # -W ignore: the compiler's SyntaxWarnings about a wheel's code are the
    # wheel's business (pip silences them too); a file that does not compile at
    # all is still reported.
    cmd = [
        python,
        "-I",
        "-W",
        "ignore",
        "-c",
        _WORKER,
        json.dumps(list(optimization_levels)),
        invalidation_mode or "default",
    ]
    procs = [
        subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    # Deal the files round-robin, largest-first is not worth it: files are small.
    shares = [files[i::count] for i in range(count)]
    written: list[str] = []
    failed: list[str] = []
    # Requests are fed from threads: a worker blocks on a full stdout pipe until it
    # is read, so writing all requests first could deadlock.
    feeders = [
        threading.Thread(target=_feed, args=(proc, share), daemon=True)
        for proc, share in zip(procs, shares)
    ]
    try:
        for feeder in feeders:
            feeder.start()
        for proc, share in zip(procs, shares):
            assert proc.stdout is not None
            for (source, _shown), line in zip(share, proc.stdout):
                ok, result = json.loads(line)
                if ok:
                    written.extend(result)
                else:
                    failed.append(f"{source}: {result}")
            if proc.wait() != 0:
                raise OSError(f"bytecode worker {python} exited with {proc.returncode}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for feeder in feeders:
            feeder.join()
    return written, failed


def _feed(proc: subprocess.Popen[str], share: Sequence[tuple[str, str]]) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write("".join(json.dumps(list(item)) + "\n" for item in share))
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass  # the worker died; its missing answers are reported by the reader


def compile_staged(
    tx: Transaction,
    python: str,
    sources: Sequence[tuple[str, str]],
    prefixes: Mapping[str, str],
    *,
    optimization_levels: Sequence[int],
    invalidation_mode: str | None,
    workers: int,
) -> list[Row]:
    """Compile staged ``.py`` files, each ``(root, path below it)``, where they are
    staged (tracebacks name the final path); the RECORD rows of the ``.pyc`` files,
    ``prefixes[root]`` put before their path below ``root``."""
    from ._distinfo import row_of
    from ._log import logger

    if not sources:
        return []
    items = [(tx.stages[root] + "/" + rel, root + "/" + rel) for root, rel in sources]
    written, failed = compile_files(
        python,
        items,
        optimization_levels=optimization_levels,
        invalidation_mode=invalidation_mode,
        workers=workers,
    )
    for message in failed:
        logger.warning("not compiled: %s", message)
    stage_of = {tx.stages[root]: root for root in {r for r, _ in sources}}
    rows = []
    for pyc in written:
        for stage, root in stage_of.items():
            if pyc.startswith(stage + "/"):
                rel = pyc[len(stage) + 1 :]
                tx.add_tops(root, (rel.partition("/")[0],))
                with open(pyc, "rb") as f:
                    rows.append(row_of(prefixes[root] + rel, f.read()))
                break
    return rows
