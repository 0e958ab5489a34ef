"""PDM installs wheels with fastinst: one transaction per sync (opt in by a setting)."""

from __future__ import annotations

import json
import threading
import zipfile
from importlib.metadata import Distribution
from typing import TYPE_CHECKING, Any

from pdm.exceptions import InstallationError
from pdm.installers.manager import InstallManager
from pdm.installers.synchronizers import Synchronizer
from pdm.project.config import ConfigItem, ensure_boolean

if TYPE_CHECKING:
    from pdm.core import Core
    from pdm.environments import BaseEnvironment
    from pdm.models.candidates import Candidate

SETTING = "fastinst.enable"


def plugin(core: Core) -> None:
    core.add_config(
        SETTING,
        ConfigItem(
            "Install wheels with fastinst (all or nothing per sync)",
            False,
            env_var="PDM_FASTINST",
            coerce=ensure_boolean,
        ),
    )
    core.install_manager_class = FastinstInstallManager
    core.synchronizer_class = FastinstSynchronizer


def enabled(environment: BaseEnvironment) -> bool:
    return bool(environment.project.config[SETTING])


class FastinstInstallManager(InstallManager):
    """PDM's install manager, with wheels installed by fastinst when the setting is on.

    Inside a sync (``session`` set) a wheel is added to the sync's session and
    installed when the sync commits; otherwise it is installed at once.
    """

    session: Any = None  # a fastinst.InstallSession while a sync gathers wheels

    def __init__(self, environment: BaseEnvironment, **kwargs: Any) -> None:
        super().__init__(environment, **kwargs)
        self.deferred: list[Distribution] = []
        self.lock = threading.Lock()

    def _use_fastinst(self, candidate: Candidate) -> bool:
        # Editable and linked (install cache) installs stay PDM's own.
        if candidate.req.editable or self.use_install_cache:
            return False
        return enabled(self.environment)

    def install(self, candidate: Candidate) -> Distribution:
        if not self._use_fastinst(candidate):
            return super().install(candidate)
        import fastinst

        prepared = candidate.prepare(self.environment)
        wheel = prepared.build()
        metadata = {"INSTALLER": b"pdm"}
        direct_url = prepared.direct_url()
        if direct_url is not None:  # as PDM writes it
            metadata["direct_url.json"] = json.dumps(direct_url, indent=2).encode()
        if candidate.requested:
            metadata["REQUESTED"] = b""
        if self.session is not None:
            dist_info = self._dist_info(wheel)  # first: a failure here leaves nothing added
            self.session.add(wheel, metadata=metadata)
            return Distribution.at(dist_info)
        name = wheel.name.split("-")[0]
        [result] = fastinst.install(
            [wheel],
            self.environment.get_paths(name),
            interpreter=str(self.environment.interpreter.executable),
            installer_name=None,
            metadata={wheel: metadata},
            skip_pycache=True,
            verify_record=False,  # PDM does not check RECORD
            ignore_tags=True,  # the tool selected the wheel for this interpreter
            ignore_requires_python=True,
        )
        return Distribution.at(result.dist_info)

    def overwrite(self, dist: Distribution, candidate: Candidate) -> None:
        if not self._use_fastinst(candidate):
            return super().overwrite(dist, candidate)
        # fastinst replaces the installed version itself, in the same transaction.
        self.install(candidate)

    def uninstall(self, dist: Distribution) -> None:
        if self.session is not None:
            with self.lock:  # after the sync's installs are committed
                self.deferred.append(dist)
            return
        super().uninstall(dist)

    def _dist_info(self, wheel: Any) -> str:
        import os

        with zipfile.ZipFile(wheel) as zf:
            # the wheel's own .dist-info is at the top (vendored ones are deeper)
            info = next(
                top
                for top in (n.split("/")[0] for n in zf.namelist())
                if top.endswith(".dist-info")
            )
            purelib = b"Root-Is-Purelib: true" in zf.read(f"{info}/WHEEL")
        paths = self.environment.get_paths()
        return os.path.join(paths["purelib" if purelib else "platlib"], info)


class FastinstSynchronizer(Synchronizer):
    """PDM's synchronizer; with the setting on, a sync's installs are one transaction."""

    def synchronize(self) -> None:
        if self.dry_run or not enabled(self.environment):
            return super().synchronize()
        import fastinst

        manager = self.manager
        assert isinstance(manager, FastinstInstallManager)
        paths = self.environment.get_paths()
        manager.session = fastinst.InstallSession(
            paths,
            interpreter=str(self.environment.interpreter.executable),
            installer_name=None,
            skip_pycache=True,
            verify_record=False,
            ignore_tags=True,  # PDM selected the wheels for this interpreter
            ignore_requires_python=True,
        )
        try:
            super().synchronize()
            try:
                manager.session.commit()
            except fastinst.FastinstError as exc:
                raise InstallationError(f"fastinst: nothing was installed: {exc}") from exc
        finally:
            manager.session.discard()
            manager.session = None
        deferred, manager.deferred = manager.deferred, []
        for dist in deferred:
            manager.uninstall(dist)
