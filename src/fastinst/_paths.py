"""Safety checks for archive member names and RECORD paths.

Everything here is string work on names as stored: a name is judged before any
file exists, so the checks cannot be fooled by what is on disk.
"""

from __future__ import annotations

import os
import stat

from ._errors import UnsafePath

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    import re

# Limits on a member name, far above what real wheels need (of 1,036 wheels, the
# longest name has 238 bytes, the longest component 94, the deepest file 16
# components) and below what every filesystem takes: a component over NAME_MAX
# fails with ENAMETOOLONG only once files are being written (naming a staging
# path), and a deep tree costs every later walk of it.
MAX_NAME_BYTES = 1024
MAX_COMPONENT_BYTES = 255
MAX_DEPTH = 64
# A name of this many characters or fewer is within all three limits, whatever
# its characters (4 bytes each at most in UTF-8).
_SHORT = min(MAX_COMPONENT_BYTES // 4, MAX_DEPTH - 1)

# A Windows drive ("C:") or a UNC/device prefix is as absolute as "/x" is.
_DRIVE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# What str.splitlines() splits on besides "\n" and "\r": importlib.metadata reads
# RECORD with it, so a name holding one becomes two bogus entries there.
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
# Every other C0 and C1 control character and DEL: no real file name holds one,
# and printed raw they are terminal escapes.
_CONTROL = "[\x00-\x1f\x7f-\x9f\u2028\u2029]"
_CONTROL_BUT_NEWLINE = "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]"

# Every way a name can escape or be ambiguous, as substrings of all the names
# joined by newlines (a name with a newline in it is caught first by counting):
# backslash, empty segment, absolute, "." and ".." segments, empty name, and
# fastinst's own ".fastinst" names.
_BAD_SUBSTRINGS = (
    "\\",
    "//",
    "\n/",
    "/./",
    "/../",
    "\n./",
    "\n../",
    "/.\n",
    "/..\n",
    "\n.\n",
    "\n..\n",
    "\n\n",
    "/.fastinst",
    "\n.fastinst",
)
_DRIVE = r"(?m)^[A-Za-z]:"


def member_problem(name: str, what: str = "member name") -> str | None:
    """Why the archive member ``name`` is unsafe to extract, or ``None``.

    Names use ``/`` as the separator (the zip spec says so); a backslash is
    refused rather than interpreted, because Windows would treat it as a
    separator and a name like ``..\\x`` would escape there. ``what`` is how the
    reason calls the name.
    """
    if not name:
        return f"empty {what}"
    if "\x00" in name:
        return f"{what} contains a NUL byte"
    control = _regex(_CONTROL).search(name)
    if control is not None:
        char = control.group()
        kind = "a line break" if char in _LINE_BREAKS else "a control character"
        return f"{what} contains {kind} (U+{ord(char):04X})"
    if "\\" in name:
        return f"{what} contains a backslash"
    if name.startswith("/"):
        return f"absolute {what}"
    if len(name) >= 2 and name[1] == ":" and name[0] in _DRIVE_CHARS:
        return f"{what} starts with a drive letter"
    parts = name.rstrip("/").split("/")
    if any(p == ".." for p in parts):
        return f"{what} contains a '..' segment"
    if any(p in ("", ".") for p in parts):
        return f"{what} contains an empty or '.' segment"
    if any(p.startswith(".fastinst") for p in parts):
        # Staging areas, journals and the lock: a journal planted in site-packages
        # would tell the next install's recovery what to rename.
        return f"{what} uses fastinst's reserved '.fastinst' prefix"
    return _length_problem(name, parts, what)


def _length_problem(name: str, parts: list[str], what: str = "member name") -> str | None:
    if len(parts) > MAX_DEPTH:
        return f"{what} has {len(parts)} path components (the limit is {MAX_DEPTH})"
    size = len(name.encode("utf-8", "surrogateescape"))
    if size > MAX_NAME_BYTES:
        return f"{what} is {size} bytes long (the limit is {MAX_NAME_BYTES})"
    longest = max(len(p.encode("utf-8", "surrogateescape")) for p in parts)
    if longest > MAX_COMPONENT_BYTES:
        return (
            f"a component of the {what} is {longest} bytes long"
            f" (the limit is {MAX_COMPONENT_BYTES})"
        )
    return None


def first_bad_name(names: list[str], what: str = "member name") -> tuple[str, str] | None:
    """The first of ``names`` that `member_problem` refuses, with its reason; or ``None``.

    Done with whole-list operations first (one string of all the names, searched
    in C), because this runs on every member and every RECORD row of every cold
    install and a wheel of 15,000 files is common; only when that finds
    something do the names go one by one, to say which and why. Time and memory
    are linear in the total length of the names.
    """
    joined = "\n" + "\n".join(names) + "\n"
    suspect = (
        joined.count("\n") != len(names) + 1
        or any(bad in joined for bad in _BAD_SUBSTRINGS)
        or (":" in joined and _regex(_DRIVE).search(joined) is not None)
        # isprintable() is the faster scan; it also refuses some harmless
        # characters (a no-break space), which the exact search then lets pass.
        or (
            not joined.replace("\n", " ").isprintable()
            and _regex(_CONTROL_BUT_NEWLINE).search(joined) is not None
        )
    )
    if not suspect:
        if joined.isascii():  # a character is a byte: lengths are counted, not encoded
            longest = max(map(len, names), default=0)
            # Only a name of 2 * MAX_DEPTH - 1 characters can be too deep, and only
            # one over MAX_COMPONENT_BYTES can hold too long a component.
            suspect = longest > MAX_NAME_BYTES or (
                longest >= 2 * MAX_DEPTH - 1
                and any(
                    n.rstrip("/").count("/") >= MAX_DEPTH
                    or (len(n) > MAX_COMPONENT_BYTES and _length_problem(n, n.split("/")))
                    for n in names
                    if len(n) >= 2 * MAX_DEPTH - 1
                )
            )
        else:
            suspect = any(
                _length_problem(n, n.rstrip("/").split("/")) for n in names if len(n) > _SHORT
            )
    if suspect:
        for name in names:
            problem = member_problem(name, what)
            if problem is not None:
                return name, problem
    return None


def file_under_file(names: list[str]) -> str | None:
    """A name of ``names`` that is a file (no trailing ``/``) and also the directory
    of another name, or ``None``.

    In the sorted list, the names that start with ``f`` come right after ``f``
    (and those that start with ``f + "/"`` are one run among them, found by
    bisection): n log n time, and no copy of any name's parents (building every
    parent of every name costs memory quadratic in the depth).
    """
    ordered = sorted(names)
    # Mostly none: a file is rarely the start of the name after it.
    candidates = [a for a, b in zip(ordered, ordered[1:]) if b.startswith(a)]
    if candidates:
        from bisect import bisect_left
    for name in candidates:
        if name.endswith("/"):
            continue
        prefix = name + "/"
        i = bisect_left(ordered, prefix)
        if i < len(ordered) and ordered[i].startswith(prefix):
            return name
    return None


# Names of the interpreter in a scripts directory (uv's list, as ``uv venv`` makes
# them on every platform): a wheel's script of such a name would replace the
# environment's Python. Compared lower-cased, so that a wheel is refused alike on
# case-insensitive filesystems.
_INTERPRETER_NAMES = frozenset(
    ("python", "pythonw", "python3", "graalpy", "pypy", "pypy2", "pypy3")
)


def _versioned_interpreter(name: str) -> bool:
    """Whether ``name`` is ``pythonw?3\\.[0-9]{1,3}t|python3\\.[0-9]{1,3}`` (matched
    whole, without ``re``: a warm install with scripts checks each name)."""
    for head in ("python3.", "pythonw3."):
        if name.startswith(head):
            digits = name[len(head) :]
            free_threaded = digits.endswith("t")
            if free_threaded:
                digits = digits[:-1]
            if (free_threaded or head == "python3.") and 1 <= len(digits) <= 3:
                return digits.isascii() and digits.isdigit()
    return False


_REGEXES: dict[str, re.Pattern[str]] = {}


def _regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled on first use: ``re`` (and ``enum``, which it imports) would
    cost a warm install, which needs none of these, more than its own work."""
    compiled = _REGEXES.get(pattern)
    if compiled is None:
        import re

        compiled = _REGEXES[pattern] = re.compile(pattern)
    return compiled


def interpreter_name(name: str) -> bool:
    """Whether a file called ``name`` in a scripts directory would pass for the
    interpreter: ``python``, ``python3``, ``python3.12``, ``python3.13t``, ``pypy3``...
    with any case and an ``.exe`` or ``.py`` suffix (which Windows launchers drop).

    >>> interpreter_name("Python3.12.exe"), interpreter_name("python-config")
    (True, False)
    """
    lowered = name.lower()
    for suffix in (".exe", ".py"):
        if lowered.endswith(suffix):
            lowered = lowered[: -len(suffix)]
    if lowered in _INTERPRETER_NAMES:
        return True
    return _versioned_interpreter(lowered) and int(lowered.rstrip("t").rpartition(".")[2]) < 256


def check_member_name(wheel: str, name: str) -> None:
    """Raise `UnsafePath` when ``name`` may not be extracted."""
    problem = member_problem(name)
    if problem is not None:
        raise UnsafePath(wheel, problem, member=name)


def printable(text: str) -> str:
    """``text`` with control characters (terminal escapes, line breaks) shown as
    ``\\x1b``-style escapes, for printing names that came from a wheel or RECORD.

    >>> printable("a\\x1b[31mb")
    'a\\\\x1b[31mb'
    """
    if text.isprintable():  # (no control character, the common case without re)
        return text
    if _regex(_CONTROL).search(text) is None:
        return text
    return _regex(_CONTROL).sub(lambda m: repr(m.group())[1:-1], text)


def is_executable_mode(external_attr: int) -> bool:
    """Whether a member is a regular file with an execute bit, by pip's rule."""
    return EXEC_MIN <= (external_attr >> 16) & EXEC_MASK <= EXEC_MAX


# The same test inline, for loops over every member: a regular file's type bits
# with at least one execute bit, ``EXEC_MIN <= mode & EXEC_MASK <= EXEC_MAX``.
EXEC_MASK = 0o170000 | 0o111  # the file type bits (stat.S_IFMT) and the execute bits
EXEC_MIN = stat.S_IFREG | 0o001
EXEC_MAX = stat.S_IFREG | 0o111


def is_inside(path: str, root: str) -> bool:
    """Whether the absolute, normalised ``path`` lies inside ``root``.

    Uses `os.path.normpath` rather than `os.path.realpath`: the question is where
    a *name* points, and following symlinks already in the environment would
    make the answer depend on the disk.
    """
    path = os.path.normpath(path)
    root = os.path.normpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
