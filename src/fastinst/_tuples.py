"""``typing.NamedTuple`` for fastinst's own records, without its cost at import.

With ``from __future__ import annotations`` every field annotation is a string,
and ``typing.NamedTuple`` turns each into a ``typing.ForwardRef``, which calls
``compile()``: the first call in a process builds the interpreter's AST types,
about 10 million instructions (2-3 ms), more than a warm install of a small wheel
spends on its own work. This `NamedTuple` makes the same classes (a
``collections.namedtuple`` with the fields, defaults, docstring, methods and the
annotations kept as written); type checkers see ``typing.NamedTuple``.

>>> class Point(NamedTuple):
...     x: int
...     y: int = 0
>>> Point(1), Point(1)._replace(y=2), Point._fields
(Point(x=1, y=0), Point(x=1, y=2), ('x', 'y'))
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    import collections

    # What a class body holds besides its fields that the namedtuple has already.
    _SPECIAL = frozenset(
        ("__module__", "__qualname__", "__annotations__", "__dict__", "__weakref__")
    )

    class _Meta(type):
        def __new__(mcls, name, bases, ns):
            if not bases:  # NamedTuple itself
                return super().__new__(mcls, name, bases, ns)
            annotations = ns.get("__annotations__", {})
            fields = list(annotations)
            defaults = [ns[f] for f in fields if f in ns]
            cls = collections.namedtuple(name, fields, defaults=defaults, module=ns["__module__"])
            cls.__annotations__ = dict(annotations)
            cls.__qualname__ = ns.get("__qualname__", name)
            for key, value in ns.items():
                if key not in _SPECIAL and key not in annotations:
                    setattr(cls, key, value)
            return cls

    class NamedTuple(metaclass=_Meta):
        """A base class: ``class Point(NamedTuple): x: int``."""
