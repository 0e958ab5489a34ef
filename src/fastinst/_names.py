"""Distribution names, normalised as PEP 503 says.

``packaging.utils.canonicalize_name`` does the same, but importing it pulls in
``packaging.tags`` and its platform probing (about 10 ms); every install
compares names, and a warm install is measured in tens of milliseconds.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """``Foo.Bar_baz`` -> ``foo-bar-baz``.

    >>> canonical_name("Babel")
    'babel'
    """
    return _SEPARATORS.sub("-", name).lower()
