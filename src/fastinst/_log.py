"""The ``fastinst`` logger, without importing ``logging`` until a record goes out.

``import logging`` costs a process about a third of a warm install of a small
wheel (it imports ``traceback``, ``tokenize``, ``threading``, ``string``...), and
a command-line install that goes well logs nothing it would show. `logger` has
the methods fastinst calls on ``logging.getLogger("fastinst")`` and hands every
record to that logger, so handlers, levels and filters see exactly what they saw
before, with one shortcut: while ``logging`` is not imported, no one can have
configured it, so a record below ``WARNING`` (the root logger's default level)
would be dropped and is dropped here without importing it. ``WARNING`` and above
import it and go out (to ``logging.lastResort`` if no handler is set).

The command line sets its handler through `configure`, which waits for the first
record that passes its level (or for ``logging`` to be imported by anyone else)
before it imports ``logging`` and attaches the handler.

>>> logger.info("dropped unless someone listens: %s", "no import")
>>> logger.isEnabledFor(DEBUG) in (True, False)
True
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from typing import TextIO

# The levels of ``logging``, which has them under these names.
DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40

# The command line's handler, not attached yet: (level, stream, format).
_pending: tuple[int, TextIO, str] | None = None


def configure(level: int, stream: TextIO, fmt: str) -> None:
    """Send the ``fastinst`` logger's records of ``level`` and above to ``stream`` in
    format ``fmt`` (a ``logging.Formatter`` format), replacing a handler that an
    earlier call attached (``main()`` run twice in one process)."""
    global _pending
    _pending = (level, stream, fmt)
    if "logging" in sys.modules:
        _real()


def _real() -> logging.Logger:
    """``logging.getLogger("fastinst")``, with a pending handler attached."""
    global _pending
    import logging

    log = logging.getLogger("fastinst")
    if _pending is not None:
        level, stream, fmt = _pending
        _pending = None
        for old in [h for h in log.handlers if getattr(h, "fastinst_cli", False)]:
            log.removeHandler(old)
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(fmt))
        handler.fastinst_cli = True  # type: ignore[attr-defined]
        log.addHandler(handler)
        log.setLevel(level)
    return log


def _threshold() -> int:
    """The level below which a record cannot go anywhere while ``logging`` is not
    imported."""
    return WARNING if _pending is None else _pending[0]


class _Logger:
    """The few methods of ``logging.Logger`` that fastinst uses."""

    __slots__ = ()

    def isEnabledFor(self, level: int) -> bool:
        if "logging" not in sys.modules and level < _threshold():
            return False
        return _real().isEnabledFor(level)

    def log(self, level: int, msg: str, *args: object) -> None:
        if self.isEnabledFor(level):
            _real().log(level, msg, *args, stacklevel=2)

    def debug(self, msg: str, *args: object) -> None:
        if self.isEnabledFor(DEBUG):
            _real().log(DEBUG, msg, *args, stacklevel=2)

    def info(self, msg: str, *args: object) -> None:
        if self.isEnabledFor(INFO):
            _real().log(INFO, msg, *args, stacklevel=2)

    def warning(self, msg: str, *args: object) -> None:
        if self.isEnabledFor(WARNING):
            _real().log(WARNING, msg, *args, stacklevel=2)

    def error(self, msg: str, *args: object) -> None:
        if self.isEnabledFor(ERROR):
            _real().log(ERROR, msg, *args, stacklevel=2)


logger = _Logger()
