"""The safe expression evaluator: what it computes, and what it refuses (quickly, with a clear message)."""

from __future__ import annotations

import time

import pytest

from archcalc.limits import LIMITS
from archcalc.spec.expressions import ExpressionError, dollar_name, evaluate, make_divisible, names_used


def ev(text, **scope):
    return evaluate(text, {dollar_name(k[2:]) if k.startswith("S_") else k: v for k, v in scope.items()})


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("-3 + +2", -1),
        ("1e-5 * 2", 2e-5),
        ("1_000 + 1", 1001),
        ("min(3, 1, 2)", 1),
        ("max(3, 1, 2)", 3),
        ("round(2.5)", 2),  # Python rounds halves to even
        ("round(3.7)", 4),
        ("round(3.14159, 2)", 3.14),
        ("ceil(1.2)", 2),
        ("floor(1.8)", 1),
        ("int(3.9)", 3),
        ("abs(-4)", 4),
        ("make_divisible(32 * 0.75, 8)", 24),  # MobileNet
        ("make_divisible(32 * 0.25, 8)", 8),
        ("make_divisible(3, 8)", 8),  # never below the divisor
        ("make_divisible(10, 8)", 16),  # 8 would be more than 10% below 10
        ("make_divisible(67, 8)", 64),
        ("make_divisible(30, 8, 40)", 40),  # min_value
        ("1 < 2 < 3", True),
        ("3 < 2 < 5", False),
        ("2 == 2.0", True),
        ("1 != 1", False),
        ("3 >= 3 and 2 <= 1", False),
        ("0 or 5 > 4", True),
        ("not 0", True),
        ("2 if 1 == 0 else 1", 1),
        ("2 if 0 == 0 else 1", 2),
        ("log(8, 2)", 3.0),
        ("round(log(1000, 10))", 3),
        ("log2(1024)", 10.0),
        ("round(exp(log(7)))", 7),
        ("sqrt(2.25)", 1.5),
        ("[1, 2 + 3]", (1, 5)),
        ("[8, 16, 32][1]", 16),
        ("[8, 16, 32][-1]", 32),
        ("[[1, 2], [3]][0][1]", 2),
        ("len([4, 5, 6])", 3),
        ("len([])", 0),
        ("max([3, 9, 4])", 9),
        ("[1, 2] == [1, 2]", True),
        ("[8, 16][2.0 - 1]", 16),  # a whole float indexes, as widths[depth / 2] may
    ],
)
def test_arithmetic_functions_comparisons(text, expected):
    result = evaluate(text, {})
    assert result == expected
    assert type(result) is type(expected)


def test_list_values_are_indexed_by_expressions():
    scope = {"widths": (64, 128, 256), "i": 2, "table": ((0, 1), (1, 2, 3))}
    assert evaluate("widths[i]", scope) == 256
    assert evaluate("widths[i - 1] * 2", scope) == 256
    assert evaluate("widths[len(widths) - 1]", scope) == 256
    assert evaluate("len(table[1])", scope) == 3
    assert names_used("widths[i] + len(table)") == ["widths", "i", "table"]


def test_names_and_dollar_names():
    assert ev("4 * width", width=64) == 256
    assert ev("stride if i == 0 else 1", stride=2, i=0) == 2
    assert ev("stride if i == 0 else 1", stride=2, i=3) == 1
    # `$in` is renamed before parsing: `in` alone would be a Python keyword.
    assert ev("$in * 2", S_in=64) == 128
    assert ev("$in // 4 + $h * $w", S_in=64, S_h=7, S_w=7) == 65
    assert ev("make_divisible($in * alpha, 8)", S_in=32, alpha=0.75) == 24
    assert ev("1 if $in > 3 else 0", S_in=3) == 0
    assert names_used("2 * $in + width - max(a, 1)") == ["$in", "width", "a"]


def test_make_divisible_matches_the_mobilenet_reference():
    # tensorflow/models slim mobilenet _make_divisible
    for value in range(1, 200):
        for divisor in (4, 8, 16):
            new = max(divisor, int(value + divisor / 2) // divisor * divisor)
            if new < 0.9 * value:
                new += divisor
            assert make_divisible(value, divisor) == new


def refused(text, scope=None):
    start = time.perf_counter()
    with pytest.raises(ExpressionError) as info:
        evaluate(text, scope or {})
    assert time.perf_counter() - start < 0.5, f"refusing {text!r} took too long"
    return info.value


@pytest.mark.parametrize(
    "text, message, offset",
    [
        ("width.real", "attribute access ('.real') is not allowed in expressions", 5),
        ("a.b.c", "attribute access ('.b') is not allowed in expressions", 1),
        ("x.__class__", "names starting with '__' are not allowed in expressions, got '__class__'", 2),
        ("a[0]", "only a list can be indexed, got 1 in 'a[0]'", 0),
        ("w[0:2]", "slicing is not allowed in expressions", 2),
        ("w[1.5]", "a list index expected a whole number, got 1.5", 2),
        ("w[3]", "index 3 is out of range for a list of 3 in 'w[3]'", 2),
        ("w[-4]", "index -4 is out of range for a list of 3", 2),
        ("w[10 ** 18]", "index 1000000000000000000 is out of range for a list of 3", 2),
        ("w[10 ** 30]", "is too large", None),
        ("[0] * 10 ** 9", "arithmetic in '[0] * 10 ** 9' needs numbers, got a list of 1", 0),
        ("w + w", "arithmetic in 'w + w' needs numbers, got a list of 3", 0),
        ("-w", "arithmetic in '-w' needs numbers, got a list of 3", 1),
        ("int(w)", "int() in 'int(w)' needs numbers, got a list of 3", 4),
        ("len(a)", "len() expected a list, got 1", 0),
        ("w.index(1)", "attribute access ('.index') is not allowed", 1),
        ("log(0)", "log() needs a positive number, got 0", 0),
        ("log(8, 1)", "log() needs a positive base other than 1, got 1", 0),
        ("log2(-a)", "log2() needs a positive number, got -1", 0),
        ("sqrt(-a)", "sqrt() needs a number >= 0, got -1", 0),
        ("exp(1000)", "exp(1000) is too large (more than e ** 41)", 0),
        ("(lambda: 1)()", "lambda is not allowed in expressions", 1),
        ("lambda: 1", "lambda is not allowed in expressions", 0),
        ("[x for x in a]", "a comprehension is not allowed in expressions", 0),
        ("(x for x in a)", "a generator expression is not allowed in expressions", 0),
        ("{x: 1 for x in a}", "a comprehension is not allowed", 0),
        ("(1, 2)", "a tuple (write a list as [a, b]) is not allowed in expressions", 0),
        ("(x := 1)", "':=' assignment is not allowed", 1),
        ("1 in a", "the operator 'in' is not allowed", None),
        ("1 | 2", "the bitwise operator '|' is not allowed", None),
        ("~1", "the operator '~' is not allowed", 0),
        ("'text'", "only numbers are allowed in expressions, got a string", 0),
        ("f'{a}'", "an f-string is not allowed", 0),
        ("__import__('os')", "names starting with '__' are not allowed in expressions, got '__import__'", 0),
        ("1 + __builtins__", "names starting with '__' are not allowed", 4),
        ("open('f')", "unknown function 'open'", 0),
        ("maxx(1, 2)", "unknown function 'maxx'; did you mean 'max'?", 0),
        ("max(1, key=2)", "max() takes its arguments by position, not by name", None),
        ("a.b()", "attribute access ('.b') is not allowed", 1),
        ("widht * 2", "undefined name 'widht' in expression 'widht * 2'; did you mean 'width'?", 0),
        ("2 * $inn", "unknown name '$inn' in expression '2 * $inn'; did you mean '$in'?", 4),
        ("max", "'max' is a function; call it as max(...)", 0),
        ("1 / 0", "division by zero in '1 / 0'", 4),
        ("5 % (a - a)", "division by zero", None),
        ("(-8) ** 0.5", "is not a real number", None),
        ("1 +", "cannot parse expression '1 +': invalid syntax", None),
        ("64 channels", "two values without an operator between them", None),
        ("max(1", "'(' was never closed", None),
        ("", "expected a number or an expression, got an empty string", None),
        ("1e400", "result is not a finite number", None),
    ],
)
def test_refusals(text, message, offset):
    exc = refused(text, {"width": 3, "a": 1, "x": 2, "w": (1, 2, 3), dollar_name("in"): 8})
    assert message in str(exc)
    if offset is not None:
        assert exc.offset == offset


@pytest.mark.parametrize(
    "text",
    ["10 ** 10 ** 10", "9 ** 9 ** 9", "2 ** 64 ** 2", "10 ** 100", "(10 ** 18) * (10 ** 18)", "2 ** 1000",
     "max(10 ** 18, 1) * 100", "1e300 * 1e300", "10 ** 18 + 10 ** 18"],
)
def test_huge_numbers_are_refused_before_they_are_computed(text):
    exc = refused(text)
    assert "too large" in str(exc) or "larger than" in str(exc) or "finite" in str(exc)


def test_power_message():
    assert str(refused("10 ** 10 ** 10")) == "exponent 1e+10 is too large (at most 64)"


def test_overlong_and_oversized_expressions():
    long = "1 + " * LIMITS.max_expression_chars + "1"
    assert "characters long; the limit is 1,000" in str(refused(long))
    many = "+".join(["1"] * 300)  # 599 characters, 599 parts
    assert len(many) < LIMITS.max_expression_chars
    assert "parts; the limit is 200" in str(refused(many))
    deep = "(" * 300 + "1" + ")" * 300
    refused(deep)
    unary = "-" * 900 + "1"
    refused(unary)


def test_errors_carry_a_hint_listing_what_is_allowed():
    exc = refused("a[0:1]", {"a": (1,)})
    assert exc.hint.startswith("expressions may use numbers")
    assert "make_divisible" in exc.hint
    assert refused("nothing_here").hint == (
        "text is read as an expression, and no variables or block parameters are defined here"
    )
    assert refused("zz", {"width": 1}).hint == "names defined here: width"


def test_no_python_evaluation_side_effects(tmp_path):
    marker = tmp_path / "pwned"
    for text in (f"__import__('os').system('touch {marker}')", f"open('{marker}', 'w')", "exec('1')", "eval('1')"):
        refused(text)
    assert not marker.exists()
