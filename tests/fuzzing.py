"""Shared by the fuzz and corpus tests: run one spec text through the whole pipeline.

Every input must either analyse (shapes, totals, `expect:` figures checked, its
warnings found) or raise a SpecError that names the file, a line and a column inside
it. Reading on after errors, as `archcalc check` does, must find the same first error,
and none where there is none: warnings and the collecting of errors never hide one.
Anything else, including taking longer than TIME_LIMIT seconds, is a bug.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager

import archcalc
from archcalc.errors import SpecError, SpecErrors
from archcalc.expect import check_expectations
from archcalc.lint import CODES, lint

FUZZ_NAME = "fuzz.yaml"
MARKER = "MARKER"
# Text an attacker would put in a spec (tests/test_untrusted.py crosses it with every field
# and output; the fuzz tests mix it into keys and values). Line breaks in every position,
# each line break Python knows (a comment must not end at any of them), terminal escapes,
# rich markup, mathtext, Markdown, HTML/XML, DOT and GitHub syntax, quotes and backslashes,
# NUL and other control characters, bidirectional overrides.
_RUN = f"import os; open({MARKER!r}, 'w') #"
HOSTILE = {
    "newline_start": "\n" + _RUN,
    "newline_middle": "x\n" + _RUN,
    "newline_end": "x\n",
    "newlines_indented": "x\n  ::warning::pwned\n  n9[evil]",
    "cr_start": "\r" + _RUN,
    "cr_middle": "x\r" + _RUN,
    "cr_end": "x\r",
    "crlf": "x\r\n" + _RUN,
    **{f"python_break_{ord(c):04x}": "x" + c + _RUN for c in "\f\v\x1c\x1d\x1e\x85\u2028\u2029"},
    "escape_clear": "\x1b[2J\x1b[Hgone",
    "osc8_link": "\x1b]8;;https://example.com\x1b\\click\x1b]8;;\x1b\\",
    "rich_markup": "[link=https://example.com]x[/link][/bold][red]",
    "mathtext": "net$\\frac$ cost in $",
    "markdown": "a | b *c* _d_ `e` [f](g) ~h~",
    "html": "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "cdata": "]]><!-- -->&amp;",
    "quotes": "'\"\\\\\"; x=1 #",
    "dot": '"]; n9 [label="evil"]; n0 -> n9; //',
    "github": "::warning::pwned",
    "nul": "a\x00b",
    "controls": "a\x07\x08\x7f\x9b\x1fb",
    "bidi": "abc\u202edcba\u2066x\u2069",
    "zero_width": "a\u200bb",
}

TIME_LIMIT = 20  # seconds; the slowest built-in spec takes under one


class TooSlow(Exception):
    pass


@contextmanager
def time_limit(seconds: float):
    """Turn a hang into a failure (main thread only, which is where pytest runs tests)."""

    def expired(signum, frame):
        raise TooSlow(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_error(exc: SpecError, text: str, name: str) -> None:
    """A SpecError a user can act on: located inside the file, renderable."""
    assert exc.location is not None, f"SpecError without a location: {exc.render()}"
    assert exc.file == name, f"error located in {exc.file!r}, not {name!r}: {exc.render()}"
    lines = max(text.count("\n") + 1, 1)
    assert 1 <= exc.line <= lines + 1, f"line {exc.line} outside a {lines}-line file: {exc.render()}"
    assert exc.column >= 1, exc.render()
    assert exc.message and "Traceback" not in exc.message
    rendered = exc.render()
    label = f"{exc.severity}[{exc.code}]" if exc.code else exc.severity
    assert rendered.startswith(f"{name}:{exc.line}:{exc.column}: {label}: "), rendered
    for line in rendered.split("\n"):  # the terminal sink: whatever the spec held
        assert line.isprintable() and not line.strip().startswith("::"), repr(line)


def check_all_errors(text: str, name: str, first: SpecError | None, options) -> None:
    """Collecting errors finds the first error of a plain build first, and no error where it finds none."""
    try:
        archcalc.load_text(text, name, all_errors=True, **options)
    except SpecError as every:
        assert first is not None, f"an error only when reading on after errors: {every.render()}"
        errors = every.errors if isinstance(every, SpecErrors) else [every]
        assert errors[0].render() == first.render(), (errors[0].render(), first.render())
        for error in errors:
            check_error(error, text, name)
    else:
        assert first is None, f"reading on after errors hid one: {first.render()}"


def run_text(text: str, name: str = FUZZ_NAME, seconds: float = TIME_LIMIT, **options):
    """The analysis of ``text``, or the SpecError it raises (checked); other exceptions propagate."""
    with time_limit(seconds):
        try:
            graph = archcalc.load_text(text, name, **options)
        except SpecError as exc:
            check_error(exc, text, name)
            check_all_errors(text, name, exc, options)
            return exc
        check_all_errors(text, name, None, options)
        try:
            analysis = archcalc.analyze(graph)
            analysis.to_dict()
            check_expectations(
                graph, loader=lambda overrides: archcalc.load_text(text, name, overrides=overrides)
            )
            for warning in lint(graph):
                assert warning.code in CODES and warning.severity == "warning"
                check_error(warning, text, name)
        except SpecError as exc:
            check_error(exc, text, name)
            return exc
        return analysis
