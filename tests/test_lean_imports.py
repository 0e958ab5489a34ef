"""What a warm install does without ``json``, ``re`` and ``base64`` (#15: they and
``enum`` cost it more than its own work) does exactly what they did."""

from __future__ import annotations

import copy
import json
import pickle
import re
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastinst._jsontext import dumps, loads
from fastinst._paths import _versioned_interpreter
from fastinst._records import encode_hash
from fastinst._tags import _clause
from fastinst._tuples import NamedTuple

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(VALUES)
@settings(max_examples=300, deadline=None)
def test_dumps_is_json_dumps(value):
    assert dumps(value) == json.dumps(value)
    assert dumps(value, sort_keys=True) == json.dumps(value, sort_keys=True)


def outcome(load, data):
    try:
        return "ok", json.dumps(load(data))  # (NaN != NaN: compare the texts)
    except (ValueError, TypeError) as exc:
        return type(exc).__name__, str(exc)


@given(VALUES)
@settings(max_examples=300, deadline=None)
def test_loads_reads_what_json_writes(value):
    text = json.dumps(value)
    assert outcome(loads, text) == outcome(json.loads, text)
    assert outcome(loads, text.encode()) == outcome(json.loads, text.encode())


@given(st.text(alphabet=' \t\n\r{}[]",:0123456789.eE+-tnrufalsNIy\\\x00é\ufeff', max_size=20))
@settings(max_examples=500, deadline=None)
def test_loads_of_anything_is_json_loads(text):
    """Errors, extra data, whitespace: json's answer, json's exception."""
    assert outcome(loads, text) == outcome(json.loads, text)


@given(st.binary(max_size=12))
@settings(max_examples=300, deadline=None)
def test_loads_of_any_bytes_is_json_loads(data):
    """Other encodings (UTF-16, a BOM) and bad UTF-8 too."""
    assert outcome(loads, data) == outcome(json.loads, data)


@pytest.mark.parametrize("data", [b'\xef\xbb\xbf{"a": 1}', '{"a": 1}'.encode("utf-16"), b" [1] x"])
def test_loads_hands_what_it_cannot_read_to_json(data):
    assert outcome(loads, data) == outcome(json.loads, data)


@given(st.binary(max_size=64))
def test_encode_hash_is_urlsafe_base64(digest):
    import base64

    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert encode_hash(digest) == f"sha256={expected}"


_CLAUSE = re.compile(r"\s*(~=|==|!=|<=|>=|<|>)\s*([0-9]+(?:\.[0-9]+)*)(\.\*)?\s*")


@given(st.text(alphabet=" \t\u3000~=!<>.*0123456789²a", max_size=12))
@settings(max_examples=1000, deadline=None)
def test_requires_python_clause_is_the_pattern(text):
    match = _CLAUSE.fullmatch(text)
    expected = None if match is None else (match[1], match[2], match[3] is not None)
    assert _clause(text) == expected


_VERSIONED = re.compile(r"pythonw?3\.[0-9]{1,3}t|python3\.[0-9]{1,3}")


@given(st.text(alphabet="pythonw3.12t4\u0663", max_size=14))
@settings(max_examples=1000, deadline=None)
def test_versioned_interpreter_is_the_pattern(name):
    assert _versioned_interpreter(name) == (_VERSIONED.fullmatch(name) is not None)


@pytest.mark.parametrize(
    "name",
    ["python3.12", "python3.13t", "pythonw3.13t", "pythonw3.12", "python3.", "python3.1234",
     "python3.12tt", "python3"],
)  # fmt: skip
def test_versioned_interpreter_names(name):
    assert _versioned_interpreter(name) == (_VERSIONED.fullmatch(name) is not None)


def test_loads_without_json_imported_raises_jsons_errors():
    """A torn journal line, read by a process that never imported ``json``."""
    import subprocess
    import sys

    texts = ['["abc', '["a", "b', '{"a": [1, ', "[1] x", ""]
    code = (
        "from fastinst._jsontext import loads\n"
        f"for text in {texts!r}:\n"
        "    try:\n"
        "        loads(text)\n"
        "    except ValueError as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["JSONDecodeError"] * len(texts)


# --- _tuples.NamedTuple and _errors.suppress, against what they stand in for ----------


def _calls(cls):
    """What a record class does with good and bad calls, as comparable values."""
    out = []
    for args, kwargs in [((), {}), ((1,), {}), ((1, 2), {}), ((1, 2, 3), {}), ((1, 2, 3, 4), {}),
                         ((), {"a": 1}), ((1,), {"b": 2}), ((1,), {"a": 2}),
                         ((), {"a": 1, "c": 3}), ((), {"z": 1})]:  # fmt: skip
        try:
            value = cls(*args, **kwargs)
        except TypeError as exc:  # the message names the class's __new__ differently
            out.append(("TypeError", str(exc).split("() ", 1)[-1]))
            continue
        out.append((repr(value), tuple(value), value._asdict(), hash(value) == hash(tuple(value))))
        out.append(value._replace(a=9))
        out.append(pickle.loads(pickle.dumps(value)) == value)
        out.append(copy.deepcopy(value) == value)
        try:
            value._replace(z=1)
        except (TypeError, ValueError) as exc:  # ValueError before 3.13
            out.append((type(exc).__name__, str(exc)))
        with pytest.raises(AttributeError):
            value.a = 5
    out += [cls._fields, cls._field_defaults, cls.__match_args__, cls._make([7, 8, 9]),
            cls.__doc__, list(cls.__annotations__), cls.b.__doc__]  # fmt: skip
    return out


class Mine(NamedTuple):
    """A record."""

    a: int
    b: str = "x"
    c: tuple[int, ...] = ()

    def twice(self) -> int:
        return self.a * 2


class Theirs(typing.NamedTuple):
    """A record."""

    a: int
    b: str = "x"
    c: tuple[int, ...] = ()

    def twice(self) -> int:
        return self.a * 2


def test_named_tuple_is_typing_named_tuple():
    """The same behaviour as ``typing.NamedTuple`` (a ``collections.namedtuple``),
    for good calls and bad, without ``collections``."""
    mine, theirs = _calls(Mine), _calls(Theirs)
    assert [repr(x).replace("Mine", "T") for x in mine] == [
        repr(x).replace("Theirs", "T") for x in theirs
    ]
    assert Mine(3).twice() == 6 and Mine(1, "y") == (1, "y", ()) and isinstance(Mine(1), tuple)
    with pytest.raises(TypeError):
        Mine._make([1])


def test_suppress_is_contextlib_suppress():
    import contextlib

    from fastinst._errors import suppress

    for kinds in [(OSError,), (KeyError, ValueError), ()]:
        for raised in (FileNotFoundError, KeyError, ValueError, TypeError, None):
            outcomes = []
            for make in (suppress, contextlib.suppress):
                try:
                    with make(*kinds):
                        if raised is not None:
                            raise raised("x")
                    outcomes.append("passed")
                except BaseException as exc:  # (what escapes is the point)
                    outcomes.append(type(exc).__name__)
            assert outcomes[0] == outcomes[1], (kinds, raised)
