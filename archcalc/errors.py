"""One exception type for everything a user can get wrong.

Errors are values with a location: the CLI renders them once, at the top, as
``file:line:column: error: message`` followed by the offending source line and a
caret, like a compiler, then any notes (where a block was called from) and a hint.
Library callers get the same fields as attributes.
"""

from __future__ import annotations

from collections import namedtuple


class Location(namedtuple("Location", "file line column source_line", defaults=(None,))):
    """A point in a spec file; line and column are 1-based."""

    __slots__ = ()
    file: str
    line: int
    column: int
    source_line: str | None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def within(self, text: str, offset: int | None) -> "Location":
        """The point ``offset`` characters into ``text``, a value written at this location.

        The value may be written plain or in quotes; when the source line does not
        show ``text`` verbatim here (escapes, a folded block scalar), the location
        stays at the start of the value.
        """
        if not offset or self.source_line is None or offset < 0:
            return self
        rest = self.source_line[self.column - 1:]
        if rest.startswith(text):
            return self._replace(column=self.column + offset)
        if rest[:1] in ("'", '"') and rest[1:].startswith(text):
            return self._replace(column=self.column + 1 + offset)
        return self


_WIDTH = 100


def _window(line: str, column: int) -> tuple[str, int]:
    """At most about _WIDTH characters of a long line around ``column``."""
    if len(line) <= _WIDTH:
        return line, column
    start = max(0, min(column - _WIDTH // 2, len(line) - _WIDTH))
    end = start + _WIDTH
    text = line[start:end]
    if start:
        text, column = "..." + text, column - start + 3
    if end < len(line):
        text += "..."
    return text, column


class SpecError(Exception):
    """A problem in a spec or in the options applied to it.

    ``notes`` are extra located lines, innermost first, such as the block call
    that led to an error inside a block's body. ``code`` names a check that a
    spec may silence (``ignore: [CODE]``); errors of the language itself have none.
    """

    severity = "error"

    def __init__(
        self,
        message: str,
        location: Location | None = None,
        node: str | None = None,
        hint: str | None = None,
        notes: list[str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.node = node
        self.hint = hint
        self.notes: list[str] = list(notes or [])
        self.code = code

    @property
    def file(self) -> str | None:
        return self.location.file if self.location else None

    @property
    def line(self) -> int | None:
        return self.location.line if self.location else None

    @property
    def column(self) -> int | None:
        return self.location.column if self.location else None

    def headline(self) -> str:
        where = f"{self.location}: " if self.location else ""
        label = f"{self.severity}[{self.code}]" if self.code else self.severity
        return f"{where}{label}: {self.text()}"

    def text(self) -> str:
        """The message, naming the node when it does not: the headline without location and label."""
        node = f"in '{self.node}': " if self.node and f"'{self.node}'" not in self.message else ""
        return f"{node}{self.message}"

    def render(self) -> str:
        """The full message for a terminal or a log: headline, the source line with a caret,
        notes and the hint, one line each, whatever text from the spec they quote."""
        from archcalc.sinks import terminal, visible

        lines = [self.headline()]
        loc = self.location
        if loc and loc.source_line is not None:
            gutter = f"{loc.line:>5} | "
            source, column = _window(loc.source_line.rstrip("\n").expandtabs(1), loc.column)
            before = visible(source[:column - 1])
            lines.append(gutter + before + visible(source[column - 1:]))
            lines.append(" " * (len(gutter) - 2) + "| " + " " * len(before) + "^")
        lines.extend(f"note: {note}" for note in self.notes)
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(terminal(line) for line in lines)

    def to_dict(self) -> dict:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "node": self.node,
            "hint": self.hint,
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        return self.headline()


class SpecErrors(SpecError):
    """Several independent errors of one spec, found in one run (``archcalc check``).

    It reads as its first error, so a caller that knows one error still works;
    :meth:`render` shows them all, in the order they were found.
    """

    def __init__(self, errors: list[SpecError]) -> None:
        first = errors[0]
        super().__init__(first.message, first.location, first.node, first.hint, first.notes, first.code)
        self.errors = list(errors)

    def render(self) -> str:
        return "\n".join(error.render() for error in self.errors)


class SpecWarning(SpecError):
    """A located finding that leaves the figures computable: a likely mistake.

    It shares an error's fields and rendering (``warning[CODE]:`` in place of
    ``error:``) and always has a code, which ``ignore:`` silences. Warnings are
    returned by :func:`archcalc.lint.lint`, never raised; :meth:`as_error` is the
    same finding where a command treats it as an error.
    """

    severity = "warning"

    def as_error(self) -> SpecError:
        return SpecError(self.message, self.location, self.node, self.hint, self.notes, self.code)
