"""Stock PDM and Poetry against the same tools with fastinst's plugins (plugins/).

    python3 benchmarks/embedding.py             # 3 runs of each, interleaved
    python3 benchmarks/embedding.py --runs 5 --docs

A project that depends on the benchmark corpus (``corpus.py``, 29 pins) is
locked once by each tool against a local wheelhouse of the corpus and everything
it depends on (``pip download``, the first time), served offline: a find_links
directory for PDM, a PEP 503 index on 127.0.0.1 for Poetry. Then, in turns, each
tool syncs it into a fresh venv, stock and with the plugin on; the table gives
the medians of wall time and of CPU time (user + sys of the tool and everything
it started). Standard library only; network to the package index the first time
(the tools and the wheelhouse are kept in ``benchmarks/.work/``).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work" / "embedding"
TOOLS = {
    "pdm": (["pdm==2.29.4", "hishel[httpx2]==1.4.0"], "pdm-fastinst"),
    "poetry": (["poetry==2.5.1"], "poetry-fastinst"),
}
DOCS = REPO / "docs" / "embedding.md"
BEGIN, END = "<!-- embedding-benchmark:begin -->", "<!-- embedding-benchmark:end -->"

sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE))
from corpus import PINS, requirement  # noqa: E402  (the corpus's 29 pins)

from simpleindex import serve  # noqa: E402  (the tests' PEP 503 index)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def base_python() -> str:
    return getattr(sys, "_base_executable", sys.executable)


def tool_venv(name: str) -> Path:
    requirements, plugin = TOOLS[name]
    venv = WORK / f"{name}-venv"
    marker = venv / "fastinst-ready"
    if not marker.exists() or marker.read_text() != repr(requirements):
        log(f"installing {' '.join(requirements)} into {venv}")
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([base_python(), "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, *requirements, "zstandard", "setuptools>=70.1"], check=True)
        marker.write_text(repr(requirements))
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "fastinst-checkout.pth").write_text(str(REPO / "src") + "\n")
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
         "--no-build-isolation", "--no-index", str(REPO / "plugins" / plugin)],
        check=True,
    )  # fmt: skip
    return venv


def wheelhouse() -> tuple[Path, list[str]]:
    """The corpus and its dependencies as wheels for this interpreter."""
    house = WORK / "house"
    # The corpus is a set of files, not a consistent environment: botocore 1.44
    # wants python-dateutil < 3, so that one is left to the resolver.
    pins = [requirement(name) for name, _sha in PINS if not name.startswith("python_dateutil")]
    pins.append("python-dateutil")
    if not (house / ".complete").exists():
        log(f"downloading the corpus and its dependencies into {house}")
        house.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [base_python(), "-m", "pip", "download", "-q", "--only-binary", ":all:",
             "-d", str(house), *pins],
            check=True,
        )  # fmt: skip
        (house / ".complete").write_text("")
    return house, pins


def cpu_of_children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    cpu0, start = cpu_of_children(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, cpu_of_children() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return wall, cpu


def fresh_venv(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([base_python(), "-m", "venv", "--without-pip", str(path)], check=True)


def isolated(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")}
    return {**keep, "HOME": str(home), "NO_COLOR": "1"}


class Pdm:
    name = "pdm"
    command = "pdm sync"

    def __init__(self, venv: Path, house: Path, pins: list[str], root: Path) -> None:
        self.pdm = str(venv / "bin" / "pdm")
        self.project = root / "pdm-project"
        self.project.mkdir(parents=True, exist_ok=True)
        self.env = {
            **isolated(root / "home"),
            "PDM_CHECK_UPDATE": "false",
            "PDM_CACHE_DIR": str(root / "pdm-cache"),
            "PDM_CONFIG_FILE": str(root / "pdm-config.toml"),
        }
        deps = ", ".join(f'"{p}"' for p in pins)
        (self.project / "pyproject.toml").write_text(
            f'[project]\nname = "bench"\nversion = "0"\nrequires-python = ">=3.11,<3.12"\n'
            f"dependencies = [{deps}]\n\n[tool.pdm]\ndistribution = false\n\n"
            f'[[tool.pdm.source]]\nname = "pypi"\nurl = "{house.as_uri()}"\ntype = "find_links"\n'
        )
        fresh_venv(self.project / ".venv")
        self.cmd("use", "-f", str(self.project / ".venv" / "bin" / "python"))
        if not (self.project / "pdm.lock").exists():
            self.cmd("lock")

    def cmd(self, *args: str) -> tuple[float, float]:
        return run([self.pdm, *args], self.project, self.env)

    def sync(self, fastinst: bool) -> tuple[float, float]:
        fresh_venv(self.project / ".venv")
        self.cmd("config", "-l", "fastinst.enable", str(fastinst).lower())
        return self.cmd("sync")


class Poetry:
    name = "poetry"
    command = "poetry install"

    def __init__(self, venv: Path, index: str, pins: list[str], root: Path) -> None:
        self.poetry = str(venv / "bin" / "poetry")
        self.project = root / "poetry-project"
        self.project.mkdir(parents=True, exist_ok=True)
        env_venv = self.project / ".venv"
        self.env = {
            **isolated(root / "home"),
            "POETRY_CACHE_DIR": str(root / "poetry-cache"),
            "POETRY_CONFIG_DIR": str(root / "poetry-config"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "POETRY_VIRTUALENVS_CREATE": "false",
            "POETRY_INSTALLER_BUILTIN_UNINSTALL": "true",
            "VIRTUAL_ENV": str(env_venv),
        }
        self.env["PATH"] = f"{env_venv / 'bin'}:{self.env.get('PATH', '/usr/bin:/bin')}"
        deps = ", ".join(f'"{p}"' for p in pins)
        (self.project / "pyproject.toml").write_text(
            f'[project]\nname = "bench"\nversion = "0"\nrequires-python = ">=3.11,<3.12"\n'
            f"dependencies = [{deps}]\n\n[tool.poetry]\npackage-mode = false\n\n"
            f'[[tool.poetry.source]]\nname = "local"\nurl = "{index}"\npriority = "primary"\n'
        )
        (self.project / "poetry.lock").unlink(missing_ok=True)  # the index's port changed
        fresh_venv(env_venv)
        run([self.poetry, "lock"], self.project, self.env)

    def sync(self, fastinst: bool) -> tuple[float, float]:
        fresh_venv(self.project / ".venv")
        env = {**self.env, "POETRY_FASTINST": "1" if fastinst else "0"}
        return run([self.poetry, "install"], self.project, env)


def table(results: dict[tuple[str, str], list[tuple[float, float]]], runs: int) -> str:
    lines = [
        "| command | stock: wall, CPU | with fastinst: wall, CPU | fastinst/stock: wall (CPU) |",
        "|---|---|---|---|",
    ]
    for tool, command in (("pdm", "pdm sync"), ("poetry", "poetry install")):
        if (tool, "stock") not in results:
            continue
        cells = []
        medians = {}
        for mode in ("stock", "fastinst"):
            times = results[(tool, mode)]
            wall = statistics.median(t[0] for t in times)
            cpu = statistics.median(t[1] for t in times)
            medians[mode] = (wall, cpu)
            cells.append(f"{wall:.2f} s, {cpu:.2f} s")
        (sw, sc), (fw, fc) = medians["stock"], medians["fastinst"]
        lines.append(f"| `{command}` | {cells[0]} | {cells[1]} | {fw / sw:.2f}x ({fc / sc:.2f}x) |")
    when = time.strftime("%Y-%m-%d")
    lines.append("")
    lines.append(
        f"Medians of {runs} runs, {when}, {os.cpu_count()} cores ({platform.machine()}), "
        f"CPython {platform.python_version()}, each sync into a fresh venv; wall ratio "
        "first, CPU ratio in brackets."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    parser.add_argument("--docs", action="store_true", help=f"put the table into {DOCS.name}")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    house, pins = wheelhouse()
    venvs = {name: tool_venv(name) for name in args.tools}
    root = WORK / "projects"
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with serve(house) as index:
        tools: list[Pdm | Poetry] = []
        if "pdm" in venvs:
            tools.append(Pdm(venvs["pdm"], house, pins, root))
        if "poetry" in venvs:
            tools.append(Poetry(venvs["poetry"], index, pins, root))
        for i in range(args.runs):
            for tool in tools:
                for mode in ("stock", "fastinst") if i % 2 == 0 else ("fastinst", "stock"):
                    wall, cpu = tool.sync(mode == "fastinst")
                    log(f"run {i + 1}: {tool.command} ({mode}): {wall:.2f} s wall, {cpu:.2f} s CPU")
                    results.setdefault((tool.name, mode), []).append((wall, cpu))
    text = table(results, args.runs)
    print(text)
    if args.docs:
        doc = DOCS.read_text()
        start, end = doc.index(BEGIN) + len(BEGIN), doc.index(END)
        DOCS.write_text(doc[:start] + "\n" + text + "\n" + doc[end:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
