"""From what the user named (paths, -r files, name==version pins) to wheel files, exactly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging import tags as ptags

from fastinst import IncompatibleWheel, InvalidWheel
from fastinst._requirements import RequirementError, collect, select
from fastinst._tags import TargetInterpreter
from wheelmaker import make_wheel

BEST = str(next(iter(ptags.sys_tags())))
TARGET = TargetInterpreter(None)


@pytest.fixture
def house(tmp_path) -> Path:
    """A --find-links directory: demo 1.0 and 1.1, tool 2.0 pure and native, junk."""
    d = tmp_path / "house"
    d.mkdir()
    make_wheel(d, name="demo", version="1.0")
    make_wheel(d, name="demo", version="1.1")
    make_wheel(d, name="Tool.Kit", version="2.0")
    make_wheel(d, name="Tool.Kit", version="2.0", tag=BEST, purelib=False)
    make_wheel(d, name="old", version="1.0", tag="cp27-cp27m-win32")
    (d / "README.txt").write_text("not a wheel")
    (d / "broken.whl").write_text("not a wheel name")
    return d


def choose(items, files=(), links=()):
    return [Path(s.path).name for s in select(collect(items, files, links), TARGET)]


class TestPins:
    def test_exact_pin_found_by_normalised_name(self, house):
        assert choose(["tool-kit==2.0"], links=[house]) == [f"Tool.Kit-2.0-{BEST}.whl"]
        assert choose(["DEMO==1.0.0"], links=[house]) == ["demo-1.0-py3-none-any.whl"]
        assert choose(["demo===1.1"], links=[house]) == ["demo-1.1-py3-none-any.whl"]

    def test_best_ranked_file_wins(self, house):
        [s] = select(collect(["tool_kit==2.0"], [], [house]), TARGET)
        assert s.path.endswith(f"-{BEST}.whl")
        assert not s.direct  # found in a directory: no direct_url.json

    @pytest.mark.parametrize("pin", ["demo>=1.0", "demo==1.*", "demo", "demo~=1.0", "demo==1.0,<2"])
    def test_only_exact_pins(self, house, pin):
        with pytest.raises(RequirementError, match="only exact pins") as info:
            choose([pin], links=[house])
        assert info.value.requirement == pin

    def test_missing_version_says_what_was_found(self, house):
        with pytest.raises(RequirementError) as info:
            choose(["demo==2.0"], links=[house])
        assert f"no matching wheel in {house}" in str(info.value)
        assert "found demo 1.0, 1.1" in str(info.value)

    def test_missing_name(self, house):
        with pytest.raises(RequirementError, match="no wheel of nothere"):
            choose(["nothere==1.0"], links=[house])

    def test_pin_without_find_links(self):
        with pytest.raises(RequirementError, match="needs --find-links"):
            choose(["demo==1.0"])

    def test_incompatible_only_candidate(self, house):
        with pytest.raises(IncompatibleWheel, match="cp27-cp27m-win32"):
            choose(["old==1.0"], links=[house])

    def test_extras_refused(self, house):
        with pytest.raises(RequirementError, match="extras need a resolver"):
            choose(["demo[fast]==1.0"], links=[house])

    def test_markers_evaluated_for_the_target(self, house):
        assert choose(['demo==1.0; python_version < "3"'], links=[house]) == []
        assert choose(['demo==1.0; python_version >= "3"'], links=[house]) == [
            "demo-1.0-py3-none-any.whl"
        ]

    def test_not_a_requirement(self):
        with pytest.raises(RequirementError, match="not a requirement"):
            choose(["==1.0"])

    def test_two_versions_of_one_name(self, house):
        with pytest.raises(RequirementError, match="another file of demo"):
            choose(["demo==1.0", "demo==1.1"], links=[house])
        assert choose(["demo==1.0", "Demo==1.0"], links=[house]) == ["demo-1.0-py3-none-any.whl"]

    def test_unreadable_find_links(self, tmp_path):
        with pytest.raises(RequirementError, match="cannot list"):
            choose(["demo==1.0"], links=[tmp_path / "nope"])


class TestPaths:
    def test_wheel_path_is_direct(self, house):
        [s] = select(collect([str(house / "demo-1.0-py3-none-any.whl")], [], []), TARGET)
        assert s.direct and s.path == str(house / "demo-1.0-py3-none-any.whl")

    def test_file_url(self, house):
        url = (house / "demo-1.0-py3-none-any.whl").as_uri()
        assert choose([f"demo @ {url}"]) == ["demo-1.0-py3-none-any.whl"]
        with pytest.raises(RequirementError, match="is a wheel of demo"):
            choose([f"other @ {url}"])

    def test_remote_url_refused(self):
        with pytest.raises(RequirementError, match="only local"):
            choose(["demo @ https://example.invalid/demo-1.0-py3-none-any.whl"])

    def test_missing_file(self, tmp_path):
        with pytest.raises(RequirementError, match="no such file"):
            choose([str(tmp_path / "demo-1.0-py3-none-any.whl")])

    def test_incompatible_file(self, house):
        with pytest.raises(IncompatibleWheel):
            choose([str(house / "old-1.0-cp27-cp27m-win32.whl")])

    def test_badly_named_file(self, tmp_path):
        bad = tmp_path / "demo.whl"
        bad.write_bytes(b"")
        with pytest.raises(InvalidWheel, match="bad wheel filename"):
            choose([str(bad)])


class TestFiles:
    def test_full_format(self, tmp_path, house, monkeypatch):
        (tmp_path / "sub").mkdir()
        (tmp_path / "sub" / "more.txt").write_text("tool-kit==2.0  # native wins\n")
        reqs = tmp_path / "requirements.txt"
        reqs.write_text(
            "# a comment\n"
            "\n"
            "--find-links house\n"
            "--no-deps\n"
            "demo==\\\n"
            "1.1 \\\n"
            "   ; python_version >= '3'\n"
            "-r sub/more.txt\n"
            "--requirement=sub/more.txt\n"  # included twice: read once
        )
        monkeypatch.chdir("/")
        assert choose([], [str(reqs)]) == ["demo-1.1-py3-none-any.whl", f"Tool.Kit-2.0-{BEST}.whl"]

    def test_paths_relative_to_the_file(self, tmp_path, house, monkeypatch):
        reqs = house / "reqs.txt"
        reqs.write_text("demo-1.0-py3-none-any.whl\n")
        monkeypatch.chdir(tmp_path)
        assert choose([], [str(reqs)]) == ["demo-1.0-py3-none-any.whl"]

    def test_error_names_file_and_line(self, tmp_path, house):
        reqs = tmp_path / "r.txt"
        reqs.write_text(f"-f {house}\n\ndemo>=1\n")
        with pytest.raises(RequirementError) as info:
            choose([], [str(reqs)])
        assert info.value.where == f"{reqs}:3"
        assert str(info.value).startswith(f"{reqs}:3: demo>=1: only exact pins")

    @pytest.mark.parametrize("line", ["--index-url https://x", "-e .", "--hash=sha256:00"])
    def test_unsupported_options(self, tmp_path, line):
        reqs = tmp_path / "r.txt"
        reqs.write_text(line + "\n")
        with pytest.raises(RequirementError, match="not supported"):
            choose([], [str(reqs)])

    def test_missing_file(self, tmp_path):
        with pytest.raises(RequirementError, match="cannot read requirements file"):
            choose([], [str(tmp_path / "nope.txt")])

    def test_include_cycle_is_read_once(self, tmp_path, house):
        (tmp_path / "a.txt").write_text(f"-r b.txt\n-f {house}\ndemo==1.0\n")
        (tmp_path / "b.txt").write_text("-r a.txt\n")
        assert choose([], [str(tmp_path / "a.txt")]) == ["demo-1.0-py3-none-any.whl"]


class TestHashes:
    def sha(self, path: Path) -> str:
        import hashlib

        return hashlib.sha256(path.read_bytes()).hexdigest()

    def test_matching_hash_in_a_file(self, tmp_path, house):
        demo = house / "demo-1.0-py3-none-any.whl"
        reqs = tmp_path / "r.txt"
        reqs.write_text(
            f"-f {house}\n"
            f"demo==1.0 \\\n    --hash=sha256:{'0' * 64} \\\n    --hash sha256:{self.sha(demo)}\n"
            f"{demo} --hash=sha256:{self.sha(demo).upper()}\n"
        )
        assert choose([], [str(reqs)]) == ["demo-1.0-py3-none-any.whl"]

    def test_hash_picks_among_files(self, tmp_path, house):
        pure = house / "Tool.Kit-2.0-py3-none-any.whl"
        reqs = tmp_path / "r.txt"
        reqs.write_text(f"-f {house}\ntool-kit==2.0 --hash=sha256:{self.sha(pure)}\n")
        assert choose([], [str(reqs)]) == ["Tool.Kit-2.0-py3-none-any.whl"]

    def test_mismatch(self, tmp_path, house):
        demo = house / "demo-1.0-py3-none-any.whl"
        reqs = tmp_path / "r.txt"
        reqs.write_text(f"{demo} --hash=sha256:{'0' * 64}\n-f {house}\n")
        with pytest.raises(
            RequirementError,
            match=f"matches none of its --hash values .its sha256 is {self.sha(demo)}",
        ):
            choose([], [str(reqs)])
        reqs.write_text(f"-f {house}\ndemo==1.0 --hash=sha256:{'0' * 64}\n")
        with pytest.raises(RequirementError, match=r"no wheel in .* matches its --hash"):
            choose([], [str(reqs)])

    def test_one_hash_requires_them_all(self, tmp_path, house):
        """As in pip ("it turns on automatically when any package has a hash"): the
        requirement without one is refused, with the hash its wheel has."""
        demo = house / "demo-1.0-py3-none-any.whl"
        chosen = house / f"Tool.Kit-2.0-{BEST}.whl"
        reqs = tmp_path / "r.txt"
        reqs.write_text(f"-f {house}\n{demo} --hash=sha256:{self.sha(demo)}\ntool-kit==2.0\n")
        with pytest.raises(RequirementError, match="has no --hash") as info:
            choose([], [str(reqs)])
        assert info.value.requirement == "tool-kit==2.0"
        assert info.value.where == f"{reqs}:3"
        assert f"tool-kit==2.0 ({reqs}:3) --hash=sha256:{self.sha(chosen)}" in str(info.value)
        # A wheel named on the command line has no hash either.
        other = make_wheel(tmp_path, name="other", version="1.0")
        reqs.write_text(f"{demo} --hash=sha256:{self.sha(demo)}\n")
        with pytest.raises(RequirementError, match="has no --hash") as info:
            choose([str(other)], [str(reqs)])
        assert f"(command line) --hash=sha256:{self.sha(other)}" in str(info.value)

    def test_require_hashes_line_and_option(self, tmp_path, house):
        demo = house / "demo-1.0-py3-none-any.whl"
        reqs = tmp_path / "r.txt"
        reqs.write_text(f"--require-hashes\n{demo}\n")
        with pytest.raises(RequirementError, match="has no --hash"):
            choose([], [str(reqs)])
        with pytest.raises(RequirementError, match="has no --hash"):
            select(collect([str(demo)], [], [], require_hashes=True), TARGET)
        reqs.write_text(f"--require-hashes\n{demo} --hash=sha256:{self.sha(demo)}\n")
        assert choose([], [str(reqs)]) == ["demo-1.0-py3-none-any.whl"]

    def test_requirements_for_other_interpreters_need_no_hash(self, tmp_path, house):
        demo = house / "demo-1.0-py3-none-any.whl"
        reqs = tmp_path / "r.txt"
        reqs.write_text(
            f"{demo} --hash=sha256:{self.sha(demo)}\n"
            f"-f {house}\ntool-kit==2.0; python_version < '3'\n"
        )
        assert choose([], [str(reqs)]) == ["demo-1.0-py3-none-any.whl"]

    @pytest.mark.parametrize("option", ["--hash=md5:00", "--hash=sha256", "--config-settings=x"])
    def test_bad_options_after_a_requirement(self, tmp_path, house, option):
        reqs = tmp_path / "r.txt"
        reqs.write_text(f"demo==1.0 {option}\n")
        with pytest.raises(RequirementError, match="--"):
            choose([], [str(reqs)])


def test_python_version_marker_uses_the_target(venv_factory, house):
    """A marker is evaluated for --python's interpreter, from the tags probe."""
    venv = venv_factory("markers")
    target = TargetInterpreter(str(venv / "bin" / "python"))
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    items = collect([f'demo==1.0; python_version == "{version}"'], [], [house])
    assert [s.path for s in select(items, target)] == [str(house / "demo-1.0-py3-none-any.whl")]
