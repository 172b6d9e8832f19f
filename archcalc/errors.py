"""One exception type for everything a user can get wrong.

Errors are values with a location: the CLI renders them once, at the top, as
``file:line:column: error: message`` followed by the offending source line and a
caret, like a compiler. Library callers get the same fields as attributes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A point in a spec file; line and column are 1-based."""

    file: str
    line: int
    column: int
    source_line: str | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class SpecError(Exception):
    """A problem in a spec or in the options applied to it."""

    def __init__(
        self,
        message: str,
        location: Location | None = None,
        node: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.node = node
        self.hint = hint

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
        node = f"in '{self.node}': " if self.node and f"'{self.node}'" not in self.message else ""
        return f"{where}error: {node}{self.message}"

    def render(self) -> str:
        """The full message: headline, the source line with a caret, and the hint."""
        lines = [self.headline()]
        loc = self.location
        if loc and loc.source_line is not None:
            gutter = f"{loc.line:>5} | "
            lines.append(gutter + loc.source_line.rstrip("\n"))
            lines.append(" " * (len(gutter) - 2) + "| " + " " * (loc.column - 1) + "^")
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "node": self.node,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        return self.headline()
