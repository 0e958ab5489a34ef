"""fastinst: install wheels fast, correctly, and all or nothing."""

from ._backend import HAS_EXTENSION
from ._errors import (
    CorruptArchive,
    ExternallyManaged,
    FastinstError,
    IncompatibleWheel,
    InstallIOError,
    InvalidWheel,
    NotInstalled,
    PermissionDenied,
    RecordMismatch,
    SchemeError,
    UnsafePath,
)
from ._install import DEFAULT_CACHE, InstallResult, install
from ._scheme import Scheme

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_CACHE",
    "HAS_EXTENSION",
    "CorruptArchive",
    "ExternallyManaged",
    "FastinstError",
    "IncompatibleWheel",
    "InstallIOError",
    "InstallResult",
    "InvalidWheel",
    "NotInstalled",
    "PermissionDenied",
    "RecordMismatch",
    "Scheme",
    "SchemeError",
    "UnsafePath",
    "__version__",
    "install",
]
