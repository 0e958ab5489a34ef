"""The facts about an interpreter's install locations, gathered inside that interpreter.

This module is run in two ways, and both run the same `probe` function:

* in-process, for the running interpreter (``get_scheme(python=None)``);
* as a script inside another interpreter: ``python -I -c <this file's source>``
  prints the facts as one JSON object. So it uses the standard library only and
  runs on Python 3.8 and later.

Why ``-I`` and not ``-S``: ``-I`` keeps our own process's ``PYTHONPATH``,
``PYTHONHOME`` and user site out of the target interpreter, so its answer only
depends on the interpreter and can be cached; ``-S`` would also skip ``site``,
which is what sets ``sys.prefix`` in a venv on older Pythons, runs the
distributor's ``sitecustomize`` and ``.pth`` hooks, and lists the site
directories. The facts that do depend on the user (the user base, whether the
user site is enabled) are reported as templates and resolved by the caller.

The paths for ``--prefix``, ``--home`` and ``--user`` are computed here, by the
interpreter's own ``sysconfig`` or ``distutils`` exactly as pip computes them,
with placeholders standing for the directory, the user base and the
distribution name; the caller substitutes the real values.
"""

from __future__ import annotations

import os
import site
import sys

# (sysconfig is imported by the functions that use it: fastinst imports this module
# for `dumps` and the placeholders, and a warm install needs no sysconfig.)

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

PROBE_VERSION = 2

# Placeholders substituted by the caller. They look like absolute paths so that
# sysconfig's normpath leaves the rest of each path alone.
BASE = "/@fastinst-base@"
USERBASE = "/@fastinst-userbase@"
DIST = "@fastinst-dist@"

SCHEME_KEYS = ("purelib", "platlib", "headers", "scripts", "data")

# pip's _HOME_KEYS: the variables overridden by --prefix and --home.
_HOME_KEYS = ["installed_base", "base", "installed_platbase", "platbase", "prefix", "exec_prefix"]


def _in_venv() -> bool:
    return sys.prefix != getattr(sys, "base_prefix", sys.prefix) or hasattr(sys, "real_prefix")


def _venv_no_global() -> bool:
    """pip's ``virtualenv_no_global``: a venv that does not see the system site."""
    if sys.prefix != getattr(sys, "base_prefix", sys.prefix):
        try:
            with open(os.path.join(sys.prefix, "pyvenv.cfg"), encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError:
            return True  # PEP 405's default, as pip assumes
        # pip's ``include-system-site-packages\s*=\s*(?P<value>true|false)``, matched
        # at the start of a line, without ``re`` (``str.isspace`` is what ``\s`` matches).
        key = "include-system-site-packages"
        for line in lines:
            if line.startswith(key):
                rest = line[len(key) :].lstrip()
                if rest.startswith("=") and rest[1:].lstrip().startswith("false"):
                    return True
        return False
    if hasattr(sys, "real_prefix"):  # legacy virtualenv
        site_dir = os.path.dirname(os.path.abspath(site.__file__))
        return os.path.exists(os.path.join(site_dir, "no-global-site-packages.txt"))
    return False


def _python_xy() -> str:
    return "python{}.{}".format(*sys.version_info[:2])


def _is_osx_framework() -> bool:
    import sysconfig

    return bool(sysconfig.get_config_var("PYTHONFRAMEWORK"))


def _use_sysconfig() -> bool:
    """pip's ``_USE_SYSCONFIG``: 3.10+, unless the distributor says otherwise."""
    import sysconfig

    default = sys.version_info >= (3, 10)
    return bool(getattr(sysconfig, "_PIP_USE_SYSCONFIG", default))


# --- sysconfig, as pip's locations/_sysconfig.py ----------------------------------


def _infer(key: str) -> str:
    """pip's ``_infer_prefix`` / ``_infer_user`` / ``_infer_home``."""
    import sysconfig

    preferred = getattr(sysconfig, "get_preferred_scheme", None)
    if preferred is not None:
        return str(preferred(key))
    available = set(sysconfig.get_scheme_names())
    if key == "prefix":
        if "osx_framework_library" in available and not _in_venv() and _is_osx_framework():
            return "osx_framework_library"
        for name in (
            f"{sys.implementation.name}_{os.name}",
            sys.implementation.name,
            f"{os.name}_prefix",
            os.name,
        ):
            if name in available:
                return name
        return "posix_prefix"
    if key == "user":
        if _is_osx_framework() and not _in_venv():
            suffixed = "osx_framework_user"
        else:
            suffixed = f"{os.name}_user"
        if suffixed in available:
            return suffixed
        return "posix_user"
    suffixed = f"{os.name}_home"
    return suffixed if suffixed in available else "posix_home"


def _plain_prefix_scheme(name: str) -> str:
    """The scheme for an explicit ``--prefix``: the interpreter's plain layout.

    pip passes the distributor's default scheme through, so on Debian
    ``pip install --prefix /x`` lands in ``/x/local/lib/python3.X/dist-packages``
    and on Fedora in ``/x/local/...``. fastinst gives the layout a prefix means
    everywhere else (``/x/lib/python3.X/site-packages``): the unpatched
    ``posix_prefix``, which Fedora keeps as ``rpm_prefix``.
    """
    import sysconfig

    available = set(sysconfig.get_scheme_names())
    if name == "osx_framework_library":  # pip's own special case
        name = "posix_prefix"
    if name in ("posix_local", "deb_system"):
        name = "posix_prefix"
    if name == "posix_prefix" and "rpm_prefix" in available:
        name = "rpm_prefix"
    return name


def _sysconfig_scheme(mode: str) -> dict[str, Any]:
    import sysconfig

    user = mode == "user"
    if mode == "home":
        name = _infer("home")
    elif user:
        name = _infer("user")
    else:
        name = _infer("prefix")
    if mode == "prefix":
        name = _plain_prefix_scheme(name)
    variables: dict[str, str] = {}
    if mode in ("home", "prefix"):
        keys = list(_HOME_KEYS)
        if sysconfig.get_config_var("userbase") is not None:
            keys.append("userbase")
        variables = {k: BASE for k in keys}
    elif user:
        variables = {"userbase": USERBASE}
    paths = sysconfig.get_paths(scheme=name, vars=variables)
    include = paths["include"]
    if _in_venv():
        # pip's historical header path in virtual environments.
        base = variables.get("userbase" if user else "base", sys.prefix)
        include = os.path.join(base, "include", "site", _python_xy())
    result = {k: paths[k] for k in ("purelib", "platlib", "scripts", "data")}
    result["headers"] = os.path.join(include, DIST)
    return {"name": name, "paths": result}


# --- distutils, as pip's locations/_distutils.py ----------------------------------


def _distutils_scheme(mode: str, user_site: str | None) -> dict[str, Any]:
    import warnings

    # pip removes setuptools' distutils shim before importing distutils.
    # (Not contextlib.suppress: contextlib costs the probe a tenth of its time.)
    try:  # noqa: SIM105
        __import__("_distutils_hack").remove_shim()
    except (ImportError, AttributeError):
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from distutils.command.install import SCHEME_KEYS as keys
        from distutils.dist import Distribution

    # Config files (setup.cfg in the working directory, ~/.pydistutils.cfg) are
    # not read: pip deprecated them, and they would make the answer depend on
    # where fastinst runs.
    dist = Distribution({"name": DIST})
    cmd: Any = dist.get_command_obj("install", create=True)
    if mode == "user":
        cmd.user = True
        cmd.prefix = ""
        # Placeholders: finalize_options only creates user directories below
        # the real home directory, so nothing is created here.
        cmd.install_userbase = USERBASE
        cmd.install_usersite = user_site
    elif mode == "home":
        cmd.prefix = ""
        cmd.home = BASE
    elif mode == "prefix":
        cmd.prefix = BASE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmd.finalize_options()
    paths: dict[str, str] = {k: getattr(cmd, "install_" + k) for k in keys}
    if _in_venv():
        if mode == "home":
            base = BASE
        elif mode == "user":
            base = cmd.install_userbase
        else:
            base = cmd.prefix
        paths["headers"] = os.path.join(base, "include", "site", _python_xy(), DIST)
    name = "distutils"
    if mode == "default":
        name = "distutils:unix_prefix" if os.name == "posix" else "distutils:nt"
    return {"name": name, "paths": {k: paths[k] for k in SCHEME_KEYS}}


# --- wheel tags and markers -----------------------------------------------------------
# Facts only: fastinst turns them into tags with its own ``packaging`` (see _tags.py),
# so this runs on any target whatever packaging version fastinst has.


def _glibc_version() -> str | None:
    """As packaging's ``_glibc_version_string``: confstr, else ctypes."""
    try:
        found = os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36"
        if found:
            _, version = found.rsplit()
            return version
    except (AttributeError, OSError, ValueError):
        pass
    try:
        import ctypes

        get_version = ctypes.CDLL(None).gnu_get_libc_version
        get_version.restype = ctypes.c_char_p
        raw = get_version()
        return raw.decode("ascii") if isinstance(raw, bytes) else str(raw)
    except (ImportError, OSError, AttributeError, UnicodeDecodeError):
        return None


def _elf_header(path: str) -> dict[str, Any] | None:
    """The ELF facts packaging reads from ``sys.executable``: class, data encoding,
    machine, flags and program interpreter (``None``: not an ELF file)."""
    import struct

    try:
        with open(path, "rb") as f:
            ident = f.read(16)
            if len(ident) != 16 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2):
                return None
            order = "<" if ident[5] == 1 else ">"
            if ident[4] == 1:
                head, phdr = order + "HHIIIIIHHHHHH", order + "IIIIIIII"
            else:
                head, phdr = order + "HHIQQQIHHHHHH", order + "IIQQQQQQ"
            fields = struct.unpack(head, f.read(struct.calcsize(head)))
            machine, phoff, flags, phentsize, phnum = (
                fields[1], fields[4], fields[6], fields[8], fields[9]
            )  # fmt: skip
            interpreter = None
            for i in range(min(phnum, 64)):
                f.seek(phoff + phentsize * i)
                entry = struct.unpack(phdr, f.read(struct.calcsize(phdr)))
                if entry[0] == 3:  # PT_INTERP
                    offset, size = (entry[1], entry[4]) if ident[4] == 1 else (entry[2], entry[5])
                    f.seek(offset)
                    interpreter = f.read(min(size, 4096)).rstrip(b"\0").decode("utf-8", "replace")
                    break
    except (OSError, struct.error):
        return None
    return {
        "class": ident[4],
        "data": ident[5],
        "machine": machine,
        "flags": flags,
        "interpreter": interpreter,
    }


def _musl_version(loader: str | None) -> list[int] | None:
    """musl's version, from its dynamic loader's usage text (as packaging does)."""
    if not loader or "musl" not in loader:
        return None
    import re
    import subprocess

    try:
        proc = subprocess.run([loader], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, timeout=10)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [n.strip() for n in proc.stderr.decode("utf-8", "replace").splitlines() if n.strip()]
    if len(lines) < 2 or lines[0][:4] != "musl":
        return None
    match = re.match(r"Version (\d+)\.(\d+)", lines[1])
    return [int(match.group(1)), int(match.group(2))] if match else None


def _manylinux_module(glibc: str | None) -> dict[str, Any] | None:
    """What a distributor's ``_manylinux`` module says (PEP 600), for every glibc
    version up to this one and every Linux architecture name a tag may use."""
    import sysconfig

    try:
        module = __import__("_manylinux")
    except ImportError:
        return None
    import re

    match = re.match(r"([0-9]+)\.([0-9]+)", glibc or "")
    answers: dict[str, Any] = {}
    if match and hasattr(module, "manylinux_compatible"):
        arch = sysconfig.get_platform().split("-", 1)[-1].replace(".", "_").replace("-", "_")
        major, minor = int(match.group(1)), int(match.group(2))
        for a in sorted({arch, "i686", "armv7l", "armv8l"}):
            for m in range(minor + 1):
                answers[f"{major}_{m}_{a}"] = module.manylinux_compatible(major, m, a)
    legacy = {}
    for name in ("manylinux1", "manylinux2010", "manylinux2014"):
        value = getattr(module, name + "_compatible", None)
        if value is not None:
            legacy[name] = bool(value)
    return {"compatible": answers, "has_function": hasattr(module, "manylinux_compatible"),
            "legacy": legacy}  # fmt: skip


def _mac_version() -> tuple[list[int], str]:
    import platform
    import subprocess

    version, _, arch = platform.mac_ver()
    parts = [int(p) for p in version.split(".")[:2]]
    if parts == [10, 16]:
        # Built against an old SDK: the real version is hidden (as packaging does).
        try:
            out = subprocess.run(
                [sys.executable, "-sS", "-c", "import platform; print(platform.mac_ver()[0])"],
                check=True, env={"SYSTEM_VERSION_COMPAT": "0"}, stdout=subprocess.PIPE,
                stdin=subprocess.DEVNULL, timeout=10,
            ).stdout.decode()  # fmt: skip
            parts = [int(p) for p in out.split(".")[:2]]
        except (OSError, ValueError, subprocess.SubprocessError):
            pass
    return parts, arch


def _uname() -> tuple[str, str, str, str]:
    """``platform``'s system(), release(), version() and machine().

    On Linux they are ``os.uname()``'s, with ``unknown`` as ``""``; ``platform``
    itself costs a probe a third of its time (it imports ``re``, ``collections``...)
    and, on Python 3.8, runs ``uname -p`` in a subprocess.
    """
    if sys.platform == "linux":
        u = os.uname()
        return _known(u.sysname), _known(u.release), _known(u.version), _known(u.machine)
    import platform

    return platform.system(), platform.release(), platform.version(), platform.machine()


def _known(value: str) -> str:
    return "" if value == "unknown" else value


def _python_version() -> tuple[str, str]:
    """``platform.python_implementation()`` and ``platform.python_version()``.

    For CPython, as ``platform`` parses ``sys.version``: its first word (the
    characters ``[A-Za-z0-9_.+]``, followed by `` (``), with ``.0`` added when it has
    two parts; anything else is left to ``platform``.
    """
    text = sys.version
    word = text.split(" ", 1)[0]
    plain = word and all(c.isascii() and (c.isalnum() or c in "_.+") for c in word)
    if (
        plain
        and sys.implementation.name == "cpython"
        and text[len(word) :].startswith(" (")
        and not any(name in text for name in ("IronPython", "PyPy", "Brython"))
        and not sys.platform.startswith("java")
    ):
        return "CPython", word + ".0" if word.count(".") == 1 else word
    import platform

    return platform.python_implementation(), platform.python_version()


def tag_facts() -> dict[str, Any]:
    """What packaging.tags.sys_tags() reads about this interpreter and its platform."""
    import struct
    import sysconfig
    from importlib.machinery import EXTENSION_SUFFIXES

    config = sysconfig.get_config_var
    system = _uname()[0]
    facts: dict[str, Any] = {
        "interpreter": sys.implementation.name,
        "version": list(sys.version_info[:2]),
        "py_version_nodot": config("py_version_nodot"),
        "py_debug": config("Py_DEBUG"),
        "gil_disabled": config("Py_GIL_DISABLED"),
        "has_refcount": hasattr(sys, "gettotalrefcount"),
        "extension_suffixes": list(EXTENSION_SUFFIXES),
        "ext_suffix": config("EXT_SUFFIX"),
        "platform": sysconfig.get_platform(),
        "system": system,
        "is_32bit": struct.calcsize("P") == 4,
        "emscripten_version": config("PYEMSCRIPTEN_PLATFORM_VERSION"),
    }
    if system == "Linux":
        elf = _elf_header(sys.executable)
        glibc = _glibc_version()
        facts["glibc"] = glibc
        facts["elf"] = elf
        facts["musl"] = _musl_version(elf["interpreter"] if elf else None)
        facts["manylinux_module"] = _manylinux_module(glibc)
    elif system == "Darwin":
        facts["mac_version"], facts["mac_arch"] = _mac_version()
    elif system == "iOS":
        import platform

        release = platform.ios_ver()[1]  # type: ignore[attr-defined, unused-ignore]
        facts["ios_version"] = [int(p) for p in release.split(".")[:2]]
        facts["multiarch"] = getattr(sys.implementation, "_multiarch", "")
    elif system == "Android":
        import platform

        facts["android_api_level"] = platform.android_ver().api_level  # type: ignore[attr-defined, unused-ignore]
    return facts


def marker_environment() -> dict[str, str]:
    """PEP 508's environment markers, computed as ``packaging.markers.default_environment``."""
    info = sys.implementation.version
    iver = f"{info.major}.{info.minor}.{info.micro}"
    if info.releaselevel != "final":
        iver += info.releaselevel[0] + str(info.serial)
    system, release, version, machine = _uname()
    implementation, full_version = _python_version()
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": iver,
        "os_name": os.name,
        "platform_machine": machine,
        "platform_release": release,
        "platform_system": system,
        "platform_version": version,
        "python_full_version": full_version,
        "platform_python_implementation": implementation,
        "python_version": ".".join(full_version.split(".")[:2]),
        "sys_platform": sys.platform,
    }


# --- the probe ---------------------------------------------------------------------


def _site_packages() -> list[list[str]]:
    """Each directory ``site`` adds for the system, with the prefix it belongs to."""
    pairs: list[list[str]] = []
    get = getattr(site, "getsitepackages", None)
    if get is None:  # very old virtualenv's site.py
        return pairs
    seen = set()
    for prefix in getattr(site, "PREFIXES", [sys.prefix]):
        for d in get([prefix]):
            if d not in seen:
                seen.add(d)
                pairs.append([d, prefix])
    for d in get():
        if d not in seen:
            seen.add(d)
            pairs.append([d, sys.prefix])
    return pairs


def probe(*, tags: bool = False) -> dict[str, Any]:
    """Everything fastinst needs to know about the running interpreter's locations;
    with ``tags``, also its wheel tag facts and marker environment (the script
    always sends them; in-process, fastinst asks ``packaging`` directly)."""
    import sysconfig

    # Old virtualenv's own site.py lacks these.
    user_base = getattr(site, "getuserbase", lambda: None)()
    user_site = getattr(site, "getusersitepackages", lambda: None)()
    user_site_template = None
    if user_base and user_site and user_site.startswith(user_base):
        user_site_template = USERBASE + user_site[len(user_base) :]

    use_sysconfig = _use_sysconfig()
    schemes: dict[str, Any] = {}
    for mode in ("default", "user", "prefix", "home"):
        if use_sysconfig:
            schemes[mode] = _sysconfig_scheme(mode)
        else:
            try:
                schemes[mode] = _distutils_scheme(mode, user_site_template)
            except ImportError:  # no distutils (3.12+): what else is there
                schemes[mode] = _sysconfig_scheme(mode)

    stdlib = sysconfig.get_path("stdlib")
    answer = {
        "probe_version": PROBE_VERSION,
        "executable": sys.executable,
        "version": "{}.{}".format(*sys.version_info[:2]),
        "version_info": list(sys.version_info[:3]),
        "implementation": sys.implementation.name,
        "os_name": os.name,
        "platform": sys.platform,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "exec_prefix": sys.exec_prefix,
        "platlibdir": getattr(sys, "platlibdir", "lib"),
        "framework": sysconfig.get_config_var("PYTHONFRAMEWORK") or "",
        "in_venv": _in_venv(),
        "venv_no_global": _venv_no_global(),
        "use_sysconfig": use_sysconfig,
        "schemes": schemes,
        "user_site_template": user_site_template,
        # Only meaningful in-process: the probe script runs with -I (no user site).
        "isolated": bool(sys.flags.isolated),
        "enable_user_site": bool(getattr(site, "ENABLE_USER_SITE", False)),
        "site_packages": _site_packages(),
        "externally_managed": os.path.join(stdlib, "EXTERNALLY-MANAGED"),
    }
    if tags:
        answer["tags"] = tag_facts()
        answer["markers"] = marker_environment()
    return answer


# --- the answer as JSON, without ``json`` (it imports ``re``) -----------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
            "\f": "\\f"}  # fmt: skip


def _json_string(text: str) -> str:
    """``text`` as ``json.dumps`` writes it (ASCII, other characters escaped)."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'
    out = []
    for c in text:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif " " <= c <= "~":
            out.append(c)
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:  # a surrogate pair, as json writes it
            n = ord(c) - 0x10000
            out.append(f"\\u{0xD800 | (n >> 10):04x}\\u{0xDC00 | (n & 0x3FF):04x}")
    return '"' + "".join(out) + '"'


def dumps(value: object, sort_keys: bool = False) -> str:
    """``json.dumps(value, sort_keys=sort_keys)`` for the probe's answer (and
    fastinst's other JSON): dicts with string keys, lists, tuples, strings,
    numbers, booleans and None."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):  # as json: repr, and JavaScript's names for the others
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(dumps(v, sort_keys) for v in value) + "]"
    if isinstance(value, dict):
        pairs = sorted(value.items()) if sort_keys else value.items()
        items = (_json_string(k) + ": " + dumps(v, sort_keys) for k, v in pairs)
        return "{" + ", ".join(items) + "}"
    raise TypeError(f"not in a probe's answer: {type(value).__name__}")


if __name__ == "__main__":
    sys.stdout.write(dumps(probe(tags=True)))
    sys.stdout.write("\n")
