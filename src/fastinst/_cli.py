"""The ``fastinst`` command line: a thin shell over the library.

Commands: ``install``, ``uninstall``, ``list``, ``show``, ``verify``, ``scheme``, ``cache``.
Results go to stdout (``--json`` for tools); progress, warnings and errors go to
stderr. An error is one line, ``fastinst: error: ...``, never a traceback
(``-v`` adds one for internal errors).

Exit codes:
  0    success
  1    the operation failed; one line on stderr says why, and nothing was changed
       (also: ``verify`` found differences, ``cache verify`` damaged entries)
  2    bad usage (unknown option, missing argument)
  130  interrupted (Ctrl-C); an install in progress was rolled back

Only ``argparse`` is imported up front: every command imports what it needs
when it runs, so that ``--help`` and a warm install stay fast.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from ._install import InstallResult
    from ._installed import InstalledDistribution
    from ._probe_cache import _Default
    from ._scheme import Scheme
    from ._verify import FileIssue, VerifyResult

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EPILOG = """\
exit codes:
  0    success
  1    the operation failed: one line on stderr says why, and nothing was changed
  2    bad usage
  130  interrupted (an install in progress is rolled back)
"""

# A progress bar appears only for installs that last longer than this (seconds);
# $FASTINST_PROGRESS_DELAY overrides it (the tests set 0).
PROGRESS_DELAY = 0.3


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (the usage itself is in ``--help``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; command names in one column with their help."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction):
            # argparse measures sub-commands two columns short, so the longest
            # one ("uninstall") would have its help pushed to the next line.
            self._action_max_length += 2


def _formatter(prog: str) -> argparse.HelpFormatter:
    return _Formatter(prog)


# --- options ---------------------------------------------------------------------------


def _add_scheme_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("where (as pip's options)")
    g.add_argument(
        "--python",
        metavar="PY",
        help="the target interpreter: a path, a name on PATH or a venv's directory "
        "(default: the running one)",
    )
    where = g.add_mutually_exclusive_group()
    where.add_argument(
        "--user", action="store_true", help="the user site directory (~/.local on Linux)"
    )
    where.add_argument(
        "-t", "--target", metavar="DIR", help="everything in DIR, scripts in DIR/bin"
    )
    where.add_argument(
        "--prefix", metavar="DIR", help="the plain layout under DIR (DIR/lib/pythonX.Y/...)"
    )
    where.add_argument(
        "--home", metavar="DIR", help="the home layout under DIR (DIR/lib/python/...)"
    )
    g.add_argument("--root", metavar="DIR", help="re-root every path of the scheme under DIR")


def _add_output_options(
    p: argparse.ArgumentParser, *, json: bool = True
) -> argparse._ArgumentGroup:
    g = p.add_argument_group("output")
    if json:
        g.add_argument("--json", action="store_true", help="print the result as JSON, for tools")
    g.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    g.add_argument("-v", "--verbose", action="store_true", help="say what happens, step by step")
    return g


def _add_install_options(p: argparse.ArgumentParser) -> None:
    """Where and how an install writes: the options of install and sync."""
    _add_scheme_options(p)
    g = p.add_argument_group("how")
    g.add_argument(
        "--break-system-packages",
        action="store_true",
        help="install into an externally managed (PEP 668) interpreter anyway",
    )
    g.add_argument(
        "--no-verify-record",
        dest="verify_record",
        action="store_false",
        help="do not check files against the wheel's RECORD (for broken wheels)",
    )
    cache = g.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="the cache of unpacked wheels and interpreter answers "
        "(default: $FASTINST_CACHE_DIR or the user cache)",
    )
    cache.add_argument(
        "--no-cache",
        "--no-cache-dir",
        dest="no_cache",
        action="store_true",
        help="extract straight from the archives, and read or keep nothing in the cache",
    )
    g.add_argument(
        "--link-mode",
        choices=("auto", "clone", "hardlink", "copy"),
        default="auto",
        help="how files get from the cache into the environment (default: auto, "
        "the fastest that works)",
    )
    g.add_argument(
        "--compile",
        dest="compile",
        action="store_true",
        default=False,
        help="compile the installed .py files to bytecode with the target interpreter "
        "(default: not, unlike pip)",
    )
    g.add_argument(
        "--no-compile",
        dest="compile",
        action="store_false",
        help="do not compile (the default)",
    )
    g.add_argument(
        "--dry-run",
        action="store_true",
        help="say what would be written, replaced and removed, and change nothing",
    )
    g.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="worker threads (default: one per CPU)",
    )
    g = _add_output_options(p)
    g.add_argument(
        "--progress-bar",
        choices=("on", "off"),
        default="on",
        help="a progress bar on a terminal for installs that take a while (default: on)",
    )


def _add_lock_options(g: argparse._ArgumentGroup) -> None:
    g.add_argument(
        "--extra",
        dest="extras",
        action="append",
        default=[],
        metavar="NAME",
        help="with a lock file: install the packages of this extra too (repeatable)",
    )
    g.add_argument(
        "--group",
        dest="groups",
        action="append",
        default=None,
        metavar="NAME",
        help="with a lock file: install this dependency group instead of the lock's "
        "default groups (repeatable)",
    )


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, the options of that command alone (the others are
    listed but take none: building every command's options costs milliseconds)."""
    from . import __version__

    parser = _Parser(
        prog="fastinst",
        description="Install Python wheels fast, verified, and all or nothing.",
        epilog=EPILOG + "\nRun 'fastinst COMMAND --help' for a command's options.",
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"fastinst {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", parser_class=_Parser
    )
    sub.required = True

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser | None:
        p = sub.add_parser(
            name,
            help=summary,
            description=description,
            epilog=EPILOG,
            formatter_class=_formatter,
        )
        return p if only is None or only == name else None

    p = command(
        "install",
        "install wheel files",
        "Install wheel files into an environment, all of them or none.\n\n"
        "Each argument is a wheel file or an exact pin (name==version) looked up in\n"
        "the --find-links directories. There is no resolver and no index:\n"
        "dependencies are not followed, and a wheel must suit the target interpreter.\n\n"
        "A lock file (-r pylock.toml, PEP 751, as pip lock and uv export write it) is\n"
        "installed whole: each wheel is found in the cache by its hash, at the lock's\n"
        "path, or in the --find-links directories, and nothing is downloaded.\n\n"
        "examples:\n"
        "  fastinst install dist/demo-1.0-py3-none-any.whl\n"
        "  fastinst install --python .venv/bin/python -r requirements.txt\n"
        "  fastinst install -f wheelhouse/ demo==1.0 tool==2.3\n"
        "  fastinst install --python .venv/bin/python -r pylock.toml -f wheelhouse/",
    )
    if p is not None:
        p.add_argument(
            "wheels", nargs="*", metavar="WHEEL|NAME==VERSION", help="wheel files or exact pins"
        )
        g = p.add_argument_group("what")
        g.add_argument(
            "-r",
            "--requirement",
            action="append",
            default=[],
            metavar="FILE",
            help="install what FILE lists: wheel paths, name==version pins, -r and -f lines; "
            "or a lock file, pylock.toml or pylock.NAME.toml (PEP 751), on its own",
        )
        g.add_argument(
            "-f",
            "--find-links",
            action="append",
            default=[],
            metavar="DIR",
            help="look for the wheels of name==version pins in DIR (repeatable)",
        )
        _add_lock_options(g)
        g.add_argument(
            "--no-deps",
            action="store_true",
            help="accepted for pip's sake: dependencies are never installed",
        )
        g.add_argument(
            "--no-index", action="store_true", help="accepted for pip's sake: there is no index"
        )
        g.add_argument(
            "-U",
            "--upgrade",
            action="store_true",
            help="accepted for pip's sake: another installed version is always replaced",
        )
        g.add_argument(
            "--reinstall",
            "--force-reinstall",
            dest="reinstall",
            action="store_true",
            help="install a wheel again when its version is installed already "
            "(default: leave it alone, as pip and uv do)",
        )
        _add_install_options(p)

    p = command(
        "uninstall",
        "remove installed distributions",
        "Remove installed distributions by their RECORD, all of them or none.\n\n"
        "A name that is not installed is skipped with a warning, as pip and uv do.",
    )
    if p is not None:
        p.add_argument("names", nargs="+", metavar="NAME", help="distribution names")
        p.add_argument(
            "-y", "--yes", action="store_true", help="accepted for pip's sake: fastinst never asks"
        )
        _add_scheme_options(p)
        p.add_argument_group("how").add_argument(
            "--break-system-packages",
            action="store_true",
            help="uninstall from an externally managed (PEP 668) interpreter anyway",
        )
        _add_output_options(p)

    p = command(
        "list",
        "list installed distributions",
        "List the distributions installed in the scheme's library directories.",
    )
    if p is not None:
        p.add_argument(
            "--format",
            choices=("columns", "freeze", "json"),
            default="columns",
            help="columns (default), freeze (name==version) or json",
        )
        _add_scheme_options(p)
        _add_output_options(p)

    p = command(
        "show",
        "show what is known about installed distributions",
        "Show name, version, location, installer, whether it was requested, its\n"
        "files and entry points, for each NAME.",
    )
    if p is not None:
        p.add_argument("names", nargs="+", metavar="NAME", help="distribution names")
        p.add_argument("-f", "--files", action="store_true", help="list every installed file")
        _add_scheme_options(p)
        _add_output_options(p)

    p = command(
        "verify",
        "check installed files against their RECORDs",
        "Check installed distributions against their RECORDs: the size and hash of\n"
        "every file, files missing, and files in their packages that no RECORD lists.\n"
        "Every distribution when no NAME is given. Exit status 1 when anything differs.\n\n"
        "Bytecode (.pyc, written by the interpreter) and files that RECORD lists without\n"
        "a hash are noted, not counted as differences (-v lists them).",
    )
    if p is not None:
        p.add_argument("names", nargs="*", metavar="NAME", help="distribution names")
        p.add_argument(
            "-j",
            "--jobs",
            type=int,
            default=0,
            metavar="N",
            help="hashing threads (default: one per CPU)",
        )
        _add_scheme_options(p)
        _add_output_options(p)

    p = command(
        "scheme",
        "print where files would be installed",
        "Print the five install directories (purelib, platlib, headers, scripts,\n"
        "data) that an install with the same options would use.",
    )
    if p is not None:
        _add_scheme_options(p)
        _add_output_options(p)

    p = command(
        "cache",
        "inspect and maintain the cache of unpacked wheels",
        "Inspect and maintain the cache of unpacked wheels.\n\n"
        "actions:\n"
        "  dir     print the cache directory\n"
        "  info    its size and number of entries\n"
        "  verify  re-hash every entry; remove damaged ones (exit 1 if any)\n"
        "  prune   remove entries unused for --days days\n"
        "  clean   remove everything",
    )
    if p is not None:
        p.add_argument("action", choices=("dir", "info", "verify", "prune", "clean"))
        p.add_argument(
            "--cache-dir",
            metavar="DIR",
            help="the cache directory (default: $FASTINST_CACHE_DIR or the user cache)",
        )
        p.add_argument(
            "--days",
            type=float,
            default=30.0,
            help="for prune: entries unused this long (default 30)",
        )
        _add_output_options(p)
    return parser


# --- main --------------------------------------------------------------------------------


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _sigterm_as_interrupt() -> None:
    """Make SIGTERM (``kill``, service managers, CI timeouts) roll back as Ctrl-C does.

    Only the command line does this: the library never installs signal handlers.
    """
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():  # signal() needs it
        signal.signal(signal.SIGTERM, _raise_interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser(argv[0] if argv and argv[0] in _COMMANDS else None).parse_args(argv)
    _setup_logging(args.quiet, args.verbose)
    _sigterm_as_interrupt()
    from ._errors import FastinstError

    try:
        return int(_COMMANDS[args.command](args))
    except FastinstError as exc:
        _error(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _error("interrupted; nothing was changed")
        return EXIT_INTERRUPTED
    except OSError as exc:
        _error(str(exc))
        return EXIT_FAILED
    except Exception as exc:
        # A bug, not bad input: still one line, with the traceback under -v.
        if args.verbose:
            import traceback

            traceback.print_exc()
        print(f"fastinst: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _error(message: str) -> None:
    # One line, whatever the message holds.
    print(f"fastinst: error: {' '.join(message.split())}", file=sys.stderr)


def _setup_logging(quiet: bool, verbose: bool) -> None:
    import logging

    log = logging.getLogger("fastinst")
    for old in [h for h in log.handlers if getattr(h, "fastinst_cli", False)]:
        log.removeHandler(old)  # main() called again in one process (tests, embedders)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("fastinst: %(message)s"))
    handler.fastinst_cli = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    log.setLevel(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)


def _dumps(value: object) -> str:
    import json

    return json.dumps(value, indent=2)


def _resolve(args: argparse.Namespace, *, install: bool) -> Scheme:
    """The scheme the options describe; for installs, with pip's user-site fallback."""
    from ._scheme import choose_install_scheme, get_scheme

    where = dict(prefix=args.prefix, home=args.home, root=args.root, target=args.target)
    if not install:
        return get_scheme(args.python, user=args.user, **where)
    # user=None, not False, when --user is absent: False would be an explicit
    # "not the user site" and disable the fallback to it.
    scheme, notice = choose_install_scheme(
        args.python,
        user=args.user or None,
        break_system_packages=args.break_system_packages,
        cache_dir=_cache_dir(args),
        **where,
    )
    if notice:
        import logging

        logging.getLogger("fastinst").warning("%s", notice)
    return scheme


def _cache_dir(args: argparse.Namespace) -> str | _Default | None:
    """The cache an install uses, for wheels and interpreter answers alike."""
    from ._probe_cache import DEFAULT_CACHE

    return None if args.no_cache else (args.cache_dir or DEFAULT_CACHE)


# --- install -----------------------------------------------------------------------------


def _install(args: argparse.Namespace) -> int:
    from ._install import install
    from ._requirements import collect, select
    from ._tags import TargetInterpreter

    start = time.perf_counter()
    if not args.wheels and not args.requirement:
        raise _usage("install", "give at least one wheel, pin or -r FILE")
    lock = _lock_file(args)
    scheme = _resolve(args, install=True)
    if lock is not None:
        return _install_lock(args, lock, scheme, start)
    target = TargetInterpreter(args.python, cache_dir=_cache_dir(args))
    selected = select(collect(args.wheels, args.requirement, args.find_links), target)
    if not selected:
        if args.json:
            print(_dumps({"installed": [], "dry_run": args.dry_run}))
        elif not args.quiet:
            print("nothing to install (no requirement applies to this interpreter)")
        return EXIT_OK
    wheels = [s.path for s in selected]
    direct_url: dict[str | os.PathLike[str], Mapping[str, object]] = {
        s.path: _direct_url(s.path) for s in selected if s.direct
    }
    bar = _ProgressBar(start, len(wheels)) if _wants_progress(args) else None
    try:
        results = install(
            wheels,
            scheme,
            verify_record=args.verify_record,
            jobs=args.jobs,
            cache_dir=_cache_dir(args),
            link_mode=args.link_mode,
            requested=True,
            direct_url=direct_url,
            compile_bytecode=args.compile,
            progress=bar,
            dry_run=args.dry_run,
            skip_installed=not args.reinstall,
        )
    finally:
        if bar is not None:
            bar.close()
    _report_install(args, results, scheme, time.perf_counter() - start)
    return EXIT_OK


def _lock_file(args: argparse.Namespace) -> str | None:
    """The lock file of ``install -r pylock.toml``, which must come alone."""
    from ._lock import is_lock_path

    locks = [r for r in args.requirement if is_lock_path(r)]
    if not locks:
        if args.extras or args.groups is not None:
            raise _usage("install", "--extra and --group need a lock file (-r pylock.toml)")
        return None
    if len(args.requirement) > 1 or args.wheels:
        raise _usage(
            "install", "a lock file is installed on its own: no other wheels, pins or -r files"
        )
    return str(locks[0])


def _install_lock(args: argparse.Namespace, lock: str, scheme: Scheme, start: float) -> int:
    from ._lock import install_lock

    bar = _ProgressBar(start, 0) if _wants_progress(args) else None
    try:
        results = install_lock(
            lock,
            scheme,
            find_links=args.find_links,
            extras=args.extras,
            groups=args.groups,
            verify_record=args.verify_record,
            jobs=args.jobs,
            cache_dir=_cache_dir(args),
            link_mode=args.link_mode,
            compile_bytecode=args.compile,
            progress=bar,
            dry_run=args.dry_run,
        )
    finally:
        if bar is not None:
            bar.close()
    _report_install(args, results, scheme, time.perf_counter() - start)
    return EXIT_OK


def _report_install(
    args: argparse.Namespace, results: Sequence[InstallResult], scheme: Scheme, elapsed: float
) -> None:
    if args.json:
        print(_dumps(_install_json(results, scheme, elapsed, dry_run=args.dry_run)))
    elif not args.quiet:
        if not results:
            print("nothing to install (the lock lists nothing for this interpreter)")
            return
        fresh = [r for r in results if not r.already_installed]
        for r in results:
            if r.already_installed:
                print(f"{r.name} {r.version} is already installed (--reinstall installs it again)")
        if args.verbose or args.dry_run:
            for r in fresh:
                removed = f", {len(r.removed)} removed" if r.removed else ""
                print(f"  {r.name} {r.version}: {len(r.files)} files{removed} in {r.dist_info}")
        if fresh:
            print(install_summary(fresh, elapsed, dry_run=args.dry_run))


def _usage(command: str, message: str) -> SystemExit:
    print(f"fastinst {command}: error: {message} (see fastinst {command} --help)", file=sys.stderr)
    return SystemExit(EXIT_USAGE)


def _wants_progress(args: argparse.Namespace) -> bool:
    return args.progress_bar == "on" and not args.quiet and not args.json and sys.stderr.isatty()


def _direct_url(path: str) -> dict[str, object]:
    """PEP 610 for a wheel named by its path, as pip writes it."""
    from pathlib import Path

    return {"url": Path(path).resolve().as_uri(), "archive_info": {}}


def install_summary(
    results: Sequence[InstallResult], elapsed: float, *, dry_run: bool = False
) -> str:
    """One line: what was installed, replaced and removed, what came from the cache, how long.

    >>> from fastinst._install import InstallResult
    >>> r = InstallResult("demo", "2", "/x/demo-2.dist-info", ("a", "b"), "demo.whl",
    ...                   replaced="1", from_cache=True, removed=("old",))
    >>> install_summary([r], 0.0123)
    'installed demo 2 (replaced 1) in 12ms: 2 files written, 1 removed, 1 of 1 wheel from the cache'
    """
    names = ", ".join(
        f"{r.name} {r.version}" + (f" (replaced {r.replaced})" if r.replaced else "")
        for r in results
    )
    files = sum(len(r.files) for r in results)
    removed = sum(len(r.removed) for r in results)
    took = f"{elapsed * 1000:.0f}ms" if elapsed < 1 else f"{elapsed:.2f}s"
    if dry_run:
        return (
            f"would install {names} (checked in {took}): {files} files to write, "
            f"{removed} to remove; nothing was changed"
        )
    cached = sum(1 for r in results if r.from_cache)
    wheels = _plural(len(results), "wheel")
    return (
        f"installed {names} in {took}: {files} files written, {removed} removed, "
        f"{cached} of {len(results)} {wheels} from the cache"
    )


def _install_json(
    results: Sequence[InstallResult], scheme: Scheme, elapsed: float, *, dry_run: bool
) -> dict[str, object]:
    return {
        "installed": [
            {
                "name": r.name,
                "version": r.version,
                "wheel": r.wheel,
                "dist_info": r.dist_info,
                "replaced": r.replaced,
                "from_cache": r.from_cache,
                "already_installed": r.already_installed,
                "files": list(r.files),
                "removed": list(r.removed),
            }
            for r in results
        ],
        "dry_run": dry_run,
        "scheme": scheme.as_dict(),
        "seconds": round(elapsed, 6),
    }


class _ProgressBar:
    """The ``progress=`` callback of `fastinst.install`, drawn with rich on stderr.

    Nothing is drawn (and rich is not imported) until the install has lasted
    `PROGRESS_DELAY`; the bar is transient, so only the summary line stays.
    Every event's ``done`` and ``total`` count the bytes of ``wheel``'s files.
    """

    def __init__(self, start: float, wheels: int) -> None:
        try:
            self.delay = float(os.environ.get("FASTINST_PROGRESS_DELAY", PROGRESS_DELAY))
        except ValueError:
            self.delay = PROGRESS_DELAY
        self.start = start
        self.wheels = wheels
        self.progress: Any = None
        self.task: Any = None
        self.bytes: dict[str, tuple[int, int]] = {}
        self.finished: set[str] = set()
        self.current = ""

    def __call__(self, event: str, wheel: str, done: int, total: int) -> None:
        self.bytes[wheel] = (done, total)
        if event == "wheel-done":
            self.finished.add(wheel)
        elif event == "wheel-start":
            self.current = os.path.basename(wheel)
        if self.progress is None:
            if time.perf_counter() - self.start < self.delay:
                return
            self._open()
        else:
            self._draw()

    def _open(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]installing[/] {task.fields[count]}"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[current]}"),
            console=Console(stderr=True),
            transient=True,
        )
        # The task first, so that the first frame drawn already has its fields.
        self.task = self.progress.add_task("install", total=None, count="", current="")
        self._draw()
        self.progress.start()

    def _draw(self) -> None:
        done = sum(d for d, _t in self.bytes.values())
        total = sum(t for _d, t in self.bytes.values())
        self.progress.update(
            self.task,
            completed=done,
            # Wheels not started yet are not counted: the total grows as they start.
            total=total or None,
            count=f"{len(self.finished)}/{self.wheels} wheels",
            current=self.current,
        )

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


# --- uninstall, list, show, scheme --------------------------------------------------------


def _uninstall(args: argparse.Namespace) -> int:
    from ._remove import uninstall
    from ._scheme import check_externally_managed

    scheme = _resolve(args, install=False)
    if not args.break_system_packages:
        check_externally_managed(
            args.python, prefix=args.prefix, home=args.home, root=args.root, target=args.target
        )
    results = uninstall(args.names, scheme, missing_ok=True)
    if args.json:
        print(
            _dumps(
                {
                    "uninstalled": [
                        {
                            "name": r.name,
                            "version": r.version,
                            "dist_info": r.dist_info,
                            "files": list(r.files),
                            "kept": list(r.kept),
                        }
                        for r in results
                    ]
                }
            )
        )
    elif not args.quiet:
        for r in results:
            print(
                f"uninstalled {r.name} {r.version} ({len(r.files)} {_plural(len(r.files), 'file')})"
            )
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from ._installed import list_installed

    dists = list_installed(_resolve(args, install=False))
    if args.json or args.format == "json":
        rows = [{"name": d.name, "version": d.version, "location": d.location} for d in dists]
        print(_dumps(rows))
    elif args.format == "freeze":
        for d in dists:
            print(f"{d.name}=={d.version}")
    elif not args.quiet:
        width = max([len("Package"), *(len(d.name) for d in dists)])
        vwidth = max([len("Version"), *(len(d.version) for d in dists)])
        print(f"{'Package':<{width}} {'Version':<{vwidth}} Location")
        print(f"{'-' * width} {'-' * vwidth} {'-' * 8}")
        for d in dists:
            print(f"{d.name:<{width}} {d.version:<{vwidth}} {d.location}")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from ._errors import NotInstalled
    from ._installed import find_installed

    scheme = _resolve(args, install=False)
    shown = []
    for name in args.names:
        found = find_installed(name, scheme)
        if not found:
            raise NotInstalled(name, scheme.library_dirs())
        shown.append(describe(found[0], with_files=args.files))
    if args.json:
        print(_dumps(shown))
        return EXIT_OK
    if args.quiet:
        return EXIT_OK
    for i, info in enumerate(shown):
        if i:
            print("---")
        print(f"Name: {info['name']}")
        print(f"Version: {info['version']}")
        if info["summary"]:
            print(f"Summary: {info['summary']}")
        print(f"Location: {info['location']}")
        print(f"Installer: {info['installer'] or ''}")
        print(f"Requested: {'yes' if info['requested'] else 'no'}")
        if info["direct_url"]:
            print(f"Direct-URL: {info['direct_url']}")
        count = info["files_count"]
        print(f"Files: {count if count is not None else 'unknown (no RECORD)'}")
        eps = info["entry_points"]
        if eps:
            print("Entry-points:")
            for group, entries in eps.items():
                for ep_name, value in entries.items():
                    print(f"  [{group}] {ep_name} = {value}")
        if args.files and info["files"] is not None:
            print("Files:")
            for path in info["files"]:
                print(f"  {path}")
    return EXIT_OK


def describe(dist: InstalledDistribution, *, with_files: bool = False) -> dict[str, Any]:
    """What ``fastinst show`` prints about ``dist``, as a JSON-ready dict."""
    import os

    from ._errors import MissingRecord
    from ._installed import read_installed_record

    try:
        files: list[str] | None = read_installed_record(dist)
    except MissingRecord:
        files = None
    info = dist.dist_info
    direct = None
    try:
        import json

        with open(os.path.join(info, "direct_url.json"), encoding="utf-8") as f:
            direct = json.load(f).get("url")
    except (OSError, ValueError, AttributeError):
        pass
    out: dict[str, Any] = {
        "name": dist.name,
        "version": dist.version,
        "summary": _summary(dist),
        "location": dist.location,
        "dist_info": info,
        "installer": dist.installer,
        "requested": os.path.exists(os.path.join(info, "REQUESTED")),
        "direct_url": direct,
        "files_count": None if files is None else len(files),
        "entry_points": _entry_points(dist),
    }
    if with_files:
        out["files"] = files
    return out


def _summary(dist: InstalledDistribution) -> str:
    from ._installed import metadata_path, read_headers

    return read_headers(metadata_path(dist), ("summary",)).get("summary", "")


def _entry_points(dist: InstalledDistribution) -> dict[str, dict[str, str]]:
    import configparser
    import os

    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read(os.path.join(dist.dist_info, "entry_points.txt"), encoding="utf-8")
    except configparser.Error:
        return {}
    return {s: dict(parser.items(s)) for s in parser.sections()}


def _verify(args: argparse.Namespace) -> int:
    from ._verify import verify

    if args.jobs < 0:
        raise _usage("verify", "-j must be 0 (one per CPU) or more")
    results = verify(args.names or None, _resolve(args, install=False), jobs=args.jobs)
    failed = [r for r in results if not r.ok]
    if args.json:
        print(_dumps(verify_json(results)))
    elif not args.quiet:
        for r in results:
            shown = r.differences + (r.notes if args.verbose else ())
            if not shown:
                continue
            count = len(r.differences)
            state = f"{count} {_plural(count, 'difference')}" if count else "matches RECORD"
            print(f"{r.name} {r.version}: {state}")
            for issue in shown:
                detail = f": {issue.detail}" if issue.detail else ""
                print(f"  {issue.kind:<10} {issue.path}{detail}")
        print(verify_summary(results))
    return EXIT_FAILED if failed else EXIT_OK


def verify_summary(results: Sequence[VerifyResult]) -> str:
    """One line: how many distributions and files were checked, which differ, what was not checked.

    >>> from fastinst._verify import FileIssue, VerifyResult
    >>> note, missing = FileIssue("/x/a.txt", "unhashed"), FileIssue("/x/b.py", "missing")
    >>> ok = VerifyResult("a", "1", "/x/a-1.dist-info", 3, (), (note,))
    >>> bad = VerifyResult("b", "2", "/x/b-2.dist-info", 1, (missing,), ())
    >>> verify_summary([ok, bad])
    'verified 2 distributions, 4 files match: 1 differs (b 2); 1 file listed without a hash'
    """
    files = sum(r.checked for r in results)
    failed = [r for r in results if not r.ok]
    head = (
        f"verified {len(results)} {_plural(len(results), 'distribution')}, "
        f"{files} {_plural(files, 'file')} match"
    )
    state = (
        f"{len(failed)} {_plural(len(failed), 'differs', 'differ')} "
        f"({', '.join(f'{r.name} {r.version}' for r in failed)})"
        if failed
        else "no differences"
    )
    counts: dict[str, int] = {}
    for r in results:
        for note in r.notes:
            counts[note.kind] = counts.get(note.kind, 0) + 1
    said = {
        "unhashed": ("file listed without a hash", "files listed without a hash"),
        "bytecode": ("bytecode file", "bytecode files"),
        "no RECORD": ("distribution without RECORD", "distributions without RECORD"),
    }
    notes = [f"{n} {_plural(n, *said[k])}" for k, n in counts.items() if k in said]
    return f"{head}: {state}" + (f"; {', '.join(notes)}" if notes else "")


def verify_json(results: Sequence[VerifyResult]) -> dict[str, object]:
    def issues(items: Sequence[FileIssue]) -> list[dict[str, str]]:
        return [{"path": i.path, "kind": i.kind, "detail": i.detail} for i in items]

    return {
        "ok": all(r.ok for r in results),
        "distributions": [
            {
                "name": r.name,
                "version": r.version,
                "dist_info": r.dist_info,
                "ok": r.ok,
                "checked": r.checked,
                "differences": issues(r.differences),
                "notes": issues(r.notes),
            }
            for r in results
        ],
    }


def _scheme(args: argparse.Namespace) -> int:
    scheme = _resolve(args, install=False)
    paths = scheme.as_dict()
    if args.json:
        print(_dumps({**paths, "python": scheme.python, "kind": scheme.kind}))
    elif not args.quiet:
        for key, value in paths.items():
            print(f"{key}: {value}")
    return EXIT_OK


# --- cache ------------------------------------------------------------------------------


def _cache(args: argparse.Namespace) -> int:
    from ._cache import WheelCache, default_cache_dir

    cache = WheelCache(args.cache_dir or default_cache_dir())
    say = (lambda _line: None) if args.quiet else print
    if args.action == "dir":
        print(_dumps({"path": cache.root}) if args.json else cache.root)
    elif args.action == "info":
        info = cache.info()
        if args.json:
            print(_dumps(info))
        else:
            size = int(info["bytes"])  # type: ignore[call-overload]
            say(
                f"{info['path']}: {info['entries']} {_plural(int(info['entries']), 'wheel')}, "  # type: ignore[call-overload]
                f"{size / 1e6:.1f} MB"
            )
    elif args.action == "verify":
        bad = cache.verify()
        if args.json:
            print(_dumps({"damaged": bad}))
        else:
            for line in bad:
                say(f"removed damaged entry {line}")
            say(f"{len(bad)} damaged {_plural(len(bad), 'entry', 'entries')} found")
        return EXIT_FAILED if bad else EXIT_OK
    elif args.action == "prune":
        removed = cache.prune(args.days)
        if args.json:
            print(_dumps({"removed": removed}))
        else:
            say(
                f"removed {len(removed)} {_plural(len(removed), 'entry', 'entries')} "
                f"unused for {args.days:g} days"
            )
    elif args.action == "clean":
        cache.clean()
        if args.json:
            print(_dumps({"cleaned": cache.root}))
        else:
            say(f"removed everything in {cache.root}")
    return EXIT_OK


def _plural(n: int, one: str, many: str | None = None) -> str:
    return one if n == 1 else (many or one + "s")


_COMMANDS = {
    "install": _install,
    "uninstall": _uninstall,
    "list": _list,
    "show": _show,
    "verify": _verify,
    "scheme": _scheme,
    "cache": _cache,
}
