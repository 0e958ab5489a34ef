"""JSON for fastinst's own small files (cache entries' headers, interpreter answers,
the cache index, the journal), without importing ``json``.

``import json`` imports ``re``, and ``re`` imports ``enum``: together about a sixth
of a warm install of a small wheel, which reads three such files and writes one.
`loads` is ``json.loads`` through the same C scanner ``json`` uses
(``_json.make_scanner``, configured as ``json.loads``'s default decoder); anything
it does not take whole (a syntax error, extra data, another encoding) is handed to
``json.loads`` itself, so errors and odd inputs get exactly ``json``'s answer.
`dumps` is ``json.dumps`` with the default arguments, for the types fastinst
writes (``_probe.dumps``: the probe runs without fastinst).

>>> loads(b'{"a": [1, 2.5, "\\\\u00e9", null, true]}')
{'a': [1, 2.5, 'é', None, True]}
>>> dumps({"a": [1, "é", None]})
'{"a": [1, "\\\\u00e9", null]}'
"""

from __future__ import annotations

from ._probe import dumps as dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable


class _Defaults:
    """What ``json.JSONDecoder()`` gives its scanner."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    array_hook = None  # (Python 3.15)
    parse_constant = {
        "-Infinity": float("-inf"),
        "Infinity": float("inf"),
        "NaN": float("nan"),
    }.__getitem__


def _make_scanner() -> Callable[[str, int], tuple[Any, int]] | None:
    try:
        from _json import make_scanner

        # (the scanner reads these attributes of any object: json's own is a decoder)
        scan: Callable[[str, int], tuple[Any, int]] = make_scanner(_Defaults())  # type: ignore[arg-type]
    except Exception:  # another implementation, another version: json it is
        return None
    return scan


_scan = _make_scanner()
_WHITESPACE = " \t\n\r"  # json's


def loads(data: str | bytes | bytearray) -> Any:
    """``json.loads(data)``."""
    if _scan is not None and isinstance(data, (str, bytes, bytearray)):
        try:
            text = data if isinstance(data, str) else data.decode("utf-8")
            start = len(text) - len(text.lstrip(_WHITESPACE))
            value, end = _scan(text, start)
            if end == len(text) or not text[end:].strip(_WHITESPACE):
                return value
        except Exception:
            # StopIteration, json's errors, and on CPython 3.11 a SystemError: the C
            # scanner looks for JSONDecodeError among the modules already imported.
            pass
    import json

    return json.loads(data)
