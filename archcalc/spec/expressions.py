"""A small, safe evaluator for arithmetic in spec arguments.

Expressions are parsed with Python's ``ast`` and walked over a whitelist of node
types: numbers, names in scope, arithmetic, comparisons, ``and``/``or``/``not``,
``a if c else b`` and the documented functions. Attribute access, subscripts,
lambdas, comprehensions and every name not in scope are refused, and size guards
stop ``10 ** 10 ** 10`` before it is computed. ``$in`` style names are renamed to
``__in`` before parsing, since ``in`` is a Python keyword.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from typing import Callable, Mapping

from archcalc.limits import LIMITS


class ExpressionError(ValueError):
    """Raised without a location; the caller knows where the expression was written."""


def make_divisible(value, divisor=8, min_value=None):
    """Round channels to a multiple of divisor, never more than 10% down (MobileNet)."""
    divisor = int(divisor)
    if divisor <= 0:
        raise ExpressionError("make_divisible needs a positive divisor")
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


def _ceil(x):
    return math.ceil(x)


def _floor(x):
    return math.floor(x)


FUNCTIONS: dict[str, Callable] = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "ceil": _ceil,
    "floor": _floor,
    "int": int,
    "make_divisible": make_divisible,
}

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_cache: dict[str, ast.expr] = {}


def dollar_name(name: str) -> str:
    """The scope key for a ``$name`` builtin such as ``$in``."""
    return "__" + name


def parse(text: str) -> ast.expr:
    tree = _cache.get(text)
    if tree is not None:
        return tree
    if len(text) > LIMITS.max_expression_chars:
        raise ExpressionError(
            f"expression is longer than {LIMITS.max_expression_chars} characters"
        )
    try:
        tree = ast.parse(_DOLLAR.sub(r"__\1", text.strip()), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse expression '{text}': {exc.msg}") from None
    if sum(1 for _ in ast.walk(tree)) > LIMITS.max_expression_nodes:
        raise ExpressionError(
            f"expression has more than {LIMITS.max_expression_nodes} parts"
        )
    _cache[text] = tree
    return tree


def _check_size(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > LIMITS.max_integer:
        raise ExpressionError(f"result exceeds {LIMITS.max_integer:.0e}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError("result is not a finite number")
    if isinstance(value, float) and abs(value) > LIMITS.max_integer:
        raise ExpressionError(f"result exceeds {LIMITS.max_integer:.0e}")
    return value


def _power(base, exponent):
    if isinstance(exponent, (int, float)) and abs(exponent) > 64:
        raise ExpressionError(f"exponent {exponent} is too large (at most 64)")
    if isinstance(base, (int, float)) and abs(base) > 1 and abs(exponent) * math.log2(abs(base)) > 64:
        raise ExpressionError(f"{base} ** {exponent} is too large")
    return operator.pow(base, exponent)


def evaluate(text: str, scope: Mapping[str, object]):
    """Evaluate ``text`` with the names in ``scope``; raises ExpressionError."""
    return _eval(parse(text), scope, text)


def _unknown_name(name: str, scope: Mapping[str, object]) -> ExpressionError:
    from archcalc.suggest import did_you_mean

    if name.startswith("__"):
        shown = "$" + name[2:]
        known = [k for k in scope if k.startswith("__")]
        return ExpressionError(
            f"unknown name '{shown}' in expression"
            + did_you_mean(name, known, render=lambda k: "$" + k[2:])
        )
    known = [k for k in scope if not k.startswith("__")] + list(FUNCTIONS)
    return ExpressionError(f"undefined name '{name}' in expression" + did_you_mean(name, known))


def _eval(node: ast.expr, scope: Mapping[str, object], text: str):
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float)):
            return _check_size(node.value)
        raise ExpressionError(f"only numbers are allowed in expressions, got {node.value!r}")
    if isinstance(node, ast.Name):
        if node.id in scope:
            return scope[node.id]
        raise _unknown_name(node.id, scope)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _eval(node.left, scope, text)
        right = _eval(node.right, scope, text)
        try:
            if isinstance(node.op, ast.Pow):
                return _check_size(_power(left, right))
            return _check_size(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise ExpressionError(f"division by zero in '{text}'") from None
        except (TypeError, OverflowError) as exc:
            raise ExpressionError(f"cannot compute '{text}': {exc}") from None
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand, scope, text))
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, scope, text) for v in node.values)
        if isinstance(node.op, ast.And):
            return all(values)
        return any(values)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, scope, text)
        for op, right_node in zip(node.ops, node.comparators):
            if type(op) not in _COMPARE:
                break
            right = _eval(right_node, scope, text)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        else:
            return True
    if isinstance(node, ast.IfExp):
        if _eval(node.test, scope, text):
            return _eval(node.body, scope, text)
        return _eval(node.orelse, scope, text)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in FUNCTIONS
        and not node.keywords
    ):
        args = [_eval(a, scope, text) for a in node.args]
        try:
            return _check_size(FUNCTIONS[node.func.id](*args))
        except ExpressionError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExpressionError(f"{node.func.id}() in '{text}': {exc}") from None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        raise ExpressionError(
            f"unknown function '{node.func.id}'; available: {', '.join(sorted(FUNCTIONS))}"
        )
    raise ExpressionError(
        f"'{ast.unparse(node)}' is not allowed in an expression "
        "(numbers, names, arithmetic, comparisons, 'a if c else b' and "
        f"{', '.join(sorted(FUNCTIONS))} only)"
    )
