"""A batch of wheels, added from many threads, installed by one transaction.

Tools that prepare wheels in a thread pool (download, build, then install one
wheel per task) hand each finished wheel to `InstallSession.add`, and the names
of distributions to uninstall to `InstallSession.remove`; one
`InstallSession.commit` then does it all in one `install()` call: all or
nothing, one lock, one parallel write, each old version replaced.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Union

from ._errors import FastinstError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._install import InstallResult, SchemeLike

PathLike = Union[str, os.PathLike[str]]


class SessionClosed(FastinstError, RuntimeError):
    """The session was committed or discarded already."""


class InstallSession:
    """Wheels gathered from any thread, installed together by `commit`.

    ``options`` are `fastinst.install`'s keyword arguments (``verify_record``,
    ``cache_dir``, ``link_mode``, ``compile_bytecode``, ``installer_name``,
    ``interpreter``, ``progress``...); the per-wheel ones (``requested``,
    ``direct_url``, ``metadata``) are given to `add`.

    >>> session = InstallSession(scheme)                                   # doctest: +SKIP
    >>> pool.map(lambda w: session.add(w, requested=True), wheels)         # doctest: +SKIP
    >>> results = session.commit()                                         # doctest: +SKIP
    """

    def __init__(self, scheme: SchemeLike, **options: Any) -> None:
        for name in ("requested", "direct_url", "metadata", "remove"):
            if name in options:
                method = "remove()" if name == "remove" else "add()"
                raise TypeError(f"{name}= is given to {method}, not to the session")
        if "dry_run" in options:
            raise TypeError("a session has no dry run: call fastinst.install(dry_run=True)")
        self.scheme = scheme
        self.options = options
        self._lock = threading.Lock()
        self._wheels: dict[str, tuple[bool, Mapping[str, object] | None, Mapping[str, bytes]]] = {}
        self._removals: dict[str, None] = {}  # an ordered set: names in the order given
        self._closed = False

    def add(
        self,
        wheel: PathLike,
        *,
        requested: bool = False,
        direct_url: Mapping[str, object] | None = None,
        metadata: Mapping[str, bytes] | None = None,
    ) -> None:
        """Add a wheel file to install at `commit` (safe to call from any thread).

        The file must stay where it is until then. Adding the same file twice
        raises `ValueError`; two wheels of one distribution are refused at commit.
        """
        path = os.path.abspath(os.fspath(wheel))
        with self._lock:
            if self._closed:
                raise SessionClosed("the session was committed or discarded already")
            if path in self._wheels:
                raise ValueError(f"{path} was added to this session already")
            self._wheels[path] = (requested, direct_url, dict(metadata or {}))

    def remove(self, *names: str) -> None:
        """Uninstall the distributions ``names`` at `commit`, in the same transaction.

        Safe to call from any thread. A name that is not installed in the
        scheme's library directories is skipped (what a sync wants); a name that
        is also added as a wheel is refused at commit, since the wheel replaces
        the installed version anyway.
        """
        with self._lock:
            if self._closed:
                raise SessionClosed("the session was committed or discarded already")
            self._removals.update(dict.fromkeys(names))

    def __len__(self) -> int:
        """The number of wheels added (removals are not counted)."""
        with self._lock:
            return len(self._wheels)

    def commit(self) -> list[InstallResult]:
        """Install every wheel added and uninstall every name given to `remove`.

        One transaction; the results are the wheels' in the order added. On
        failure nothing was installed or removed (the environment is as before)
        and the `FastinstError` is raised; the session is closed either way.
        """
        from ._install import install

        with self._lock:
            if self._closed:
                raise SessionClosed("the session was committed or discarded already")
            self._closed = True
            wheels = dict(self._wheels)
            removals = list(self._removals)
        if not wheels and not removals:
            return []
        return install(
            list(wheels),
            self.scheme,
            requested=[w for w, (req, _u, _m) in wheels.items() if req],
            direct_url={w: url for w, (_r, url, _m) in wheels.items() if url is not None},
            metadata={w: meta for w, (_r, _u, meta) in wheels.items() if meta},
            remove=removals,
            **self.options,
        )

    def discard(self) -> None:
        """Forget the wheels added; nothing is installed."""
        with self._lock:
            self._closed = True
            self._wheels.clear()
            self._removals.clear()

    def __enter__(self) -> InstallSession:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        """Commit when the block ends normally; discard when it raises."""
        if exc_type is None:
            if not self._closed:
                self.commit()
        else:
            self.discard()
