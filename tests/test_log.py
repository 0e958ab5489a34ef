"""``_log``: records reach ``logging.getLogger("fastinst")`` as before, and ``logging``
is imported only when one can go somewhere."""

from __future__ import annotations

import logging
import subprocess
import sys

from fastinst._log import DEBUG, ERROR, INFO, WARNING, logger


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys\nfrom fastinst import _log\n" + code],
        capture_output=True,
        text=True,
        check=True,
    )


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def the_caller() -> None:
    logger.debug("d %s", 1)
    logger.info("i %s", 2)
    logger.warning("w %s", 3)
    logger.error("e %s", 4)
    logger.log(WARNING, "l %s", 5)


def test_an_embedders_handler_gets_every_record_from_the_caller():
    fastinst = logging.getLogger("fastinst")
    handler, level = Records(), fastinst.level
    fastinst.addHandler(handler)
    fastinst.setLevel(logging.DEBUG)
    try:
        the_caller()
    finally:
        fastinst.removeHandler(handler)
        fastinst.setLevel(level)
    got = [(r.name, r.levelno, r.getMessage(), r.funcName) for r in handler.records]
    assert got == [
        ("fastinst", DEBUG, "d 1", "the_caller"),
        ("fastinst", INFO, "i 2", "the_caller"),
        ("fastinst", WARNING, "w 3", "the_caller"),
        ("fastinst", ERROR, "e 4", "the_caller"),
        ("fastinst", WARNING, "l 5", "the_caller"),
    ]


def test_unconfigured_below_warning_is_dropped_without_logging():
    proc = run(
        "_log.logger.debug('d'); _log.logger.info('i')\n"
        "assert not _log.logger.isEnabledFor(_log.INFO)\n"
        "assert 'logging' not in sys.modules\n"
        "_log.logger.warning('w %s', 1)\n"
        "assert 'logging' in sys.modules\n"
    )
    assert proc.stderr == "w 1\n"  # logging's last resort, as before


def test_the_command_lines_handler_waits_for_a_record_that_passes():
    proc = run(
        "_log.configure(_log.ERROR, sys.stderr, 'x: %(message)s')\n"
        "_log.configure(_log.WARNING, sys.stderr, 'fastinst: %(message)s')\n"
        "_log.logger.info('quiet')\n"
        "assert 'logging' not in sys.modules\n"
        "_log.logger.warning('said %s', 'once')\n"
        "_log.configure(_log.INFO, sys.stderr, 'fastinst: %(message)s')\n"
        "_log.logger.info('again')\n"
    )
    assert proc.stderr == "fastinst: said once\nfastinst: again\n"


def test_the_command_lines_handler_is_attached_once_logging_is_there():
    """Someone else imported logging (a plugin, a sitecustomize): records below the
    level still go nowhere, and those above go out once."""
    proc = run(
        "_log.configure(_log.WARNING, sys.stderr, 'fastinst: %(message)s')\n"
        "import logging\n"
        "_log.logger.info('no')\n"
        "assert [h for h in logging.getLogger('fastinst').handlers if h.fastinst_cli]\n"
        "_log.logger.warning('yes')\n"
    )
    assert proc.stderr == "fastinst: yes\n"
