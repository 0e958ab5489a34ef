"""Select the compiled core or its pure-Python twin.

``FASTINST_NO_EXTENSIONS=1`` forces the pure-Python twin; a missing or broken
extension falls back to it silently, and ``HAS_EXTENSION`` says which one runs.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from types import ModuleType


def _load() -> tuple[ModuleType, bool]:
    if not os.environ.get("FASTINST_NO_EXTENSIONS"):
        try:
            from . import _core
        except ImportError:
            pass
        else:
            return _core, True
    from . import _core_py

    return _core_py, False


if TYPE_CHECKING:
    # Type checkers see the twin's names and signatures (the compiled core has the
    # same: ``_core.pyi``), so that every call into the core is checked, as yarl does.
    from . import _core_py

    core = _core_py
    HAS_EXTENSION: bool
else:
    core, HAS_EXTENSION = _load()
