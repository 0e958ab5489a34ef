"""Helpers for the reliability tests: raw zips with every field under control,
big wheels, tree snapshots, and installs run in a child process that can be killed.

``craft_zip`` writes archives that ``zipfile`` refuses to write (names that are
not UTF-8 or hold a NUL, encrypted flags, sizes that differ between the central
directory, the local header and the data); ``big_wheel`` builds a wheel of
thousands of files so that a kill lands at a random point of a real install.
"""

from __future__ import annotations

import json
import os
import random
import stat
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import fastinst
from wheelmaker import WheelSpec, build_members, make_record, wheel_filename, write_zip

SRC = str(Path(fastinst.__file__).resolve().parent.parent)


@dataclass
class Raw:
    """One member as stored: every field that a hostile archive may lie about."""

    name: bytes
    data: bytes
    method: int = 8
    flags: int = 0x800  # UTF-8 names
    mode: int = stat.S_IFREG | 0o644
    crc: int | None = None  # both headers; None: the true CRC
    cd_usize: int | None = None  # the central directory's sizes; None: the truth
    cd_csize: int | None = None
    lh_usize: int | None = None  # the local header's sizes; None: the truth
    lh_csize: int | None = None
    lh_name: bytes | None = None  # the local header's name; None: ``name``


def raw_members(spec: WheelSpec, extra: Iterable[Raw] = (), *, first: bool = True) -> list[Raw]:
    """The members of a well-formed wheel for ``spec`` (RECORD true), plus ``extra``."""
    members = [Raw(m.name.encode(), m.data) for m in build_members(spec)]
    extra = list(extra)
    return [*extra, *members] if first else [*members, *extra]


def craft_zip(path: Path, members: Iterable[Raw], *, zip64: bool = False) -> Path:
    """Write ``members`` as a zip archive exactly as described (no checks at all)."""
    out = bytearray()
    central = bytearray()
    count = 0
    for m in members:
        if m.method == 8:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            data = c.compress(m.data) + c.flush()
        else:
            data = m.data
        crc = zlib.crc32(m.data) if m.crc is None else m.crc
        usize, csize = len(m.data), len(data)
        lh_name = m.name if m.lh_name is None else m.lh_name
        offset = len(out)
        lh_u = usize if m.lh_usize is None else m.lh_usize
        lh_c = csize if m.lh_csize is None else m.lh_csize
        out += (
            struct.pack(
                "<4s5HIIIHH",
                b"PK\x03\x04",
                20,
                m.flags,
                m.method,
                0,
                0x5021,
                crc,
                lh_c,
                lh_u,
                len(lh_name),
                0,
            )
            + lh_name
            + data
        )
        cd_u = usize if m.cd_usize is None else m.cd_usize
        cd_c = csize if m.cd_csize is None else m.cd_csize
        extra = b""
        if zip64:
            extra = struct.pack("<HHQQQ", 1, 24, cd_u, cd_c, offset)
            cd_u = cd_c = off32 = 0xFFFFFFFF
        else:
            off32 = offset
        central += (
            struct.pack(
                "<4s6HIIIHHHHHII",
                b"PK\x01\x02",
                (3 << 8) | 45,
                45,
                m.flags,
                m.method,
                0,
                0x5021,
                crc,
                cd_c,
                cd_u,
                len(m.name),
                len(extra),
                0,
                0,
                0,
                (m.mode & 0xFFFF) << 16,
                off32,
            )
            + m.name
            + extra
        )
        count += 1
    cd_offset = len(out)
    out += central
    if zip64:
        z64 = len(out)
        out += struct.pack(
            "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(central), cd_offset
        )
        out += struct.pack("<4sIQI", b"PK\x06\x07", 0, z64, 1)
        out += struct.pack(
            "<4s4HIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0
        )
    else:
        out += struct.pack(
            "<4s4HIIH", b"PK\x05\x06", 0, 0, count, count, len(central), cd_offset, 0
        )
    path.write_bytes(bytes(out))
    return path


def record_for(members: list[Raw], record: bytes) -> list[Raw]:
    """``members`` with the RECORD member's bytes replaced."""
    return [Raw(m.name, record) if m.name.endswith(b".dist-info/RECORD") else m for m in members]


def true_record(members: list[Raw], record_name: str) -> bytes:
    """A correct RECORD for ``members`` (every one that is valid UTF-8)."""
    from wheelmaker import Member

    return make_record(
        [Member(m.name.decode(), m.data) for m in members if m.name.decode() != record_name],
        record_name,
    )


# --- big wheels ------------------------------------------------------------------------


def big_wheel(
    directory: Path,
    name: str = "bigpkg",
    version: str = "1.0",
    *,
    files: int = 3000,
    size: int = 4096,
    big: int = 0,
    seed: int = 0,
    scripts: bool = True,
) -> Path:
    """A wheel of ``files`` modules of about ``size`` bytes in nested packages, plus
    ``big`` random bytes in one member, data files, headers and an entry point.

    The content depends on ``version`` and ``seed``, so two versions differ in
    every file (an upgrade really replaces them).
    """
    rng = random.Random(f"{name}-{version}-{seed}")
    body: dict[str, bytes | str] = {}
    for i in range(files):
        sub = f"{name}/sub{i % 20:02d}/deep{i % 7}"
        line = f"VALUE_{i} = {rng.random()!r}  # {version}\n"
        body[f"{sub}/m{i}.py"] = line * max(1, size // len(line))
    for d in range(20):
        for k in range(7):
            body[f"{name}/sub{d:02d}/deep{k}/__init__.py"] = ""
        body[f"{name}/sub{d:02d}/__init__.py"] = f"# {version}\n"
    body[f"{name}/__init__.py"] = f"__version__ = {version!r}\ndef main():\n    return 0\n"
    if big:
        body[f"{name}/blob.bin"] = rng.randbytes(big)
    body[f"{name}-{version}.data/data/share/{name}/notes.txt"] = f"notes {version}\n"
    body[f"{name}-{version}.data/headers/{name}.h"] = f"#define V {version!r}\n"
    spec = WheelSpec(
        name=name,
        version=version,
        files=body,
        entry_points={"console_scripts": {f"{name}-cli": f"{name}:main"}} if scripts else None,
    )
    members = build_members(spec)
    for m in members:
        if m.name.endswith(".bin"):
            m.compress = 0  # random bytes do not compress; storing them is fast
    return write_zip(directory / wheel_filename(spec), members)


# --- schemes, snapshots, child installs -----------------------------------------------


def scheme_in(env: Path, python: str = "/usr/bin/python3-test") -> dict[str, str]:
    """The five scheme directories below ``env`` and the interpreter, as a mapping
    (JSON-friendly)."""
    return {
        "python": python,
        "purelib": str(env / "lib"),
        "platlib": str(env / "lib"),
        "headers": str(env / "include"),
        "scripts": str(env / "bin"),
        "data": str(env),
    }


def env_snapshot(env: Path) -> dict[str, tuple[int, bytes]]:
    """Every path below ``env`` with mode and content; the lock file (which a
    finished install removes, but a killed one may leave: it is harmless) left out."""
    from conftest import tree_snapshot

    return {
        k: v for k, v in tree_snapshot(env, exclude=()).items() if not k.endswith(".fastinst.lock")
    }


def leftovers(env: Path) -> list[str]:
    """Staging areas, journals and backups left below ``env`` (the lock file aside)."""
    return sorted(
        str(p.relative_to(env)) for p in env.rglob(".fastinst*") if p.name != ".fastinst.lock"
    )


CHILD = r"""
import json, os, sys
sys.path.insert(0, {src!r})
import fastinst
args = json.loads(sys.argv[1])
if args.get("ready"):
    open(args["ready"], "w").close()
fastinst.install(args["wheels"], args["scheme"], cache_dir=args["cache"], jobs=args.get("jobs", 0))
"""


def child_install(
    wheels: list[Path],
    scheme: dict[str, str],
    cache: Path | None,
    *,
    env: dict[str, str] | None = None,
    jobs: int = 0,
    ready: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``fastinst.install`` in a child process (the library, no CLI)."""
    payload = {
        "wheels": [str(w) for w in wheels],
        "scheme": scheme,
        "cache": None if cache is None else str(cache),
        "jobs": jobs,
        "ready": None if ready is None else str(ready),
    }
    return subprocess.Popen(
        [sys.executable, "-c", CHILD.format(src=SRC), json.dumps(payload)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


RECOVER = r"""
import sys
sys.path.insert(0, {src!r})
from fastinst import _transaction
roots, journal_dir = sys.argv[1].split(":"), sys.argv[2]
with _transaction.environment_lock(journal_dir):
    for line in _transaction.recover(roots, journal_dir):
        print(line)
"""


def recover_in_child(scheme: dict[str, str]) -> str:
    """Run `recover` (under the lock) the way an install starts, in its own process."""
    roots = ":".join(scheme[k] for k in ("purelib", "platlib", "headers", "scripts", "data"))
    out = subprocess.run(
        [sys.executable, "-c", RECOVER.format(src=SRC), roots, scheme["purelib"]],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout
