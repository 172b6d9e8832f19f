"""Turning a written argument into the typed value a layer kind expects.

A value may be written as a literal or as an expression string; expressions are
evaluated in the scope of the place they are used. Messages follow the pattern
"expected X, got Y" so the user sees both what is wanted and what was read.
"""

from __future__ import annotations

from typing import Any, Mapping

from archcalc.ops.base import Field
from archcalc.spec.expressions import ExpressionError, evaluate


class FieldError(ValueError):
    """A value does not fit its field; the caller attaches the location."""


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def number(raw: Any, scope: Mapping[str, object], what: str):
    """A number from a literal or an expression string."""
    if isinstance(raw, bool):
        raise FieldError(f"{what} expected a number, got {_shown(raw)}")
    if isinstance(raw, (int, float)):
        return raw
    if isinstance(raw, str):
        try:
            value = evaluate(raw, scope)
        except ExpressionError as exc:
            raise FieldError(f"{what}: {exc}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldError(f"{what} expected a number, got {_shown(value)} from '{raw}'")
        return value
    raise FieldError(f"{what} expected a number, got {type(raw).__name__} {_shown(raw)}")


def integer(raw: Any, scope: Mapping[str, object], what: str, minimum=None, maximum=None) -> int:
    value = number(raw, scope, what)
    if isinstance(value, float):
        if not value.is_integer():
            raise FieldError(f"{what} expected an integer, got {value:g}")
        value = int(value)
    if minimum is not None and value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise FieldError(f"{what} expected {kind}, got {value}")
    if maximum is not None and value > maximum:
        raise FieldError(f"{what} expected at most {maximum}, got {value}")
    return value


def _pair(raw, scope, what, minimum):
    if isinstance(raw, list):
        if len(raw) != 2:
            raise FieldError(f"{what} expected n or [h, w], got a list of {len(raw)}")
        return tuple(integer(v, scope, what, minimum) for v in raw)
    value = integer(raw, scope, what, minimum)
    return (value, value)


def _float(raw, scope, what, minimum, maximum):
    value = float(number(raw, scope, what))
    if minimum is not None and value < minimum:
        raise FieldError(f"{what} expected a number >= {minimum}, got {value:g}")
    if maximum is not None and value > maximum:
        raise FieldError(f"{what} expected a number <= {maximum}, got {value:g}")
    return value


def _bool(raw, scope, what):
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        try:
            value = evaluate(raw, scope)
        except ExpressionError:
            value = None
        if isinstance(value, bool):
            return value
    raise FieldError(f"{what} expected true or false, got {_shown(raw)}")


def _padding(raw, scope, what):
    if raw in ("same", "valid"):
        return raw
    try:
        return _pair(raw, scope, what, 0)
    except FieldError as exc:
        raise FieldError(f"{exc} (or 'same' / 'valid')") from None


def _table(raw, scope, what):
    if not isinstance(raw, list) or not all(isinstance(row, list) for row in raw):
        raise FieldError(f"{what} expected a list of lists of input channels")
    return tuple(tuple(integer(v, scope, what, 0) for v in row) for row in raw)


def convert(field: Field, raw: Any, scope: Mapping[str, object], owner: str):
    """The typed value of ``raw`` for ``field``; ``owner`` names the kind in messages."""
    what = f"{owner} argument '{field.name}'"
    if raw is None:
        if field.default is None:
            return None
        raise FieldError(f"{what} expected a value, got null")
    if field.type == "int":
        return integer(raw, scope, what, field.minimum, field.maximum)
    if field.type == "pair":
        return _pair(raw, scope, what, field.minimum)
    if field.type == "padding":
        return _padding(raw, scope, what)
    if field.type == "float":
        return _float(raw, scope, what, field.minimum, field.maximum)
    if field.type == "bool":
        return _bool(raw, scope, what)
    if field.type == "table":
        return _table(raw, scope, what)
    if field.type == "choice":
        if raw not in field.choices:
            raise FieldError(f"{what} expected one of {', '.join(field.choices)}, got {_shown(raw)}")
        return raw
    raise AssertionError(f"unknown field type {field.type}")
