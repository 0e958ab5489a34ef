"""The ``fastinst`` command line: a thin shell over the library.

Commands: ``install``, ``sync``, ``uninstall``, ``list``, ``show``, ``verify``, ``scheme``,
``cache``.
Results go to stdout (``--json`` for tools); progress, warnings and errors go to
stderr. An error is one line, ``fastinst: error: ...``, never a traceback
(``-v`` adds one for internal errors).

Exit codes:
  0    success
  1    the operation failed; one line on stderr says why, and nothing was changed
       (also: ``verify`` found differences, ``cache verify`` damaged entries)
  2    bad usage (unknown option, missing argument)
  130  interrupted (Ctrl-C); an install in progress was rolled back

Nothing is imported up front that a warm install does not need (not ``argparse``,
``logging``, ``typing`` nor ``json``): the usual forms of ``install`` are parsed
here (`_install_args`), everything else by the argparse parser in ``_cli_parser``,
and every command imports what it needs when it runs.
"""

from __future__ import annotations

import gc
import os
import sys
import time

from ._errors import suppress

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from argparse import Namespace
    from collections.abc import Mapping, Sequence
    from typing import Any

    from ._install import InstallResult
    from ._installed import InstalledDistribution
    from ._lock import SyncResult
    from ._probe_cache import _Default
    from ._progress import ProgressBar
    from ._scheme import Scheme
    from ._verify import FileIssue, VerifyResult

if not TYPE_CHECKING:  # the attributes of argparse's Namespace, without argparse
    Namespace = type(sys.implementation)  # types.SimpleNamespace, without importing types

    # signal's functions without its enums: ``import signal`` builds them with
    # ``enum``, which a warm install otherwise does not need.
    try:
        import _signal as signal
    except ImportError:  # not CPython
        import signal
else:
    import signal

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process that SIGTERM ended

# A progress bar appears only for installs that last longer than this (seconds);
# $FASTINST_PROGRESS_DELAY overrides it (the tests set 0).
PROGRESS_DELAY = 0.3


# --- main --------------------------------------------------------------------------------


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be so that everything rolls back the same way."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


def _sigterm_as_interrupt() -> None:
    """Make SIGTERM (``kill``, service managers, CI timeouts) roll back as Ctrl-C does.

    Only the command line does this: the library never installs signal handlers.
    """
    with suppress(ValueError):  # signal() works in the main thread only
        signal.signal(signal.SIGTERM, _raise_terminated)


def _command_of(argv: Sequence[str]) -> str | None:
    """The command word, past the global options (``fastinst --python X list``)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _COMMANDS:
            return arg
        if arg == "--python":
            i += 2
            continue
        if not arg.startswith("--python="):
            return None
        i += 1
    return None


# What argparse gives ``install`` for options that are absent (``_cli_parser``'s
# defaults; a test holds the two together).
_INSTALL_DEFAULTS: dict[str, object] = {
    "global_python": None, "command": "install", "wheels": [], "requirement": [],
    "find_links": [], "extras": [], "groups": None, "require_hashes": False,
    "no_deps": False, "no_index": False, "upgrade": False, "reinstall": False,
    "python": None, "user": False, "target": None, "prefix": None, "home": None,
    "root": None, "break_system_packages": False, "ignore_requires_python": False,
    "verify_record": True, "cache_dir": None, "no_cache": False, "link_mode": "auto",
    "compile": False, "dry_run": False, "jobs": 0, "json": False, "quiet": False,
    "verbose": 0, "progress_bar": "on",
}  # fmt: skip
# ``install``'s options that take no value: option -> (dest, the value it stores).
_INSTALL_FLAGS: dict[str, tuple[str, object]] = {
    "--require-hashes": ("require_hashes", True), "--no-deps": ("no_deps", True),
    "--no-index": ("no_index", True), "-U": ("upgrade", True), "--upgrade": ("upgrade", True),
    "--reinstall": ("reinstall", True), "--force-reinstall": ("reinstall", True),
    "--user": ("user", True), "--break-system-packages": ("break_system_packages", True),
    "--ignore-requires-python": ("ignore_requires_python", True),
    "--no-verify-record": ("verify_record", False), "--no-cache": ("no_cache", True),
    "--no-cache-dir": ("no_cache", True), "--compile": ("compile", True),
    "--no-compile": ("compile", False), "--dry-run": ("dry_run", True),
    "--json": ("json", True), "-q": ("quiet", True), "--quiet": ("quiet", True),
}  # fmt: skip
# ``install``'s options with a value: option -> dest; the values of those with choices.
_INSTALL_VALUES = {
    "--python": "python", "-t": "target", "--target": "target", "--prefix": "prefix",
    "--home": "home", "--root": "root", "--cache-dir": "cache_dir",
    "--link-mode": "link_mode", "--progress-bar": "progress_bar", "-j": "jobs",
    "--jobs": "jobs", "-r": "requirement", "--requirement": "requirement",
    "-f": "find_links", "--find-links": "find_links", "--extra": "extras", "--group": "groups",
}  # fmt: skip
_INSTALL_CHOICES = {
    "link_mode": ("auto", "clone", "hardlink", "copy"),
    "progress_bar": ("on", "off"),
}
_INSTALL_APPEND = frozenset(("requirement", "find_links", "extras", "groups"))
# Options of which argparse allows one at a time (its mutually exclusive groups).
_INSTALL_EXCLUSIVE = ({"user", "target", "prefix", "home"}, {"cache_dir", "no_cache"})


def _install_args(argv: Sequence[str]) -> argparse.Namespace | None:
    """``fastinst install ...`` parsed as argparse parses it, for the forms scripts
    and tools write: options spelled out (``--opt VALUE``, ``--opt=VALUE``), ``-v``
    repeated, the wheels in one run. None for anything else (help, abbreviations,
    ``-vv``, bad values, clashing options, another command), which argparse parses,
    with its messages: building its parser costs as much as a warm install.

    >>> args = _install_args(["install", "-q", "--cache-dir=c", "six.whl"])
    >>> args.wheels, args.cache_dir, args.quiet, args.link_mode
    (['six.whl'], 'c', True, 'auto')
    >>> _install_args(["install", "--cache", "c", "six.whl"]) is None  # argparse's job
    True
    """
    if not argv or argv[0] != "install":
        return None
    values: dict[str, Any] = dict(_INSTALL_DEFAULTS)
    wheels: list[str] = []
    seen: set[str] = set()
    state = 0  # 0: no wheel yet, 1: in the wheels, 2: past them
    i = 1
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-"):
            if state == 2:
                return None  # argparse refuses wheels after an option that follows wheels
            state = 1
            wheels.append(arg)
            continue
        state = 2 if state else 0
        if arg in _INSTALL_FLAGS:
            dest, value = _INSTALL_FLAGS[arg]
            values[dest] = value
        elif arg in ("-v", "--verbose"):
            dest = "verbose"
            values[dest] += 1
        else:
            name, eq, text = arg.partition("=")
            if eq and name.startswith("--") and text:
                arg = name
            elif not eq and i < len(argv) and not argv[i].startswith("-"):
                text = argv[i]
                i += 1
            else:
                return None
            dest = _INSTALL_VALUES.get(arg, "")
            if not dest or text not in _INSTALL_CHOICES.get(dest, (text,)):
                return None
            if dest == "jobs":
                if not (text.isascii() and text.isdigit()):
                    return None
                values[dest] = int(text)
            elif dest in _INSTALL_APPEND:  # a new list: the defaults are shared
                values[dest] = [*(values[dest] or ()), text]
            else:
                values[dest] = text
        seen.add(dest)
    if any(len(group & seen) > 1 for group in _INSTALL_EXCLUSIVE):
        return None
    values["wheels"] = wheels
    return Namespace(**values)


def run() -> None:
    """The ``fastinst`` command and ``python -m fastinst``: `main`, then exit.

    A command lives a fraction of a second, so the cyclic garbage collector is
    off (it would walk the objects of every module being imported, again and
    again: about 6 million instructions of a warm install of a small wheel), and
    a command that ends with nothing left to do leaves without the interpreter's
    teardown (freeing every module: about 10 million more), once stdout and
    stderr are flushed. Something left to do is a thread still running, or an
    ``atexit`` function (``logging``'s flush, a finalizer): then the exit is the
    usual one.
    """
    gc.disable()
    code = main()
    threading = sys.modules.get("threading")
    if (threading is None or threading.active_count() == 1) and _atexit_callbacks() == 0:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # (the usual exit reports it, as it would have)
        else:
            os._exit(code)
    sys.exit(code)


def _atexit_callbacks() -> int:
    """How many functions ``atexit`` holds (-1: cannot tell, not CPython); 0 when
    nothing has imported it, so nothing can have registered one (importing it here
    would cost more than the question)."""
    atexit = sys.modules.get("atexit")
    if atexit is None:
        return 0
    count = getattr(atexit, "_ncallbacks", None)
    return int(count()) if count is not None else -1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _install_args(argv)
    if args is None:
        from ._cli_parser import _parser

        args = _parser(_command_of(argv)).parse_args(argv)
    _setup_logging(args.quiet, args.verbose)
    _sigterm_as_interrupt()
    from ._errors import ExternallyManaged, FastinstError

    json_errors = getattr(args, "json", False)
    try:
        _choose_python(args)
        code = int(_COMMANDS[args.command](args))
        sys.stdout.flush()  # here, so that a closed pipe is caught below
        return code
    except BrokenPipeError:
        # The reader went away (``fastinst list --json | head -1``): what it read
        # is what it wanted. Nothing more can be written to it, not even at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_OK
    except ExternallyManaged as exc:
        if json_errors:
            _json_error(args, exc, str(exc), EXIT_FAILED)
        from ._output import externally_managed

        verb = "uninstall from" if args.command == "uninstall" else "install into"
        lines = externally_managed(_python_name(args), exc.marker, str(exc), verb)
        print("\n".join(lines), file=sys.stderr)
        return EXIT_FAILED
    except (FastinstError, OSError) as exc:
        message = _os_message(exc) + _permission_hint(args, exc)
        if json_errors:
            _json_error(args, exc, message, EXIT_FAILED)
        _error(message)
        return EXIT_FAILED
    except _Terminated as exc:
        _error(str(exc) or "terminated; nothing was changed")
        return EXIT_TERMINATED
    except KeyboardInterrupt as exc:
        _error(str(exc) or "interrupted; nothing was changed")
        return EXIT_INTERRUPTED
    except Exception as exc:
        # A bug, not bad input: still one line, with the traceback under -v.
        if args.verbose:
            import traceback

            traceback.print_exc()
        if json_errors:
            _json_error(args, exc, f"internal error: {exc}", EXIT_FAILED)
        _say(f"fastinst: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _os_message(exc: BaseException) -> str:
    """``path: what went wrong``, without Python's ``[Errno 13]``."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{os.fsdecode(exc.filename)}: " if exc.filename else ""
        return where + exc.strerror
    return str(exc)


def _permission_hint(args: argparse.Namespace, exc: BaseException) -> str:
    """pip's advice for a target the user may not write: ``--user``, where it applies."""
    import errno

    if not isinstance(exc, PermissionError) or args.command not in ("install", "uninstall"):
        return ""
    if getattr(exc, "errno", None) == errno.EROFS:
        return ""
    chose = any(getattr(args, o, None) for o in ("user", "target", "prefix", "home", "root"))
    if args.python:
        # --python names bin/python, or the venv's directory itself.
        places = (os.path.join(os.path.dirname(args.python), ".."), args.python)
        in_venv = any(os.path.isfile(os.path.join(d, "pyvenv.cfg")) for d in places)
    else:
        in_venv = sys.prefix != sys.base_prefix
    if chose or in_venv or args.command == "uninstall":
        return "; check the permissions of the environment's directories"
    return (
        "; consider --user (the user site) or a virtual environment, "
        "or check the permissions of the environment's directories"
    )


def _json_error(args: argparse.Namespace, exc: BaseException, message: str, code: int) -> None:
    from ._output import dumps, error_json

    command = args.command + (f" {args.action}" if args.command == "cache" else "")
    with suppress(BrokenPipeError):
        print(dumps(error_json(command, exc, " ".join(message.split()), code)), flush=True)


def _error(message: str) -> None:
    # One line, whatever the message holds.
    _say(f"fastinst: error: {' '.join(message.split())}", file=sys.stderr)


def _say(text: str, file: Any = None) -> None:
    """Print a line that may hold names from a wheel or a RECORD: control
    characters (terminal escapes) are shown escaped, never sent raw."""
    from ._paths import printable

    print(printable(text), file=file)


def _setup_logging(quiet: bool, verbose: int) -> None:
    from . import _log

    levels = (_log.WARNING, _log.INFO, _log.DEBUG)
    level = _log.ERROR if quiet else levels[min(verbose, 2)]
    _log.configure(level, sys.stderr, "fastinst: %(message)s")


def _choose_python(args: argparse.Namespace) -> None:
    """Fill in ``args.python`` as uv does: ``--python``, else the active
    ``$VIRTUAL_ENV``, else ``$CONDA_PREFIX`` (not conda's base environment), else
    the interpreter fastinst runs on. ``args.environment`` names an environment
    taken from the variables, for the summary (it is not the obvious one)."""
    args.environment = None
    if not hasattr(args, "python"):
        return  # cache: no environment
    args.python = args.python or args.global_python
    if args.python is not None:
        return
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        prefix = os.environ.get(var)
        if not prefix or (var == "CONDA_PREFIX" and _conda_base()):
            continue
        if os.path.realpath(prefix) == os.path.realpath(sys.prefix):
            return  # fastinst's own environment: the running interpreter is it
        python = os.path.join(prefix, "bin", "python")
        if not os.path.exists(python):
            from ._errors import SchemeError

            raise SchemeError(
                f"${var} is {prefix}, which has no bin/python: deactivate it, or say "
                "which interpreter with --python"
            )
        args.python, args.environment = python, prefix
        return


def _conda_base() -> bool:
    """Conda's base environment is the system's, which uv leaves alone unless asked."""
    return os.environ.get("CONDA_DEFAULT_ENV") in ("base", "root")


def _python_name(args: argparse.Namespace) -> str:
    return getattr(args, "python", None) or sys.executable


def _dumps(value: object) -> str:
    from ._output import dumps

    return dumps(value)


def _document(args: argparse.Namespace, **fields: object) -> str:
    """The ``--json`` document of ``args``' command (docs/cli.md, "JSON output")."""
    from ._output import document

    command = args.command + (f" {args.action}" if args.command == "cache" else "")
    return _dumps(document(command, **fields))


def _resolve(args: argparse.Namespace, *, install: bool) -> Scheme:
    """The scheme the options describe; for installs, with pip's user-site fallback."""
    from ._log import logger
    from ._scheme import choose_install_scheme, get_scheme

    where = dict(prefix=args.prefix, home=args.home, root=args.root, target=args.target)
    if args.environment:
        logger.info("the active environment: %s", args.environment)
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
        logger.warning("%s", notice)
    logger.debug("scheme (%s): %s", scheme.kind, scheme.as_dict())
    return scheme


def _cache_dir(args: argparse.Namespace) -> str | _Default | None:
    """The cache an install uses, for wheels and interpreter answers alike."""
    from ._probe_cache import DEFAULT_CACHE

    return None if args.no_cache else (args.cache_dir or DEFAULT_CACHE)


# --- install -----------------------------------------------------------------------------


def _install(args: argparse.Namespace) -> int:
    if not args.wheels and not args.requirement:
        raise _usage("install", "give at least one wheel, pin or -r FILE")
    _start_probe(args)
    from ._install import install
    from ._requirements import collect, select
    from ._tags import TargetInterpreter

    start = time.perf_counter()
    lock = _lock_file(args)
    for text in args.wheels:
        _check_not_an_archive(text)
    if lock is not None:
        return _install_lock(args, lock, _resolve(args, install=True), start)
    target = TargetInterpreter(args.python, cache_dir=_cache_dir(args))
    collected = collect(args.wheels, args.requirement, args.find_links, args.require_hashes)
    selected = select(collected, target)
    # The scheme after the selection, which needs none (a venv of our own binary
    # needs no probe for it): a probe started early answers meanwhile.
    scheme = _resolve(args, install=True)
    if not selected:
        if args.json:
            print(_dumps(_install_json([], scheme, 0.0, dry_run=args.dry_run)))
        elif not args.quiet:
            print("nothing to install (no requirement applies to this interpreter)")
        return EXIT_OK
    wheels = [s.path for s in selected]
    direct_url: dict[str | os.PathLike[str], Mapping[str, object]] = dict(
        _direct_urls([s.path for s in selected if s.direct], _cache_dir(args), args.dry_run)
    )
    bar = _progress_bar(wheels, start) if _wants_progress(args) else None
    if bar is not None:
        bar.open()
    interrupts = _Interrupts(bar)
    published = _dist_infos(wheels, scheme)  # those there already (a reinstall)
    try:
        with interrupts:
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
                ignore_requires_python=args.ignore_requires_python,
                ignore_tags=True,  # select() checked each wheel's tags for this interpreter
            )
    except KeyboardInterrupt as exc:
        raise type(exc)(_after_interrupt(scheme, exc, wheels, published)) from None
    finally:
        if bar is not None:
            bar.close()
    _report_install(args, results, scheme, time.perf_counter() - start)
    return EXIT_OK


def _start_probe(args: argparse.Namespace) -> None:
    """Without a cache the target interpreter is probed on every run: started
    first, the probe runs on the other core while this process imports what
    the install needs and selects the wheels (`_probe_cache.start_probe`)."""
    if args.no_cache and args.python is not None:
        from ._probe_cache import start_probe

        start_probe(args.python)


def _lock_file(args: argparse.Namespace) -> str | None:
    """The lock file of ``install -r pylock.toml``, which must come alone."""
    if not args.requirement and not (args.extras or args.groups is not None):
        return None  # (``_lock`` not imported for wheels named on the command line)
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

    bar = _progress_bar([], start) if _wants_progress(args) else None
    if bar is not None:
        bar.open()
    try:
        with _Interrupts(bar):
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
            # What happens step by step goes to stderr (the summary is the result).
            for r in fresh:
                removed = f", {len(r.removed)} removed" if r.removed else ""
                print(
                    f"  {r.name} {r.version}: {len(r.files)} files{removed} in {r.dist_info}",
                    file=sys.stderr,
                )
                if args.verbose > 1:  # -vv: every file
                    for path in (*r.files, *(f"{p} (removed)" for p in r.removed)):
                        print(f"    {path}", file=sys.stderr)
        if fresh:
            from ._output import install_summary

            lines = install_summary(
                fresh, elapsed, dry_run=args.dry_run, environment=args.environment
            )
            print("\n".join(lines))


def _check_not_an_archive(text: str) -> None:
    """A command-line argument that is a file or directory but not a wheel: say so
    before anything else is looked at."""
    from ._requirements import RequirementError, not_a_wheel

    reason = not_a_wheel(text, os.getcwd())
    if reason is not None:
        raise RequirementError(text, "", reason)


def _sync(args: argparse.Namespace) -> int:
    from ._lock import sync

    start = time.perf_counter()
    scheme = _resolve(args, install=True)
    bar = _progress_bar([], start) if _wants_progress(args) else None
    if bar is not None:
        bar.open()
    try:
        with _Interrupts(bar):
            result = sync(
                args.lock,
                scheme,
                find_links=args.find_links,
                extras=args.extras,
                groups=args.groups,
                keep=args.keep,
                keep_own_tools=args.keep_own_tools,
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
    elapsed = time.perf_counter() - start
    if args.json:
        out = _install_json(result.installed, scheme, elapsed, dry_run=args.dry_run)
        out["command"] = "sync"
        out["removed"] = [
            {"name": r.name, "version": r.version, "dist_info": r.dist_info, "files": len(r.files)}
            for r in result.removed
        ]
        out["unchanged"] = [{"name": n, "version": v} for n, v in result.unchanged]
        out["kept"] = [{"name": n, "version": v} for n, v in result.kept]
        print(_dumps(out))
    elif not args.quiet:
        for line in sync_lines(result):
            print(line)
        print(sync_summary(result, os.path.basename(args.lock), elapsed, dry_run=args.dry_run))
    return EXIT_OK


def sync_lines(result: SyncResult) -> list[str]:
    """One line per change, by name, as uv prints them: `` - old==1.0``, `` + new==2.0``."""
    from ._names import canonical_name

    changes: list[tuple[str, int, str]] = []
    for r in result.removed:
        changes.append((canonical_name(r.name), 0, f" - {r.name}=={r.version}"))
    for i in result.installed:
        if i.replaced and not any(canonical_name(r.name) == canonical_name(i.name)
                                  for r in result.removed):  # fmt: skip
            changes.append((canonical_name(i.name), 0, f" - {i.name}=={i.replaced}"))
        changes.append((canonical_name(i.name), 1, f" + {i.name}=={i.version}"))
    return [line for _n, _o, line in sorted(changes)]


def sync_summary(result: SyncResult, lock: str, elapsed: float, *, dry_run: bool = False) -> str:
    """One line: what a sync did, or that there was nothing to do.

    >>> from fastinst._lock import SyncResult
    >>> nothing = SyncResult((), (), (("demo", "1.0"),), (("pip", "26.3"),))
    >>> sync_summary(nothing, "pylock.toml", 0.004)
    'nothing to do: the environment is the lock (1 distribution, checked in 4ms; kept pip)'
    """
    took = f"{elapsed * 1000:.0f}ms" if elapsed < 1 else f"{elapsed:.2f}s"
    kept = f"; kept {', '.join(n for n, _v in result.kept)}" if result.kept else ""
    if not result.changed:
        count = len(result.unchanged)
        return (
            f"nothing to do: the environment is the lock ({count} "
            f"{_plural(count, 'distribution')}, checked in {took}{kept})"
        )
    replaced = sum(1 for r in result.installed if r.replaced)
    parts = [
        f"{len(result.installed) - replaced} installed",
        f"{replaced} replaced",
        f"{len(result.removed)} removed",
        f"{len(result.unchanged)} unchanged",
    ]
    cached = sum(1 for r in result.installed if r.from_cache)
    head = "would sync to" if dry_run else "synced to"
    tail = "; nothing was changed" if dry_run else f", {cached} from the cache"
    return f"{head} {lock} in {took}: {', '.join(parts)}{tail}{kept}"


def _usage(command: str, message: str) -> SystemExit:
    print(f"fastinst {command}: error: {message} (see fastinst {command} --help)", file=sys.stderr)
    return SystemExit(EXIT_USAGE)


def _wants_progress(args: argparse.Namespace) -> bool:
    return args.progress_bar == "on" and not args.quiet and not args.json and sys.stderr.isatty()


class _Interrupts:
    """Ctrl-C and SIGTERM while an install runs: the first says at once that the
    rollback started (it can take a while on a slow disk) and stops the install;
    a second Ctrl-C is held, since the rollback is what keeps the environment
    whole; a third stops the rollback too (the next run finishes it)."""

    def __init__(self, bar: ProgressBar | None) -> None:
        self.bar = bar
        self.count = 0
        self.saved: list[tuple[int, Any]] = []

    def __enter__(self) -> _Interrupts:
        with suppress(ValueError):  # signal() works in the main thread only
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.saved.append((signum, signal.signal(signum, self.handle)))
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.saved:
            # Once interrupted, what is left is saying so and exiting: a late Ctrl-C
            # must not turn that into a traceback or a death by signal.
            signal.signal(signum, signal.SIG_IGN if self.count else handler)

    def handle(self, signum: int, frame: object) -> None:
        self.count += 1
        if self.bar is not None:
            self.bar.close(wait=False)
        terminated = signum == signal.SIGTERM
        if self.count == 1:
            what = "terminated" if terminated else "interrupted"
            # On a terminal, off the line the echoed ^C is on.
            newline = "\n" if sys.stderr.isatty() and not self.bar else ""
            print(f"{newline}fastinst: {what}; rolling back...", file=sys.stderr, flush=True)
        elif self.count == 2 and not terminated:
            print(
                "fastinst: still rolling back (Ctrl-C again stops it, and the next "
                "fastinst run in this environment finishes it)",
                file=sys.stderr,
                flush=True,
            )
            return
        raise _Terminated if terminated else KeyboardInterrupt


def _dist_infos(wheels: list[str], scheme: Scheme) -> set[str]:
    """The ``.dist-info`` directories of ``wheels`` (named as their files are) that
    exist in the scheme's library directories."""
    found = set()
    for wheel in wheels:
        name, version = os.path.basename(wheel).split("-")[:2]
        for lib in {scheme.purelib, scheme.platlib}:
            path = os.path.join(lib, f"{name}-{version}.dist-info")
            if os.path.isdir(path):
                found.add(path)
    return found


def _after_interrupt(
    scheme: Scheme, exc: BaseException, wheels: list[str], published: set[str]
) -> str:
    """What an interrupted install left: nothing, a rollback for the next run, or
    (interrupted while it tidied up after its commit point) the install itself."""
    from ._transaction import JOURNAL_PREFIX, STAGE_PREFIX

    what = "terminated" if isinstance(exc, _Terminated) else "interrupted"
    now = _dist_infos(wheels, scheme)
    if now - published and len(now) >= len(wheels):
        return f"{what} after the install was complete: it stands, nothing was rolled back"
    mine = f"{os.getpid()}-"
    roots = {scheme.purelib, scheme.platlib, scheme.headers, scheme.scripts, scheme.data}
    for root in roots:
        try:
            names = os.listdir(root)
        except OSError:
            continue
        if any(n.startswith((JOURNAL_PREFIX + mine, STAGE_PREFIX + mine)) for n in names):
            return (
                f"{what} during the rollback; the next fastinst run in {scheme.purelib} finishes it"
            )
    return f"{what}; nothing was changed"


def _progress_bar(wheels: list[str], start: float) -> ProgressBar:
    from ._progress import ProgressBar

    try:
        delay = float(os.environ.get("FASTINST_PROGRESS_DELAY", PROGRESS_DELAY))
    except ValueError:
        delay = PROGRESS_DELAY
    return ProgressBar(wheels, sys.stderr, delay=delay, start=start)


def _direct_url(path: str, cache_dir: object, dry_run: bool) -> dict[str, object]:
    """PEP 610 for one wheel named by its path (`_direct_urls`)."""
    return _direct_urls([path], cache_dir, dry_run)[0][1]


def _direct_urls(
    paths: list[str], cache_dir: object, dry_run: bool
) -> list[tuple[str, dict[str, object]]]:
    """PEP 610 for wheels named by their paths, with their SHA-256, as pip writes it.

    With the cache, the hash is the one the cache takes anyway (and remembers);
    without it, the file is read once more. The wheels are hashed several at a
    time (`_cache.wheel_digests`). A dry run writes no ``direct_url.json`` and
    hashes nothing.
    """
    # Path(path).resolve().as_uri(), made here without pathlib and urllib (a few
    # milliseconds of imports on a warm install)
    urls = []
    real_dirs: dict[str, str] = {}  # the wheels of one call are mostly in one directory
    for path in paths:
        head, tail = os.path.split(path)
        if tail in ("", ".", "..") or os.path.islink(path):
            real = os.path.realpath(path)
        else:  # realpath(path), without an lstat of every directory above each wheel
            if head not in real_dirs:
                real_dirs[head] = os.path.realpath(head)
            real = os.path.join(real_dirs[head], tail)
        raw = os.fsencode(real)
        urls.append("file://" + "".join(chr(b) if b in _URL_SAFE else f"%{b:02X}" for b in raw))
    if dry_run or not paths:
        return [(p, {"url": u, "archive_info": {}}) for p, u in zip(paths, urls)]
    from ._cache import wheel_digests

    cache = None
    if cache_dir is not None:
        from ._cache import default_cache_dir, open_cache
        from ._install import DEFAULT_CACHE

        root = default_cache_dir() if cache_dir is DEFAULT_CACHE else str(cache_dir)
        cache = open_cache(root)  # one another user can change is not read (nor written)
    digests = wheel_digests(cache, paths)
    return [
        (p, {"url": u, "archive_info": {"hash": f"sha256={d}", "hashes": {"sha256": d}}})
        for p, u, d in zip(paths, urls, digests)
    ]


# What urllib.parse.quote leaves as it is in a path (pathlib's as_uri quotes the rest).
_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/")


def _install_json(
    results: Sequence[InstallResult], scheme: Scheme, elapsed: float, *, dry_run: bool
) -> dict[str, object]:
    from ._output import document, result_json

    return document(
        "install",
        installed=[result_json(r) for r in results],
        dry_run=dry_run,
        python=scheme.python,
        scheme=scheme.as_dict(),
        seconds=round(elapsed, 6),
    )


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
        uninstalled = [
            {
                "name": r.name,
                "version": r.version,
                "dist_info": r.dist_info,
                "files": list(r.files),
                "kept": list(r.kept),
            }
            for r in results
        ]
        print(_document(args, uninstalled=uninstalled))
    elif not args.quiet:
        for r in results:
            print(
                f"uninstalled {r.name} {r.version} ({len(r.files)} {_plural(len(r.files), 'file')})"
            )
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from ._installed import list_installed

    scheme = _resolve(args, install=False)
    dists = _visible(list_installed(scheme), scheme)
    rows = [{"name": d.name, "version": d.version, "location": d.location} for d in dists]
    if args.json:
        print(_document(args, distributions=rows))
    elif args.format == "json":
        print(_dumps(rows))  # pip's shape, for tools that read pip's
    elif args.format == "freeze":
        for d in dists:
            print(f"{d.name}=={d.version}")
    elif not args.quiet:
        width = max([len("Package"), *(len(d.name) for d in dists)])
        vwidth = max([len("Version"), *(len(d.version) for d in dists)])
        print(f"{'Package':<{width}} {'Version':<{vwidth}} Location")
        print(f"{'-' * width} {'-' * vwidth} {'-' * 8}")
        for d in dists:
            _say(f"{d.name:<{width}} {d.version:<{vwidth}} {d.location}")
    return EXIT_OK


def _visible(dists: list[InstalledDistribution], scheme: Scheme) -> list[InstalledDistribution]:
    """Each name once, as pip lists it: the copy the interpreter imports (the first
    library directory; there, a ``.dist-info`` before a Debian ``.egg-info`` of the
    same distribution)."""
    from ._names import canonical_name

    order = {d: i for i, d in enumerate(scheme.library_dirs())}
    best: dict[str, InstalledDistribution] = {}
    for d in dists:
        key = canonical_name(d.name)
        rank = (
            order.get(os.path.normpath(d.location), len(order)),
            not d.dist_info.endswith(".dist-info"),
        )
        other = best.get(key)
        if other is None or rank < (
            order.get(os.path.normpath(other.location), len(order)),
            not other.dist_info.endswith(".dist-info"),
        ):
            best[key] = d
    return [d for d in dists if best[canonical_name(d.name)] is d]


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
    _add_requirements(shown, scheme, args.python)
    if args.json:
        print(_document(args, distributions=shown))
        return EXIT_OK
    if args.quiet:
        return EXIT_OK
    for i, info in enumerate(shown):
        if i:
            print("---")
        _say(f"Name: {info['name']}")
        _say(f"Version: {info['version']}")
        if info["summary"]:
            _say(f"Summary: {info['summary']}")
        _say(f"Location: {info['location']}")
        _say(f"Requires: {', '.join(info['requires'])}")
        _say(f"Required-by: {', '.join(info['required_by'])}")
        _say(f"Installer: {info['installer'] or ''}")
        _say(f"Requested: {'yes' if info['requested'] else 'no'}")
        if info["direct_url"]:
            _say(f"Direct-URL: {info['direct_url']}")
        eps = info["entry_points"]
        if eps:
            print("Entry-points:")
            for group, entries in eps.items():
                for ep_name, value in entries.items():
                    _say(f"  [{group}] {ep_name} = {value}")
        count = info["files_count"]
        if count is None:
            print("Files: unknown (no RECORD)")
        elif not args.files:
            _say(f"Files: {count}")
        else:  # as pip lists them: relative to the location
            print("Files:")
            for path in info["files"]:
                _say(f"  {os.path.relpath(path, info['location'])}")
    return EXIT_OK


def _add_requirements(shown: list[dict[str, Any]], scheme: Scheme, python: str | None) -> None:
    """``requires`` and ``required_by`` of each shown distribution, as pip's show
    gives them: names whose markers hold for the target interpreter (no extras),
    sorted case-insensitively, each once."""
    from ._installed import list_installed
    from ._names import canonical_name
    from ._tags import TargetInterpreter

    environment = {**TargetInterpreter(python).marker_environment(), "extra": ""}
    wanted = {canonical_name(info["name"]): info for info in shown}
    for info in shown:
        info["required_by"] = []
    for dist in _visible(list_installed(scheme), scheme):
        names = _requirement_names(dist, environment)
        if dist.dist_info in {info["dist_info"] for info in shown}:
            for info in shown:
                if info["dist_info"] == dist.dist_info:
                    info["requires"] = sorted(names.values(), key=str.lower)
        for key in names.keys() & wanted.keys():
            wanted[key]["required_by"].append(dist.name)
    for info in shown:
        info.setdefault("requires", [])
        info["required_by"] = sorted(set(info["required_by"]), key=str.lower)


def _requirement_names(dist: InstalledDistribution, environment: dict[str, str]) -> dict[str, str]:
    """The distributions ``dist`` needs in ``environment``: normalised name -> name
    as written. From METADATA's ``Requires-Dist``, or an ``.egg-info``'s
    ``requires.txt``."""
    from packaging.markers import InvalidMarker, UndefinedComparison
    from packaging.requirements import InvalidRequirement, Requirement

    from ._installed import metadata_path
    from ._names import canonical_name

    lines = _metadata_values(metadata_path(dist), "requires-dist")
    if not lines and dist.dist_info.endswith(".egg-info"):
        lines = _egg_requires(os.path.join(dist.dist_info, "requires.txt"))
    names: dict[str, str] = {}
    for line in lines:
        try:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate(environment):
                continue
        except (InvalidRequirement, InvalidMarker, UndefinedComparison):
            continue  # pip skips what it cannot read too
        names.setdefault(canonical_name(req.name), req.name)
    return names


def _metadata_values(path: str, key: str) -> list[str]:
    """Every value of the header ``key`` (lower-case) in a METADATA header block."""
    values = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break
                name, sep, value = line.partition(":")
                if sep and name.strip().lower() == key:
                    values.append(value.strip())
    except OSError:
        pass
    return values


def _egg_requires(path: str) -> list[str]:
    """``requires.txt`` as requirement lines: unconditional ones, and ``[:marker]``
    sections as markers (``[extra]`` sections need an extra, so they are left out)."""
    out = []
    marker: str | None = ""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for raw in f:
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                if line.startswith("["):
                    section = line.strip("[]")
                    extra, _, cond = section.partition(":")
                    marker = None if extra else cond
                    continue
                if marker is None:
                    continue
                out.append(f"{line} ; {marker}" if marker else line)
    except OSError:
        pass
    return out


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
        print(_document(args, **verify_json(results)))
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
        print(
            _document(
                args,
                **paths,
                headers_per_distribution=scheme.headers_per_distribution,
                python=scheme.python,
                kind=scheme.kind,
            )
        )
    elif not args.quiet:
        if scheme.headers_per_distribution:  # each distribution's in a directory of its name
            paths["headers"] = os.path.join(scheme.headers, "<distribution>")
        for key, value in paths.items():
            print(f"{key}: {value}")
    return EXIT_OK


# --- cache ------------------------------------------------------------------------------


def _cache(args: argparse.Namespace) -> int:
    from ._cache import WheelCache, check_trusted, default_cache_dir

    cache = WheelCache(args.cache_dir or default_cache_dir())
    say = (lambda _line: None) if args.quiet else print
    if args.action in ("verify", "prune", "clean"):
        # Not what another user can change: nothing in it is vouched for, and
        # removing in a tree someone else controls is theirs to do.
        check_trusted(cache.root)
    if args.action == "dir":
        print(_document(args, path=cache.root) if args.json else cache.root)
    elif args.action == "info":
        info = cache.info()
        if args.json:
            print(_document(args, **info))
        else:
            size = int(info["bytes"])  # type: ignore[call-overload]
            say(
                f"{info['path']}: {info['entries']} {_plural(int(info['entries']), 'wheel')}, "  # type: ignore[call-overload]
                f"{size / 1e6:.1f} MB"
            )
    elif args.action == "verify":
        bad = cache.verify()
        if args.json:
            print(_document(args, damaged=bad))
        else:
            for line in bad:
                say(f"removed damaged entry {line}")
            say(f"{len(bad)} damaged {_plural(len(bad), 'entry', 'entries')} found")
        return EXIT_FAILED if bad else EXIT_OK
    elif args.action == "prune":
        removed = cache.prune(args.days)
        if args.json:
            print(_document(args, removed=removed))
        else:
            say(
                f"removed {len(removed)} {_plural(len(removed), 'entry', 'entries')} "
                f"unused for {args.days:g} days"
            )
    elif args.action == "clean":
        cache.clean()
        if args.json:
            print(_document(args, cleaned=cache.root))
        else:
            say(f"removed everything in {cache.root}")
    return EXIT_OK


def _plural(n: int, one: str, many: str | None = None) -> str:
    return one if n == 1 else (many or one + "s")


_COMMANDS = {
    "install": _install,
    "sync": _sync,
    "uninstall": _uninstall,
    "list": _list,
    "show": _show,
    "verify": _verify,
    "scheme": _scheme,
    "cache": _cache,
}
