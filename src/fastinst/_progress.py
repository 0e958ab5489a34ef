"""The command line's progress bar: one line on a terminal's stderr, redrawn in place.

The line has the same width in every frame (the terminal's, at most 100
columns), so it never wraps and nothing jumps::

    installing  12/29 ━━━━━━━━━━━━━━━━━━━━━━╸━━━━━━━━━━━━━━━━━━  42.1/119.0 MB  0:03  scipy

The total is known before anything is written: the wheels' count, and their
size as files. A wheel's share of the bar is its file size, filled in the
proportion of its bytes written so far (the ``done``/``total`` of the
``progress`` events), so the bar moves inside a big wheel as often as the
library reports on it, and the wheel counter moves as each wheel is staged.

Nothing is drawn before the install has lasted a moment (`delay`), and the
line is erased at the end: only the summary stays. A thread redraws it a few
times a second, so the clock moves while the core works without the GIL.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TextIO

# The widest line drawn, whatever the terminal: a bar of 60 columns reads well.
MAX_WIDTH = 100
FRAME_SECONDS = 0.1


class ProgressBar:
    """The ``progress=`` callback of `fastinst.install`, drawing on ``stream``.

    ``wheels`` are the paths that will be installed (their sizes on disk are the
    total up front). Events name a wheel by its absolute path.
    """

    def __init__(
        self,
        wheels: list[str],
        stream: TextIO,
        *,
        delay: float = 0.3,
        width: int | None = None,
        start: float | None = None,
    ) -> None:
        self.stream = stream
        self.delay = delay
        self.start = time.perf_counter() if start is None else start
        self.sizes: dict[str, int] = {}
        for path in wheels:
            path = os.path.abspath(path)
            try:
                self.sizes[path] = os.stat(path).st_size
            except OSError:
                self.sizes[path] = 0
        self.total = sum(self.sizes.values())
        self.fraction: dict[str, float] = {}  # wheel -> share of its bytes written
        self.staged: set[str] = set()
        self.current = ""
        self.width = width
        self.unicode = _can_encode(stream, "━╸─")
        # Re-entrant: close() may run in a signal handler that interrupted a draw.
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False
        self._last = ""

    # --- the callback ----------------------------------------------------------------

    def __call__(self, event: str, wheel: str, done: int, total: int) -> None:
        with self._lock:
            if event == "wheel-start":
                self.current = wheel
            if total > 0:
                # Never backwards: a cold wheel is reported unpacked, then linked.
                share = min(1.0, done / total)
                self.fraction[wheel] = max(share, self.fraction.get(wheel, 0.0))
            if event == "wheel-done" or (event == "bytes" and total > 0 and done >= total):
                self.staged.add(wheel)
                self.fraction[wheel] = 1.0
        if time.perf_counter() - self.start >= self.delay:
            if self._thread is None:
                self.open()
            self._draw()  # every event shows, however short the wait between frames

    def open(self) -> None:
        """Start the clock: the bar appears after `delay` even with no event yet."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fastinst-progress", daemon=True)
            self._thread.start()

    def close(self, *, wait: bool = True) -> None:
        """Stop drawing and erase the line (idempotent). ``wait=False`` in a signal
        handler: the drawing thread may be waiting for the lock it holds."""
        self._stop.set()
        if wait and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            if self._drawn:
                self._write("\r\x1b[2K\x1b[?25h")
                self._drawn = False

    # --- drawing -----------------------------------------------------------------------

    def _run(self) -> None:
        wait = self.delay - (time.perf_counter() - self.start)
        if wait > 0 and self._stop.wait(wait):
            return
        while not self._stop.is_set():
            self._draw()
            if self._stop.wait(FRAME_SECONDS):
                return

    def _draw(self) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            line = self.render(time.perf_counter() - self.start)
            if line != self._last:  # the clock changes it every second at least
                self._write(("" if self._drawn else "\x1b[?25l") + "\r" + line)
                self._drawn, self._last = True, line

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self._stop.set()  # a terminal gone: stop drawing, never fail the install

    def render(self, elapsed: float) -> str:
        """One frame, exactly `line_width` columns wide.

        >>> import io
        >>> bar = ProgressBar([], io.StringIO(), width=80)
        >>> bar.unicode = True  # a UTF-8 terminal; else # and -
        >>> bar.total, bar.sizes = 2_000_000, {"/w/a-1-py3-none-any.whl": 1_500_000,
        ...                                    "/w/scipy-1-py3-none-any.whl": 500_000}
        >>> bar("wheel-start", "/w/a-1-py3-none-any.whl", 0, 10)
        >>> bar("bytes", "/w/a-1-py3-none-any.whl", 10, 10)
        >>> bar("wheel-start", "/w/scipy-1-py3-none-any.whl", 0, 10)
        >>> bar("bytes", "/w/scipy-1-py3-none-any.whl", 5, 10)
        >>> frame = bar.render(3.2)
        >>> frame
        'installing 1/2 ━━━━━━━━━━━━━━━━━━━━━━━━╸───    1.8/2.0 MB  0:03  scipy         '
        >>> len(frame)
        79
        """
        width = self.line_width()
        count = len(self.sizes) or len(self.fraction)
        staged = min(len(self.staged), count)
        done = sum(self.sizes.get(w, 0) * f for w, f in self.fraction.items())
        if not self.total:  # sizes unknown: count wheels instead
            done, total = sum(self.fraction.values()), max(count, 1)
        else:
            total = self.total
        ratio = min(1.0, done / total) if total else 0.0
        digits = len(str(count))
        head = f"installing {staged:>{digits}}/{count} "
        amount = _amount(done, total) if self.total else ""
        clock = f"{int(elapsed) // 60}:{int(elapsed) % 60:02d}"
        tail = f" {amount:>13}  {clock:>4}  "
        room = 14 if width >= 70 else 0  # the wheel being written, when there is room
        bar_width = width - len(head) - len(tail) - room
        if bar_width < 10:  # a narrow terminal: the bar and the count only
            tail, room = "", 0
            bar_width = max(1, width - len(head))
        name = _short_name(self.current)[:room].ljust(room)
        return head + self._bar(ratio, bar_width) + tail + name

    def line_width(self) -> int:
        if self.width is not None:
            columns = self.width
        else:
            try:
                columns = os.get_terminal_size(self.stream.fileno()).columns
            except (OSError, ValueError, AttributeError):
                columns = 80
        # One column short of the edge: a line that fills it wraps on some terminals.
        return max(20, min(columns, MAX_WIDTH + 1) - 1)

    def _bar(self, ratio: float, width: int) -> str:
        """Heavy for what is done, light for what is not: readable without colours."""
        full = ratio * width
        filled = int(full)
        if not self.unicode:
            return "#" * filled + "-" * (width - filled)
        half = "╸" if full - filled >= 0.5 and filled < width else ""
        return "━" * filled + half + "─" * (width - filled - len(half))


def _amount(done: float, total: int) -> str:
    """``42.1/119.0 MB`` (kB below a megabyte of total)."""
    if total >= 1_000_000:
        return f"{done / 1e6:.1f}/{total / 1e6:.1f} MB"
    return f"{done / 1e3:.0f}/{total / 1e3:.0f} kB"


def _short_name(path: str) -> str:
    """A wheel's distribution name from its path: ``scipy``."""
    return os.path.basename(path).split("-", 1)[0]


def _can_encode(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True
