"""``typing.NamedTuple`` for fastinst's own records, without its cost at import.

With ``from __future__ import annotations`` every field annotation is a string,
and ``typing.NamedTuple`` turns each into a ``typing.ForwardRef``, which calls
``compile()``: the first call in a process builds the interpreter's AST types,
about 10 million instructions (2-3 ms), more than a warm install of a small wheel
spends on its own work. ``collections.namedtuple`` costs too: importing
``collections`` (7 million instructions) and an ``eval`` of each class's
``__new__``. This `NamedTuple` makes the same classes (a tuple subclass with the
fields as properties, their defaults, ``_fields``, ``_make``, ``_replace``,
``_asdict``, the docstring, methods and the annotations kept as written) without
either: each ``__new__`` is a precompiled function of as many arguments, renamed
to the fields. Type checkers see ``typing.NamedTuple``.

>>> class Point(NamedTuple):
...     x: int
...     y: int = 0
>>> Point(1), Point(1)._replace(y=2), Point._fields, Point(y=3, x=2)
(Point(x=1, y=0), Point(x=1, y=2), ('x', 'y'), Point(x=2, y=3))
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    import sys as _sys

    try:
        from _collections import _tuplegetter
    except ImportError:  # not CPython
        from operator import itemgetter as _itemgetter

        def _tuplegetter(index, doc):
            return property(_itemgetter(index), doc=doc)

    _tuple_new = tuple.__new__
    _function = type(lambda: None)  # types.FunctionType, without importing types

    # ``__new__`` of 1 to 12 fields; each class gets a copy with its fields' names
    # (so keywords, defaults and the messages of a bad call are a function's own).
    def _new1(_cls, _0):
        return _tuple_new(_cls, (_0,))

    def _new2(_cls, _0, _1):
        return _tuple_new(_cls, (_0, _1))

    def _new3(_cls, _0, _1, _2):
        return _tuple_new(_cls, (_0, _1, _2))

    def _new4(_cls, _0, _1, _2, _3):
        return _tuple_new(_cls, (_0, _1, _2, _3))

    def _new5(_cls, _0, _1, _2, _3, _4):
        return _tuple_new(_cls, (_0, _1, _2, _3, _4))

    def _new6(_cls, _0, _1, _2, _3, _4, _5):
        return _tuple_new(_cls, (_0, _1, _2, _3, _4, _5))

    def _new7(_cls, _0, _1, _2, _3, _4, _5, _6):
        return _tuple_new(_cls, (_0, _1, _2, _3, _4, _5, _6))

    def _new8(_cls, _0, _1, _2, _3, _4, _5, _6, _7):
        return _tuple_new(_cls, (_0, _1, _2, _3, _4, _5, _6, _7))

    def _new9(_cls, _0, _1, _2, _3, _4, _5, _6, _7, _8):
        return _tuple_new(_cls, (_0, _1, _2, _3, _4, _5, _6, _7, _8))

    def _new10(_cls, _0, _1, _2, _3, _4, _5, _6, _7, _8, _9):
        return _tuple_new(_cls, (_0, _1, _2, _3, _4, _5, _6, _7, _8, _9))

    def _new11(_cls, _0, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10):
        return _tuple_new(_cls, (_0, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10))

    def _new12(_cls, _0, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11):
        return _tuple_new(_cls, (_0, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11))

    _NEW = (None, _new1, _new2, _new3, _new4, _new5, _new6, _new7, _new8, _new9, _new10,
            _new11, _new12)  # fmt: skip

    class _Tuple(tuple):
        """What every record shares (``collections.namedtuple``'s methods)."""

        __slots__ = ()
        _fields = ()  # (and _field_defaults: each class has its own)

        @classmethod
        def _make(cls, iterable):
            result = _tuple_new(cls, iterable)
            if len(result) != len(cls._fields):
                raise TypeError(f"Expected {len(cls._fields)} arguments, got {len(result)}")
            return result

        def _replace(self, /, **kwds):
            result = self._make(map(kwds.pop, self._fields, self))
            if kwds:  # (namedtuple's error: a ValueError before Python 3.13)
                error = TypeError if _sys.version_info >= (3, 13) else ValueError
                raise error(f"Got unexpected field names: {list(kwds)!r}")
            return result

        def _asdict(self):
            return dict(zip(self._fields, self))

        def __repr__(self):
            fields = ", ".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
            return f"{type(self).__name__}({fields})"

        def __getnewargs__(self):
            return tuple(self)

    # What a class body holds besides its fields that the class made has already.
    _SPECIAL = frozenset(("__module__", "__qualname__", "__annotations__", "__dict__",
                          "__weakref__", "__doc__"))  # fmt: skip

    class _Meta(type):
        def __new__(mcls, name, bases, ns):
            if not bases:  # NamedTuple itself
                return super().__new__(mcls, name, bases, ns)
            annotations = ns.get("__annotations__", {})
            fields = tuple(annotations)
            defaults = tuple(ns[f] for f in fields if f in ns)
            if not 0 < len(fields) < len(_NEW) or any(f.startswith("_") for f in fields):
                raise TypeError(f"{name}: 1 to {len(_NEW) - 1} fields, none starting with _")
            if any(f not in ns for f in fields[len(fields) - len(defaults) :]):
                raise TypeError(f"{name}: a field without a default follows one with a default")
            template = _NEW[len(fields)].__code__
            code = template.replace(co_varnames=("_cls", *fields), co_name="__new__")
            new = _function(code, _NEW[1].__globals__, "__new__", defaults or None)
            new.__qualname__ = f"{name}.__new__"
            body = {
                "__slots__": (),
                "__module__": ns["__module__"],
                "__qualname__": ns.get("__qualname__", name),
                "__doc__": ns.get("__doc__") or f"{name}({', '.join(fields)})",
                "__annotations__": dict(annotations),
                "__new__": new,
                "__match_args__": fields,
                "_fields": fields,
                "_field_defaults": dict(zip(fields[len(fields) - len(defaults) :], defaults)),
            }
            for i, f in enumerate(fields):
                body[f] = _tuplegetter(i, f"Alias for field number {i}")
            for key, value in ns.items():
                if key not in _SPECIAL and key not in annotations:
                    body[key] = value
            return type(name, (_Tuple,), body)

    class NamedTuple(metaclass=_Meta):
        """A base class: ``class Point(NamedTuple): x: int``."""
