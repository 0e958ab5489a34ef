"""The pinned benchmark corpus: 29 real wheels for CPython 3.11 on x86_64 Linux.

Standard library only: the harness (``run.py``) and the acceptance test
(``tests/test_corpus.py``) both import it before anything else is installed.

The pins are the requirements of ``../shared/bench/corpus.txt`` plus the exact file
each one resolved to (name and SHA-256), so that every machine benchmarks the
same bytes: 14,913 zip entries (14,438 files), 370.7 MB unpacked, 124.3 MB packed.

    >>> from corpus import ensure_corpus
    >>> wheels = ensure_corpus(Path("benchmarks/.work/wheels"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

# (file name, SHA-256) of every wheel; the requirement is derived from the name.
PINS: tuple[tuple[str, str], ...] = (
    (
        "boto3-1.44.5-py3-none-any.whl",
        "70c3e0409794b29ec1900bcaff0695b73234a2d32ffaed35045b94caa26212a5",
    ),
    (
        "botocore-1.44.5-py3-none-any.whl",
        "8f16a56d1dff125dd65322ae021efa7ba5195a6db5102b96862566055b748921",
    ),
    (
        "certifi-2026.10.18-py3-none-any.whl",
        "73191c47aaa79da394e8fee2dbc2ec827432cab56311122c9e47abf79e390f62",
    ),
    (
        "charset_normalizer-3.5.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64"
        ".manylinux_2_28_x86_64.whl",
        "211d5a3eb6af8f513b8d4ca19a8c1b7accab1b5f0d3175f9826b03c1a920dc1f",
    ),
    (
        "click-8.5.1-py3-none-any.whl",
        "8bb5376d2006950386f8c6427613334a2acadc5f559cb80e638d00b4df957e37",
    ),
    (
        "django-5.2.19-py3-none-any.whl",
        "5965d974a5218a2b68a11dd1276434707f23886525c23f0598eccedaf4f4ca00",
    ),
    (
        "flask-3.1.3-py3-none-any.whl",
        "f4bcbefc124291925f1a26446da31a5178f9483862233b23c0c96a20701f670c",
    ),
    (
        "idna-3.20-py3-none-any.whl",
        "ab7ae7122974553370f0bdb919e1a960b2cd1bc1ef0276416d896db81c14582c",
    ),
    (
        "jinja2-3.1.6-py3-none-any.whl",
        "85ece4451f492d0c13c5dd7c13a64681a86afae63a5f347908daf103ce6d2f67",
    ),
    (
        "markupsafe-3.0.4-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64"
        ".manylinux_2_28_x86_64.whl",
        "6da83a088f8ef93b2d483a8232a4dbf4d69d3d8496b568a03c56becac43e1808",
    ),
    (
        "matplotlib-3.11.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "07d9b9fa60cd4c393692f50d0bb03123242ddf61c99bb0e95e75feb354e7c1a8",
    ),
    (
        "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "89cd468399cfd2504718f0ba50e410dca55a170b61a02ad92bb18c8a65186e93",
    ),
    (
        "pandas-3.1.1-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
        "4f1602f614bb83f443381dbcbb94c4ac764b2e50c8d6c965614c5cd83e328c47",
    ),
    (
        "pillow-13.0.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "a625df9a2a5597fa5e5266e01aefc82604bb85d291e3547981e863560d75da6c",
    ),
    (
        "pydantic-2.14.3-py3-none-any.whl",
        "3f7b347782ab7e4cf4c798496ae3a82787d9f21ec12676a9c564355eeef8daa8",
    ),
    (
        "pydantic_core-2.50.4-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "0574866e05f6adeecc520d87e87dd06210c0a51706341f6ef8421572f5a64444",
    ),
    (
        "python_dateutil-4.0.0-py3-none-any.whl",
        "a5e246f79eb80475e691bf93862cead98decd8a498cf53ba0516fcdc0f50dc1c",
    ),
    (
        "pytz-2026.6-py2.py3-none-any.whl",
        "7fed3fee8fd6bd4a2b7b75a8d56021d0624127bf69bd5691f115db929ac570b3",
    ),
    (
        "pyyaml-6.0.3-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64"
        ".manylinux_2_28_x86_64.whl",
        "b8bb0864c5a28024fac8a632c443c87c5aa6f215c0b126c449ae1a150412f31d",
    ),
    (
        "requests-2.34.2-py3-none-any.whl",
        "2a0d60c172f83ac6ab31e4554906c0f3b3588d37b5cb939b1c061f4907e278e0",
    ),
    (
        "scipy-1.17.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "43af8d1f3bea642559019edfe64e9b11192a8978efbd1539d7bc2aaa23d92de4",
    ),
    (
        "setuptools-84.2.1-py3-none-any.whl",
        "ca140b45d5325a9478f880e351484f62fef15f336462e449ca0c03c873d589c2",
    ),
    (
        "six-1.17.0-py2.py3-none-any.whl",
        "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274",
    ),
    (
        "sqlalchemy-2.1.9-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64"
        ".manylinux_2_28_x86_64.whl",
        "3a24b459e52b3ac138f6a05e99a4bd0589443a1ae18041a59c1cfdee12134a2b",
    ),
    (
        "sympy-1.14.0-py3-none-any.whl",
        "e091cc3e99d2141a0ba2847328f5479b05d94a6635cb96148ccb3f34671bd8f5",
    ),
    (
        "typing_extensions-4.16.0-py3-none-any.whl",
        "481caa481374e813c1b176ada14e97f1f67a4539ce9cfeb3f350d78d6370c2e8",
    ),
    (
        "tzdata-2026.6-py2.py3-none-any.whl",
        "0a10eec6e13ef16b627fabed9a5f2ba61a62b1c67f327305f4e7e412a70b4aec",
    ),
    (
        "urllib3-2.8.0-py3-none-any.whl",
        "0cf3cae568d36aa9576b28dfb35f11328f1cb974ca7647d9475ebb86c75ac6e3",
    ),
    (
        "werkzeug-3.1.9-py3-none-any.whl",
        "6392e50c78460ba618e5b21f08a71f59c99ce99cdc6cf6e3dd7e6ccca8754fab",
    ),
)

# One real wheel of many files, apart from the corpus (its own scenarios): plotly
# 5.24.1 is pure Python, 15,319 files (mostly its generated validators), 62 MB
# unpacked, 19 MB packed. (plotly 6.1 and later ship far fewer files.)
MANY_FILES_PINS: tuple[tuple[str, str], ...] = (
    (
        "plotly-5.24.1-py3-none-any.whl",
        "f67073a1e637eb0dc3e46324d9d51e2fe76e9727c892dde64ddf1e1b51f29089",
    ),
)
SMALL_ONE = "six"  # one small wheel from a warm cache

BIG = "scipy"  # the one-big-wheel scenario
SMALL_COUNT = 15  # the many-small-wheels scenario: this many of the smallest files

# pip expands only the legacy manylinux aliases, not manylinux_2_N, so every glibc
# level a wheel of the corpus may carry is listed, newest first (pip's preference
# order is the order given, which is what a native pip on a recent glibc picks).
PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(36, 16, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
    "linux_x86_64",
)

DEFAULT_DIR = Path(__file__).resolve().parent / ".work" / "wheels"
INDEX_HOST = "pypi.org"


class CorpusUnavailable(RuntimeError):
    """The corpus could not be downloaded (no network, index down, wrong files)."""


def requirement(filename: str) -> str:
    """``name==version`` for a wheel file name.

    >>> requirement("python_dateutil-4.0.0-py3-none-any.whl")
    'python_dateutil==4.0.0'
    """
    name, version = filename.split("-")[:2]
    return f"{name}=={version}"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def missing(dest: Path, pins: tuple[tuple[str, str], ...] = PINS) -> list[str]:
    """Pinned file names that are absent from ``dest`` or do not hash right."""
    bad = []
    for name, digest in pins:
        path = dest / name
        if not path.is_file() or sha256_of(path) != digest:
            bad.append(name)
    return bad


def index_reachable(host: str = INDEX_HOST, timeout: float = 5.0) -> bool:
    """Whether a TCP connection to the package index can be opened."""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_corpus(
    dest: Path = DEFAULT_DIR,
    python: str = sys.executable,
    log=print,
    pins: tuple[tuple[str, str], ...] = PINS,
) -> list[Path]:
    """Download whatever of the corpus ``dest`` lacks; return all 29 paths, sorted.

    Files already present with the pinned hash are not fetched again. ``python``
    must have pip (any version that knows ``pip download --platform``). ``pins``
    another set of pins (`MANY_FILES_PINS`) fetches those instead.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    todo = missing(dest, pins)
    if todo:
        log(f"corpus: downloading {len(todo)} of {len(pins)} wheels into {dest}")
        for name in todo:  # a stale or truncated file would shadow the download
            (dest / name).unlink(missing_ok=True)
        cmd = [
            python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
            *(arg for p in PLATFORMS for arg in ("--platform", p)),
            "--disable-pip-version-check", "-q", "-d", str(dest),
            *(requirement(name) for name in todo),
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = [line for line in proc.stderr.splitlines() if "WARNING" not in line][-3:]
            raise CorpusUnavailable("pip download failed: " + " / ".join(tail))
        still = missing(dest, pins)
        if still:
            raise CorpusUnavailable(
                "downloaded files do not match the pinned names and hashes: " + ", ".join(still)
            )
    return sorted(dest / name for name, _ in pins)


def dist_info_name(wheel: Path) -> str:
    """The ``.dist-info`` directory a wheel installs, e.g. ``six-1.17.0.dist-info``."""
    with zipfile.ZipFile(wheel) as z:
        tops = {
            n.split("/")[0]
            for n in z.namelist()
            if n.count("/") == 1 and n.endswith(".dist-info/RECORD")
        }
    if len(tops) != 1:
        raise ValueError(f"{wheel.name}: expected one .dist-info with a RECORD, found {tops}")
    return tops.pop()


def library_members(wheel: Path) -> int:
    """How many members land in purelib/platlib (everything outside ``.data/``)."""
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if not n.endswith("/")]
    count = 0
    for n in names:
        top, _, rest = n.partition("/")
        if not top.endswith(".data") or rest.split("/", 1)[0] in ("purelib", "platlib"):
            count += 1
    return count


def big(wheels: list[Path]) -> list[Path]:
    return [w for w in wheels if w.name.split("-")[0].lower() == BIG]


def small_one(wheels: list[Path]) -> list[Path]:
    return [w for w in wheels if w.name.split("-")[0].lower() == SMALL_ONE]


def small(wheels: list[Path], count: int = SMALL_COUNT) -> list[Path]:
    return sorted(sorted(wheels, key=lambda w: os.path.getsize(w))[:count])


def stats(wheels: list[Path]) -> dict[str, int]:
    """Members, unpacked and packed bytes of ``wheels``."""
    members = unpacked = 0
    for w in wheels:
        with zipfile.ZipFile(w) as z:
            infos = [i for i in z.infolist() if not i.is_dir()]
        members += len(infos)
        unpacked += sum(i.file_size for i in infos)
    return {
        "wheels": len(wheels),
        "members": members,
        "unpacked_bytes": unpacked,
        "packed_bytes": sum(os.path.getsize(w) for w in wheels),
    }


if __name__ == "__main__":
    paths = ensure_corpus(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR)
    print(stats(paths))
