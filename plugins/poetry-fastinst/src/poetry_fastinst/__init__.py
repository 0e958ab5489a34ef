"""Poetry installs wheels with fastinst (opt in by a setting)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from poetry.installation import executor as _executor
from poetry.installation.wheel_installer import WheelInstaller
from poetry.plugins.application_plugin import ApplicationPlugin

if TYPE_CHECKING:
    from poetry.console.application import Application

_application: Application | None = None


def enabled() -> bool:
    """``POETRY_FASTINST`` if set, else the project's ``[tool.poetry-fastinst] enable``."""
    env = os.environ.get("POETRY_FASTINST")
    if env is not None:
        return env.strip().lower() in ("1", "true", "yes", "on")
    if _application is None:
        return False
    try:
        tool = _application.poetry.pyproject.data.get("tool", {})
    except Exception:  # no project here (poetry self ..., poetry new ...)
        return False
    return bool(tool.get("poetry-fastinst", {}).get("enable", False))


class FastinstWheelInstaller(WheelInstaller):
    """Poetry's wheel installer, with fastinst doing the install when enabled."""

    def install(self, wheel: Path) -> None:
        if not enabled():
            return super().install(wheel)
        from poetry.__version__ import __version__

        import fastinst

        scheme: dict[str, Any] = self._env.scheme_dict.copy()
        distribution = wheel.name.split("-")[0]
        scheme["headers"] = str(Path(scheme["include"]) / distribution)  # as Poetry does
        levels = tuple(self._bytecode_optimization_levels)
        [result] = fastinst.install(
            [wheel],
            scheme,
            interpreter=str(self._env.python),
            installer_name=None,
            metadata={wheel: {"INSTALLER": f"Poetry {__version__}".encode()}},
            verify_record="report",  # Poetry warns about a bad RECORD and installs
            skip_pycache=True,
            ignore_tags=True,  # the tool selected the wheel for this interpreter
            ignore_requires_python=True,
            compile_bytecode=bool(levels),
            optimization_levels=levels or (0,),
        )
        if result.record_issues:
            self.invalid_wheels[wheel] = list(result.record_issues)


class FastinstPlugin(ApplicationPlugin):
    def activate(self, application: Application) -> None:
        global _application
        _application = application
        # The executor builds its WheelInstaller by this name.
        _executor.WheelInstaller = FastinstWheelInstaller  # type: ignore[misc]
