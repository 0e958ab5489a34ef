"""A griffe extension for the API reference: docstring examples as code blocks.

The public docstrings keep doctest examples (``>>>``) that the tests run, in
sphinx style, where griffe leaves them as text: Markdown then reads ``>>>`` as
three nested blockquotes and shows ``# doctest: +SKIP`` to the reader. This
turns every example into a fenced ``pycon`` block, without the doctest
directives, as the site is built (mkdocs.yml names it); the docstrings stay as
they are.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

_DIRECTIVE = re.compile(r"\s*#\s*doctest:.*$")


def fence_examples(text: str) -> str:
    """``>>>`` blocks (with their output, up to a blank line) as fenced code.

    >>> text = "Text.\\n\\n>>> f()  # doctest" ": +SKIP\\n1\\n\\nMore."
    >>> print(fence_examples(text).replace(">>>", "PS1"))
    Text.
    <BLANKLINE>
    ```pycon
    PS1 f()
    1
    ```
    <BLANKLINE>
    More.
    """
    out: list[str] = []
    block: list[str] = []
    for line in [*text.splitlines(), ""]:
        stripped = line.strip()
        if not block and stripped.startswith(">>>"):
            block.append(_DIRECTIVE.sub("", stripped))
        elif block and stripped:
            block.append(_DIRECTIVE.sub("", line.rstrip()).strip())
        else:
            if block:
                out += ["```pycon", *block, "```"]
                block = []
            out.append(line)
    return "\n".join(out[:-1])


class DoctestBlocks(Extension):
    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_examples(obj.docstring.value)
