"""Distribution names, normalised as PEP 503 says.

``packaging.utils.canonicalize_name`` does the same, but importing it pulls in
``packaging.tags`` and its platform probing (about 10 ms); every install
compares names, and a warm install is measured in tens of milliseconds.
"""

from __future__ import annotations


def canonical_name(name: str) -> str:
    """``Foo.Bar_baz`` -> ``foo-bar-baz``.

    >>> canonical_name("Babel")
    'babel'
    """
    out = name.replace("_", "-").replace(".", "-").lower()
    while "--" in out:  # a run of separators is one "-" (no regex: none compiled at import)
        out = out.replace("--", "-")
    return out
