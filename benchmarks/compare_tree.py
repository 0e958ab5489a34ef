"""Compare what two installers put into two environments: site-packages and bin.

    python benchmarks/compare_tree.py ENV_A ENV_B     # exit 0 when they agree

or, from a test, ``compare_envs(a, b)``, which returns the differences as a list of
one-line strings (empty when the trees agree). Standard library only.

What must agree:
- the same relative paths (files, directories, symlinks) below site-packages and
  bin, except the names in ``IGNORED`` and the venv's own files in bin;
- the same bytes in every regular file, and the same executable bits (only those:
  a warm install hardlinks files out of a cache that keeps them read-only, so the
  write bits may differ by design);
- in bin, scripts compared by what they run: an entry-point launcher must call the
  same ``module:function`` (pip's and installer's launcher boilerplate differ), a
  copied script must have the same bytes after its shebang, and every shebang
  must point at the environment's own python;
- each ``.dist-info/RECORD`` must list the same set of files (paths normalised to
  the environment root; hashes and row order are not compared, see ``IGNORED``),
  and the files it lists outside site-packages and bin (``.data/data`` files such
  as man pages, headers) must exist in both with the same bytes and executable bits.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import sys
from pathlib import Path

# Names skipped wherever they occur, and why.
IGNORED: dict[str, str] = {
    "__pycache__": "bytecode depends on the compile policy (pip --no-compile, uv, fastinst "
    "differ) and embeds source mtimes",
    "RECORD": "hashes of generated launchers and the rows of INSTALLER etc. differ by "
    "installer; its set of paths is compared separately",
    "INSTALLER": "names the tool that installed (pip, uv, fastinst)",
    "REQUESTED": "written or not depending on how the tool was asked (CLI vs library)",
    "direct_url.json": "PEP 610 record of where the wheel came from: the wheel's absolute "
    "path, which differs between runs",
    "uv_cache.json": "uv's note of the cache entry it installed from",
}

# Made by `python -m venv`, not by the installer; activate scripts embed the env path.
VENV_BIN = re.compile(r"^(python(\d+(\.\d+)?)?|activate(\.\w+)?|Activate\.ps1)$")

_FROM_IMPORT = re.compile(rb"^from (\S+) import (\S+)\s*$", re.M)
_SYS_EXIT = re.compile(rb"^\s+sys\.exit\((\S+?)\(\)\)\s*$", re.M)
_SH_EXEC = re.compile(rb"^'''exec' (.+?) \"\$0\" \"\$@\"$")


def find_site_packages(env: Path) -> Path:
    """``env/lib/pythonX.Y/site-packages`` (the only one of a POSIX venv)."""
    found = sorted(env.glob("lib/python*/site-packages"))
    if len(found) != 1:
        raise FileNotFoundError(f"{env}: expected one lib/python*/site-packages, found {found}")
    return found[0]


def _walk(root: Path, skip_venv_bin: bool = False) -> dict[str, os.stat_result]:
    entries: dict[str, os.stat_result] = {}
    if not root.is_dir():
        return entries
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED)
        rel_dir = Path(dirpath).relative_to(root)
        for name in dirnames + filenames:
            if name in IGNORED:
                continue
            if skip_venv_bin and rel_dir == Path(".") and VENV_BIN.match(name):
                continue
            path = Path(dirpath, name)
            entries[str(rel_dir / name)] = path.lstat()
    return entries


def split_shebang(data: bytes) -> tuple[str | None, bytes]:
    """The interpreter a script's shebang runs, and the bytes after the shebang.

    Knows the plain ``#!/path/python`` line and the ``/bin/sh`` exec form that
    pip, installer and fastinst write for long paths or paths with spaces.
    """
    if not data.startswith(b"#!"):
        return None, data
    lines = data.split(b"\n", 3)
    if lines[0].strip() == b"#!/bin/sh" and len(lines) >= 3:
        m = _SH_EXEC.match(lines[1])
        if m and lines[2].strip() == b"' '''":
            python = shlex.split(m.group(1).decode(sys.getfilesystemencoding()))[0]
            return python, lines[3] if len(lines) > 3 else b""
    first, _, rest = data.partition(b"\n")
    parts = first[2:].decode(sys.getfilesystemencoding(), "replace").split()
    return (parts[0] if parts else ""), rest


def launcher_target(body: bytes) -> str | None:
    """``module:function`` of an entry-point launcher's body, or None if it is not one."""
    imports = _FROM_IMPORT.findall(body)
    calls = _SYS_EXIT.findall(body)
    if len(imports) != 1 or len(calls) != 1:
        return None
    module, name = imports[0]
    call = calls[0]
    if call != name and not call.startswith(name + b"."):
        return None
    return f"{module.decode()}:{call.decode()}"


def _is_env_python(python: str | None, env: Path) -> bool:
    if not python:
        return False
    p = Path(python)
    return (
        p.is_absolute()
        and os.path.realpath(p.parent) == os.path.realpath(env / "bin")
        and p.name.startswith("python")
    )


def _record_paths(dist_info: Path, site: Path, env: Path) -> set[str]:
    """The paths a RECORD lists, relative to the env root, minus the ignored names."""
    import csv

    paths = set()
    with open(dist_info / "RECORD", newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if not row or not row[0]:
                continue
            parts = row[0].split("/")
            if any(part in IGNORED for part in parts):
                continue
            full = os.path.normpath(os.path.join(site, row[0]))
            paths.add(os.path.relpath(full, env))
    return paths


def compare_envs(a: Path | str, b: Path | str, *, records: bool = True) -> list[str]:
    """Differences between the site-packages and bin trees of envs ``a`` and ``b``."""
    a, b = Path(a), Path(b)
    diffs: list[str] = []
    site_a, site_b = find_site_packages(a), find_site_packages(b)
    if site_a.relative_to(a) != site_b.relative_to(b):
        diffs.append(f"site-packages differ: {site_a.relative_to(a)} vs {site_b.relative_to(b)}")
    diffs += _compare_tree("site-packages", site_a, site_b, a, b, scripts=False)
    diffs += _compare_tree("bin", a / "bin", b / "bin", a, b, scripts=True)
    if records:
        diffs += _compare_records(site_a, site_b, a, b)
    return diffs


def _compare_tree(
    label: str, root_a: Path, root_b: Path, env_a: Path, env_b: Path, *, scripts: bool
) -> list[str]:
    diffs: list[str] = []
    ea, eb = _walk(root_a, skip_venv_bin=scripts), _walk(root_b, skip_venv_bin=scripts)
    for rel in sorted(ea.keys() - eb.keys()):
        diffs.append(f"{label}/{rel}: only in A")
    for rel in sorted(eb.keys() - ea.keys()):
        diffs.append(f"{label}/{rel}: only in B")
    for rel in sorted(ea.keys() & eb.keys()):
        sa, sb = ea[rel], eb[rel]
        where = f"{label}/{rel}"
        if stat.S_IFMT(sa.st_mode) != stat.S_IFMT(sb.st_mode):
            diffs.append(f"{where}: file type {stat.filemode(sa.st_mode)} vs "
                         f"{stat.filemode(sb.st_mode)}")  # fmt: skip
            continue
        if stat.S_ISLNK(sa.st_mode):
            ta, tb = os.readlink(root_a / rel), os.readlink(root_b / rel)
            if ta != tb:
                diffs.append(f"{where}: symlink to {ta!r} vs {tb!r}")
            continue
        if not stat.S_ISREG(sa.st_mode):
            continue
        if (sa.st_mode & 0o111) != (sb.st_mode & 0o111):
            diffs.append(f"{where}: executable bits {stat.filemode(sa.st_mode)} vs "
                         f"{stat.filemode(sb.st_mode)}")  # fmt: skip
        if scripts:
            diffs += _compare_script(where, root_a / rel, root_b / rel, env_a, env_b)
        elif sa.st_size != sb.st_size or (root_a / rel).read_bytes() != (root_b / rel).read_bytes():
            diffs.append(f"{where}: contents differ ({sa.st_size} vs {sb.st_size} bytes)")
    return diffs


def _compare_script(where: str, pa: Path, pb: Path, env_a: Path, env_b: Path) -> list[str]:
    da, db = pa.read_bytes(), pb.read_bytes()
    if not da.startswith(b"#!") and not db.startswith(b"#!"):
        return [] if da == db else [f"{where}: contents differ"]
    diffs = []
    python_a, body_a = split_shebang(da)
    python_b, body_b = split_shebang(db)
    if not _is_env_python(python_a, env_a):
        diffs.append(f"{where}: A's shebang runs {python_a!r}, not A's python")
    if not _is_env_python(python_b, env_b):
        diffs.append(f"{where}: B's shebang runs {python_b!r}, not B's python")
    target_a, target_b = launcher_target(body_a), launcher_target(body_b)
    if target_a is not None or target_b is not None:
        if target_a != target_b:
            diffs.append(f"{where}: launcher calls {target_a} vs {target_b}")
    elif body_a != body_b:
        diffs.append(f"{where}: script bodies differ after the shebang")
    return diffs


def _compare_records(site_a: Path, site_b: Path, env_a: Path, env_b: Path) -> list[str]:
    diffs = []
    dists_a = {p.name for p in site_a.glob("*.dist-info") if (p / "RECORD").is_file()}
    dists_b = {p.name for p in site_b.glob("*.dist-info") if (p / "RECORD").is_file()}
    for name in sorted(dists_a ^ dists_b):
        diffs.append(f"{name}/RECORD: only in {'A' if name in dists_a else 'B'}")
    for name in sorted(dists_a & dists_b):
        ra = _record_paths(site_a / name, site_a, env_a)
        rb = _record_paths(site_b / name, site_b, env_b)
        for path in sorted(ra - rb)[:5]:
            diffs.append(f"{name}/RECORD: lists {path} only in A")
        for path in sorted(rb - ra)[:5]:
            diffs.append(f"{name}/RECORD: lists {path} only in B")
        diffs += _compare_data_files(name, ra & rb, site_a, env_a, env_b)
    return diffs


def _compare_data_files(
    dist: str, paths: set[str], site_a: Path, env_a: Path, env_b: Path
) -> list[str]:
    """Files a RECORD lists outside site-packages and bin (``.data/data``, headers)."""
    diffs = []
    site_rel = site_a.relative_to(env_a)
    for rel in sorted(paths):
        parts = Path(rel).parts
        if parts[0] in ("..", "bin") or Path(rel).is_relative_to(site_rel):
            continue
        pa, pb = env_a / rel, env_b / rel
        if not pa.is_file() or not pb.is_file():
            missing = " and ".join(x for x, p in (("A", pa), ("B", pb)) if not p.is_file())
            diffs.append(f"{dist}: data file {rel} missing in {missing}")
        elif pa.read_bytes() != pb.read_bytes():
            diffs.append(f"{dist}: data file {rel}: contents differ")
        elif (pa.stat().st_mode & 0o111) != (pb.stat().st_mode & 0o111):
            diffs.append(f"{dist}: data file {rel}: executable bits differ")
    return diffs


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="first environment (a venv root)")
    parser.add_argument("b", type=Path, help="second environment (a venv root)")
    parser.add_argument("--no-records", action="store_true", help="skip the RECORD path sets")
    parser.add_argument("--limit", type=int, default=50, help="print at most this many")
    args = parser.parse_args(argv)
    diffs = compare_envs(args.a, args.b, records=not args.no_records)
    for line in diffs[: args.limit]:
        print(line)
    if len(diffs) > args.limit:
        print(f"... and {len(diffs) - args.limit} more")
    print(f"{len(diffs)} difference(s)" if diffs else "the trees agree", file=sys.stderr)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
