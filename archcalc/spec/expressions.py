"""A small, safe evaluator for arithmetic in spec arguments.

Expressions are parsed with Python's ``ast`` and checked against a whitelist of
node types before anything is evaluated: numbers, names in scope, arithmetic,
comparisons, ``and``/``or``/``not``, ``a if c else b``, the documented
functions, and lists: ``[a, b]``, a list value's item ``widths[i]`` and ``len(widths)``.
Attribute access, slices, lambdas, comprehensions, strings and every name not in
scope are refused, and size guards stop ``10 ** 10 ** 10`` before it is computed.
Lists are values to read, never to compute with: arithmetic on one is refused (so
``[0] * 10 ** 9`` cannot fill the memory), and a list's length is bounded where
it is written (a literal by the expression's size, a YAML list in `vars:` by the
loader's limits). ``$in`` style names are renamed to ``__in`` before
parsing, since ``in`` is a Python keyword; names the user writes may therefore
not start with ``__``.

Errors carry the ``offset`` of the offending part within the written text, so
the caller can point its caret at it.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from typing import Callable, Mapping

from archcalc.limits import LIMITS


class ExpressionError(ValueError):
    """Raised without a location; the caller knows where the expression was written.

    ``offset`` is the 0-based position of the offending part in the written text
    (None when the whole expression is at fault); ``hint`` is advice for the user.
    """

    def __init__(self, message: str, offset: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint

    def __str__(self) -> str:
        return self.message


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


def _positive(name: str, x) -> None:
    if x <= 0:
        raise ExpressionError(f"{name}() needs a positive number, got {x:g}")


def _log(x, base=math.e):
    """The natural logarithm, or the one to ``base`` (RegNet's quantised widths)."""
    _positive("log", x)
    if base <= 0 or base == 1:
        raise ExpressionError(f"log() needs a positive base other than 1, got {base:g}")
    return math.log(x, base)


def _log2(x):
    _positive("log2", x)
    return math.log2(x)


def _exp(x):
    if x > 41:  # e ** 41.5 passes the largest value an expression may have
        raise ExpressionError(f"exp({x:g}) is too large (more than e ** 41)")
    return math.exp(x)


def _sqrt(x):
    if x < 0:
        raise ExpressionError(f"sqrt() needs a number >= 0, got {x:g}")
    return math.sqrt(x)


def _len(value):
    if not isinstance(value, tuple):
        raise ExpressionError(f"len() expected a list, got {value!r}")
    return len(value)


FUNCTIONS: dict[str, Callable] = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "ceil": _ceil,
    "floor": _floor,
    "int": int,
    "make_divisible": make_divisible,
    "log": _log,
    "log2": _log2,
    "exp": _exp,
    "sqrt": _sqrt,
    "len": _len,
}
# The functions that take a list (min and max of one, as Python's do); the others take numbers.
_LIST_FUNCTIONS = frozenset({"len", "min", "max"})

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
_DUNDER = re.compile(r"(?<![$\w])__[A-Za-z0-9_]*")
_CACHE_SIZE = 4096
# The checker and the evaluator recurse once per level of the syntax tree, so the depth
# is bounded well below Python's recursion limit, whatever the raisable size limits are.
MAX_DEPTH = 100
_cache: dict[str, "_Parsed"] = {}

ALLOWED = (
    "expressions may use numbers, names of variables and block parameters, $in/$h/$w, "
    "+ - * / // % **, comparisons, and/or/not, 'a if c else b', lists [a, b] and their items "
    "widths[i], and the functions " + ", ".join(sorted(FUNCTIONS))
)

# What to call the constructs an expression may not use.
_REFUSED = {
    ast.Attribute: "attribute access",
    ast.Slice: "slicing",
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Tuple: "a tuple (write a list as [a, b])",
    ast.Set: "a set",
    ast.Dict: "a mapping",
    ast.JoinedStr: "an f-string",
    ast.Starred: "'*' unpacking",
    ast.NamedExpr: "':=' assignment",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.BitAnd: "the bitwise operator '&'",
    ast.BitOr: "the bitwise operator '|'",
    ast.BitXor: "the bitwise operator '^'",
    ast.LShift: "the shift operator '<<'",
    ast.RShift: "the shift operator '>>'",
    ast.MatMult: "the operator '@'",
    ast.Invert: "the operator '~'",
    ast.In: "the operator 'in'",
    ast.NotIn: "the operator 'not in'",
    ast.Is: "the operator 'is'",
    ast.IsNot: "the operator 'is not'",
}


def dollar_name(name: str) -> str:
    """The scope key for a ``$name`` builtin such as ``$in``."""
    return "__" + name


class _Parsed:
    """A checked expression tree and how to map its offsets back to the written text."""

    __slots__ = ("tree", "text", "code", "lead", "shifts")

    def __init__(self, tree, text, code, lead, shifts):
        self.tree = tree
        self.text = text
        self.code = code
        self.lead = lead  # whitespace stripped from the front
        self.shifts = shifts  # positions in ``code`` where a `$x` became `__x`

    def offset(self, node, end: bool = False) -> int | None:
        """Where ``node`` starts (or, with ``end``, ends) in the written text."""
        col = getattr(node, "end_col_offset" if end else "col_offset", None)
        if col is None or getattr(node, "end_lineno" if end else "lineno", 1) != 1:
            return None
        col = len(self.code.encode("utf-8")[:col].decode("utf-8", "ignore"))
        return self.lead + col - sum(1 for s in self.shifts if s < col)


def _parse(text: str) -> _Parsed:
    parsed = _cache.get(text)
    if parsed is not None:
        return parsed
    if len(text) > LIMITS.max_expression_chars:
        raise ExpressionError(
            f"expression is {len(text):,} characters long; the limit is {LIMITS.max_expression_chars:,}",
            hint="split the arithmetic over `vars:`",
        )
    stripped = text.strip()
    lead = len(text) - len(text.lstrip())
    if not stripped:
        raise ExpressionError("expected a number or an expression, got an empty string")
    dunder = _DUNDER.search(stripped)
    if dunder:
        raise ExpressionError(
            f"names starting with '__' are not allowed in expressions, got '{dunder.group()}'",
            lead + dunder.start(),
            hint=ALLOWED,
        )
    shifts = []
    for k, m in enumerate(_DOLLAR.finditer(stripped)):
        shifts.append(m.start() + k)
    code = _DOLLAR.sub(r"__\1", stripped)
    try:
        tree = ast.parse(code, mode="eval").body
    except SyntaxError as exc:
        offset = None
        if exc.offset is not None and (exc.lineno or 1) == 1:
            col = max(exc.offset - 1, 0)
            offset = lead + col - sum(1 for s in shifts if s < col)
        problem = exc.msg
        if problem == "invalid syntax" and "," not in stripped and re.search(r"\w\s+[A-Za-z_]", stripped):
            problem = "invalid syntax (two values without an operator between them)"
        raise ExpressionError(f"cannot parse expression '{text}': {problem}", offset) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError(f"cannot parse expression '{text}': it is nested too deeply") from None
    parsed = _Parsed(tree, text, code, lead, shifts)
    size = sum(1 for _ in ast.walk(tree))
    if size > LIMITS.max_expression_nodes:
        raise ExpressionError(
            f"expression has {size} parts; the limit is {LIMITS.max_expression_nodes}",
            hint="split the arithmetic over `vars:`",
        )
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        raise ExpressionError(
            f"expression nests {depth} levels deep; the limit is {MAX_DEPTH} "
            "(each operator of a chain such as a + b + c is one level)",
            hint="split the arithmetic over `vars:`",
        )
    _check(tree, parsed)
    if len(_cache) >= _CACHE_SIZE:
        _cache.clear()
    _cache[text] = parsed
    return parsed


def _depth(tree: ast.AST) -> int:
    """The depth of a syntax tree, found with an explicit stack (no recursion)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def parse(text: str) -> ast.expr:
    """The checked syntax tree of ``text``; raises ExpressionError."""
    return _parse(text).tree


def _refuse(what: str, node, parsed: _Parsed, after: bool = False) -> ExpressionError:
    """``after`` points just past ``node`` (at the '.' of an attribute access)."""
    return ExpressionError(f"{what} is not allowed in expressions", parsed.offset(node, end=after), hint=ALLOWED)


def _check(node, parsed: _Parsed) -> None:
    """Refuse, before evaluating anything, every construct outside the whitelist."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            kind = "a string" if isinstance(node.value, str) else repr(node.value)
            raise ExpressionError(
                f"only numbers are allowed in expressions, got {kind}",
                parsed.offset(node),
                hint="write the value without quotes inside the expression",
            )
        return
    if isinstance(node, ast.Name):
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise _refuse(_REFUSED.get(type(node.op), type(node.op).__name__), node.right, parsed)
        _check(node.left, parsed)
        _check(node.right, parsed)
        return
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise _refuse(_REFUSED.get(type(node.op), type(node.op).__name__), node, parsed)
        _check(node.operand, parsed)
        return
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, parsed)
        return
    if isinstance(node, ast.Compare):
        _check(node.left, parsed)
        for op, right in zip(node.ops, node.comparators):
            if type(op) not in _COMPARE:
                raise _refuse(_REFUSED.get(type(op), type(op).__name__), right, parsed)
            _check(right, parsed)
        return
    if isinstance(node, ast.IfExp):
        for part in (node.test, node.body, node.orelse):
            _check(part, parsed)
        return
    if isinstance(node, ast.List):
        for item in node.elts:
            _check(item, parsed)
        return
    if isinstance(node, ast.Subscript):
        if isinstance(node.slice, ast.Slice):
            raise _refuse("slicing", node.slice, parsed)
        _check(node.value, parsed)
        _check(node.slice, parsed)
        return
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute):
            raise _refuse(f"attribute access ('.{func.attr}')", func.value, parsed, after=True)
        if not isinstance(func, ast.Name):
            what = _REFUSED.get(type(func), "calling anything but " + ", ".join(sorted(FUNCTIONS)))
            raise _refuse(what, func, parsed)
        if func.id not in FUNCTIONS:
            from archcalc.suggest import did_you_mean

            raise ExpressionError(
                f"unknown function '{func.id}'" + did_you_mean(func.id, FUNCTIONS),
                parsed.offset(func),
                hint="functions: " + ", ".join(sorted(FUNCTIONS)),
            )
        if node.keywords:
            raise ExpressionError(
                f"{func.id}() takes its arguments by position, not by name",
                parsed.offset(node.keywords[0].value) or parsed.offset(node),
            )
        for arg in node.args:
            _check(arg, parsed)
        return
    what = _REFUSED.get(type(node))
    if what is None:
        what = f"'{ast.unparse(node)}'"
    if isinstance(node, ast.Attribute):
        while isinstance(node.value, ast.Attribute):
            node = node.value
        raise _refuse(f"attribute access ('.{node.attr}')", node.value, parsed, after=True)
    raise _refuse(what, node, parsed)


def _check_size(value, parsed: _Parsed | None = None, node=None):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > LIMITS.max_integer:
        raise ExpressionError(
            f"result {_short(value)} is larger than {LIMITS.max_integer:.0e}",
            parsed.offset(node) if parsed else None,
        )
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExpressionError("result is not a finite number", parsed.offset(node) if parsed else None)
        if abs(value) > LIMITS.max_integer:
            raise ExpressionError(
                f"result {value:g} is larger than {LIMITS.max_integer:.0e}",
                parsed.offset(node) if parsed else None,
            )
    if isinstance(value, complex):
        raise ExpressionError("result is not a real number", parsed.offset(node) if parsed else None)
    return value


def _short(value: int) -> str:
    digits = str(abs(value))
    return str(value) if len(digits) <= 24 else f"{'-' if value < 0 else ''}{digits[0]}.{digits[1:4]}e{len(digits) - 1}"


def _power(base, exponent):
    if isinstance(exponent, (int, float)) and abs(exponent) > 64:
        raise ExpressionError(f"exponent {exponent:g} is too large (at most 64)")
    if isinstance(base, (int, float)) and abs(base) > 1 and abs(exponent) * math.log2(abs(base)) > 64:
        raise ExpressionError(f"{base:g} ** {exponent:g} is too large (more than 2 ** 64)")
    result = operator.pow(base, exponent)
    if isinstance(result, complex):
        raise ExpressionError(f"{base:g} ** {exponent:g} is not a real number")
    return result


def _numbers(what: str, values, nodes, parsed: _Parsed) -> None:
    """Refuse a list where a number is needed: lists are read, never computed with."""
    for value, node in zip(values, nodes):
        if isinstance(value, tuple):
            raise ExpressionError(
                f"{what} in '{parsed.text}' needs numbers, got a list of {len(value):,}", parsed.offset(node),
                hint="read an item of a list with widths[i]; len(widths) is its length",
            )


def _item(node: ast.Subscript, value, index, parsed: _Parsed):
    """``value[index]``: an item of a list by a whole-number index (negative from the end)."""
    if not isinstance(value, tuple):
        raise ExpressionError(f"only a list can be indexed, got {_short_value(value)} in '{parsed.text}'",
                              parsed.offset(node.value))
    if isinstance(index, float) and index.is_integer():
        index = int(index)
    if isinstance(index, bool) or not isinstance(index, int):
        raise ExpressionError(f"a list index expected a whole number, got {_short_value(index)} in '{parsed.text}'",
                              parsed.offset(node.slice))
    if not -len(value) <= index < len(value):
        raise ExpressionError(
            f"index {_short(index)} is out of range for a list of {len(value):,} in '{parsed.text}'",
            parsed.offset(node.slice),
            hint=f"indices run from 0 to {len(value) - 1} (or -1 for the last)" if value else "the list is empty",
        )
    return value[index]


def _short_value(value) -> str:
    if isinstance(value, tuple):
        return f"a list of {len(value):,}"
    if isinstance(value, bool):
        return str(value).lower()
    return _short(value) if isinstance(value, int) else f"{value:g}"


def evaluate(text: str, scope: Mapping[str, object]):
    """Evaluate ``text`` with the names in ``scope``; raises ExpressionError."""
    parsed = _parse(text)
    return _eval(parsed.tree, scope, parsed)


def names_used(text: str) -> list[str]:
    """The names an expression reads, in order of first use (``$in`` as written)."""
    try:
        parsed = _parse(text)
    except ExpressionError:
        return []
    seen: list[str] = []
    found = [n for n in ast.walk(parsed.tree) if isinstance(n, ast.Name) and n.id not in FUNCTIONS]
    for node in sorted(found, key=lambda n: (n.lineno, n.col_offset)):
        shown = "$" + node.id[2:] if node.id.startswith("__") else node.id
        if shown not in seen:
            seen.append(shown)
    return seen


def _unknown_name(node: ast.Name, scope: Mapping[str, object], parsed: _Parsed) -> ExpressionError:
    from archcalc.suggest import did_you_mean

    name = node.id
    where = parsed.offset(node)
    if name.startswith("__"):
        known = sorted(k for k in scope if k.startswith("__") and k.isidentifier())
        return ExpressionError(
            f"unknown name '${name[2:]}' in expression '{parsed.text}'"
            + did_you_mean(name, known, render=lambda k: "$" + k[2:]),
            where,
            hint="built-in names: " + (", ".join("$" + k[2:] for k in known) or "none here"),
        )
    known = [k for k in scope if not k.startswith("__")]
    suggestion = did_you_mean(name, known)
    visible = ", ".join(sorted(known)[:20]) + (", ..." if len(known) > 20 else "")
    in_text = "" if parsed.text.strip() == name else f" in expression '{parsed.text}'"
    return ExpressionError(
        f"undefined name '{name}'{in_text}" + suggestion,
        where,
        hint=None if suggestion else (f"names defined here: {visible}" if known else "text is read as an expression, and no variables or block parameters are defined here"),
    )


def _eval(node: ast.expr, scope: Mapping[str, object], parsed: _Parsed):
    if isinstance(node, ast.Constant):
        return _check_size(node.value, parsed, node)
    if isinstance(node, ast.Name):
        if node.id in scope:
            return scope[node.id]
        if node.id in FUNCTIONS:
            raise ExpressionError(
                f"'{node.id}' is a function; call it as {node.id}(...)", parsed.offset(node)
            )
        raise _unknown_name(node, scope, parsed)
    if isinstance(node, ast.BinOp):
        left = _eval(node.left, scope, parsed)
        right = _eval(node.right, scope, parsed)
        _numbers("arithmetic", (left, right), (node.left, node.right), parsed)
        try:
            if isinstance(node.op, ast.Pow):
                return _check_size(_power(left, right), parsed, node)
            return _check_size(_BINARY[type(node.op)](left, right), parsed, node)
        except ZeroDivisionError:
            raise ExpressionError(
                f"division by zero in '{parsed.text}'", parsed.offset(node.right)
            ) from None
        except ExpressionError as exc:
            if exc.offset is None:
                exc.offset = parsed.offset(node)
            raise
        except (TypeError, OverflowError, ValueError) as exc:
            raise ExpressionError(f"cannot compute '{parsed.text}': {exc}", parsed.offset(node)) from None
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, scope, parsed)
        if not isinstance(node.op, ast.Not):
            _numbers("arithmetic", (operand,), (node.operand,), parsed)
        return _check_size(_UNARY[type(node.op)](operand), parsed, node)
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_eval(v, scope, parsed) for v in node.values)
        return any(_eval(v, scope, parsed) for v in node.values)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, scope, parsed)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, scope, parsed)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError as exc:
                raise ExpressionError(f"cannot compare in '{parsed.text}': {exc}", parsed.offset(node)) from None
            left = right
        return True
    if isinstance(node, ast.IfExp):
        if _eval(node.test, scope, parsed):
            return _eval(node.body, scope, parsed)
        return _eval(node.orelse, scope, parsed)
    if isinstance(node, ast.List):
        return tuple(_eval(item, scope, parsed) for item in node.elts)
    if isinstance(node, ast.Subscript):
        return _item(node, _eval(node.value, scope, parsed), _eval(node.slice, scope, parsed), parsed)
    if isinstance(node, ast.Call):
        name = node.func.id  # type: ignore[attr-defined]  # _check allows only plain names
        args = [_eval(a, scope, parsed) for a in node.args]
        if name not in _LIST_FUNCTIONS:
            _numbers(f"{name}()", args, node.args, parsed)
        try:
            return _check_size(FUNCTIONS[name](*args), parsed, node)
        except ExpressionError as exc:
            if exc.offset is None:
                exc.offset = parsed.offset(node)
            raise
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
            raise ExpressionError(f"{name}() in '{parsed.text}': {exc}", parsed.offset(node)) from None
    raise _refuse(f"'{ast.unparse(node)}'", node, parsed)  # unreachable after _check
