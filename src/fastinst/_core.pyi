"""Types of the compiled core (``_core.pyx``); ``_core_py`` is its pure-Python twin."""

from collections.abc import Sequence
from typing import Final

# (name, method, flags, crc32, compressed_size, file_size, header_offset, external_attr)
Entry = tuple[str, int, int, int, int, int, int, int]
# (header_offset, method, compressed_size, file_size, crc32, dest, mode,
#  expected_sha256, expected_size, name); expected_sha256 is the raw digest, b""
#  (none), or RECORD's hash field ("sha256=...": decoded by the core; another
#  algorithm is not checked by the core)
Task = tuple[int, int, int, int, int, str, int, bytes | str, int, str]
# A table row: (key, path, size, mtime_ns, flags, sha256)
Row = tuple[int, str, int, int, int, bytes]

LINK_CLONE: Final[int]
LINK_HARDLINK: Final[int]
LINK_COPY: Final[int]
INFLATER: Final[str]
STREAMER: Final[str]
KEYS: Final[int]
FLAG_EXEC: Final[int]
SKIP_LISTED: Final[int]
SKIP_UNLISTED: Final[int]

def read_central_directory(path: str) -> list[Entry]: ...
def extract(
    jobs: Sequence[tuple[str, Sequence[Task]]],
    threads: int,
    counters: bytearray | None = None,
    stamps: Sequence[bytearray] | None = None,
) -> list[bytes]: ...
def make_dirs(paths: Sequence[str]) -> None: ...
def read_table(table: bytes) -> list[Row]: ...
def make_table(
    sources: Sequence[str | None],
    rows: Sequence[tuple[int, str, int, bytes]],
    threads: int,
    stamps: bytes | None = None,
) -> bytes: ...
def link_tree(
    table: bytes,
    sources: Sequence[str | None],
    targets: Sequence[str | None],
    prefixes: Sequence[str],
    how: Sequence[int],
    threads: int,
    skip: bytes | None = None,
    counter: bytearray | None = None,
) -> tuple[bytes, list[list[str]], int]: ...
def link_trees(
    jobs: Sequence[
        tuple[
            bytes,
            Sequence[str | None],
            Sequence[str | None],
            Sequence[str],
            Sequence[int],
            bytes | None,
        ]
    ],
    threads: int,
    counters: bytearray | None = None,
) -> list[tuple[bytes, list[list[str]], int]]: ...
def sha256(data: bytes) -> bytes: ...
def sha256_file(path: str) -> str: ...
def _set_stream_threshold(n: int) -> int: ...  # tests only
def _set_memory_budget(n: int) -> int: ...  # tests only
def _set_streamer(name: str) -> str: ...  # tests only
