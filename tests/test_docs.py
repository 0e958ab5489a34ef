"""The docs: the site builds (``mkdocs build --strict``), the embedding example runs,
the CLI page names every option, and the CLI modules' doctests pass."""

from __future__ import annotations

import argparse
import doctest
import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from wheelmaker import corrupt_crc, make_wheel

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_site_builds_strictly(tmp_path):
    for module in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers.python"):
        if importlib.util.find_spec(module.split(".")[0]) is None or (
            "." in module and importlib.util.find_spec(module) is None
        ):
            pytest.skip(f"{module} is not installed (pip install -e '.[test]' brings it)")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    # mkdocstrings read the docstrings: signatures and text of the public API are there.
    for text in ("compile_bytecode", "Install <code>wheels</code>", 'id="fastinst.InstallResult"',
                 "FastinstError", "get_scheme", "check_compatible"):  # fmt: skip
        assert text in api, text
    assert (tmp_path / "site" / "benchmarks" / "index.html").is_file()
    for page in sorted((tmp_path / "site").glob("*/index.html")):
        assert not rendering_defects(page.read_text()), page


def rendering_defects(page: str) -> list[str]:
    """What a reader would trip over in a built page, even when the build passes:
    examples rendered as nested blockquotes, doctest directives shown, lists run
    into their paragraph, signatures wider than the text column."""
    import html

    found = []
    if "<blockquote>\n<blockquote>" in page:  # what ">>> " becomes outside a code block
        found.append("an example rendered as nested blockquotes")
    if "doctest:" in page:
        found.append("a doctest directive shown")
    for para in re.findall(r"<p>(.*?)</p>", page, re.S):
        if re.search(r"\n\s*(?:[-*+]|\d+\.)\s", para):
            found.append(f"a list run into its paragraph: {para[:80]!r}")
    for sig in re.findall(r'<div class="doc-signature[^"]*">(.*?)</div>', page, re.S):
        text = html.unescape(re.sub(r"<[^>]+>", "", sig))
        if max(map(len, text.splitlines())) > 80:
            found.append(f"a signature wider than 80 columns: {text[:60]!r}")
    return found


def test_rendering_defects_are_found():
    """The checker finds each defect it looks for (else the test above proves nothing)."""
    assert rendering_defects("<blockquote>\n<blockquote>\n<p>import x</p>")
    assert rendering_defects("<pre><code>f()  # doctest: +SKIP</code></pre>")
    assert rendering_defects("<p>It reads:\n- one;\n- two.</p>")
    sig = '<div class="doc-signature highlight"><pre>' + "x" * 90 + "</pre></div>"
    assert rendering_defects(sig)
    assert not rendering_defects(
        '<p>Fine.</p><pre><code class="language-pycon">&gt;&gt;&gt; 1</code></pre>'
    )


def test_example_fences():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        module = importlib.import_module("griffe_doctest_blocks")
    except ImportError:
        pytest.skip("griffe is not installed")
    finally:
        sys.path.pop(0)
    assert doctest.testmod(module).failed == 0


def embedding_example() -> str:
    text = (DOCS / "embedding.md").read_text()
    match = re.search(r"<!-- tested: embedding-example -->\n```python\n(.*?)\n```", text, re.S)
    assert match, "the tested example block is missing from docs/embedding.md"
    return match.group(1)


class TestEmbeddingExample:
    @pytest.fixture
    def script(self, tmp_path) -> Path:
        path = tmp_path / "wheelhouse_sync.py"
        path.write_text(embedding_example() + "\n")
        return path

    @pytest.fixture
    def wheelhouse(self, tmp_path) -> Path:
        d = tmp_path / "wheelhouse"
        d.mkdir()
        make_wheel(d, name="demo", version="1.0", files={"demo/__init__.py": "V = 1\n"})
        make_wheel(d, name="Tool_Kit", version="2.0", files={"tool_kit.py": "K = 2\n"})
        return d

    def run(self, script: Path, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(script), *args], capture_output=True, text=True, cwd=script.parent
        )

    def test_syncs_then_is_up_to_date(self, script, wheelhouse, venv_factory):
        env = venv_factory("embedding")
        python = str(env / "bin" / "python")
        dry = self.run(script, str(wheelhouse), python, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "would install demo 1.0" in dry.stdout
        first = self.run(script, str(wheelhouse), python)
        assert first.returncode == 0, first.stderr
        lines = sorted(first.stdout.splitlines(), key=str.lower)
        assert [line.split(":")[0] for line in lines] == [
            "installed demo 1.0",
            "installed Tool_Kit 2.0",
        ]
        assert "wheelhouse_sync: demo-1.0-py3-none-any.whl:" in first.stderr  # progress, logged
        out = subprocess.run(
            [python, "-c", "import demo, tool_kit; print(demo.V, tool_kit.K)"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == "1 2"
        site = next(env.glob("lib/python*/site-packages"))
        assert (site / "demo-1.0.dist-info" / "INSTALLER").read_text() == "wheelhouse-sync\n"
        assert (site / "demo-1.0.dist-info" / "direct_url.json").is_file()
        again = self.run(script, str(wheelhouse), python)
        assert again.stdout.strip() == "up to date"

    def test_a_bad_wheel_is_reported_and_nothing_installed(self, script, wheelhouse, venv_factory):
        env = venv_factory("embedding-bad")
        bad = make_wheel(wheelhouse, name="broken", files={"broken.py": "X = 1\n" * 50})
        corrupt_crc(bad, "broken.py")
        proc = self.run(script, str(wheelhouse), str(env / "bin" / "python"))
        assert proc.returncode == 1
        assert proc.stderr.startswith(f"refused {bad}: CRC-32 mismatch")
        site = next(env.glob("lib/python*/site-packages"))
        assert not list(site.glob("demo*"))


def test_cli_page_names_every_option():
    from fastinst._cli_parser import _parser

    page = (DOCS / "cli.md").read_text()
    parser = _parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    missing = []
    for name, command in sub.choices.items():
        assert f"## fastinst {name}" in page, name
        for action in command._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help" and f"`{option}" not in page:
                    missing.append(f"{name} {option}")
    assert not missing, f"docs/cli.md does not mention: {missing}"


@pytest.mark.parametrize(
    "module",
    ["fastinst._cli", "fastinst._log", "fastinst._output", "fastinst._tags",
     "fastinst._requirements", "fastinst._tuples"],
)  # fmt: skip
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_docs_links_point_at_existing_pages():
    """Relative links between pages (mkdocs checks them too; this needs no mkdocs)."""
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.md)", page.read_text()):
            assert (DOCS / target).is_file(), f"{page.name} links to missing {target}"


def test_readme_cli_section_matches_the_parser():
    """Every option in the README's CLI synopsis exists."""
    from fastinst._cli_parser import _parser

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The command line", 1)[1].split("\n## ", 1)[0]
    section = section.split("```sh\n", 1)[1].split("```", 1)[0]  # the synopsis
    parser = _parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    known = {o for c in sub.choices.values() for a in c._actions for o in a.option_strings}
    options = set(re.findall(r"(?<![\w-])--?[a-z][\w-]*", section)) - {"-m"}  # python -m
    for option in options:
        assert option in known, f"README mentions {option}, which no command has"
    assert os.path.isfile(DOCS / "cli.md")
