"""What the command line prints: summaries, JSON documents and error messages.

Kept apart from `_cli` (options and dispatch) so that the words and shapes a
user or a tool reads are in one place, and testable without running a command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._names import canonical_name

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._install import InstallResult

# The version of every ``--json`` document's shape (docs/cli.md, "JSON output").
# Raised when a key changes meaning or goes; new keys do not raise it.
JSON_VERSION = 1

# Up to this many distributions are named in the summary line itself; more get a
# short first line and one ``+ name==version`` line each, as uv prints them.
INLINE_NAMES = 3

# Attributes of FastinstError subclasses that a tool may want, copied into a
# JSON error when the exception has them.
_ERROR_FIELDS = ("wheel", "member", "reason", "path", "marker", "name", "where", "dist_info")


def document(command: str, **fields: object) -> dict[str, object]:
    """A ``--json`` document: every command's starts with the same two keys.

    >>> document("list", distributions=[])
    {'json_version': 1, 'command': 'list', 'distributions': []}
    """
    return {"json_version": JSON_VERSION, "command": command, **fields}


def dumps(value: object) -> str:
    import json

    return json.dumps(value, indent=2)


def took(seconds: float) -> str:
    """``41ms`` below a second, ``2.35s`` above.

    >>> took(0.0412), took(2.349)
    ('41ms', '2.35s')
    """
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


def plural(n: int, one: str, many: str | None = None) -> str:
    return one if n == 1 else (many or one + "s")


def install_summary(
    results: Sequence[InstallResult],
    elapsed: float,
    *,
    dry_run: bool = False,
    environment: str | None = None,
) -> list[str]:
    """What an install prints on stdout: one line, then with more than `INLINE_NAMES`
    distributions one ``- name==old`` / ``+ name==new`` line each (uv's way).

    ``environment`` is said when it is not the obvious one (an activated venv).

    >>> from fastinst._install import InstallResult
    >>> r = InstallResult("Demo_Pkg", "2", "/x/demo_pkg-2.dist-info", ("a", "b"), "d.whl",
    ...                   replaced="1", from_cache=True, removed=("old",))
    >>> install_summary([r], 0.0123)
    ['installed demo-pkg 2 (replaced 1) in 12ms: 2 files written, 1 removed, 1 of 1 wheel from ...']
    >>> install_summary([r], 0.0123, dry_run=True)[0]
    'would install demo-pkg 2 (would replace 1), checked in 12ms: 2 files to write, 1 to ...'
    >>> many = [r._replace(name=n, replaced=None) for n in ("a", "c", "b", "d")]
    >>> print("\\n".join(install_summary(many, 1.5, environment="/venv")))
    installed 4 distributions into /venv in 1.50s: 8 files written, 4 removed, 4 of 4 wheels ...
     + a==2
     + b==2
     + c==2
     + d==2
    """
    files = sum(len(r.files) for r in results)
    removed = sum(len(r.removed) for r in results)
    into = f" into {environment}" if environment else ""
    replace = "would replace" if dry_run else "replaced"
    if len(results) <= INLINE_NAMES:
        what = ", ".join(
            f"{canonical_name(r.name)} {r.version}"
            + (f" ({replace} {r.replaced})" if r.replaced else "")
            for r in results
        )
        lines = []
    else:
        what = f"{len(results)} distributions"
        changes = []
        for r in results:
            name = canonical_name(r.name)
            if r.replaced:
                changes.append((name, 0, f" - {name}=={r.replaced}"))
            changes.append((name, 1, f" + {name}=={r.version}"))
        lines = [line for _n, _o, line in sorted(changes)]
    if dry_run:
        first = (
            f"would install {what}{into}, checked in {took(elapsed)}: {files} files to write, "
            f"{removed} to remove; nothing was changed"
        )
    else:
        cached = sum(1 for r in results if r.from_cache)
        first = (
            f"installed {what}{into} in {took(elapsed)}: {files} files written, "
            f"{removed} removed, {cached} of {len(results)} {plural(len(results), 'wheel')} "
            "from the cache"
        )
    return [first, *lines]


def result_json(r: InstallResult) -> dict[str, object]:
    """One installed distribution in ``install --json`` (``files`` a list, as in
    ``uninstall --json``)."""
    return {
        "name": canonical_name(r.name),
        "version": r.version,
        "wheel": r.wheel,
        "dist_info": r.dist_info,
        "replaced": r.replaced,
        "from_cache": r.from_cache,
        "already_installed": r.already_installed,
        "files": list(r.files),
        "removed": list(r.removed),
    }


def error_json(command: str, exc: BaseException, message: str, code: int) -> dict[str, object]:
    """A failed command under ``--json``: the same document with an ``error`` key.

    >>> from fastinst._errors import InvalidWheel
    >>> e = InvalidWheel("/w/x.whl", "CRC-32 mismatch", "x.py")
    >>> error_json("install", e, str(e), 1)["error"]["member"]
    'x.py'
    """
    error: dict[str, object] = {"type": type(exc).__name__, "message": message, "exit_code": code}
    for field in _ERROR_FIELDS:
        value = getattr(exc, field, None)
        if isinstance(value, (str, int, float, bool)) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            error[field] = value
    return document(command, error=error)


def externally_managed(
    python: str, marker: str, text: str, verb: str = "install into"
) -> list[str]:
    """PEP 668's refusal, as pip words it: what and why first, the distributor's text
    with its own line breaks, then the way out.

    >>> print("\\n".join(externally_managed("/usr/bin/python3", "/usr/lib/EXTERNALLY-MANAGED",
    ...                                     "Use apt.\\n\\nOr a venv.")))
    fastinst: error: the environment of /usr/bin/python3 is externally managed (PEP 668)
      Its distributor says, in /usr/lib/EXTERNALLY-MANAGED:
    <BLANKLINE>
        Use apt.
    <BLANKLINE>
        Or a venv.
    <BLANKLINE>
      To install into it anyway, at the risk of breaking the system's Python,
      pass --break-system-packages.
    """
    body = [("    " + line.rstrip()) if line.strip() else "" for line in text.strip().splitlines()]
    return [
        f"fastinst: error: the environment of {python} is externally managed (PEP 668)",
        f"  Its distributor says, in {marker}:",
        "",
        *body,
        "",
        f"  To {verb} it anyway, at the risk of breaking the system's Python,",
        "  pass --break-system-packages.",
    ]
