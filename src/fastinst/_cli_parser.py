"""The command line's argparse parser: ``--help``, usage errors, and every form of
every command.

``_cli`` parses the usual forms of ``install`` itself (``_cli._install_args``) and
comes here for everything else: building this parser costs a warm install of a
small wheel as much as the install.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from ._cli import EXIT_USAGE

EPILOG = """\
exit codes:
  0    success
  1    the operation failed: one line on stderr says why, and nothing was changed
  2    bad usage
  130  interrupted (an install in progress is rolled back)
  143  terminated (SIGTERM; an install in progress is rolled back)
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (the usage itself is in ``--help``)."""

    def error(self, message: str) -> NoReturn:
        if "--json" in sys.argv[1:]:
            from ._output import document, dumps

            error = {"type": "UsageError", "message": message, "exit_code": EXIT_USAGE}
            print(dumps(document(self.prog.partition(" ")[2], error=error)))
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _jobs(text: str) -> int:
    """``-j``: a count of threads, 0 for one per CPU."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (one per CPU) or more, not {value}")
    return value


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:  # also NaN
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; command names in one column with their help."""

    def __init__(self, prog: str) -> None:
        # The width given: argparse would import shutil for it (and bz2 and lzma),
        # for every formatter it makes while the parser is built.
        super().__init__(prog, max_help_position=32, width=_columns())

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction):
            # argparse measures sub-commands two columns short, so the longest
            # one ("uninstall") would have its help pushed to the next line.
            self._action_max_length += 2


def _formatter(prog: str) -> argparse.HelpFormatter:
    return _Formatter(prog)


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` gives it ($COLUMNS, else
    standard output's terminal, else 80)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0 and sys.__stdout__ is not None:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


# --- options ---------------------------------------------------------------------------


def _add_scheme_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("where (as pip's options)")
    g.add_argument(
        "--python",
        metavar="PY",
        help="the target interpreter: a path, a name on PATH or a venv's directory "
        "(default: the active $VIRTUAL_ENV or $CONDA_PREFIX, else the one fastinst runs on)",
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
    g.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="say what happens, on stderr (-vv: in more detail)",
    )
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
        "--ignore-requires-python",
        action="store_true",
        help="install wheels whose Requires-Python excludes the target interpreter",
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
        type=_jobs,
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
    parser.add_argument(
        "--python",
        dest="global_python",
        metavar="PY",
        help="the target interpreter, for any command (as pip's global --python)",
    )
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
            "--require-hashes",
            action="store_true",
            help="require a --hash for every requirement (as pip, also on once any has one)",
        )
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
        "sync",
        "make an environment exactly a lock file",
        "Make an environment exactly what a lock file (pylock.toml, PEP 751) says,\n"
        "in one transaction: install what is missing or at another version, remove\n"
        "what the lock does not list, and leave alone what already matches. Wheels\n"
        "are found as by install -r pylock.toml: nothing is downloaded.\n\n"
        "In the environment fastinst itself runs in, fastinst, what it needs to run\n"
        "and pip are kept (--remove-own-tools removes them too).\n\n"
        "examples:\n"
        "  fastinst sync --python .venv/bin/python pylock.toml\n"
        "  fastinst sync pylock.toml -f wheelhouse/ --group dev",
    )
    if p is not None:
        p.add_argument("lock", metavar="LOCK", help="the lock file (pylock.toml)")
        g = p.add_argument_group("what")
        g.add_argument(
            "-f",
            "--find-links",
            action="append",
            default=[],
            metavar="DIR",
            help="look for the lock's wheels in DIR too (repeatable)",
        )
        _add_lock_options(g)
        g.add_argument(
            "--keep",
            action="append",
            default=[],
            metavar="NAME",
            help="leave NAME installed although the lock does not list it (repeatable)",
        )
        g.add_argument(
            "--remove-own-tools",
            dest="keep_own_tools",
            action="store_false",
            help="in fastinst's own environment, remove fastinst, what it needs and pip "
            "too when the lock does not list them",
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
            type=_jobs,
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
            type=_days,
            default=30.0,
            help="for prune: entries unused this long (default 30)",
        )
        _add_output_options(p)
    return parser
