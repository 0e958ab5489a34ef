"""Ask an interpreter about itself, and keep its answers where no one else can change them.

Three jobs, shared by the scheme (``_scheme``) and the wheel tags (``_tags``):

* find the interpreter a ``--python`` names: a path, a name on ``PATH``, or a
  virtual environment's directory (as pip and uv accept);
* run the probe (``_probe.py``) inside it, bounded in time and output, and say
  in one line what is wrong when the answer is not a probe's answer;
* keep answers in ``<cache>/probe-v2/``, one JSON file each. An answer decides
  where an install writes, so it is used only when the cache passes the trust
  rule (``_trust``: owned by the current user and writable by no one else, as
  the directories above it) and so does ``probe-v2`` itself; otherwise fastinst
  warns once and goes without it. Files are opened relative to the checked
  directory, without following symbolic links.
"""

from __future__ import annotations

import os

from . import _jsontext, _trust
from ._errors import SchemeError, suppress
from ._log import logger

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any, Callable, Union


if TYPE_CHECKING:  # an enum of one member, which type checkers narrow with ``is``
    import enum

    class _Default(enum.Enum):
        """Sentinel type: the user's cache directory (``$FASTINST_CACHE_DIR`` or platformdirs')."""

        CACHE = "default"

else:  # the same without enum (which a warm install otherwise does not import)

    class _Default:
        """Sentinel type: the user's cache directory (``$FASTINST_CACHE_DIR`` or platformdirs')."""

        __slots__ = ()

        def __repr__(self) -> str:
            return "<_Default.CACHE: 'default'>"

        def __reduce__(self) -> str:
            return "DEFAULT_CACHE"  # pickled as this module's one instance

    _Default.CACHE = _Default()


DEFAULT_CACHE = _Default.CACHE
if TYPE_CHECKING:
    # A cache directory as the API takes it: a path, DEFAULT_CACHE, or None for no cache.
    CacheDir = Union[str, os.PathLike[str], None, _Default]

PROBE_DIR = "probe-v2"
# A probe answers in tens of milliseconds; a slow disk or a loaded machine may
# take a few seconds. Anything beyond this is not a working Python.
PROBE_TIMEOUT = 20.0
# A probe answer is a few kilobytes.
MAX_ANSWER = 1 << 20

# Runs first in the target: refuses old Pythons in words, then runs the probe file,
# from fastinst's own .pyc of it when there is one for the target's version
# (compiling it cost the probe a quarter of its time), writing none.
# Python 2 syntax too, so that a Python 2 says what it is.
_BOOTSTRAP = (
    "import sys\n"
    "if sys.version_info[:2] < (3, 8):\n"
    '    sys.stdout.write(\'\\n{"fastinst_too_old": "%d.%d"}\\n\' % sys.version_info[:2])\n'
    "else:\n"
    "    from importlib.machinery import SourceFileLoader\n"
    "    sys.dont_write_bytecode = True\n"
    "    exec(SourceFileLoader('__main__', sys.argv[1]).get_code('__main__'))\n"
)


# --- finding the interpreter ------------------------------------------------------------


def find_interpreter(python: str) -> str:
    """The absolute path of the interpreter ``python`` names.

    ``python`` is a path, a command name looked up on ``PATH``, or the
    directory of a virtual environment (its ``bin/python``).
    """
    if os.sep not in python and not os.path.isdir(python):
        import shutil

        found = shutil.which(python)
        if found is None:
            raise SchemeError(f"interpreter {python!r} not found on PATH")
        python = found
    path = os.path.abspath(python)
    if os.path.isdir(path):
        for name in ("python3", "python"):
            candidate = os.path.join(path, "bin", name)
            if os.path.isfile(candidate):
                return candidate
        raise SchemeError(f"{path} is a directory without bin/python: not a virtual environment")
    if not os.path.isfile(path):
        if os.path.lexists(path):
            raise SchemeError(f"interpreter {path} is not a file")
        raise SchemeError(f"interpreter {path} does not exist")
    return path


def interpreter_binary(path: str) -> tuple[str, os.stat_result] | None:
    """The real file behind an interpreter path and its stat, for cache keys.

    ``None`` for a script (a pyenv shim, a wrapper): what it runs can change
    without it changing, so answers about it are not cached.
    """
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
        with open(real, "rb") as f:
            if f.read(2) == b"#!":
                return None
    except OSError:
        return None
    return real, st


def cache_key(material: list[Any]) -> str:
    """A file name for an answer that depends on ``material`` (JSON-able)."""
    from . import _backend  # its SHA-256: importing hashlib costs a warm install 3 ms

    return _backend.core.sha256(_jsontext.dumps(material).encode()).hex()[:32]


# --- the cache directory and its trust rule -----------------------------------------------


def default_cache_dir() -> str:
    """``$FASTINST_CACHE_DIR``, else the platform's user cache directory."""
    env = os.environ.get("FASTINST_CACHE_DIR")
    if env:
        return env
    import platformdirs

    return platformdirs.user_cache_dir("fastinst")


def probe_dir(cache_dir: CacheDir = DEFAULT_CACHE) -> str | None:
    """``<cache>/probe-v2`` for ``cache_dir`` (``None``: answers are not kept)."""
    if cache_dir is None:
        return None
    if isinstance(cache_dir, _Default):
        return os.path.join(default_cache_dir(), PROBE_DIR)
    return os.path.join(os.fspath(cache_dir), PROBE_DIR)


# How the trust rule (``_trust``) names what a cache directory holds, when it warns.
CACHE_CONTENTS = "cached wheels and interpreter answers"


def _open_trusted_dir(directory: str, *, make: bool = False) -> int | None:
    """An open descriptor of ``directory`` (``<cache>/probe-v2``) if the trust rule
    lets us use it (made first when ``make``), else ``None``.

    Checked on the open directory itself (fstat), and every file is then opened
    relative to it: replacing the directory after the check changes nothing.
    """
    root = _trust.check(os.path.dirname(directory), CACHE_CONTENTS)
    if root is None:
        return None
    directory = os.path.join(root, os.path.basename(directory))
    try:
        if make:
            _trust.make_dirs(directory)
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if make:
            logger.debug("interpreter answer not kept (%s)", exc)
        return None
    why = _trust.dir_problem(os.fstat(fd))
    if why is None:
        return fd
    os.close(fd)
    _trust.warn("interpreter answers", directory, why)
    return None


def read_answer(cache_dir: CacheDir, name: str) -> dict[str, Any] | None:
    """The answer kept as ``name`` (``None``: none, unreadable, or not trusted)."""
    directory = probe_dir(cache_dir)
    if directory is None:
        return None
    dir_fd = _open_trusted_dir(directory)
    if dir_fd is None:
        return None
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        # A file someone else put there before the directory was ours is not ours.
        if _trust.file_problem(st) is not None or st.st_size > MAX_ANSWER:
            return None
        try:
            answer = _jsontext.loads(f.read(MAX_ANSWER))
        except (OSError, ValueError):
            return None
    return answer if isinstance(answer, dict) else None


def write_answer(cache_dir: CacheDir, name: str, answer: dict[str, Any]) -> None:
    """Keep ``answer`` as ``name``, atomically; never fail (a cache is optional)."""
    directory = probe_dir(cache_dir)
    if directory is None:
        return
    dir_fd = _open_trusted_dir(directory, make=True)
    if dir_fd is None:
        return
    tmp = f".tmp-{os.getpid()}-{name}"
    try:
        fd = os.open(
            tmp,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o644,
            dir_fd=dir_fd,
        )
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(_jsontext.dumps(answer))
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError as exc:
        logger.debug("interpreter answer not kept (%s)", exc)
        with suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


# Answers this process computed, as JSON text, by the name they are kept under. A
# name stands for everything its answer depends on (as in the cache directory), so
# asked again (the scheme, then the tags, then each install() call) an answer costs
# no probe, with or without a cache directory. Only answers computed here are kept,
# never ones read from a directory: without a cache nothing is read from disk.
_computed: dict[str, str] = {}
_COMPUTED_MAX = 64  # a few kilobytes each; a process asks about a few interpreters


def kept_answer(
    cache_dir: CacheDir,
    name: str | None,
    compute: Callable[[], dict[str, Any]],
    valid: Callable[[dict[str, Any]], bool],
) -> dict[str, Any]:
    """The answer kept as ``name``: from ``cache_dir`` if it is there and ``valid``,
    else the one this process computed before, else ``compute()``; kept in both.

    ``name`` ``None``: nothing is kept (a script interpreter, which can run
    another interpreter tomorrow).
    """
    if name is None:
        return compute()
    answer = read_answer(cache_dir, name)
    if answer is not None and valid(answer):
        return answer
    known = _computed.get(name)
    if known is not None:
        answer = _jsontext.loads(known)
    else:
        answer = compute()
        if len(_computed) >= _COMPUTED_MAX:
            _computed.clear()
        _computed[name] = _jsontext.dumps(answer)
    write_answer(cache_dir, name, answer)
    return answer


# --- running the probe ------------------------------------------------------------------


# Probes started early (`start_probe`), by interpreter path, until `run_probe` takes them.
_started: dict[str, Any] = {}


def start_probe(python: str) -> None:
    """Start the probe in the interpreter ``python`` names, and do not wait for it.

    For a caller that will ask for this interpreter's facts and knows no answer
    is kept (``--no-cache``): the probe's start-up (a new interpreter, its
    ``site``) then runs on another core while this process imports and reads
    what it needs, and `run_probe` for the same interpreter collects its answer,
    which is what that call would have got from a probe of its own. Any trouble
    finding or starting it is left for `run_probe` to say.
    """
    from . import _probe

    try:
        path = find_interpreter(python)
    except SchemeError:
        return
    if path in _started:
        return
    proc = _start([path, "-I", "-c", _BOOTSTRAP, _probe.__file__])
    if not isinstance(proc, str):
        _started[path] = proc


def run_probe(path: str, shown: str | None = None) -> dict[str, Any]:
    """Run ``_probe.py`` inside the interpreter ``path`` (or collect the probe
    `start_probe` started in it); its answer as a dict.

    Bounded: `PROBE_TIMEOUT` seconds and `MAX_ANSWER` bytes of output. Raises
    `SchemeError` with one line that says what ``path`` (shown as ``shown``) is
    when it does not answer as a Python 3.8+ does.
    """
    from . import _probe

    shown = shown or path
    proc = _started.pop(path, None)
    if proc is None:
        proc = _start([path, "-I", "-c", _BOOTSTRAP, _probe.__file__])
    if isinstance(proc, str):  # could not start it
        raise SchemeError(f"cannot run {shown}: {proc}")
    code, out, err, problem = _collect(proc, PROBE_TIMEOUT, MAX_ANSWER)
    if problem == "timeout":
        raise SchemeError(
            f"{shown} did not answer fastinst's interpreter probe within "
            f"{PROBE_TIMEOUT:g} s: is it a Python interpreter?"
        )
    if problem == "flood":
        raise SchemeError(
            f"{shown} is not a Python interpreter: it printed over {MAX_ANSWER >> 20} MB "
            "in answer to fastinst's interpreter probe"
        )
    answer = _last_json_line(out)
    if isinstance(answer, dict) and "fastinst_too_old" in answer:
        raise SchemeError(
            f"{shown} is Python {str(answer['fastinst_too_old'])[:10]}: "
            "fastinst installs for Python 3.8 or later"
        )
    if isinstance(answer, dict) and answer.get("probe_version") == _probe.PROBE_VERSION:
        missing = check_answer(answer)
        if missing is not None:
            raise SchemeError(
                f"{shown} gave an incomplete answer to fastinst's interpreter probe "
                f"({missing}): is it a Python interpreter?"
            )
        return answer
    lines = err.decode("utf-8", "replace").strip().splitlines()
    if lines and lines[0].startswith("Unknown option: -I"):
        raise SchemeError(f"{shown} is not Python 3: fastinst installs for Python 3.8 or later")
    if any(line.startswith("Traceback (most recent call last)") for line in lines):
        # A Python whose start-up (a sitecustomize, say) or our probe failed.
        raise SchemeError(f"fastinst's interpreter probe failed in {shown}: {_one_line(lines[-1])}")
    status = f"exit status {code}" if code else "no answer"
    raise SchemeError(
        f"{shown} is not a Python interpreter (it did not answer fastinst's probe: {status})"
    )


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    printable = "".join(c if c.isprintable() else "?" for c in text)
    return printable if len(printable) <= limit else printable[:limit] + "..."


def _last_json_line(out: bytes) -> Any:
    """The probe writes its answer as the last line (start-up code may print before)."""
    for line in reversed(out.splitlines()):
        if line.strip():
            try:
                return _jsontext.loads(line)
            except ValueError:
                return None
    return None


def _start(cmd: list[str]) -> Any:
    """``cmd`` started (a ``subprocess.Popen``) in a session of its own, or why it
    could not start (a string)."""
    import subprocess

    try:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd="/",  # nothing of the caller's directory on the probe's path
            start_new_session=True,
        )
    except OSError as exc:
        return exc.strerror or str(exc)


def _collect(proc: Any, timeout: float, limit: int) -> tuple[int | None, bytes, bytes, str | None]:
    """Read what the program `_start` started writes, and wait for it: (exit code,
    stdout, the tail of stderr, problem).

    ``problem`` is ``"timeout"`` (``timeout`` seconds from now), ``"flood"`` (over
    ``limit`` bytes on stdout) or ``None``. On a problem the program's session is
    killed whole, so that nothing it started keeps running.
    """
    import selectors
    import signal
    import subprocess
    import time

    assert proc.stdout is not None and proc.stderr is not None
    out, err = bytearray(), bytearray()
    problem = None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ, out)
        selector.register(proc.stderr, selectors.EVENT_READ, err)
        try:
            while selector.get_map() and problem is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    problem = "timeout"
                    break
                for key, _events in selector.select(remaining):
                    chunk = os.read(key.fd, 1 << 16)
                    if not chunk:
                        selector.unregister(key.fileobj)
                        continue
                    buffer: bytearray = key.data
                    buffer += chunk
                    if len(out) > limit:
                        problem = "flood"
                        break
                    if len(err) > 2 * 65536:
                        del err[:-65536]  # only its end is ever shown
            if problem is None:
                try:
                    proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    problem = "timeout"
        finally:
            if problem is not None or proc.poll() is None:
                with suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
    return proc.returncode, bytes(out), bytes(err), problem


# --- what an answer must hold ---------------------------------------------------------------

_ANSWER_TYPES: dict[str, type | tuple[type, ...]] = {
    "executable": str,
    "version": str,
    "version_info": list,
    "implementation": str,
    "os_name": str,
    "platform": str,
    "prefix": str,
    "base_prefix": str,
    "platlibdir": str,
    "framework": str,
    "in_venv": bool,
    "venv_no_global": bool,
    "use_sysconfig": bool,
    "schemes": dict,
    "user_site_template": (str, type(None)),
    "isolated": bool,
    "enable_user_site": bool,
    "site_packages": list,
    "externally_managed": str,
    "tags": dict,
    "markers": dict,
}
_SCHEME_KEYS = ("purelib", "platlib", "headers", "scripts", "data")


def check_answer(answer: dict[str, Any]) -> str | None:
    """What is missing or malformed in a probe's answer (``None``: nothing).

    Checked for every answer, fresh or kept: an answer is used without further
    checks, and a bad one must be a clear error, not a ``KeyError`` later.
    """
    for key, kind in _ANSWER_TYPES.items():
        if not isinstance(answer.get(key), kind):
            return f"{key!r} missing or malformed"
    info = answer["version_info"]
    if len(info) < 3 or not all(isinstance(v, int) for v in info):
        return "'version_info' malformed"
    for mode in ("default", "user", "prefix", "home"):
        scheme = answer["schemes"].get(mode)
        paths = scheme.get("paths") if isinstance(scheme, dict) else None
        if not isinstance(paths, dict) or not all(
            isinstance(paths.get(k), str) for k in _SCHEME_KEYS
        ):
            return f"scheme {mode!r} missing or malformed"
        if not isinstance(scheme.get("name"), str):
            return f"scheme {mode!r} has no name"
    for pair in answer["site_packages"]:
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            return "'site_packages' malformed"
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in answer["markers"].items()):
        return "'markers' malformed"
    tags = answer["tags"]
    if not isinstance(tags.get("interpreter"), str) or not isinstance(tags.get("platform"), str):
        return "'tags' malformed"
    version = tags.get("version")
    if not (
        isinstance(version, list) and len(version) == 2 and all(isinstance(v, int) for v in version)
    ):
        return "'tags' malformed"
    return None
