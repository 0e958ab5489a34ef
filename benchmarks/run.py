#!/usr/bin/env python3
"""Time fastinst against pip, installer and uv installing the pinned corpus.

    python benchmarks/run.py [--quick] [--json out.json] [--workdir DIR] [--runs N]
                             [--scenarios S ...] [--tools T ...]

Standard library only at this level: it downloads the corpus (``corpus.py``), makes
its own tools venv with the pinned competitors and fastinst built from this
checkout, and times each scenario with each tool into a fresh venv, tools
interleaved run by run. Output: a markdown table (printed, and written to
``benchmarks/results/latest.md``), JSON with ``--json``, and a PNG chart
(``docs/benchmark.png``, drawn by ``_chart.py`` with matplotlib from the tools venv).
See ``docs/benchmarks.md`` for the method.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

PINS = {"pip": "26.3", "installer": "1.1.0", "uv": "0.13.8"}
CHART_DEPS = ["matplotlib>=3.5"]
TOOLS = ("fastinst", "pip", "installer", "uv")
TMPFS_SIZE = "4g"
INSTALL_TIMEOUT = 600.0

# scenario -> (description, wheel set, tools that take part)
SCENARIOS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "nocache": ("straight from the archives, RECORD verified", "all", TOOLS),
    "nocache-noverify": (
        "straight from the archives, fastinst --no-verify-record",
        "all",
        ("fastinst",),
    ),
    "cold": ("empty cache, then install", "all", ("fastinst", "uv")),
    "warm-hardlink": ("warm cache, hardlinks", "all", ("fastinst", "uv")),
    "warm-copy": ("warm cache, copies", "all", ("fastinst", "uv")),
    "warm-lock": ("a pylock.toml of all, warm cache (pip: none)", "all", ("fastinst", "uv", "pip")),
    "big": ("one big wheel (scipy), no cache", "big", TOOLS),
    "small": (f"the {corpus.SMALL_COUNT} smallest wheels, no cache", "small", TOOLS),
    "library": ("fastinst.install() in-process, no cache (import timed apart)", "all",
                ("fastinst",)),
    "cold-manyfiles": ("one wheel of 15,319 files (plotly 5.24.1), empty cache", "manyfiles",
                       ("fastinst", "uv")),
    "warm-manyfiles": ("the same from a warm cache", "manyfiles", ("fastinst", "uv")),
    "warm-six": ("one small wheel (six) from a warm cache", "six", ("fastinst", "uv")),
}  # fmt: skip
# The wheel set a warm scenario's cache is primed with (by default "all").
WARM_CACHE_SET = {"warm-manyfiles": "manyfiles"}

# installer's own loop: one installer.install per wheel, one process, no bytecode.
INSTALLER_SCRIPT = r"""
import sys, sysconfig
from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile
env = sys.argv[1]
v = {"base": env, "platbase": env, "installed_base": env, "installed_platbase": env}
paths = sysconfig.get_paths("venv", vars=v)
scheme = {k: paths[k] for k in ("purelib", "platlib", "scripts", "data")}
scheme["headers"] = paths["include"]
dest = SchemeDictionaryDestination(
    scheme, interpreter=env + "/bin/python", script_kind="posix",
    bytecode_optimization_levels=[],
)
for wheel in sys.argv[2:]:
    with WheelFile.open(wheel) as source:
        install(source, dest, additional_metadata={"INSTALLER": b"installer\n"})
"""

# The library call, in a child that imports fastinst first (timed apart).
LIBRARY_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
import fastinst
t1 = time.perf_counter()
import sysconfig
env = sys.argv[1]
v = {"base": env, "platbase": env, "installed_base": env, "installed_platbase": env}
paths = sysconfig.get_paths("venv", vars=v)
scheme = fastinst.Scheme.from_mapping(
    {"purelib": paths["purelib"], "platlib": paths["platlib"], "scripts": paths["scripts"],
     "data": paths["data"], "headers": paths["include"]},
    python=env + "/bin/python", kind="venv",
)
t2 = time.perf_counter()
fastinst.install(sys.argv[2:], scheme, cache_dir=None, requested=True)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "install": t3 - t2}))
"""


def log(msg: str = "") -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------- processes


@dataclass
class Timing:
    wall: float
    user: float
    sys: float
    maxrss_kb: int
    rc: int
    err: str = ""
    extra: dict = field(default_factory=dict)


# The measuring process between the harness and a tool. The kernel folds the
# memory high-water mark of the process image an exec replaces into the new
# program's ru_maxrss, so a tool forked straight from the harness would report at
# least the harness's own peak RSS (tens of MB once it has compared trees). This
# launcher, a bare ``python -S -I``, is what gets replaced instead: it adds a floor
# of about 5 MB (measured in every report as ``rss_floor_kb``), no more.
LAUNCHER = r"""
import os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    except OSError as exc:
        os.write(2, ("launcher: %s: %s\n" % (cmd[0], exc)).encode())
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(out, "w") as f:
    f.write("%r %r %r %d" % (wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""
LAUNCHER_PYTHON = sys.executable  # set to the base python by main()


def timed(cmd: list[str], env: dict[str, str], logdir: Path) -> Timing:
    """Run ``cmd`` and measure it from fork to reap, in the launcher above.

    ``os.wait4`` gives the child's rusage with its reaped descendants folded in
    (the kernel's RUSAGE_BOTH for a zombie): ``ru_maxrss`` is the peak RSS of the
    largest process of the tree (pip's and uv's interpreter probes, fastinst's
    probe of the target python), CPU times are the sum. Output goes to files, not
    pipes, so a chatty tool cannot block on a full pipe while it is being timed.
    """
    out_path, err_path, ru_path = logdir / "stdout", logdir / "stderr", logdir / "rusage"
    ru_path.unlink(missing_ok=True)
    launcher = [LAUNCHER_PYTHON, "-S", "-I", "-c", LAUNCHER, str(ru_path)]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(launcher + cmd, stdout=out, stderr=err, env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        timer = threading.Timer(INSTALL_TIMEOUT, os.killpg, (proc.pid, signal.SIGKILL))
        timer.start()
        try:
            proc.wait()
        except BaseException:  # Ctrl-C or SIGTERM: leave no tool writing into the tmpfs
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            timer.cancel()
    stderr = err_path.read_text(errors="replace").strip()
    try:
        wall, utime, stime, maxrss = ru_path.read_text().split()
    except (OSError, ValueError):
        wall = utime = stime = maxrss = "0"
    t = Timing(float(wall), float(utime), float(stime), int(maxrss), proc.returncode)
    if proc.returncode != 0:
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        t.err = f"exit {proc.returncode}: " + (lines[-1] if lines else "(no output)")
    t.extra["stdout"] = out_path.read_text(errors="replace")
    return t


def rss_floor(env: dict[str, str], logdir: Path) -> int:
    """The launcher's own share of every ru_maxrss: that of ``true`` run through it."""
    return timed([shutil.which("true") or "/bin/true"], env, logdir).maxrss_kb


def build_error(stderr: str) -> str:
    """The telling lines of a failed ``pip install`` of a source tree."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    found = [ln for ln in lines if "error" in ln.lower() and not ln.startswith(("ERROR", "note"))]
    return " / ".join([*found[-2:], last_line(stderr)])


def cpu_busy(interval: float = 0.5) -> float:
    """How many cores' worth of CPU the machine used over ``interval`` (/proc/stat).

    Called while the harness itself sleeps, so on a machine shared with other
    work it measures that work.
    """

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait

    total0, idle0 = sample()
    time.sleep(interval)
    total1, idle1 = sample()
    total = total1 - total0
    return (total - (idle1 - idle0)) / total * (os.cpu_count() or 1) if total else 0.0


QUIET_CORES = 0.3  # "quiet": other work uses less than this many cores


BUSY_STREAK = 3  # waits in a row that ran out: the machine stays busy
BUSY_WAIT = 1.0  # the wait then, until one ends in quiet again


@dataclass
class Settler:
    """Waits, up to ``max_wait`` seconds, until other work leaves the CPUs alone.

    On a machine that stays busy (the last BUSY_STREAK waits all ran out) it waits
    BUSY_WAIT seconds at most until a wait ends in quiet again: there the full
    wait finds no quiet moment and only makes the run longer (with 10 s, 24 of
    the 50 minutes of one full run under a load of 6).
    """

    max_wait: float
    streak: int = 0

    def __call__(self) -> float:
        """The cores' worth of CPU others used just before the start (so a run
        that started on a busy machine can be told apart in the JSON)."""
        if self.max_wait <= 0:
            return -1.0
        wait = BUSY_WAIT if self.streak >= BUSY_STREAK else self.max_wait
        deadline = time.monotonic() + min(wait, self.max_wait)
        while True:
            busy = cpu_busy()
            if busy < QUIET_CORES:
                self.streak = 0
                return round(busy, 2)
            if time.monotonic() >= deadline:
                self.streak += 1
                return round(busy, 2)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def last_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("WARNING")]
    return lines[-1].strip() if lines else "(no output)"


def child_env(tmpdir: Path) -> dict[str, str]:
    """The environment of every timed process: no user config, temp files on the workdir."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "PYTHON", "FASTINST_", "VIRTUAL_ENV", "CONDA"))
    }
    env.update(
        TMPDIR=str(tmpdir),
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_PROGRESS="1",
        PYTHONDONTWRITEBYTECODE="1",  # the tools' own imports must not touch the tree
    )
    return env


# ---------------------------------------------------------------- the workdir


def fs_type(path: Path) -> str:
    """The filesystem type of ``path`` from /proc/mounts (longest matching mount)."""
    best, kind = "", "unknown"
    real = os.path.realpath(path)
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mnt = parts[1].replace("\\040", " ")
                if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(
                    best
                ):
                    best, kind = mnt, parts[2]
    except OSError:
        pass
    return kind


class Workdir:
    """Where venvs and caches go: a tmpfs when one can be had.

    As root without ``--workdir``, mounts a private tmpfs (unmounted at exit, even
    on error or SIGTERM); else ``/dev/shm`` if it is a tmpfs; else a temp dir on
    disk, with a warning, because file-heavy runs on these disks drift.
    """

    def __init__(self, given: Path | None):
        self.given = given
        self.path: Path = Path()
        self.mounted = False
        self.remove = False
        self.warning = ""

    def __enter__(self) -> Workdir:
        if self.given is not None:
            self.path = self.given.resolve()
            self.path.mkdir(parents=True, exist_ok=True)
        else:
            self.path = Path(tempfile.mkdtemp(prefix="fastinst-bench-"))
            self.remove = True
            if os.geteuid() == 0:
                proc = run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs",
                            str(self.path)])  # fmt: skip
                if proc.returncode == 0:
                    self.mounted = True
                else:
                    log(f"bench: could not mount a tmpfs ({last_line(proc.stderr)})")
            if not self.mounted and fs_type(Path("/dev/shm")) == "tmpfs":
                os.rmdir(self.path)
                self.path = Path(tempfile.mkdtemp(prefix="fastinst-bench-", dir="/dev/shm"))
        self.kind = fs_type(self.path)
        if self.kind != "tmpfs":
            self.warning = (
                f"the workdir {self.path} is on {self.kind}, not a tmpfs: file-heavy runs on "
                "disk slow down run after run, so these figures will drift"
            )
            log(f"bench: WARNING: {self.warning}")
        log(f"bench: workdir {self.path} ({self.kind}{', mounted here' if self.mounted else ''})")
        return self

    def __exit__(self, *exc) -> None:
        if self.mounted:
            if run(["umount", str(self.path)]).returncode != 0:
                run(["umount", "-l", str(self.path)])
            os.rmdir(self.path)
        elif self.remove:
            shutil.rmtree(self.path, ignore_errors=True)


def _sigterm(signum, frame):
    raise SystemExit(f"bench: stopped by signal {signum}")


# ---------------------------------------------------------------- tools venv


def find_python(given: str | None) -> str:
    """A CPython 3.11 (the corpus is cp311): ``--python``, this one, or python3.11."""
    if given:
        return given
    if sys.version_info[:2] == (3, 11) and sys.implementation.name == "cpython":
        return getattr(sys, "_base_executable", None) or sys.executable
    found = shutil.which("python3.11")
    if not found:
        raise SystemExit("bench: the corpus is for CPython 3.11; run with python3.11 or --python")
    return found


def source_digest() -> str:
    """A digest of the fastinst sources, so the tools venv rebuilds it only on change."""
    h = hashlib.sha256()
    files = [ROOT / "setup.py", ROOT / "pyproject.toml"]
    files += sorted(p for p in (ROOT / "src").rglob("*") if p.is_file() and
                    p.suffix in (".py", ".pyx", ".pxi", ".pxd", ".pyi", ".h", ".c") and
                    p.name != "_core.c")  # fmt: skip
    for p in files:
        if p.exists():
            h.update(str(p.relative_to(ROOT)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


SNAPSHOT_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", ".work", "__pycache__", "*.so", "*.egg-info",
    "_core.c", ".*_cache", ".hypothesis",
)  # fmt: skip


def snapshot_source() -> Path:
    """A copy of the checkout to build fastinst from.

    Building in the checkout itself would write ``build/``, ``_core.c`` and the
    egg-info into a tree that others are editing and building at the same time;
    the copy is also a consistent snapshot of the sources.
    """
    dest = HERE / ".work" / "fastinst-src"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(ROOT, dest, ignore=SNAPSHOT_IGNORE, symlinks=True)
    return dest


def git_describe() -> str:
    """`` (commit)`` of the checkout fastinst was built from, ``+`` if its sources differ."""
    head = run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    if head.returncode != 0:
        return ""
    dirty = run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src", "setup.py",
                 "pyproject.toml"])  # fmt: skip
    return f" ({head.stdout.strip()}{'+' if dirty.stdout.strip() else ''})"


def inflater(tools_venv: Path) -> str:
    """`` with libdeflate and isa-l``, ...: what the compiled core was linked with
    (``scripts/setup.sh`` installs libdeflate-dev and libisal-dev; without them
    inflate is about 2.5x slower)."""
    for so in site_packages(tools_venv).glob("fastinst/_core*.so"):
        data = so.read_bytes()
        libs = [name for name, lib in (("libdeflate", b"libdeflate.so"), ("isa-l", b"libisal.so"))
                if lib in data]  # fmt: skip
        return " with " + (" and ".join(libs) if libs else "zlib")
    return ""


def fastinst_deps() -> list[str]:
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as f:
        deps = tomllib.load(f)["project"].get("dependencies", [])
    return [d for d in deps if not d.lower().startswith("installer")]  # pinned above


class Tools:
    """The tools venv: pinned pip, installer, uv, matplotlib, and fastinst from ROOT."""

    def __init__(self, base_python: str, path: Path):
        self.base = base_python
        self.path = path
        self.python = str(path / "bin" / "python")
        self.versions: dict[str, str] = {}
        self.unavailable: dict[str, str] = {}

    def pip(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return run([self.python, "-m", "pip", "--disable-pip-version-check", *args], **kw)

    def setup(self, want: set[str]) -> None:
        stamp_path = self.path / ".bench-stamp.json"
        stamp = {}
        if stamp_path.exists():
            stamp = json.loads(stamp_path.read_text())
        base = {"pins": PINS, "chart": CHART_DEPS, "deps": fastinst_deps(), "python": self.base}
        if not Path(self.python).exists() or stamp.get("base") != base:
            log(f"bench: creating the tools venv {self.path}")
            shutil.rmtree(self.path, ignore_errors=True)
            proc = run([self.base, "-m", "venv", str(self.path)])
            if proc.returncode != 0:
                raise SystemExit(f"bench: cannot create the tools venv: {last_line(proc.stderr)}")
            for args in (
                ["install", "-q", f"pip=={PINS['pip']}"],
                ["install", "-q", f"installer=={PINS['installer']}", f"uv=={PINS['uv']}",
                 *CHART_DEPS, *fastinst_deps()],
            ):  # fmt: skip
                proc = self.pip(*args)
                if proc.returncode != 0:
                    raise SystemExit(f"bench: pip {' '.join(args)}: {last_line(proc.stderr)}")
            stamp = {"base": base}
            stamp_path.write_text(json.dumps(stamp))
        if "fastinst" in want:
            digest = source_digest()
            if stamp.get("fastinst") != digest or not (self.path / "bin" / "fastinst").exists():
                log(f"bench: building fastinst from {ROOT} into the tools venv")
                env = dict(os.environ, FASTINST_REQUIRE_EXTENSION="1")
                proc = self.pip("install", "-q", "--no-deps", "--force-reinstall",
                                str(snapshot_source()), env=env)  # fmt: skip
                if proc.returncode != 0:
                    self.unavailable["fastinst"] = f"pip install {ROOT} failed: " + build_error(
                        proc.stderr
                    )
                    stamp.pop("fastinst", None)
                else:
                    stamp["fastinst"] = digest
                stamp_path.write_text(json.dumps(stamp))
        self._versions(want)

    def _versions(self, want: set[str]) -> None:
        proc = run([self.python, "-c", (
            "import importlib.metadata as m, json; print(json.dumps("
            "{n: m.version(n) for n in ('pip', 'installer', 'uv', 'matplotlib')}))"
        )])  # fmt: skip
        self.versions.update(json.loads(proc.stdout))
        proc = run([str(self.path / "bin" / "uv"), "--version"])
        if proc.returncode == 0:
            self.versions["uv"] = proc.stdout.split()[1]
        for tool in ("pip", "installer", "uv"):
            if tool in want and self.versions.get(tool) != PINS[tool]:
                log(f"bench: WARNING: {tool} {self.versions.get(tool)} instead of {PINS[tool]}")
        if "fastinst" in want and "fastinst" not in self.unavailable:
            proc = run([self.python, "-c", (
                "import json, fastinst, fastinst._cli; print(json.dumps("
                "[fastinst.__version__, fastinst.HAS_EXTENSION]))"
            )])  # fmt: skip
            if proc.returncode != 0:
                self.unavailable["fastinst"] = "import fastinst failed: " + last_line(proc.stderr)
            else:
                version, compiled = json.loads(proc.stdout)
                self.versions["fastinst"] = (
                    version
                    + git_describe()
                    + (inflater(self.path) if compiled else " (pure-Python core)")
                )
        for tool, why in self.unavailable.items():
            log(f"bench: SKIPPING {tool}: {why}")


# ---------------------------------------------------------------- one install


def site_packages(env: Path) -> Path:
    v = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    found = list(env.glob("lib/python*/site-packages"))
    return found[0] if found else env / "lib" / v / "site-packages"


class Checker:
    """After each timed install: every dist-info with a RECORD, and every file there."""

    def __init__(self, wheels: list[Path]):
        self.expected = {w: corpus.dist_info_name(w) for w in wheels}
        self.members = {w: corpus.library_members(w) for w in wheels}

    def check(self, env: Path, wheels: list[Path]) -> str:
        site = site_packages(env)
        missing = [self.expected[w] for w in wheels
                   if not (site / self.expected[w] / "RECORD").is_file()]  # fmt: skip
        if missing:
            return f"{len(missing)} of {len(wheels)} dist-infos missing: {', '.join(missing[:3])}"
        files = sum(
            1 for _dir, dirs, names in os.walk(site) for n in names if "__pycache__" not in _dir
        )
        want = sum(self.members[w] for w in wheels)
        if files < want:
            return f"only {files} files in site-packages, the wheels have {want}"
        return ""


@dataclass
class Bench:
    tools: Tools
    work: Path
    wheels: dict[str, list[Path]]
    checker: Checker
    env: dict[str, str]
    settle: Settler = field(default_factory=lambda: Settler(0.0))
    references: dict[str, Path] = field(default_factory=dict)

    def reference(self, wheel_set: str) -> Path | None:
        """pip's install of a wheel set (made once, untimed), to compare trees with."""
        if wheel_set not in self.references:
            env = self.work / f"reference-{wheel_set}"
            shutil.rmtree(env, ignore_errors=True)
            run([self.tools.base, "-m", "venv", "--without-pip", str(env)])
            wheels = self.wheels[wheel_set]
            t = timed(self.command("pip", "nocache", env, wheels, None), self.env, self.work)
            err = t.err or self.checker.check(env, wheels)
            if err:
                log(f"bench: no reference tree for {wheel_set} (pip: {err}); trees not compared")
            self.references[wheel_set] = env if not err else None  # type: ignore[assignment]
        return self.references[wheel_set]

    def compare(self, scenario: str, env: Path) -> list[str] | None:
        """How the tree in ``env`` differs from pip's (``compare_tree.compare_envs``);
        None when there is no tree of pip's to compare with."""
        import compare_tree

        reference = self.reference(SCENARIOS[scenario][1])
        return compare_tree.compare_envs(reference, env) if reference else None

    def fresh_venv(self, name: str) -> Path:
        """A new venv at ``WORK/venv-<name>``: the same path run after run, as a CI
        job's ``.venv`` is, so a tool may reuse what it learnt about the interpreter
        (uv caches it by path; with a new path each run uv's warm install is about
        50 ms slower here)."""
        path = self.work / f"venv-{name}"
        shutil.rmtree(path, ignore_errors=True)
        proc = run([self.tools.base, "-m", "venv", "--without-pip", str(path)])
        if proc.returncode != 0:
            raise SystemExit(f"bench: cannot create a venv: {last_line(proc.stderr)}")
        return path

    def lock_file(self, wheels: list[Path]) -> Path:
        """A PEP 751 ``pylock.toml`` of ``wheels`` (each by its path and SHA-256), as
        ``pip lock`` or ``uv export`` would write it for them; written once."""
        path = self.work / "pylock.toml"
        if not path.exists():
            lines = ['lock-version = "1.0"', 'created-by = "fastinst benchmarks"', ""]
            for wheel in sorted(wheels):
                name, version = wheel.name.split("-")[:2]
                name = "-".join(name.lower().replace("_", "-").replace(".", "-").split("-"))
                digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
                lines += ["[[packages]]", f'name = "{name}"', f'version = "{version}"',
                          f'wheels = [{{ path = "{wheel}", hashes = {{ sha256 = "{digest}" }} }}]',
                          ""]  # fmt: skip
            path.write_text("\n".join(lines))
        return path

    def command(self, tool: str, scenario: str, env: Path, wheels: list[Path],
                cache: Path | None) -> list[str]:  # fmt: skip
        py = str(env / "bin" / "python")
        bin_ = self.tools.path / "bin"
        ws = [str(w) for w in wheels]
        if scenario == "warm-lock":  # the same wheels, named by a lock file
            ws = ["-r", str(self.lock_file(wheels))]
        link = {"warm-hardlink": "hardlink", "warm-copy": "copy"}.get(scenario)
        if tool == "pip":
            # What `pip --python` runs in its child, without the parent pip process
            # (0.1 to 0.3 s more here): the runner imports pip alone from the tools
            # venv, so the tools' own packages do not count as installed.
            runner = site_packages(self.tools.path) / "pip" / "__pip-runner__.py"
            return [py, str(runner), "install", "--no-deps",
                    "--no-index", "--no-cache-dir", "--no-compile", "-q", *ws]  # fmt: skip
        if tool == "installer":
            return [self.tools.python, "-c", INSTALLER_SCRIPT, str(env), *ws]
        if tool == "uv":
            cmd = [str(bin_ / "uv"), "pip", "install", "--no-deps", "--offline", "--no-index",
                   "--python", py, "-q"]  # fmt: skip
            cmd += ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
            if link:
                cmd += ["--link-mode", link]
            return cmd + ws
        if tool == "fastinst":
            if scenario == "library":
                return [self.tools.python, "-c", LIBRARY_SCRIPT, str(env), *ws]
            cmd = [str(bin_ / "fastinst"), "install", "--python", py, "-q"]
            cmd += ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
            if scenario == "nocache-noverify":
                cmd.append("--no-verify-record")
            if link:
                cmd += ["--link-mode", link]
            return cmd + ws
        raise ValueError(tool)

    def once(
        self,
        tool: str,
        scenario: str,
        cache: Path | None,
        wrap: list[str] | None = None,
        compare: bool = False,
    ) -> Timing:
        """One timed install into a fresh venv (made and removed outside the timing).

        ``wrap`` is a command prefix (``strace -c ...`` for the syscall counts);
        ``compare`` compares the tree with pip's afterwards (untimed).
        """
        wheels = self.wheels[SCENARIOS[scenario][1]]
        env = self.fresh_venv(tool)
        cold = scenario.startswith("cold")
        if cold:
            cache = self.work / f"cold-cache-{tool}"
            shutil.rmtree(cache, ignore_errors=True)
            cache.mkdir()
        try:
            busy = self.settle() if wrap is None else -1.0
            cmd = (wrap or []) + self.command(tool, scenario, env, wheels, cache)
            t = timed(cmd, self.env, self.work)
            t.extra["others_busy"] = busy
            if not t.err:
                t.err = self.checker.check(env, wheels)
            if not t.err and compare:
                t.extra["tree_diffs"] = self.compare(scenario, env)
            if not t.err and scenario == "library":
                try:
                    t.extra.update(json.loads(t.extra["stdout"].strip().splitlines()[-1]))
                except (ValueError, IndexError):
                    t.err = "the library child printed no timings"
            return t
        finally:
            shutil.rmtree(env, ignore_errors=True)
            if cold:
                shutil.rmtree(cache, ignore_errors=True)

    def prime(self, tool: str, wheel_set: str = "all") -> tuple[Path, str]:
        """A warm cache for ``tool``: one untimed install of ``wheel_set`` into a
        throwaway venv."""
        cache = self.work / f"warm-cache-{tool}-{wheel_set}"
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir()
        env = self.fresh_venv(f"{tool}-prime")
        wheels = self.wheels[wheel_set]
        try:
            t = timed(self.command(tool, "cold", env, wheels, cache), self.env, self.work)
            err = t.err or self.checker.check(env, wheels)
        finally:
            shutil.rmtree(env, ignore_errors=True)
        return cache, err


# ---------------------------------------------------------------- the runs


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def benchmark(
    bench: Bench,
    scenarios: list[str],
    tools: list[str],
    runs: int,
    syscalls: bool = False,
    check_trees: bool = True,
) -> dict:
    results: dict[str, dict] = {
        s: {"description": SCENARIOS[s][0], "wheels": len(bench.wheels[SCENARIOS[s][1]]),
            "tools": {}}
        for s in scenarios
    }  # fmt: skip
    failed: dict[tuple[str, str], str] = {}
    for tool, why in bench.tools.unavailable.items():
        for s in scenarios:
            failed[(s, tool)] = f"skipped: {why}"
    warm: dict[tuple[str, str], Path] = {}  # (tool, scenario) -> its warm cache
    for tool in ("uv", "fastinst"):
        if tool not in tools or tool in bench.tools.unavailable:
            continue
        primed: dict[str, tuple[Path, str]] = {}
        for s in scenarios:
            if not s.startswith("warm") or tool not in SCENARIOS[s][2]:
                continue
            wheel_set = WARM_CACHE_SET.get(s, "all")
            if wheel_set not in primed:
                log(f"bench: priming {tool}'s warm cache ({wheel_set})")
                primed[wheel_set] = bench.prime(tool, wheel_set)
            cache, err = primed[wheel_set]
            if err:
                log(f"bench: {tool}: priming the cache failed ({err}); {s} skipped")
                failed[(s, tool)] = f"priming the cache failed: {err}"
            warm[(tool, s)] = cache

    for r in range(runs):
        for s in scenarios:
            order = [t for t in tools if t in SCENARIOS[s][2]]
            k = r % len(order) if order else 0
            order = order[k:] + order[:k]  # rotate, so no tool always goes first
            for tool in order:
                row = results[s]["tools"].setdefault(
                    tool, {"wall": [], "user": [], "sys": [], "rss_kb": [], "run": [],
                           "load": [], "extra": []}
                )  # fmt: skip
                if (s, tool) in failed:
                    row["error"] = failed[(s, tool)]
                    continue
                cache = warm.get((tool, s))
                t = bench.once(tool, s, cache, compare=check_trees and r == 0)
                diffs = t.extra.pop("tree_diffs", None)
                if diffs is not None:
                    row["tree_checked"] = True
                if diffs:
                    # Not pip's tree: fastinst's is meant to be; others' differences are
                    # shown, not held against their times (uv adds uv_cache.json, ...).
                    row["tree_diffs"] = diffs[:20]
                    row["tree_diff_count"] = len(diffs)
                    what = f"tree differs from pip's in {len(diffs)} place(s), e.g. {diffs[0]}"
                    log(f"run {r + 1}/{runs} {s:17} {tool:9} {what}")
                    if tool == "fastinst":
                        t.err = what
                if t.err:
                    failed[(s, tool)] = row["error"] = t.err
                    log(f"run {r + 1}/{runs} {s:17} {tool:9} FAILED: {t.err} (not retried)")
                    continue
                row["wall"].append(t.wall)
                row["user"].append(t.user)
                row["sys"].append(t.sys)
                row["rss_kb"].append(t.maxrss_kb)
                row["run"].append(r)
                row["load"].append(round(os.getloadavg()[0], 2))  # to spot disturbed runs
                extra = {k: v for k, v in t.extra.items() if k not in ("stdout", "others_busy")}
                row["extra"].append(extra)
                row.setdefault("others_busy", []).append(t.extra.get("others_busy"))
                note = "".join(f" {k} {v:.3f}s" for k, v in extra.items())
                busy = t.extra.get("others_busy", -1)
                if busy >= QUIET_CORES:
                    note += f" (others used {busy:.1f} cores just before)"
                cpu, rss = t.user + t.sys, t.maxrss_kb / 1024
                log(f"run {r + 1}/{runs} {s:17} {tool:9} {t.wall:7.3f}s  "
                    f"cpu {cpu:6.2f}s  rss {rss:6.0f} MB{note}")  # fmt: skip
    if syscalls:
        count_syscalls(bench, results, failed, warm)
    for path in [*set(warm.values()), *filter(None, bench.references.values())]:
        shutil.rmtree(path, ignore_errors=True)  # big; the rest of the workdir goes with it
    summarize(results)
    return results


def count_syscalls(
    bench: Bench, results: dict, failed: dict, warm: dict[tuple[str, str], Path]
) -> None:
    """One more, untimed install per scenario and tool under ``strace -f -c``."""
    strace = shutil.which("strace")
    if not strace:
        log("bench: --syscalls: strace is not installed; no syscall counts")
        return
    out = bench.work / "strace.txt"
    for s, res in results.items():
        for tool, row in res["tools"].items():
            if (s, tool) in failed or not row["wall"]:
                continue
            cache = warm.get((tool, s))
            out.unlink(missing_ok=True)
            t = bench.once(tool, s, cache, wrap=[strace, "-f", "-c", "-o", str(out)])
            if t.err or not out.exists():
                log(f"bench: strace {s} {tool}: {t.err or 'no output'}")
                continue
            row["syscalls"] = parse_strace(out.read_text())
            log(f"strace  {s:17} {tool:9} {row['syscalls'].get('total', 0):7} syscalls")


def parse_strace(text: str) -> dict[str, int]:
    """``{syscall: calls}`` from a ``strace -c`` table, with its ``total``."""
    counts: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) in (5, 6) and parts[0].replace(".", "").isdigit():
            counts[parts[-1]] = int(parts[3])
    return counts


def summarize(results: dict) -> None:
    """Medians, and each tool's ratio to fastinst over the runs they shared."""
    for res in results.values():
        rows = res["tools"]
        fi = rows.get("fastinst", {})
        fi_by_run = dict(zip(fi.get("run", []), fi.get("wall", [])))
        fi_cpu = dict(zip(fi.get("run", []), map(sum, zip(fi.get("user", []), fi.get("sys", [])))))
        for tool, row in rows.items():
            row["median"] = median(row["wall"])
            row["rss_mb"] = (median(row["rss_kb"]) or 0) / 1024 if row["rss_kb"] else None
            row["cpu_median"] = median([u + s_ for u, s_ in zip(row["user"], row["sys"])])
            if row["wall"]:
                row["min"], row["max"] = min(row["wall"]), max(row["wall"])
            ratios = [w / fi_by_run[r] for r, w in zip(row["run"], row["wall"]) if r in fi_by_run]
            row["ratio_to_fastinst"] = median(ratios) if tool != "fastinst" else None
            # CPU time (user + sys) is what other work on the machine disturbs least
            cpu = [(u + s_) / fi_cpu[r] for r, u, s_ in zip(row["run"], row["user"], row["sys"])
                   if fi_cpu.get(r)]  # fmt: skip
            row["cpu_ratio_to_fastinst"] = median(cpu) if tool != "fastinst" else None
            for key in ("import", "install"):
                vals = [e[key] for e in row["extra"] if key in e]
                if vals:
                    row[f"{key}_median"] = median(vals)


# ---------------------------------------------------------------- reporting


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    distro = ""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "kernel": platform.release(),
        "os": distro or platform.platform(),
        "python": platform.python_version(),
    }


def fmt_s(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.3f} s" if x < 1 else f"{x:.2f} s"


TARGETS = [
    # (scenario, competitor, competitor's scenario, max fastinst/competitor)
    ("nocache", "pip", "nocache", 0.25),
    ("cold", "uv", "cold", 0.5),
    ("warm-hardlink", "uv", "warm-hardlink", 0.8),
    ("warm-copy", "uv", "warm-copy", 0.8),
    ("cold-manyfiles", "uv", "cold-manyfiles", 1.0),
    ("warm-manyfiles", "uv", "warm-manyfiles", 1.0),
    ("warm-six", "uv", "warm-six", 1.5),
]


def markdown(report: dict) -> str:
    m, v = report["machine"], report["versions"]
    tools = [t for t in TOOLS if any(t in r["tools"] for r in report["scenarios"].values())]
    out = [
        "# fastinst benchmark",
        "",
        f"{report['date']} · {m['cpu']}, {m['cores']} cores, {m['memory']}, Linux {m['kernel']}"
        f" ({m['os']}), Python {m['python']} · workdir on {report['workdir']['fs']}"
        f" · {report['runs']} run(s), medians"
        + (f" · the run took {report['seconds'] / 60:.0f} min" if report.get("seconds") else "")
        + (
            " · 1-min load {before:.2f} before, {after:.2f} after".format(**report["loadavg"])
            if "loadavg" in report
            else ""
        ),
        "",
        "Versions: "
        + ", ".join(f"{t} {v[t]}" for t in TOOLS if t in v)
        + ". Corpus: {wheels} wheels, {members} files, {mb:.0f} MB unpacked.".format(
            mb=report["corpus"]["unpacked_bytes"] / 1e6, **report["corpus"]
        ),
        "",
    ]
    busy = [b for r in report["scenarios"].values() for row in r["tools"].values()
            for b in row.get("others_busy", []) if b is not None and b >= 0]  # fmt: skip
    if report.get("settle") and busy:
        late = sum(b >= QUIET_CORES for b in busy)
        out += [
            f"Before each install the harness waited up to {report['settle']:g} s for other "
            f"work to leave the CPUs ({BUSY_WAIT:g} s after {BUSY_STREAK} waits in a row ran "
            f"out); {late} of {len(busy)} installs still started with "
            f"other work using {QUIET_CORES} cores or more.",
            "",
        ]
    if report["workdir"].get("warning"):
        out += [f"**Warning:** {report['workdir']['warning']}.", ""]
    out += [
        "Wall time, median (in brackets: that tool's time over fastinst's, median over the "
        "runs; above 1 means fastinst is faster). Peak RSS of the largest process of the "
        "installing tree"
        + (
            f" (the measuring launcher puts a floor of {report['rss_floor_kb'] / 1024:.0f} MB "
            "under it)."
            if report.get("rss_floor_kb")
            else "."
        ),
        "",
        "| scenario | " + " | ".join(tools) + " |",
        "|---|" + "---|" * len(tools),
    ]
    notes: dict[tuple[str, str], list[str]] = {}
    for s, res in report["scenarios"].items():
        cells = []
        for tool in tools:
            row = res["tools"].get(tool)
            if row is None:
                cells.append("")
                continue
            if row.get("median") is None:
                cells.append("failed" if "error" in row else "—")
                if "error" in row:
                    notes.setdefault((tool, row["error"]), []).append(s)
                continue
            cell = fmt_s(row["median"])
            if row.get("ratio_to_fastinst"):
                cell += f" ({row['ratio_to_fastinst']:.2f}x)"
            if row.get("rss_mb"):
                cell += f", {row['rss_mb']:.0f} MB"
            if "install_median" in row:
                cell += (
                    f"; install() {fmt_s(row['install_median'])}, "
                    f"import {row['import_median'] * 1000:.0f} ms"
                )
            cells.append(cell)
        out.append(f"| {s}: {res['description']} | " + " | ".join(cells) + " |")
    out += [
        "",
        "Spread and CPU: fastest to slowest wall time over the runs; median CPU time "
        "(user + sys of the process tree: above the wall time means both cores worked).",
        "",
        "| scenario | " + " | ".join(tools) + " |",
        "|---|" + "---|" * len(tools),
    ]
    for s, res in report["scenarios"].items():
        cells = []
        for tool in tools:
            row = res["tools"].get(tool) or {}
            if row.get("median") is None:
                cells.append("")
                continue
            cells.append(
                f"{fmt_s(row['min'])} to {fmt_s(row['max'])}; cpu {fmt_s(row['cpu_median'])}"
            )
        out.append(f"| {s} | " + " | ".join(cells) + " |")
    out.append("")
    out += syscall_table(report, tools)
    target_lines = []
    for s, comp, comp_s, limit in TARGETS:
        fi = report["scenarios"].get(s, {}).get("tools", {}).get("fastinst", {})
        other = report["scenarios"].get(comp_s, {}).get("tools", {}).get(comp, {})
        if fi.get("median") and other.get("ratio_to_fastinst"):
            ratio = 1 / other["ratio_to_fastinst"]
            ok = "met" if ratio <= limit else "NOT met"
            # The fastest runs are the least disturbed ones on a shared machine.
            best = fi["min"] / other["min"]
            cpu = other.get("cpu_ratio_to_fastinst")
            target_lines.append(
                f"- {s}: fastinst/{comp} = {ratio:.2f} (target ≤ {limit}): {ok}; "
                f"fastest run over fastest run: {best:.2f}"
                + (f"; CPU time: {1 / cpu:.2f}" if cpu else "")
            )
    scen = report["scenarios"]
    nv = scen.get("nocache-noverify", {}).get("tools", {}).get("fastinst", {})
    fv = scen.get("nocache", {}).get("tools", {}).get("fastinst", {})
    if nv.get("median") and fv.get("median"):
        paired = dict(zip(nv["run"], nv["wall"]))  # same-run pairs, as for the ratios
        cost = median([w / paired[r] - 1 for r, w in zip(fv["run"], fv["wall"]) if r in paired])
        nv_cpu = {r: u + s_ for r, u, s_ in zip(nv["run"], nv["user"], nv["sys"])}
        fv_cpu = zip(fv["run"], fv["user"], fv["sys"])
        cpu_cost = median([(u + s_) / nv_cpu[r] - 1 for r, u, s_ in fv_cpu if r in nv_cpu])
        ok = "met" if cost <= 0.10 else "NOT met"
        if cost < 0:
            ok += " (below zero: the cost is within the noise of these runs)"
        target_lines.append(
            f"- RECORD verification costs {cost:+.0%} (target ≤ +10%): {ok}; "
            f"CPU time: {cpu_cost:+.0%}"
        )
    pip = scen.get("nocache", {}).get("tools", {}).get("pip", {})
    if fv.get("rss_mb") and pip.get("rss_mb"):
        ok = "met" if fv["rss_mb"] <= pip["rss_mb"] else "NOT met"
        target_lines.append(
            f"- peak RSS {fv['rss_mb']:.0f} MB vs pip's {pip['rss_mb']:.0f} MB "
            f"(target: no higher): {ok}"
        )
    if target_lines:
        out += ["Targets (from the benchmark issue):", "", *target_lines, ""]
    checked = [(s, tool) for s, res in report["scenarios"].items()
               for tool, row in res["tools"].items() if row.get("tree_checked")]  # fmt: skip
    fi_checked = [s for s, tool in checked if tool == "fastinst"]
    fi_differ = [s for s in fi_checked
                 if report["scenarios"][s]["tools"]["fastinst"].get("tree_diff_count")]  # fmt: skip
    if checked:
        out += [
            "Trees (each tool's first run compared with pip's, `benchmarks/compare_tree.py`): "
            + (
                f"fastinst's equal pip's in all {len(fi_checked)} scenarios compared."
                if fi_checked and not fi_differ
                else f"fastinst's differ from pip's in {', '.join(fi_differ)}."
                if fi_differ
                else "fastinst's were not compared."
            ),
            "",
        ]
    tree_notes = [
        f"- {s}, {tool}: {row['tree_diff_count']} difference(s), e.g. "
        + "; ".join(row["tree_diffs"][:3])
        for s, res in report["scenarios"].items()
        for tool, row in res["tools"].items()
        if row.get("tree_diff_count")
    ]
    if tree_notes:
        out += ["Trees that differ from pip's (`benchmarks/compare_tree.py`):", "", *tree_notes, ""]
    if notes:
        out += ["Failures and skips:", ""]
        out += [f"- {tool} ({', '.join(sc)}): {err}" for (tool, err), sc in notes.items()]
        out.append("")
    return "\n".join(out)


DOCS = ROOT / "docs" / "benchmarks.md"
MARKERS = ("<!-- results:start (written by benchmarks/run.py --docs) -->", "<!-- results:end -->")


def update_docs(table: str) -> None:
    """Replace the figures between the markers of docs/benchmarks.md with ``table``."""
    text = DOCS.read_text()
    start, end = text.find(MARKERS[0]), text.find(MARKERS[1])
    if start < 0 or end < start:
        log(f"bench: {DOCS} has no result markers; not updated")
        return
    body = table.split("\n", 2)[2]  # without the "# fastinst benchmark" title
    DOCS.write_text(text[: start + len(MARKERS[0])] + "\n\n" + body.strip() + "\n\n" + text[end:])
    log(f"bench: figures written into {DOCS}")


SYSCALLS = ("openat", "read", "pread64", "write", "close", "mkdir", "link", "linkat",
            "copy_file_range", "getdents64", "newfstatat", "ioctl")  # fmt: skip


def syscall_table(report: dict, tools: list[str]) -> list[str]:
    """Syscall counts per scenario and tool, when ``--syscalls`` gathered them."""
    rows = [(s, t, res["tools"][t]["syscalls"]) for s, res in report["scenarios"].items()
            for t in tools if res["tools"].get(t, {}).get("syscalls")]  # fmt: skip
    if not rows:
        return []
    names = [n for n in SYSCALLS if any(n in c for _, _, c in rows)]
    out = [
        "Syscalls of one more install (`strace -f -c`, the tool and its children; the "
        f"corpus has {report['corpus']['members']} files):",
        "",
        "| scenario | tool | " + " | ".join(names) + " | all |",
        "|---|---|" + "---|" * (len(names) + 1),
    ]
    for s, t, c in rows:
        cells = [f"{c[n]:,}" if n in c else "" for n in names]
        out.append(f"| {s} | {t} | " + " | ".join(cells) + f" | {c.get('total', 0):,} |")
    return [*out, ""]


def draw_chart(tools: Tools, json_path: Path, png: Path) -> None:
    proc = run([tools.python, str(HERE / "_chart.py"), str(json_path), str(png)])
    if proc.returncode != 0:
        log(f"bench: chart not drawn: {last_line(proc.stderr)}")
    else:
        log(f"bench: chart written to {png}")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2 runs instead of 5")
    p.add_argument("--runs", type=int, help="runs per scenario and tool (default 5)")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON")
    p.add_argument("--workdir", type=Path, help="venvs and caches here (default: a tmpfs)")
    p.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    p.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    p.add_argument("--python", help="the CPython 3.11 for the tools and targets")
    p.add_argument("--wheels", type=Path, default=corpus.DEFAULT_DIR, help="corpus download dir")
    p.add_argument("--tools-venv", type=Path, default=HERE / ".work" / "tools")
    p.add_argument("--markdown", type=Path, default=HERE / "results" / "latest.md")
    p.add_argument("--chart", type=Path, default=ROOT / "docs" / "benchmark.png")
    p.add_argument("--no-chart", action="store_true")
    p.add_argument(
        "--no-check-trees",
        action="store_true",
        help="do not compare each tool's tree with pip's after its first run",
    )
    p.add_argument(
        "--syscalls",
        action="store_true",
        help="after the timed runs, count each tool's syscalls in one more install "
        "(strace -f -c) and add a table of them",
    )
    p.add_argument(
        "--settle",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="before each timed install, wait up to this long for other work to leave the "
        f"CPUs (under {QUIET_CORES} cores busy over half a second; {BUSY_WAIT:g} s once "
        f"{BUSY_STREAK} waits in a row ran out); 0: do not wait",
    )
    p.add_argument(
        "--docs",
        action="store_true",
        help=f"also put the table into {DOCS.relative_to(ROOT)} (between its result markers)",
    )
    args = p.parse_args(argv)
    runs = args.runs or (2 if args.quick else 5)
    signal.signal(signal.SIGTERM, _sigterm)

    tools = Tools(find_python(args.python), args.tools_venv.resolve())
    global LAUNCHER_PYTHON
    LAUNCHER_PYTHON = tools.base
    tools.setup(set(args.tools))
    try:
        wheels_src = corpus.ensure_corpus(args.wheels, python=tools.python, log=log)
        many_src = []
        if any(SCENARIOS[s][1] == "manyfiles" for s in args.scenarios):
            many_src = corpus.ensure_corpus(
                args.wheels, python=tools.python, log=log, pins=corpus.MANY_FILES_PINS
            )
    except corpus.CorpusUnavailable as exc:
        raise SystemExit(f"bench: no corpus: {exc}") from None

    with Workdir(args.workdir) as wd:
        work = wd.path
        (work / "wheels").mkdir(exist_ok=True)
        wheels = []
        for w in wheels_src:  # on the workdir too: every read comes from the same place
            dst = work / "wheels" / w.name
            if not dst.exists():
                shutil.copy2(w, dst)
            wheels.append(dst)
        many = [work / "wheels" / w.name for w in many_src]
        for w, dst in zip(many_src, many):
            if not dst.exists():
                shutil.copy2(w, dst)
        sets = {"all": wheels, "big": corpus.big(wheels), "small": corpus.small(wheels),
                "six": corpus.small_one(wheels), "manyfiles": many}  # fmt: skip
        tmp = work / "tmp"
        tmp.mkdir(exist_ok=True)
        bench = Bench(
            tools, work, sets, Checker(wheels + many), child_env(tmp), Settler(args.settle)
        )
        floor = rss_floor(bench.env, work)
        started, load_before = time.time(), os.getloadavg()
        scenarios = benchmark(
            bench, args.scenarios, args.tools, runs, args.syscalls, not args.no_check_trees
        )
        load_after = os.getloadavg()
        report = {
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine_info(),
            "versions": {t: tools.versions[t] for t in TOOLS if t in tools.versions},
            "matplotlib": tools.versions.get("matplotlib"),
            "workdir": {"fs": wd.kind, "mounted_tmpfs": wd.mounted, "warning": wd.warning},
            "runs": runs,
            "rss_floor_kb": floor,
            "settle": args.settle,
            "seconds": round(time.time() - started, 1),
            # Other work on the machine shows here: the harness itself keeps at most
            # one tool running, so a 1-minute load well above that tool's cores means
            # something else competed for the CPUs.
            "loadavg": {"before": load_before[0], "after": load_after[0]},
            "corpus": corpus.stats(wheels),
            "scenarios": scenarios,
        }
    text = markdown(report)
    log("")
    log(text)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(text)
    log(f"bench: table written to {args.markdown}")
    if args.docs:
        update_docs(text)
    json_path = args.json or HERE / "results" / "latest.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=1))
    if args.json:
        log(f"bench: JSON written to {json_path}")
    if not args.no_chart:
        draw_chart(tools, json_path, args.chart)
    return 0


if __name__ == "__main__":
    sys.exit(main())
