"""Trust boundaries of the cache (#14): a cache directory that another user can
change, or that sits where another user can swap it, is not used.

The rule is ``_trust``'s: the cache directory is owned by the current user and no
one else can write to it, and every directory above it is the user's or root's
and writable by no one else (unless sticky, as ``/tmp``). The other user is real
(``nobody``, through ``setpriv``) and the directories are real.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
from pathlib import Path

import pytest

from fastinst import _trust
from fastinst._scheme import get_scheme

NOBODY = 65534


def needs_root() -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv")


@pytest.fixture
def shared():
    """A root-owned directory in /tmp that ``nobody`` can reach (tmp_path is private)."""
    from distro import make_shared_dir

    needs_root()
    path = make_shared_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def as_nobody(code: str, *args: str) -> None:
    """Run Python ``code`` as ``nobody`` (Debian's python3: any user can run it)."""
    from distro import run_as_nobody

    proc = run_as_nobody(["/usr/bin/python3", "-c", code, *args], env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# --- interpreter answers (probe-v2) ----------------------------------------------------------


def answer_file(cache: Path) -> Path:
    [found] = (cache / "probe-v2").glob("facts-*.json")
    return found


def plant(answer: Path, purelib: str) -> None:
    facts = json.loads(answer.read_text())
    facts["schemes"]["default"]["paths"]["purelib"] = purelib
    answer.write_text(json.dumps(facts))


@pytest.fixture
def python(venv_factory) -> str:
    return str(venv_factory("probed") / "bin" / "python")


class TestInterpreterAnswers:
    def test_under_a_directory_others_can_write(self, shared, python, caplog):
        """Another user who can write a directory above the cache can rename it
        away and put theirs in its place between the check and the use: answers
        there are not used. A sticky directory (as /tmp) is fine."""
        parent = shared / "open"
        parent.mkdir()
        cache = parent / "cache"
        right = get_scheme(python, cache_dir=cache)
        plant(answer_file(cache), "/planted")
        assert get_scheme(python, cache_dir=cache).purelib == "/planted"  # ours: used
        os.chmod(parent, 0o777)
        with caplog.at_level(logging.WARNING, logger="fastinst"):
            assert get_scheme(python, cache_dir=cache) == right
            assert get_scheme(python, cache_dir=cache) == right
        assert warnings(caplog) == [
            f"cached wheels and interpreter answers in {cache} are not used: "
            f"other users can write to {parent}"
        ]  # once
        caplog.clear()
        os.chmod(parent, 0o1777)
        with caplog.at_level(logging.WARNING, logger="fastinst"):
            assert get_scheme(python, cache_dir=cache).purelib == "/planted"
        assert warnings(caplog) == []

    def test_in_another_users_home(self, shared, python, caplog):
        """``sudo`` without ``-H``: root's cache in a user's home, in a directory root
        made. The user can move it and put theirs in its place: not used, as pip
        disables a cache whose parent is not the current user's."""
        needs_root()
        home = shared / "home"
        home.mkdir()
        cache = home / ".cache" / "fastinst"
        right = get_scheme(python, cache_dir=cache)
        plant(answer_file(cache), "/planted")
        os.chown(home, NOBODY, NOBODY)
        os.chown(home / ".cache", NOBODY, NOBODY)
        with caplog.at_level(logging.WARNING, logger="fastinst"):
            assert get_scheme(python, cache_dir=cache) == right
        assert warnings(caplog) == [
            f"cached wheels and interpreter answers in {cache} are not used: "
            f"{home} is owned by another user (uid {NOBODY})"
        ]
        # And what the user then does with it changes nothing.
        as_nobody(
            "import os, sys; os.rename(sys.argv[1], sys.argv[1] + '.old'); "
            "os.makedirs(os.path.join(sys.argv[1], 'probe-v2'))",
            str(cache),
        )
        shutil.copy(answer_file(Path(f"{cache}.old")), cache / "probe-v2")
        assert get_scheme(python, cache_dir=cache) == right

    def test_a_cache_directory_owned_by_another_user(self, shared, python, caplog):
        needs_root()
        cache = shared / "cache"
        right = get_scheme(python, cache_dir=cache)
        plant(answer_file(cache), "/planted")
        os.chown(cache, NOBODY, NOBODY)
        with caplog.at_level(logging.WARNING, logger="fastinst"):
            assert get_scheme(python, cache_dir=cache) == right
        assert warnings(caplog) == [
            f"cached wheels and interpreter answers in {cache} are not used: "
            f"it is owned by another user (uid {NOBODY})"
        ]

    def test_a_symlink_to_the_cache_is_followed_and_checked(self, tmp_path, python, caplog):
        """A link to a sound cache is fine: the real path is what is checked and used."""
        real = tmp_path / "real"
        right = get_scheme(python, cache_dir=real)
        plant(answer_file(real), "/kept")
        (tmp_path / "link").symlink_to(real)
        with caplog.at_level(logging.WARNING, logger="fastinst"):
            assert get_scheme(python, cache_dir=tmp_path / "link").purelib == "/kept"
        assert warnings(caplog) == []
        assert right.purelib != "/kept"

    def test_own_group_writable_cache_under_umask_002(self, tmp_path, python, caplog):
        """On systems that give each user a private group (and umask 002), the
        user's own directories are group-writable: that group is no one else."""
        if not _trust._private_group(os.getegid()):
            pytest.skip("the current group is not the user's private group")
        cache = tmp_path / "cache"
        cache.mkdir()
        os.chmod(cache, 0o775)
        old = os.umask(0o002)
        try:
            with caplog.at_level(logging.WARNING, logger="fastinst"):
                get_scheme(python, cache_dir=cache)
                plant(answer_file(cache), "/kept")
                assert get_scheme(python, cache_dir=cache).purelib == "/kept"
        finally:
            os.umask(old)
        assert warnings(caplog) == []
        # what fastinst makes itself is writable by the user alone, whatever the umask
        assert stat.S_IMODE((cache / "probe-v2").stat().st_mode) == 0o755

    def test_made_levels_are_the_users_alone(self, tmp_path):
        old = os.umask(0o002)
        try:
            _trust.make_dirs(str(tmp_path / "a" / "b" / "c"))
        finally:
            os.umask(old)
        for p in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
            assert stat.S_IMODE(p.stat().st_mode) == 0o755, p
