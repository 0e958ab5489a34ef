"""Property tests of the wheel-reading layers, with both cores, through `install`.

- Mutated real wheels (bytes flipped in local headers, the central directory and
  the end record, sizes and offsets set to edge values, truncations) are installed
  with the compiled core and with the pure-Python twin, from the archive and
  through a cache: each either installs a tree whose RECORD is true or raises a
  `FastinstError` subclass; nothing else is ever raised; nothing is written
  outside the environment; the environment is unchanged after a failure; and the
  two cores give the same outcome (the same tree, or the same exception class
  and message).
- RECORD files made of random rows are parsed with nothing but `RecordMismatch`,
  and installed without a crash or a write outside the environment.

``FUZZ_EXAMPLES`` sets the number of examples (``--soak``: ten times more). The
atheris harness in ``tests/fuzz/`` runs the same checks for hours, by hand.
"""

from __future__ import annotations

import csv
import importlib
import io
import os
import re
import shutil
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import fastinst
from conftest import tree_snapshot
from fastinst import _backend
from fastinst._errors import FastinstError, RecordMismatch, UnsafePath
from fastinst._paths import first_bad_name
from fastinst._records import parse_record
from faults import leftovers, scheme_in
from test_install import assert_record_true
from wheelmaker import Member, WheelSpec, build_members, make_record, write_zip

try:
    _COMPILED = importlib.import_module("fastinst._core")
except ImportError:  # pragma: no cover - the extension is not built
    _COMPILED = None
_PY = importlib.import_module("fastinst._core_py")
CORES = [c for c in (_COMPILED, _PY) if c is not None]
if os.environ.get("FASTINST_NO_EXTENSIONS"):
    CORES = [_PY]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))


def _examples(request_soak: bool) -> int:
    return EXAMPLES * (10 if request_soak else 1)


def _seed_wheels() -> list[bytes]:
    """Small real wheels: deflated and stored members, a .data dir, entry points."""
    out = []
    with tempfile.TemporaryDirectory() as d:
        spec = WheelSpec(
            name="demo",
            files={
                "demo/__init__.py": "def main():\n    return 0\n" * 5,
                "demo/data.bin": bytes(range(256)) * 4,
                "demo-1.0.data/scripts/tool": "#!python\nprint(1)\n",
                "demo-1.0.data/data/share/x.txt": "x" * 100,
            },
            entry_points={"console_scripts": {"demo": "demo:main"}},
        )
        members = build_members(spec)
        members[1].compress = 0  # stored
        out.append(write_zip(Path(d) / "a.whl", members).read_bytes())
        small = WheelSpec(name="demo", files={"demo.py": "x = 1\n"})
        out.append(write_zip(Path(d) / "b.whl", build_members(small)).read_bytes())
    return out


SEEDS = _seed_wheels()
SIGNATURES = (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06")
# Offsets of the 4-byte fields worth lying about, from each signature.
FIELDS = {b"PK\x03\x04": (14, 18, 22), b"PK\x01\x02": (16, 20, 24, 38, 42), b"PK\x05\x06": (12, 16)}
EDGES = (0, 1, 2, 29, 30, 0x7FFFFFFF, 0xFFFFFFFE, 0xFFFFFFFF)


@st.composite
def mutated_wheels(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    sig_offsets = [(sig, i) for sig in SIGNATURES for i in range(len(raw)) if raw[i : i + 4] == sig]
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["header-byte", "field", "flip", "truncate", "insert", "u16"]))
        if not raw:
            break
        if op == "header-byte":
            _sig, at = draw(st.sampled_from(sig_offsets))
            i = min(len(raw) - 1, at + draw(st.integers(0, 45)))
            raw[i] = draw(st.integers(0, 255))
        elif op in ("field", "u16"):
            sig, at = draw(st.sampled_from(sig_offsets))
            if op == "field":
                off = at + draw(st.sampled_from(FIELDS[sig]))
                value = draw(st.one_of(st.sampled_from(EDGES), st.integers(0, 0xFFFFFFFF)))
                if off + 4 <= len(raw):
                    old = struct.unpack_from("<I", raw, off)[0]
                    if draw(st.booleans()):
                        value = (old + draw(st.integers(-3, 3))) & 0xFFFFFFFF
                    struct.pack_into("<I", raw, off, value)
            else:  # name/extra/comment lengths, counts, method, flags
                off = at + draw(st.sampled_from((4, 6, 8, 10, 26, 28, 30, 32)))
                if off + 2 <= len(raw):
                    struct.pack_into("<H", raw, off, draw(st.sampled_from((0, 1, 8, 0xFFFF))))
        elif op == "flip":
            i = draw(st.integers(0, len(raw) - 1))
            raw[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del raw[draw(st.integers(0, len(raw) - 1)) :]
        else:
            i = draw(st.integers(0, len(raw)))
            raw[i:i] = draw(st.binary(min_size=1, max_size=16))
    return bytes(raw)


def _outcome(core, whl: Path, root: Path, cache: bool) -> tuple[str, object]:
    """Install ``whl`` into a fresh environment under ``root`` with ``core``.

    Returns ("ok", tree) or ("error", (class name, message)), after checking that
    nothing but a FastinstError was raised and that a failure changed nothing.
    """
    env = root / "env"
    scheme = scheme_in(env)
    Path(scheme["purelib"]).mkdir(parents=True)
    (Path(scheme["purelib"]) / "existing.py").write_text("keep\n")
    before = tree_snapshot(env, exclude=())
    saved = _backend.core
    _backend.core = core
    try:
        fastinst.install([whl], scheme, cache_dir=root / "cache" if cache else None)
    except FastinstError as exc:
        assert tree_snapshot(env, exclude=()) == before
        assert str(whl) in str(exc) or not isinstance(exc, fastinst.InvalidWheel)
        return "error", (type(exc).__name__, getattr(exc, "member", None), _reason(exc, root))
    finally:
        _backend.core = saved
    assert leftovers(env) == []
    for dist in fastinst.list_installed(fastinst.Scheme.from_mapping(scheme)):
        assert_record_true(Path(dist.dist_info))
    return "ok", tree_snapshot(env, exclude=())


def _reason(exc: FastinstError, root: Path) -> str:
    """The reason, without what differs from run to run (the paths, the txid)."""
    reason = str(getattr(exc, "reason", exc)).replace(str(root), "<root>")
    return re.sub(r"\.fastinst-stage-[0-9a-f-]+", ".fastinst-stage-<txid>", reason)


def _check_both_cores(data: bytes, cache: bool) -> str:
    """Install ``data`` as a wheel with each core and compare; return the outcome."""
    base = Path(tempfile.mkdtemp(prefix="fastinst-fuzz-", dir=_SCRATCH.get("dir")))
    try:
        outcomes = []
        for i, core in enumerate(CORES):
            root = base / f"run{i}"
            wheels = root / "wheels"
            wheels.mkdir(parents=True)
            whl = wheels / "demo-1.0-py3-none-any.whl"
            whl.write_bytes(data)
            outside = tree_snapshot(base, exclude=(f"run{i}",))
            outcomes.append(_outcome(core, whl, root, cache))
            # Nothing outside this run's environment and cache changed.
            assert tree_snapshot(base, exclude=(f"run{i}",)) == outside
            assert sorted(p.name for p in root.iterdir()) in (
                ["env", "wheels"],
                ["cache", "env", "wheels"],
            )
            assert whl.read_bytes() == data
        if len(outcomes) == 2:
            a, b = outcomes
            if a[0] == b[0] == "error" and a[1][1] != b[1][1]:  # type: ignore[index]
                # Several members are damaged, and each core met another one first
                # (the compiled one starts the largest first, in parallel): the
                # same exception class is all that can be asked.
                assert a[1][0] == b[1][0], (a[1], b[1])  # type: ignore[index]
            else:
                assert a == b, (a[1], b[1])
        kind, detail = outcomes[0]
        return f"{kind}: {detail[0] if kind == 'error' else 'installed'}"  # type: ignore[index]
    finally:
        shutil.rmtree(base, ignore_errors=True)


_SCRATCH: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _scratch(tmp_path_factory):
    """A tmpfs for the thousands of little installs when we may mount one (ten times
    faster than this disk), else the default temporary directory."""
    if os.geteuid() != 0:
        yield
        return
    from filesystems import tmpfs

    with tmpfs(tmp_path_factory.mktemp("fuzz") / "mnt", "256m") as mnt:
        _SCRATCH["dir"] = str(mnt)
        yield
        _SCRATCH.clear()


@pytest.fixture(scope="module")
def fuzz_settings(pytestconfig):
    return settings(
        max_examples=_examples(pytestconfig.getoption("--soak")),
        deadline=10_000,  # milliseconds: a hang, not a slow machine
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=not pytestconfig.getoption("--soak"),
    )


def test_mutated_wheels_both_cores_agree(fuzz_settings):
    @fuzz_settings
    @given(data=mutated_wheels(), cache=st.booleans())
    def check(data: bytes, cache: bool) -> None:
        event(_check_both_cores(data, cache))

    check()


def test_random_bytes_both_cores_agree(fuzz_settings):
    @fuzz_settings
    @given(data=st.binary(max_size=400), cache=st.booleans())
    def check(data: bytes, cache: bool) -> None:
        event(_check_both_cores(data, cache))

    check()


# --- RECORD ------------------------------------------------------------------------------

PATH_PARTS = st.sampled_from(
    [
        "demo",
        "demo.py",
        "..",
        ".",
        "",
        "/",
        "\\",
        "a b",
        "é",
        "x,y",
        'q"',
        "\x00",
        "\n",
        "C:",
        "demo-1.0.data",
        "scripts",
        "purelib",
        "demo-1.0.dist-info",
        "RECORD",
        "../../x",
    ]
)
HASHES = st.one_of(
    st.just(""),
    st.sampled_from(["sha256=", "sha256=AAAA", "md5=AAAA", "sha512=", "=", "sha256"]),
    st.builds(
        lambda b: "sha256=" + __import__("base64").urlsafe_b64encode(b).decode().rstrip("="),
        st.binary(min_size=0, max_size=40),
    ),
    st.text(max_size=12),
)
SIZES = st.one_of(
    st.just(""),
    st.integers(-5, 10**6).map(str),
    st.sampled_from(["١٢", "0x10", " 1", "1.0", "9" * 25]),
    st.text(max_size=6),
)


@st.composite
def record_rows(draw: st.DrawFn) -> list[list[str]]:
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        path = "/".join(draw(st.lists(PATH_PARTS, min_size=1, max_size=4)))
        row = [path, draw(HASHES), draw(SIZES)]
        if draw(st.integers(0, 9)) == 0:
            row = row[: draw(st.integers(0, 2))] + draw(st.lists(st.text(max_size=4), max_size=2))
        rows.append(row)
    return rows


def _record_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


def test_parse_record_raises_only_record_errors(fuzz_settings):
    """A RECORD is parsed, or refused as malformed (`RecordMismatch`) or as naming a
    path no member could have (`UnsafePath`), naming the wheel and RECORD."""

    @fuzz_settings
    @given(data=st.one_of(st.binary(max_size=300), record_rows().map(_record_bytes)))
    def check(data: bytes) -> None:
        try:
            entries = parse_record("w.whl", "demo-1.0.dist-info/RECORD", data)
        except (RecordMismatch, UnsafePath) as exc:
            assert exc.wheel == "w.whl" and exc.member == "demo-1.0.dist-info/RECORD"
            return
        for path, entry in entries.items():
            assert entry.path == path
            assert first_bad_name([path]) is None
            if entry.size:
                assert 0 <= int(entry.size) < 10**19

    check()


def test_installing_random_records(fuzz_settings):
    """A real wheel whose RECORD is replaced by random rows (plus, sometimes, the true
    rows): installed (then every file is inside the environment and the installed
    RECORD is true) or refused with a FastinstError, identically by both cores."""

    @fuzz_settings
    @given(rows=record_rows(), keep_true=st.booleans())
    def check(rows: list[list[str]], keep_true: bool) -> None:
        members = build_members(WheelSpec(name="demo", files={"demo.py": "x = 1\n"}))
        record_name = "demo-1.0.dist-info/RECORD"
        true = make_record(members, record_name).decode() if keep_true else ""
        data = true.encode() + _record_bytes(rows)
        members = [m for m in members if m.name != record_name]
        members.append(Member(record_name, data))
        with tempfile.TemporaryDirectory(dir=_SCRATCH.get("dir")) as d:
            whl = write_zip(Path(d) / "demo-1.0-py3-none-any.whl", members)
            event(_check_both_cores(whl.read_bytes(), cache=False))

    check()


# --- METADATA and WHEEL headers ----------------------------------------------------------

HEADER_NAMES = ["name", "version", "requires-python", "wheel-version", "root-is-purelib"]
HEADER_LINES = st.one_of(
    st.builds(
        lambda name, sep, value: name + sep + value,
        st.sampled_from(
            ["Name", "VERSION", "Requires-Python", "Wheel-Version", "X", "Bad Name", ""]
        ),
        st.sampled_from([":", ": ", ":\t ", " :", "::"]),
        st.text(alphabet=" \tab1.:é\x0b", max_size=6),
    ),
    st.text(alphabet=" \tcd:", max_size=4).map(lambda t: " " + t),  # a continuation
    st.text(max_size=6),
)


def test_headers_read_as_email_reads_them(fuzz_settings):
    """`_wheel.read_headers` (which spares the cold path importing ``email``) finds
    the values ``email``'s compat32 parser finds, whatever the lines and line ends."""
    from email.parser import HeaderParser

    from fastinst._wheel import read_headers

    @fuzz_settings
    @given(
        lines=st.lists(st.tuples(HEADER_LINES, st.sampled_from(["\n", "\r\n", "\r"])), max_size=6),
        tail=st.text(max_size=6),
    )
    def check(lines: list[tuple[str, str]], tail: str) -> None:
        text = "".join(line + end for line, end in lines) + tail
        if text.startswith("From "):  # a mailbox's envelope line: not in a wheel's files
            return
        parsed = HeaderParser().parsestr(text)
        expected = {n: str(parsed[n]) for n in HEADER_NAMES if parsed[n] is not None}
        assert read_headers(text, HEADER_NAMES) == expected

    check()


# --- entry points -------------------------------------------------------------------------

EP_NAMES = st.one_of(
    st.sampled_from(["demo", "..", ".", "a/b", "a\\b", "/abs", "x" * 300, " ", "-", "ü", "a b"]),
    st.text(min_size=1, max_size=12),
)
EP_VALUES = st.one_of(
    st.sampled_from(["demo:main", "demo", "demo:", ":main", "demo:main [extra]", "a.b:c.d", ""]),
    st.text(max_size=16),
)


@st.composite
def entry_points_txt(draw: st.DrawFn) -> str:
    lines = []
    for section in draw(
        st.lists(st.sampled_from(["console_scripts", "gui_scripts", "other"]), max_size=3)
    ):
        lines.append(f"[{section}]")
        for _ in range(draw(st.integers(0, 3))):
            lines.append(f"{draw(EP_NAMES)} = {draw(EP_VALUES)}")
    if draw(st.booleans()):
        lines.append(draw(st.text(max_size=20)))
    return "\n".join(lines) + "\n"


def test_installing_random_entry_points(fuzz_settings):
    """Random entry_points.txt: installed (every launcher inside the scripts directory,
    RECORD true) or refused with a FastinstError, the same by both cores."""

    @fuzz_settings
    @given(text=entry_points_txt())
    def check(text: str) -> None:
        spec = WheelSpec(name="demo", files={"demo/__init__.py": "def main(): pass\n"})
        members = [m for m in build_members(spec) if not m.name.endswith("RECORD")]
        members.append(
            Member("demo-1.0.dist-info/entry_points.txt", text.encode("utf-8", "surrogatepass"))
        )
        record_name = "demo-1.0.dist-info/RECORD"
        members.append(Member(record_name, make_record(members, record_name)))
        with tempfile.TemporaryDirectory(dir=_SCRATCH.get("dir")) as d:
            whl = write_zip(Path(d) / "demo-1.0-py3-none-any.whl", members)
            event(_check_both_cores(whl.read_bytes(), cache=False))

    check()
