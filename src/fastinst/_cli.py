"""The ``fastinst`` command line: a thin shell over the library.

Exit codes: 0 success, 1 the operation failed (one line on stderr says why; the
environment is unchanged), 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._scheme import Scheme

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _add_scheme_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--python", metavar="PY", help="install for this interpreter (default: the running one)"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install into the user site directory")
    where.add_argument(
        "--target", metavar="DIR", help="install everything into DIR (scripts in DIR/bin)"
    )
    where.add_argument("--prefix", metavar="DIR", help="install under the prefix DIR")
    where.add_argument("--home", metavar="DIR", help="install under the home directory DIR")
    p.add_argument("--root", metavar="DIR", help="re-root every install path under DIR")


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="fastinst",
        description="Install Python wheels fast, verified, and all or nothing.",
    )
    parser.add_argument("--version", action="version", version=f"fastinst {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("install", help="install wheel files", description="Install wheel files.")
    p.add_argument("wheels", nargs="+", metavar="WHEEL", help="wheel files to install")
    _add_scheme_options(p)
    p.add_argument(
        "--break-system-packages",
        action="store_true",
        help="install into an externally managed (PEP 668) interpreter anyway",
    )
    p.add_argument(
        "--no-verify-record",
        dest="verify_record",
        action="store_false",
        help="do not check files against the wheel's RECORD (for broken wheels)",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="worker threads (default: one per CPU)",
    )
    cache = p.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache-dir", metavar="DIR", help="the cache of unpacked wheels (default: the user cache)"
    )
    cache.add_argument("--no-cache", action="store_true", help="extract straight from the archives")
    p.add_argument(
        "--link-mode",
        choices=("auto", "clone", "hardlink", "copy"),
        default="auto",
        help="how files get from the cache into the environment (default: auto)",
    )
    _add_output_options(p)

    p = sub.add_parser("uninstall", help="remove installed distributions")
    p.add_argument("names", nargs="+", metavar="NAME", help="distribution names")
    _add_scheme_options(p)
    _add_output_options(p)

    p = sub.add_parser("list", help="list installed distributions")
    _add_scheme_options(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_output_options(p)

    p = sub.add_parser("scheme", help="print where files would be installed")
    _add_scheme_options(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("cache", help="inspect and maintain the cache of unpacked wheels")
    p.add_argument(
        "--cache-dir", metavar="DIR", help="the cache directory (default: the user cache)"
    )
    p.add_argument("action", choices=("dir", "info", "verify", "prune", "clean"))
    p.add_argument(
        "--days", type=float, default=30.0, help="for prune: entries unused this long (default 30)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("-v", "--verbose", action="store_true", help="say more about what happens")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    _setup_logging(getattr(args, "quiet", False), getattr(args, "verbose", False))
    from ._errors import FastinstError

    try:
        if args.command == "install":
            return _install(args)
        if args.command == "scheme":
            return _scheme(args)
        if args.command == "list":
            return _list(args)
        if args.command == "uninstall":
            return _uninstall(args)
        if args.command == "cache":
            return _cache(args)
    except FastinstError as exc:
        print(f"fastinst: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("fastinst: interrupted; nothing was changed", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:
        print(f"fastinst: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:
        # A bug, not bad input: still one line, with the traceback under -v.
        if getattr(args, "verbose", False):
            import traceback

            traceback.print_exc()
        print(f"fastinst: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    raise AssertionError(args.command)


def _setup_logging(quiet: bool, verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("fastinst: %(message)s"))
    log = logging.getLogger("fastinst")
    log.addHandler(handler)
    log.setLevel(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)


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
        **where,
    )
    if notice:
        logging.getLogger("fastinst").warning("%s", notice)
    return scheme


def _install(args: argparse.Namespace) -> int:
    from ._install import DEFAULT_CACHE, install

    start = time.perf_counter()
    scheme = _resolve(args, install=True)
    cache_dir = None if args.no_cache else (args.cache_dir or DEFAULT_CACHE)
    results = install(
        args.wheels,
        scheme,
        verify_record=args.verify_record,
        jobs=args.jobs,
        cache_dir=cache_dir,
        link_mode=args.link_mode,
        requested=True,
    )
    elapsed = time.perf_counter() - start
    if not args.quiet:
        for r in results:
            note = f" (replaced {r.replaced})" if r.replaced else ""
            print(f"installed {r.name} {r.version}{note}")
        files = sum(len(r.files) for r in results)
        print(f"{len(results)} distribution(s), {files} files in {elapsed:.2f}s")
    return EXIT_OK


def _scheme(args: argparse.Namespace) -> int:
    scheme = _resolve(args, install=False)
    paths = scheme.as_dict()
    if args.json:
        print(json.dumps(paths, indent=2))
    else:
        for key, value in paths.items():
            print(f"{key}: {value}")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from ._installed import list_installed

    dists = list_installed(_resolve(args, install=False))
    if args.json:
        print(
            json.dumps(
                [{"name": d.name, "version": d.version, "location": d.location} for d in dists],
                indent=2,
            )
        )
    else:
        for d in dists:
            print(f"{d.name} {d.version}")
    return EXIT_OK


def _uninstall(args: argparse.Namespace) -> int:
    from ._installed import uninstall

    scheme = _resolve(args, install=False)
    for name in args.names:
        result = uninstall(name, scheme)
        if not args.quiet:
            print(f"uninstalled {result.name} {result.version}")
    return EXIT_OK


def _cache(args: argparse.Namespace) -> int:
    from ._cache import WheelCache, default_cache_dir

    cache = WheelCache(args.cache_dir or default_cache_dir())
    if args.action == "dir":
        print(cache.root)
    elif args.action == "info":
        info = cache.info()
        if args.json:
            print(json.dumps(info, indent=2))
        else:
            print(f"{info['path']}: {info['entries']} wheel(s), {int(info['bytes']) / 1e6:.1f} MB")  # type: ignore[call-overload]
    elif args.action == "verify":
        bad = cache.verify()
        for line in bad:
            print(f"removed damaged entry {line}")
        print(f"{len(bad)} damaged entr{'y' if len(bad) == 1 else 'ies'} found")
        return EXIT_FAILED if bad else EXIT_OK
    elif args.action == "prune":
        removed = cache.prune(args.days)
        print(
            f"removed {len(removed)} entr{'y' if len(removed) == 1 else 'ies'} unused for {args.days:g} days"
        )
    elif args.action == "clean":
        cache.clean()
        print(f"removed everything in {cache.root}")
    return EXIT_OK
