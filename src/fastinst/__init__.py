"""fastinst: install wheels fast, correctly, and all or nothing.

>>> import fastinst
>>> scheme = fastinst.get_scheme()                      # where the running interpreter installs
>>> results = fastinst.install(["demo-1.0-py3-none-any.whl"], scheme)  # doctest: +SKIP

The names here are the public API; every ``_module`` is private. They are loaded
on first use, so that ``import fastinst`` (and the CLI) stays fast.
"""

from __future__ import annotations

from ._errors import (
    CorruptArchive,
    ExternallyManaged,
    FastinstError,
    HashMismatch,
    IncompatibleWheel,
    InstallIOError,
    InvalidWheel,
    LockError,
    MissingRecord,
    NotInstalled,
    PermissionDenied,
    RecordMismatch,
    SchemeError,
    UnsafePath,
    WheelsNotFound,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Any

    from ._backend import HAS_EXTENSION
    from ._install import DEFAULT_CACHE, InstallResult, install
    from ._installed import InstalledDistribution, find_installed, list_installed
    from ._lock import SyncResult, install_lock, sync
    from ._remove import UninstallResult, uninstall
    from ._scheme import Scheme, choose_install_scheme, get_scheme
    from ._session import InstallSession, SessionClosed
    from ._verify import FileIssue, VerifyResult, verify

__version__ = "0.1.0"

_LAZY = {
    "HAS_EXTENSION": "._backend",
    "DEFAULT_CACHE": "._install",
    "InstallResult": "._install",
    "install": "._install",
    "InstalledDistribution": "._installed",
    "UninstallResult": "._remove",
    "find_installed": "._installed",
    "list_installed": "._installed",
    "uninstall": "._remove",
    "SyncResult": "._lock",
    "install_lock": "._lock",
    "sync": "._lock",
    "Scheme": "._scheme",
    "InstallSession": "._session",
    "SessionClosed": "._session",
    "choose_install_scheme": "._scheme",
    "get_scheme": "._scheme",
    "FileIssue": "._verify",
    "VerifyResult": "._verify",
    "verify": "._verify",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastinst' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_CACHE",
    "HAS_EXTENSION",
    "CorruptArchive",
    "ExternallyManaged",
    "FastinstError",
    "FileIssue",
    "HashMismatch",
    "IncompatibleWheel",
    "InstallIOError",
    "InstallResult",
    "InstallSession",
    "InstalledDistribution",
    "InvalidWheel",
    "LockError",
    "MissingRecord",
    "NotInstalled",
    "PermissionDenied",
    "RecordMismatch",
    "Scheme",
    "SchemeError",
    "SessionClosed",
    "SyncResult",
    "UninstallResult",
    "UnsafePath",
    "VerifyResult",
    "WheelsNotFound",
    "__version__",
    "choose_install_scheme",
    "find_installed",
    "get_scheme",
    "install",
    "install_lock",
    "list_installed",
    "sync",
    "uninstall",
    "verify",
]
