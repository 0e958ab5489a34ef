"""Turn what the user named (wheel paths, ``-r`` files, ``name==version`` pins) into wheel files.

There is no resolver and no index: a requirement is an exact pin (``==`` or
``===``) looked up among the wheel files of the ``--find-links`` directories,
and dependencies are not followed. Anything looser is an error that says which
requirement and what was found.

Requirements files take a subset of pip's format, one item a line:

* a path to a ``.whl`` file, or ``name @ file:///path/to/file.whl``;
* ``name==version`` (extras are refused, markers are evaluated for the target);
* ``-r other.txt`` / ``--requirement``, ``-f DIR`` / ``--find-links DIR``;
* ``--hash=sha256:<hex>`` after a requirement (as ``pip-compile`` writes them):
  the wheel file must match one of them. As in pip, one hash anywhere (or a
  ``--require-hashes`` line, or the option) makes a hash required of every
  requirement;
* ``#`` comments, blank lines and ``\\`` continuations.

Relative paths in a file are taken from the file's directory when something
exists there, else from the current directory (as pip does for ``-f``).
"""

from __future__ import annotations

import os

from ._errors import FastinstError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from packaging.requirements import Requirement

    from ._tags import TargetInterpreter


class RequirementError(FastinstError, ValueError):
    """A requirement cannot be turned into a wheel file.

    ``requirement`` is the text at fault and ``where`` names its origin
    (``requirements.txt:3``; empty on the command line).
    """

    def __init__(self, requirement: str, where: str, reason: str) -> None:
        self.requirement = requirement
        self.where = where
        self.reason = reason
        super().__init__(
            f"{where}: {requirement}: {reason}" if where else f"{requirement}: {reason}"
        )


# Plain classes, not dataclasses or named tuples: creating those costs about a
# millisecond each at import, and this module is on every install's path.


class Item:
    """One thing to install: a wheel path or a pin, and where it was written
    (``base``: the directory that relative paths are taken from first);
    ``hashes`` are its ``--hash`` values (``sha256:<hex>``), if any."""

    __slots__ = ("base", "hashes", "text", "where")

    def __init__(self, text: str, where: str, base: str, hashes: tuple[str, ...] = ()) -> None:
        self.text, self.where, self.base, self.hashes = text, where, base, hashes


class Collected:
    """Everything the command line and its ``-r`` files named; ``require_hashes``
    when a file said ``--require-hashes`` (or the caller asked for it)."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.find_links: list[str] = []
        self.require_hashes = False


class Selected:
    """A wheel chosen for installing; ``direct`` when it was named by its path
    (PEP 610: such an install records a ``direct_url.json``)."""

    __slots__ = ("direct", "path")

    def __init__(self, path: str, direct: bool) -> None:
        self.path, self.direct = path, direct

    def __repr__(self) -> str:
        return f"Selected({self.path!r}, direct={self.direct})"


def looks_like_wheel_path(text: str) -> bool:
    """A wheel's path or ``file:`` URL, not ``name @ URL`` nor ``name==version``."""
    if " @ " in text or "@file:" in text:
        return False
    return text.endswith(".whl") or text.startswith("file:")


# Archives that are not wheels, as pip and uv name source distributions.
_SDIST_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".tar")


def not_a_wheel(text: str, base: str) -> str | None:
    """Why ``text`` (relative to ``base``) is a file or directory that is not a
    wheel, or None: so that ``setup.py`` or an sdist is not called a bad pin.

    >>> not_a_wheel("demo-1.0.tar.gz", "/")
    'not a wheel: a source distribution needs a build backend to become one, ...'
    >>> not_a_wheel("demo==1.0", "/") is None
    True
    """
    if text.endswith(".whl") or text.startswith("file:") or "==" in text:
        return None
    if text.endswith(_SDIST_SUFFIXES):
        return (
            "not a wheel: a source distribution needs a build backend to become one, "
            "and fastinst runs none; build the wheel first (pip wheel --no-deps, uv build)"
        )
    path = os.path.join(base, text)
    if os.path.isdir(path):
        return (
            "a directory, not a wheel: fastinst installs built wheels and runs no build "
            "backend (build one with pip wheel --no-deps or uv build); for a directory "
            "of wheels, give it with -f and name pins (name==version)"
        )
    if os.path.isfile(path):
        return "not a wheel: fastinst installs wheel files (.whl) and exact pins (name==version)"
    return None


# --- reading ---------------------------------------------------------------------------


def collect(
    args: Sequence[str],
    requirement_files: Sequence[str],
    find_links: Sequence[str],
    require_hashes: bool = False,
) -> Collected:
    """Read ``-r`` files (and the files they include) and gather every item and ``-f`` dir."""
    out = Collected()
    out.require_hashes = require_hashes
    cwd = os.getcwd()
    out.find_links.extend(os.path.abspath(d) for d in find_links)
    for text in args:
        out.items.append(Item(text, "", cwd))
    for path in requirement_files:
        _read_file(os.path.abspath(path), out, seen=set(), where="")
    return out


def _read_file(path: str, out: Collected, seen: set[str], where: str) -> None:
    if path in seen:
        return  # included twice (or a cycle): its items are already there
    seen.add(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise RequirementError(
            path, where, f"cannot read requirements file: {exc.strerror}"
        ) from None
    base = os.path.dirname(path)
    for lineno, line in _logical_lines(text):
        here = f"{path}:{lineno}"
        if not line.startswith("-"):
            requirement, hashes = _split_hashes(line, here)
            out.items.append(Item(requirement, here, base, hashes))
            continue
        import shlex

        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise RequirementError(line, here, f"cannot parse: {exc}") from None
        option, value = _option(words, line, here)
        if option in ("-r", "--requirement"):
            _read_file(_relative(value, base), out, seen, here)
        elif option in ("-f", "--find-links"):
            out.find_links.append(_relative(value, base))
        elif option in ("--no-index", "--no-deps"):
            pass  # what fastinst always does
        elif option == "--require-hashes":
            out.require_hashes = True
        else:
            raise RequirementError(
                line, here, f"{option} is not supported (fastinst installs local wheels only)"
            )


_HASH_ALGORITHMS = ("sha256", "sha384", "sha512")  # pip's
_FLAGS = ("--no-index", "--no-deps", "--require-hashes")  # options without a value


def _split_hashes(line: str, here: str) -> tuple[str, tuple[str, ...]]:
    """``demo==1.0 --hash=sha256:ab --hash sha256:cd`` -> ("demo==1.0", (...))."""
    requirement, sep, rest = line.partition(" --")
    if not sep:
        return line.strip(), ()
    import shlex

    words = shlex.split("--" + rest)
    hashes = []
    while words:
        word = words.pop(0)
        if word == "--hash" and words:
            value = words.pop(0)
        elif word.startswith("--hash="):
            value = word[len("--hash=") :]
        else:
            raise RequirementError(
                line, here, f"{word} is not supported after a requirement (only --hash)"
            )
        algorithm, colon, digest = value.partition(":")
        if not colon or algorithm not in _HASH_ALGORITHMS or not digest:
            raise RequirementError(
                line, here, f"--hash={value}: expected one of {', '.join(_HASH_ALGORITHMS)}:<hex>"
            )
        hashes.append(f"{algorithm}:{digest.lower()}")
    return requirement.strip(), tuple(hashes)


def _file_hash_matches(path: str, hashes: tuple[str, ...]) -> bool:
    import hashlib

    wanted: dict[str, set[str]] = {}
    for h in hashes:
        algorithm, _, digest = h.partition(":")
        wanted.setdefault(algorithm, set()).add(digest)
    hashers = {a: hashlib.new(a) for a in wanted}
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            for hasher in hashers.values():
                hasher.update(chunk)
    return any(hashers[a].hexdigest() in digests for a, digests in wanted.items())


def _check_hashes(item: Item, path: str) -> None:
    if item.hashes and not _file_hash_matches(path, item.hashes):
        from ._backend import core

        actual = core.sha256_file(path)
        raise RequirementError(
            item.text,
            item.where,
            f"the file matches none of its --hash values (its sha256 is {actual})",
        )


def _option(words: list[str], line: str, here: str) -> tuple[str, str]:
    """``-r x``, ``-rx``, ``--requirement=x``, ``--requirement x`` -> (option, value)."""
    first = words[0]
    if first.startswith("--"):
        name, eq, value = first.partition("=")
        if eq:
            rest = words[1:]
        elif name in _FLAGS:
            return name, ""
        else:
            value, rest = (words[1], words[2:]) if len(words) > 1 else ("", [])
    else:
        name, value = first[:2], first[2:]
        rest = words[1:]
        if not value and rest:
            value, rest = rest[0], rest[1:]
    if rest or (not value and name not in _FLAGS):
        raise RequirementError(line, here, f"{name} takes exactly one value")
    return name, value


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(first line number, line) with comments removed and continuations joined."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        line = raw
        if line.lstrip().startswith("#"):
            line = ""
        elif " #" in line or "\t#" in line:
            line = line[: min(i for i in (line.find(" #"), line.find("\t#")) if i >= 0)]
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        joined = ("".join(pending) + line).strip()
        pending = []
        if joined:
            yield start, joined
    if pending and "".join(pending).strip():
        yield start, "".join(pending).strip()


def _relative(value: str, base: str) -> str:
    value = os.path.expanduser(value)
    if os.path.isabs(value):
        return value
    beside = os.path.join(base, value)
    return os.path.abspath(beside if os.path.exists(beside) else value)


# --- choosing wheels -------------------------------------------------------------------


def select(collected: Collected, target: TargetInterpreter) -> list[Selected]:
    """The wheel file for every item, in order; one per distribution.

    A path must exist and suit ``target``; a pin must be matched exactly by a
    wheel in a ``--find-links`` directory, the best-ranked for ``target`` when
    there are several. A name asked for twice must agree on the file.
    """
    index: dict[str, list[tuple[str, str]]] | None = None
    chosen: dict[str, tuple[Selected, Item]] = {}
    order: list[str] = []
    # pip's rule: a hash on any requirement turns hashes on for every one (a
    # requirement without is then what an attacker would swap).
    require_hashes = collected.require_hashes or any(item.hashes for item in collected.items)
    unhashed: list[tuple[Item, str]] = []
    for item in collected.items:
        if looks_like_wheel_path(item.text):
            path = _wheel_path(item, item.text)
            name = _name_of(path)
            _check_hashes(item, path)
            selected = _checked(Selected(path, direct=True), target)
        else:
            # Imported here: packaging.requirements costs ~10 ms, and most
            # command lines name wheel files only.
            from packaging.requirements import InvalidRequirement, Requirement

            why = not_a_wheel(item.text, item.base)
            if why is not None:
                raise RequirementError(item.text, item.where, why)
            try:
                req = Requirement(item.text)
            except InvalidRequirement as exc:
                raise RequirementError(item.text, item.where, f"not a requirement: {exc}") from None
            if req.marker is not None and not req.marker.evaluate(target.marker_environment()):
                continue  # not for this interpreter, as pip skips it
            if req.url is not None:
                path = _wheel_path(item, req.url)
                name = _name_of(path)
                if name != _canonical(req.name):
                    raise RequirementError(item.text, item.where, f"{path} is a wheel of {name}")
                _check_hashes(item, path)
                selected = _checked(Selected(path, direct=True), target)
            else:
                if index is None:
                    index = _scan(collected.find_links)
                name = _canonical(req.name)
                selected = Selected(_find(req, item, index, collected.find_links, target), False)
        if require_hashes and not item.hashes:
            unhashed.append((item, selected.path))
        previous = chosen.get(name)
        if previous is None:
            chosen[name] = (selected, item)
            order.append(name)
        elif previous[0].path != selected.path:
            raise RequirementError(
                item.text,
                item.where,
                f"{previous[1].text}"
                + (f" ({previous[1].where})" if previous[1].where else "")
                + f" asks for another file of {name}; only one of each can be installed",
            )
    if unhashed:
        _missing_hashes(unhashed)
    return [chosen[n][0] for n in order]


def _missing_hashes(unhashed: list[tuple[Item, str]]) -> None:
    """Refuse, saying which requirements lack a hash and what theirs would be (as pip does)."""
    from ._backend import core

    first = unhashed[0][0]
    lines = "; ".join(
        f"{item.text} ({item.where or 'command line'}) --hash=sha256:{core.sha256_file(path)}"
        for item, path in unhashed
    )
    raise RequirementError(
        first.text,
        first.where,
        "has no --hash, and every requirement needs one once any has one (pip's"
        f" --require-hashes mode); the wheels' hashes are: {lines}",
    )


def _canonical(name: str) -> str:
    from ._names import canonical_name

    return canonical_name(name)


def _name_of(path: str) -> str:
    """The normalised distribution name of a wheel file (its name is checked first)."""
    from ._names import canonical_name
    from ._tags import wheel_tags

    wheel_tags(path)
    return canonical_name(os.path.basename(path).split("-", 1)[0])


def _wheel_path(item: Item, text: str) -> str:
    if text.startswith("file:"):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise RequirementError(item.text, item.where, "only local file: URLs are supported")
        path = unquote(parts.path)
    elif "://" in text:
        raise RequirementError(item.text, item.where, "only local wheel files are supported")
    else:
        path = _relative(text, item.base)
    if not path.endswith(".whl"):
        raise RequirementError(item.text, item.where, "not a wheel file (.whl)")
    if not os.path.isfile(path):
        raise RequirementError(item.text, item.where, f"no such file: {path}")
    return os.path.abspath(path)


def _checked(selected: Selected, target: TargetInterpreter) -> Selected:
    if not target.accepts(selected.path):
        raise target.incompatible(selected.path)
    return selected


def _scan(dirs: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """canonical name -> [(version, path)] of every well-named wheel in ``dirs``."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    index: dict[str, list[tuple[str, str]]] = {}
    for d in dirs:
        try:
            names = sorted(os.listdir(d))
        except OSError as exc:
            raise RequirementError(d, "--find-links", f"cannot list: {exc.strerror}") from None
        for filename in names:
            if not filename.endswith(".whl"):
                continue
            try:
                name, version, _build, _tags = parse_wheel_filename(filename)
            except InvalidWheelFilename:
                continue
            index.setdefault(str(name), []).append((str(version), os.path.join(d, filename)))
    return index


def _find(
    req: Requirement,
    item: Item,
    index: dict[str, list[tuple[str, str]]],
    dirs: Sequence[str],
    target: TargetInterpreter,
) -> str:
    from packaging.version import Version

    from ._tags import best_wheel

    specs = list(req.specifier)
    if req.extras:
        raise RequirementError(
            item.text, item.where, "extras need a resolver; list the extra's requirements instead"
        )
    if len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
        raise RequirementError(
            item.text,
            item.where,
            "only exact pins (name==version) can be installed without a resolver",
        )
    if not dirs:
        raise RequirementError(
            item.text, item.where, "a pin needs --find-links DIR (fastinst has no package index)"
        )
    spec = specs[0]
    name = _canonical(req.name)
    available = index.get(name, [])
    if spec.operator == "===":
        matching = [p for v, p in available if v == spec.version]
    else:
        matching = [p for v, p in available if spec.contains(Version(v), prereleases=True)]
    where_dirs = ", ".join(dirs)
    if not matching:
        if available:
            versions = ", ".join(sorted({v for v, _p in available}, key=Version))
            found = f"found {name} {versions}"
        else:
            found = f"no wheel of {name}"
        raise RequirementError(
            item.text, item.where, f"no matching wheel in {where_dirs} ({found})"
        )
    if item.hashes:
        hashed = [p for p in matching if _file_hash_matches(p, item.hashes)]
        if not hashed:
            files = ", ".join(os.path.basename(p) for p in matching)
            raise RequirementError(
                item.text,
                item.where,
                f"no wheel in {where_dirs} matches its --hash (found {files})",
            )
        matching = hashed
    best = best_wheel(matching, target)
    if best is None:
        if len(matching) == 1:
            raise target.incompatible(matching[0])
        from ._errors import IncompatibleWheel

        files = ", ".join(os.path.basename(p) for p in matching)
        raise IncompatibleWheel(
            f"{item.where}: {item.text}" if item.where else item.text,
            f"no wheel in {where_dirs} suits {target.description}: found {files}; "
            f"the interpreter accepts {target.best_tags_summary()}",
        )
    return best
