"""Turning a written argument into the typed value a layer kind expects.

A value may be written as a literal or as an expression string; expressions are
evaluated in the scope of the place they are used. Messages follow the pattern
"expected X, got Y" so the user sees both what is wanted and what was read; a
value computed by an expression is shown with the expression and the values of
the names it used.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any, Callable, Mapping

from archcalc.limits import LIMITS
from archcalc.ops.base import Field
from archcalc.spec.expressions import ExpressionError, dollar_name, evaluate, names_used
from archcalc.spec.language import describe_raw

YAML_WORDS = {"yes", "no", "on", "off", "y", "n"}
_YAML12 = "archcalc reads YAML 1.2: booleans are true and false; yes/no/on/off are text"


class FieldError(ValueError):
    """A value does not fit its field; the caller attaches the location.

    ``text`` and ``offset`` say where in a written expression the fault lies,
    so the caret can point into it; ``hint`` is advice for the user.
    """

    def __init__(self, message: str, *, text: str | None = None, offset: int | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.offset = offset
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    @classmethod
    def from_expression(cls, what: str, raw: str, exc: ExpressionError) -> "FieldError":
        return cls(f"{what}: {exc.message}", text=raw, offset=exc.offset, hint=exc.hint)


def origin(raw: Any, scope: Mapping[str, object]) -> str:
    """' from \'expr\' (a = 1, $in = 64)' for an expression; '' for a literal."""
    if not isinstance(raw, str):
        return ""
    values = []
    for name in names_used(raw):
        key = dollar_name(name[1:]) if name.startswith("$") else name
        if key in scope:
            values.append(f"{name} = {describe_raw(scope[key])}")
    return f" from '{raw}'" + (f" ({', '.join(values)})" if values else "")


def number(raw: Any, scope: Mapping[str, object], what: str):
    """A number from a literal or an expression string."""
    if isinstance(raw, bool):
        raise FieldError(f"{what} expected a number, got {describe_raw(raw)}")
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and not math.isfinite(raw) or abs(raw) > LIMITS.max_integer:
            raise FieldError(f"{what} expected a number of at most {LIMITS.max_integer:.0e}, got {describe_raw(raw)}")
        return raw
    if isinstance(raw, str):
        try:
            value = evaluate(raw, scope)
        except ExpressionError as exc:
            if raw.strip().lower() in YAML_WORDS:
                raise FieldError(f"{what} expected a number, got {describe_raw(raw)}", hint=_YAML12) from None
            raise FieldError.from_expression(what, raw, exc) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldError(f"{what} expected a number, got {describe_raw(value)}{origin(raw, scope)}")
        return value
    raise FieldError(f"{what} expected a number or an expression, got {describe_raw(raw)}")


def integer(raw: Any, scope: Mapping[str, object], what: str, minimum=None, maximum=None) -> int:
    value = number(raw, scope, what)
    if isinstance(value, float):
        if not value.is_integer():
            raise FieldError(
                f"{what} expected an integer, got {value:g}{origin(raw, scope)}",
                hint="round it with int(...), round(...), ceil(...), floor(...) or make_divisible(..., 8)"
                if isinstance(raw, str) else None,
            )
        value = int(value)
    if minimum is not None and value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise FieldError(f"{what} expected {kind}, got {value}{origin(raw, scope)}")
    if maximum is not None and value > maximum:
        raise FieldError(f"{what} expected at most {maximum:,}, got {value:,}{origin(raw, scope)}")
    return value


def _pair(raw, scope, what, minimum):
    if isinstance(raw, list):
        if len(raw) != 2:
            raise FieldError(f"{what} expected n or [h, w], got a list of {len(raw)}")
        return tuple(integer(v, scope, what, minimum, LIMITS.max_integer) for v in raw)
    if isinstance(raw, dict):
        raise FieldError(f"{what} expected n or [h, w], got a mapping")
    value = integer(raw, scope, what, minimum, LIMITS.max_integer)
    return (value, value)


def _float(raw, scope, what, minimum, maximum):
    value = float(number(raw, scope, what))
    if minimum is not None and value < minimum:
        raise FieldError(f"{what} expected a number >= {minimum}, got {value:g}{origin(raw, scope)}")
    if maximum is not None and value > maximum:
        raise FieldError(f"{what} expected a number <= {maximum}, got {value:g}{origin(raw, scope)}")
    return value


def _bool(raw, scope, what):
    if isinstance(raw, bool):
        return raw
    hint = None
    if isinstance(raw, str):
        try:
            value = evaluate(raw, scope)
        except ExpressionError:
            value = None
        if isinstance(value, bool):
            return value
        if raw.strip().lower() in YAML_WORDS:
            hint = _YAML12
    raise FieldError(f"{what} expected true or false, got {describe_raw(raw)}", hint=hint)


def _padding(raw, scope, what):
    if raw in ("same", "valid"):
        return raw
    try:
        return _pair(raw, scope, what, 0)
    except FieldError as exc:
        raise FieldError(
            exc.message, text=exc.text, offset=exc.offset,
            hint=exc.hint or "padding is n, [h, w], 'same' or 'valid'",
        ) from None


def _listed(raw, scope, what):
    """A written list, or the list value of an expression (a list in `vars:`)."""
    if isinstance(raw, str):
        try:
            return evaluate(raw, scope)
        except ExpressionError as exc:
            raise FieldError.from_expression(what, raw, exc) from None
    return raw


def _table(raw, scope, what):
    raw = _listed(raw, scope, what)
    rows = [_listed(row, scope, what) for row in raw] if isinstance(raw, (list, tuple)) else None
    if rows is None or not all(isinstance(row, (list, tuple)) for row in rows):
        raise FieldError(f"{what} expected a list of lists of input channels, got {describe_raw(raw)}")
    return tuple(tuple(integer(v, scope, what, 0, LIMITS.max_integer) for v in row) for row in rows)


def _choice(raw, scope, what, field):
    if raw not in field.choices:
        raise FieldError(f"{what} expected one of {', '.join(field.choices)}, got {describe_raw(raw)}")
    return raw


# An expression is any text but a YAML 1.1 boolean word: archcalc reads YAML 1.2, where
# `bias: yes` is the text 'yes', which no field accepts (the loader says so with a hint).
EXPR_SCHEMA = {"type": "string", "description": "an expression, e.g. \"4 * width\"",
               "not": {"pattern": "^\\s*([Yy]([Ee][Ss])?|[Nn][Oo]?|[Oo]([Nn]|[Ff][Ff]))\\s*$"}}


def bounded(kind: str, minimum=None, maximum=None) -> dict[str, Any]:
    """A JSON Schema number of ``kind`` ("integer" or "number") within the bounds."""
    literal: dict[str, Any] = {"type": kind}
    if minimum is not None:
        literal["minimum"] = minimum
    if maximum is not None:
        literal["maximum"] = maximum
    return literal


def integer_schema(minimum=None, maximum=None) -> dict[str, Any]:
    """An integer literal within the bounds, or an expression (checked when it is evaluated)."""
    return {"anyOf": [bounded("integer", minimum, maximum), EXPR_SCHEMA]}


def pair_schema(minimum=None) -> dict[str, Any]:
    one = integer_schema(minimum)
    return {"anyOf": [*one["anyOf"], {"type": "array", "items": one, "minItems": 2, "maxItems": 2}]}


class FieldType(namedtuple("FieldType", "convert schema pair", defaults=(False,))):
    """One type a :class:`~archcalc.ops.base.Field` may name: how a written value becomes the
    typed one, its JSON Schema, and how a default given as ``n`` for a pair is held."""

    __slots__ = ()
    convert: Callable[[Any, Mapping[str, object], str, Field], Any]
    schema: Callable[[Field], dict[str, Any]]
    pair: bool


TYPES: dict[str, FieldType] = {
    "int": FieldType(
        lambda raw, scope, what, f: integer(raw, scope, what, f.minimum,
                                            LIMITS.max_integer if f.maximum is None else f.maximum),
        lambda f: integer_schema(f.minimum, f.maximum),
    ),
    "pair": FieldType(lambda raw, scope, what, f: _pair(raw, scope, what, f.minimum),
                      lambda f: pair_schema(f.minimum), pair=True),
    "padding": FieldType(lambda raw, scope, what, f: _padding(raw, scope, what),
                         lambda f: {"anyOf": [{"enum": ["same", "valid"]}, *pair_schema(0)["anyOf"]]}, pair=True),
    "float": FieldType(lambda raw, scope, what, f: _float(raw, scope, what, f.minimum, f.maximum),
                       lambda f: {"anyOf": [bounded("number", f.minimum, f.maximum), EXPR_SCHEMA]}),
    "bool": FieldType(lambda raw, scope, what, f: _bool(raw, scope, what),
                      lambda f: {"anyOf": [{"type": "boolean"}, EXPR_SCHEMA]}),
    "table": FieldType(lambda raw, scope, what, f: _table(raw, scope, what),
                       lambda f: {"anyOf": [{"type": "array", "items": {"anyOf": [
                           {"type": "array", "items": integer_schema(0)}, EXPR_SCHEMA]}}, EXPR_SCHEMA]}),
    "choice": FieldType(_choice, lambda f: {"enum": list(f.choices)}),
}


def default_value(field: Field) -> Any:
    """The default in the form the field's converter would produce (``n`` -> ``(n, n)`` for a pair)."""
    if TYPES[field.type].pair and isinstance(field.default, int):
        return (field.default, field.default)
    return field.default


def convert(field: Field, raw: Any, scope: Mapping[str, object], owner: str):
    """The typed value of ``raw`` for ``field``; ``owner`` names the node in messages
    (``conv 'block1.conv1'``)."""
    kind = field.type
    # Fast paths for the values most specs are made of: an int literal in range for an
    # int, pair or padding field, a boolean for a bool field. They return exactly what
    # the general path below returns, without building its message text.
    if type(raw) is int and -LIMITS.max_integer <= raw <= LIMITS.max_integer:
        if kind == "int":
            if (field.minimum is None or raw >= field.minimum) and (
                    raw <= (LIMITS.max_integer if field.maximum is None else field.maximum)):
                return raw
        elif kind == "pair":
            if field.minimum is None or raw >= field.minimum:
                return (raw, raw)
        elif kind == "padding":
            if raw >= 0:
                return (raw, raw)
    elif type(raw) is bool and kind == "bool":
        return raw
    what = f"{owner}: argument '{field.name}'"
    if raw is None:
        if field.default is None:
            return None
        raise FieldError(f"{what} expected a value, got null")
    return TYPES[kind].convert(raw, scope, what, field)
