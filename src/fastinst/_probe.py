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

import contextlib
import json
import os
import site
import sys
import sysconfig
from typing import Any

PROBE_VERSION = 1

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
        import re

        pattern = re.compile(r"include-system-site-packages\s*=\s*(?P<value>true|false)")
        for line in lines:
            match = pattern.match(line)
            if match is not None and match.group("value") == "false":
                return True
        return False
    if hasattr(sys, "real_prefix"):  # legacy virtualenv
        site_dir = os.path.dirname(os.path.abspath(site.__file__))
        return os.path.exists(os.path.join(site_dir, "no-global-site-packages.txt"))
    return False


def _python_xy() -> str:
    return "python{}.{}".format(*sys.version_info[:2])


def _is_osx_framework() -> bool:
    return bool(sysconfig.get_config_var("PYTHONFRAMEWORK"))


def _use_sysconfig() -> bool:
    """pip's ``_USE_SYSCONFIG``: 3.10+, unless the distributor says otherwise."""
    default = sys.version_info >= (3, 10)
    return bool(getattr(sysconfig, "_PIP_USE_SYSCONFIG", default))


# --- sysconfig, as pip's locations/_sysconfig.py ----------------------------------


def _infer(key: str) -> str:
    """pip's ``_infer_prefix`` / ``_infer_user`` / ``_infer_home``."""
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
    available = set(sysconfig.get_scheme_names())
    if name == "osx_framework_library":  # pip's own special case
        name = "posix_prefix"
    if name in ("posix_local", "deb_system"):
        name = "posix_prefix"
    if name == "posix_prefix" and "rpm_prefix" in available:
        name = "rpm_prefix"
    return name


def _sysconfig_scheme(mode: str) -> dict[str, Any]:
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
    with contextlib.suppress(ImportError, AttributeError):
        __import__("_distutils_hack").remove_shim()
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


def probe() -> dict[str, Any]:
    """Everything fastinst needs to know about the running interpreter's locations."""
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
    return {
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


if __name__ == "__main__":
    sys.stdout.write(json.dumps(probe()))
    sys.stdout.write("\n")
