"""The install scheme: where each kind of file goes, and for which interpreter."""

from __future__ import annotations

import os
import sys

from . import _backend, _probe
from ._errors import ExternallyManaged, SchemeError
from ._probe_cache import (
    DEFAULT_CACHE,
    cache_key,
    check_answer,
    find_interpreter,
    interpreter_binary,
    kept_answer,
    probe_dir,
    run_probe,
)

# The probe's answer: a JSON object (see _probe.probe).
TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ._probe_cache import CacheDir

    Facts = dict[str, Any]

SCHEME_KEYS = ("purelib", "platlib", "headers", "scripts", "data")


class Scheme:
    """Where an install puts each kind of file.

    The five paths are the wheel spec's scheme keys. ``headers`` is one
    distribution's header directory, or, when ``headers_per_distribution`` is
    true (a scheme resolved without ``dist_name``), the directory that holds one
    such directory per distribution: `install` puts each wheel's headers in
    ``headers/<its name>``, as pip and uv do (`for_distribution`). ``python`` is the interpreter
    that launchers and ``#!python`` scripts are pointed at. ``kind`` says how the
    scheme was resolved: ``"venv"``; for a system interpreter the scheme that
    decided (``"posix_prefix"``, Debian's ``"posix_local"``,
    ``"osx_framework_library"``, ``"distutils:unix_prefix"`` below 3.10...);
    ``"user"``, ``"prefix"``, ``"home"``, ``"target"``; ``"custom"`` for one
    built by hand. ``site_dirs`` lists further directories the interpreter
    reads distributions from (for listing and for upgrades across them); the
    scheme's own purelib and platlib are always included. ``site_roots`` says,
    for each of those, the directory its distributions' files may lie in.

    >>> s = Scheme.from_mapping({"purelib": "/t", "platlib": "/t", "headers": "/t/inc",
    ...                          "scripts": "/t/bin", "data": "/t"})
    >>> s.scripts
    '/t/bin'
    """

    # The constructor's order; __slots__ is the same set (tools may sort it).
    _FIELDS = ("purelib", "platlib", "headers", "scripts", "data", "python", "kind",
               "site_dirs", "site_roots", "headers_per_distribution")  # fmt: skip
    __slots__ = _FIELDS

    purelib: str
    platlib: str
    headers: str
    scripts: str
    data: str
    python: str
    kind: str
    site_dirs: tuple[str, ...]
    # For each directory of site_dirs that is not purelib or platlib: the root
    # that the RECORD paths of its distributions may reach (its prefix, or the
    # user base), so that uninstall can check them.
    site_roots: tuple[tuple[str, str], ...]
    headers_per_distribution: bool

    # Written out rather than a dataclass: `dataclasses` costs about 7 ms to
    # import and each class about 0.5 ms to build, on every CLI run.
    def __init__(
        self,
        purelib: str,
        platlib: str,
        headers: str,
        scripts: str,
        data: str,
        python: str = sys.executable,
        kind: str = "custom",
        site_dirs: tuple[str, ...] = (),
        site_roots: tuple[tuple[str, str], ...] = (),
        headers_per_distribution: bool = False,
    ) -> None:
        values = (purelib, platlib, headers, scripts, data, python, kind, tuple(site_dirs),
                  tuple(site_roots), bool(headers_per_distribution))  # fmt: skip
        for name, value in zip(self._FIELDS, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Scheme is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Scheme is immutable; cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        """Schemes are equal when their five paths are, and headers are per distribution
        in both or neither (how they were found does not count)."""
        if not isinstance(other, Scheme):
            return NotImplemented
        return (self.as_dict(), self.headers_per_distribution) == (
            other.as_dict(),
            other.headers_per_distribution,
        )

    def __hash__(self) -> int:
        return hash((*self.as_dict().values(), self.headers_per_distribution))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS)
        return f"Scheme({fields})"

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Scheme, tuple(getattr(self, name) for name in self._FIELDS))

    @classmethod
    def from_mapping(cls, paths: Mapping[str, str], **extra: object) -> Scheme:
        """Build a scheme from a mapping with the five scheme keys.

        Other keys are ignored, so that a ``sysconfig.get_paths()`` dict (with
        ``include``, ``prefix``, ``stdlib``...) or an installer ``scheme_dict``
        is taken as it is; without ``headers``, ``include`` is used (sysconfig
        has no ``headers`` key). ``extra`` are further fields (``python=``, ``kind=``);
        without ``python`` the scheme points launchers at the running
        interpreter, which `fastinst.install` does not allow for a mapping it is
        given (it asks for ``interpreter=``).
        """
        if "headers" not in paths and "include" in paths:
            paths = {**paths, "headers": paths["include"]}  # sysconfig.get_paths() has no headers
        missing = [k for k in SCHEME_KEYS if k not in paths]
        if missing:
            raise SchemeError(f"scheme mapping lacks {', '.join(missing)}")
        values = {k: os.fspath(paths[k]) for k in SCHEME_KEYS}
        return cls(**values, **extra)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, str]:
        """The five scheme paths as a plain dict (what ``fastinst scheme --json`` prints)."""
        return {k: getattr(self, k) for k in SCHEME_KEYS}

    def for_distribution(self, name: str) -> Scheme:
        """This scheme for the distribution ``name`` (its METADATA Name): with
        ``headers_per_distribution``, ``headers`` becomes ``headers/name``.

        >>> s = Scheme("/p", "/p", "/inc", "/bin", "/", headers_per_distribution=True)
        >>> s.for_distribution("greenlet").headers
        '/inc/greenlet'
        """
        if not self.headers_per_distribution:
            return self
        values = [getattr(self, f) for f in self._FIELDS]
        values[self._FIELDS.index("headers")] = os.path.join(self.headers, name)
        values[self._FIELDS.index("headers_per_distribution")] = False
        return Scheme(*values)

    @property
    def headers_root(self) -> str:
        """The directory that holds every distribution's header directory."""
        if self.headers_per_distribution:
            return self.headers
        return os.path.dirname(os.path.normpath(self.headers))

    def library_dirs(self) -> tuple[str, ...]:
        """purelib, platlib and ``site_dirs``, each once, in that order."""
        seen: dict[str, None] = {}
        for d in (self.purelib, self.platlib, *self.site_dirs):
            seen.setdefault(os.path.normpath(d), None)
        return tuple(seen)


# --- get_scheme --------------------------------------------------------------------

# Environment variables that distributors' sysconfig reads when it is imported
# (Debian's DEB_PYTHON_INSTALL_LAYOUT, Fedora's RPM_BUILD_ROOT...): a change in
# them is a different answer, so they are part of the probe cache key.
_KEY_ENV = (
    "DEB_PYTHON_INSTALL_LAYOUT",
    "RPM_BUILD_ROOT",
    "SETUPTOOLS_USE_DISTUTILS",
    "_PYTHON_SYSCONFIGDATA_NAME",
    "_PYTHON_HOST_PLATFORM",
)

_USER_NOTICE = "Defaulting to user installation because normal site-packages is not writeable"


def get_scheme(
    python: str | os.PathLike[str] | None = None,
    *,
    user: bool = False,
    prefix: str | os.PathLike[str] | None = None,
    home: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    target: str | os.PathLike[str] | None = None,
    dist_name: str | None = None,
    cache_dir: CacheDir = DEFAULT_CACHE,
) -> Scheme:
    """The scheme an install into ``python`` would use, resolved as pip resolves it.

    ``python`` is an interpreter's path, a name on ``PATH`` or a virtual
    environment's directory (``None``: the running interpreter). Another
    interpreter is asked once through a small probe script, and its answer is
    kept in ``cache_dir``'s ``probe-v2`` directory (``None``: not kept, asked
    every time). The options mirror pip's ``--user``, ``--prefix``, ``--home``,
    ``--root`` and ``--target``. ``dist_name`` only shapes ``headers``: with
    ``None``, ``headers`` is the directory of every distribution's headers
    (``headers_per_distribution``), and an install puts each wheel's in a
    directory of its normalized name there, as pip and uv do; with a name, it is
    that distribution's directory (pip's ``get_scheme(dist_name)``).
    Directories that do not exist yet are fine: nothing is created here.

    >>> s = get_scheme(target="/tmp/t")
    >>> (s.purelib, s.scripts, s.kind)
    ('/tmp/t', '/tmp/t/bin', 'target')
    """
    _check_options(user, prefix, home, root, target)
    facts = interpreter_facts(python, cache_dir=cache_dir)
    return _scheme_from_facts(
        facts,
        user=user,
        prefix=_abs(prefix),
        home=_abs(home),
        root=_abs(root),
        target=_abs(target),
        dist_name=dist_name,
    )


def choose_install_scheme(
    python: str | os.PathLike[str] | None = None,
    *,
    user: bool | None = None,
    prefix: str | os.PathLike[str] | None = None,
    home: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    target: str | os.PathLike[str] | None = None,
    break_system_packages: bool = False,
    dist_name: str | None = None,
    cache_dir: CacheDir = DEFAULT_CACHE,
) -> tuple[Scheme, str | None]:
    """Where an install goes when the caller did not say, by pip's rules.

    Returns the scheme and a one-line notice to log (or ``None``). ``user=None``
    means "decide": outside a venv, with the user site enabled, an interpreter
    whose purelib or platlib is not writable gets the user scheme. ``user=True``
    where the user site is invisible (a venv without system site-packages) or
    disabled raises `SchemeError`. An install into an interpreter marked
    ``EXTERNALLY-MANAGED`` (PEP 668) raises `ExternallyManaged` unless
    ``break_system_packages``. ``python`` and ``cache_dir`` are as for `get_scheme`.

    >>> scheme, notice = choose_install_scheme(target="/tmp/t")
    >>> (scheme.kind, notice)
    ('target', None)
    """
    _check_options(bool(user), prefix, home, root, target)
    facts = interpreter_facts(python, cache_dir=cache_dir)
    prefix, home, root, target = _abs(prefix), _abs(home), _abs(root), _abs(target)
    if not break_system_packages:
        _refuse_externally_managed(facts, prefix=prefix, home=home, root=root, target=target)

    notice = None
    if user:
        if facts["venv_no_global"]:
            raise SchemeError(
                "cannot install into the user site: user site-packages are not visible"
                " in this virtual environment; install into the venv itself (no --user),"
                " or recreate it with --system-site-packages"
            )
        if not _user_site_enabled(facts):
            raise SchemeError(
                "cannot install into the user site: it is disabled for this interpreter"
                " (PYTHONNOUSERSITE is set, or the effective user or group differs);"
                " use --target or --prefix, or a virtual environment"
            )
    elif user is None:
        user = False
        # A venv is an explicit target, so no fallback there (pip would fall
        # back for an unwritable venv with system site-packages).
        if (
            prefix is None
            and target is None
            and home is None
            and _user_site_enabled(facts)
            and not facts["in_venv"]
        ):
            system = _scheme_from_facts(facts, root=root, dist_name="")
            if not all(_writable_dir(d) for d in {system.purelib, system.platlib}):
                user, notice = True, _USER_NOTICE
    scheme = _scheme_from_facts(
        facts,
        user=bool(user),
        prefix=prefix,
        home=home,
        root=root,
        target=target,
        dist_name=dist_name,
    )
    return scheme, notice


def check_externally_managed(
    python: str | os.PathLike[str] | None = None,
    *,
    prefix: str | os.PathLike[str] | None = None,
    home: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    target: str | os.PathLike[str] | None = None,
) -> None:
    """Raise `ExternallyManaged` when changing ``python``'s environment with these
    options is what PEP 668 forbids (uninstall asks this; installs ask it through
    `choose_install_scheme`)."""
    where = {
        k: _abs(v) for k, v in dict(prefix=prefix, home=home, root=root, target=target).items()
    }
    _refuse_externally_managed(interpreter_facts(python), **where)


def _refuse_externally_managed(facts: Facts, **where: str | None) -> None:
    # pip's rule (install.py): --root, --target and --prefix skip the check,
    # since the marker cannot be located for them; fastinst's --home is one of
    # those too. --user does not skip it.
    if any(v is not None for v in where.values()) or facts["in_venv"]:
        return
    marker = facts["externally_managed"]
    if os.path.isfile(marker):
        raise ExternallyManaged(_marker_message(marker, facts["prefix"]), marker)


def _check_options(
    user: bool,
    prefix: object,
    home: object,
    root: object,
    target: object,
) -> None:
    if target is not None:
        others = [
            n for n, v in (("user", user), ("prefix", prefix), ("home", home), ("root", root)) if v
        ]
        if others:
            raise SchemeError(f"target cannot be combined with {', '.join(others)}")
    if user and prefix is not None:
        raise SchemeError("user and prefix imply different install locations")
    if user and home is not None:
        raise SchemeError("user and home imply different install locations")
    if home is not None and prefix is not None:
        raise SchemeError("home and prefix imply different install locations")


def _abs(path: str | os.PathLike[str] | None) -> str | None:
    return None if path is None else os.path.abspath(os.fspath(path))


def _scheme_from_facts(
    facts: Facts,
    *,
    user: bool = False,
    prefix: str | None = None,
    home: str | None = None,
    root: str | None = None,
    target: str | None = None,
    dist_name: str | None = None,
) -> Scheme:
    python = facts["executable"]
    # dist_name None: headers for every distribution (install adds each one's name);
    # "": pip's unnamed distribution ("UNKNOWN" outside a venv); else that one's.
    per_distribution = dist_name is None
    if target is not None:
        # Everything in one directory, scripts in DIR/bin. pip gets there by
        # installing with --home into a temporary directory and moving what it
        # wrote into DIR, so headers go where the home scheme puts them
        # (DIR/include/python/<name>, DIR/include/site/pythonX.Y/<name> in a
        # venv); uv writes into DIR directly.
        home_scheme = _scheme_from_facts(facts, home=target, dist_name=dist_name)
        return Scheme(
            purelib=target,
            platlib=target,
            headers=home_scheme.headers,
            scripts=os.path.join(target, "bin"),
            data=target,
            python=python,
            kind="target",
            headers_per_distribution=per_distribution,
        )
    if user:
        mode, base = "user", _user_base(facts)
    elif home is not None:
        mode, base = "home", home
    elif prefix is not None:
        mode, base = "prefix", prefix
    else:
        mode, base = "default", ""
    in_venv = facts["in_venv"]
    # pip: headers get "UNKNOWN" for an unnamed distribution, except in a venv.
    dist = dist_name or ("" if in_venv or per_distribution else "UNKNOWN")
    user_base = _user_base(facts)
    paths = {
        key: _expand(value, base=base, user_base=user_base, dist=dist, root=root)
        for key, value in facts["schemes"][mode]["paths"].items()
    }

    site_dirs: list[str] = []
    site_roots: list[tuple[str, str]] = []
    if mode == "user":
        kind = "user"
    elif mode in ("prefix", "home"):
        kind = mode
    else:
        kind = "venv" if in_venv else str(facts["schemes"]["default"]["name"])
        for directory, dir_prefix in facts["site_packages"]:
            d = _expand(directory, root=root)
            site_dirs.append(d)
            site_roots.append((d, _expand(dir_prefix, root=root)))
        if _user_site_enabled(facts) and facts["user_site_template"]:
            d = _expand(facts["user_site_template"], user_base=user_base, root=root)
            site_dirs.append(d)
            site_roots.append((d, _expand(user_base, root=root)))
        # RHEL-style interpreters read both lib and lib64: list both.
        platlibdir = facts["platlibdir"]
        if platlibdir != "lib":
            lib, other = f"{os.sep}lib{os.sep}", f"{os.sep}{platlibdir}{os.sep}"
            for d in (paths["purelib"], paths["platlib"]):
                twin = d.replace(lib, other) if lib in d else d.replace(other, lib)
                if twin != d:
                    site_dirs.append(twin)
                    site_roots.append((twin, paths["data"]))
    return Scheme(
        purelib=paths["purelib"],
        platlib=paths["platlib"],
        headers=paths["headers"],
        scripts=paths["scripts"],
        data=paths["data"],
        python=python,
        kind=kind,
        site_dirs=tuple(dict.fromkeys(site_dirs)),
        site_roots=tuple(dict.fromkeys(site_roots)),
        headers_per_distribution=per_distribution,
    )


def _expand(
    value: str,
    *,
    base: str = "",
    user_base: str = "",
    dist: str = "",
    root: str | None = None,
) -> str:
    """Substitute the probe's placeholders, normalise, and re-root."""
    if _probe.BASE in value:
        value = value.replace(_probe.BASE, base.rstrip(os.sep))
    if _probe.USERBASE in value:
        value = value.replace(_probe.USERBASE, user_base.rstrip(os.sep))
    value = os.path.normpath(value.replace(_probe.DIST, dist))
    if root is not None:
        value = os.path.normpath(change_root(root, value))
    return value


def change_root(new_root: str, pathname: str) -> str:
    """``pathname`` re-rooted under ``new_root`` (pip's and distutils' ``change_root``)."""
    if os.name == "nt":
        path = os.path.splitdrive(pathname)[1]
        return os.path.join(new_root, path.lstrip("\\/"))
    if not os.path.isabs(pathname):
        return os.path.join(new_root, pathname)
    return os.path.join(new_root, pathname[1:])


def _user_base(facts: Facts) -> str:
    """The user base directory, as ``site`` and ``sysconfig`` compute it.

    Done here rather than in the probe because it depends on the user's
    environment (``HOME``, ``PYTHONUSERBASE``), not on the interpreter.
    """
    env = os.environ.get("PYTHONUSERBASE")
    if env:
        return env
    if facts["os_name"] == "nt":
        appdata = os.environ.get("APPDATA") or "~"
        return os.path.expanduser(os.path.join(appdata, "Python"))
    if facts["platform"] == "darwin" and facts["framework"]:
        return os.path.expanduser(
            os.path.join("~", "Library", facts["framework"], facts["version"])
        )
    return os.path.expanduser(os.path.join("~", ".local"))


def _user_site_enabled(facts: Facts) -> bool:
    """``site.ENABLE_USER_SITE`` as that interpreter would have it for this user."""
    if not facts["isolated"]:
        return bool(facts["enable_user_site"])  # in-process: site's own answer
    if facts["venv_no_global"]:
        return False
    if os.environ.get("PYTHONNOUSERSITE"):
        return False
    # site.check_enableusersite: no user site for setuid/setgid processes.
    return not (
        hasattr(os, "geteuid") and (os.geteuid() != os.getuid() or os.getegid() != os.getgid())
    )


def _writable_dir(path: str) -> bool:
    """pip's ``test_writable_dir``: the nearest existing ancestor decides."""
    while not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return os.access(path, os.W_OK)


def _marker_message(marker: str, prefix: str) -> str:
    """The ``Error`` text of an EXTERNALLY-MANAGED file, localised as pip does."""
    import configparser
    import locale

    parser = configparser.ConfigParser(interpolation=None)
    keys = []
    try:
        lang = locale.getlocale(locale.LC_MESSAGES)[0]
    except (AttributeError, ValueError):
        lang = None
    if lang:
        keys.append(f"Error-{lang}")
        for sep in ("-", "_"):
            before, found, _ = lang.partition(sep)
            if found:
                keys.append(f"Error-{before}")
    keys.append("Error")
    try:
        parser.read(marker, encoding="utf-8")
        section = parser["externally-managed"]
        for key in keys:
            if key in section:
                return section[key]
    except (KeyError, OSError, UnicodeDecodeError, configparser.Error):
        pass
    return (
        f"The Python environment under {prefix} is managed externally, and may not be"
        " manipulated by the user. Please use specific tooling from the distributor of"
        " the Python installation to interact with this environment instead."
    )


# --- the probe and its cache ------------------------------------------------------------


def interpreter_facts(
    python: str | os.PathLike[str] | None = None, *, cache_dir: CacheDir = DEFAULT_CACHE
) -> Facts:
    """The probe's facts for ``python``: in-process for ``None``, else asked once and
    kept in ``cache_dir`` and in this process (see `_probe_cache.kept_answer`; with
    ``cache_dir`` ``None``, asked once per process)."""
    if python is None:
        return _probe.probe()
    shown = os.fspath(python)
    path = find_interpreter(shown)
    key = _cache_key(path)
    return kept_answer(
        cache_dir,
        f"facts-{key}.json" if key is not None else None,
        lambda: run_probe(path, shown),
        lambda kept: (
            kept.get("probe_version") == _probe.PROBE_VERSION and check_answer(kept) is None
        ),
    )


def probe_cache_dir(cache_dir: CacheDir = DEFAULT_CACHE) -> str | None:
    """Where interpreter answers are kept for ``cache_dir`` (``None``: nowhere)."""
    return probe_dir(cache_dir)


def _cache_key(path: str) -> str | None:
    """The probe's source, the interpreter's path, resolved path, mtime and size,
    and a venv's pyvenv.cfg.

    The unresolved path counts too: a venv's ``bin/python`` is a symlink to the
    base interpreter but has answers of its own. ``None``: do not cache.
    """
    binary = interpreter_binary(path)
    if binary is None:
        return None
    real, st = binary
    # A venv is known by its pyvenv.cfg's content, not its mtime: a venv made
    # afresh at the same path with the same settings (CI, benchmarks, tox) gives
    # the same answers, and should not cost a probe every time.
    cfgs = []
    for cfg in (
        os.path.join(os.path.dirname(path), "pyvenv.cfg"),
        os.path.join(os.path.dirname(os.path.dirname(path)), "pyvenv.cfg"),
    ):
        try:
            with open(cfg, "rb") as f:
                content = f.read(1 << 16)
        except OSError:
            continue
        cfgs.append([cfg, content.decode("utf-8", "replace")])
    return cache_key(
        [
            # The probe's own text: another fastinst version may answer differently.
            _backend.core.sha256(_probe_source().encode()).hex(),  # hashlib's cost: 3 ms
            path,
            real,
            st.st_mtime_ns,
            st.st_size,
            cfgs,
            [os.environ.get(k) for k in _KEY_ENV],
        ]
    )


_PROBE_SOURCE: list[str] = []  # read once per process


def _probe_source() -> str:
    if not _PROBE_SOURCE:
        with open(_probe.__file__, encoding="utf-8") as f:
            _PROBE_SOURCE.append(f.read())
    return _PROBE_SOURCE[0]
