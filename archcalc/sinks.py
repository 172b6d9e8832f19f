"""Spec text on its way out: one escaping function per kind of output.

Spec files are untrusted (they arrive in pull requests), and so are file names. The
reader refuses control characters in spec text (:mod:`archcalc.spec.text`), but a
writer cannot rely on that alone: a graph may be built in Python, a file name is not
spec text, and an error message quotes whatever was written wrong. So every writer
passes text from a spec through the function of its sink, here, and nowhere else:

=============  ============================================================================
terminal       one line: no control or format character (shown as a Python escape,
               ``\\x1b``, ``\\n``), not starting with ``::`` (a GitHub workflow command);
               ``markup`` also escapes rich markup
markdown       table cells: ``|``, Markdown punctuation and HTML escaped, line breaks as
               ``<br>``
csv            cells: no control characters, no leading ``= + - @`` (spreadsheet formulas)
mermaid        label text: entity codes for ``" # & < >``, breaks as ``<br/>``
dot            the inside of a Graphviz quoted string: ``\\`` and ``"`` escaped, ``\\n``
xml            text and attribute values: entities, no character XML 1.0 forbids
mathtext       matplotlib text: every ``$`` escaped, so text is never read as mathtext
github         workflow command values and properties, as GitHub documents
python         comments split on every line break Python knows; values only via ``repr``
=============  ============================================================================
"""

from __future__ import annotations

import re

# The patterns here are compiled on first use (re's cache), not at import: most runs use few of them.
# Every line break Python recognises (str.splitlines, and editors that follow it).
_PYTHON_LINE_BREAK = "\r\n|[\n\r\f\v\x1c\x1d\x1e\x85\u2028\u2029]"
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _shown(char: str) -> str:
    """A character that acts on its reader, as a visible Python escape."""
    code = ord(char)
    return _SHORT.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                                else f"\\U{code:08x}")


def visible(text: str, keep: str = "") -> str:
    """``text`` with every non-printable character (control, format, separator) escaped,
    except those in ``keep``."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in keep else _shown(c) for c in text)


def one_line(text: str) -> str:
    """Free text for a place that holds one line (a heading, a comment): breaks become spaces."""
    return " ".join(text.splitlines()) if "\n" in text or "\r" in text else text


# --- terminal and logs ------------------------------------------------------------------------

def terminal(text: str) -> str:
    """One line for a terminal or a CI log, printed as it is (click.echo, rich ``Text``).

    Line breaks and anything else that would act on the terminal are shown as Python
    escapes, and no two colons are left side by side: a ``::`` that GitHub's runner would read
    as a workflow command (``::warning::``) at the start of a line becomes ``\\x3a:``, wherever
    it is, since a terminal or rich may break a line anywhere (rich folds a word longer than
    the width, such as a long path, at any character). Output of several lines is made of
    lines that each passed through here.
    """
    text = visible(text)
    return re.sub(":(?=:)", r"\\x3a", text) if "::" in text else text


def markup(text: str) -> str:
    """Text inside rich markup (a table cell or a title given as a string); archcalc's consoles
    have emoji codes off, so ``:smile:`` stays as written."""
    from rich.markup import escape

    return escape(terminal(text))


# --- documents ------------------------------------------------------------------------------

# What can act inside a table cell: inline markup and the cell separator (`<`, `>` and `&`
# become HTML entities).
_MARKDOWN_SPECIAL = r"([\\`*_\[\]|~])"


class Markdown(str):
    """Markdown written by archcalc itself (e.g. ``&nbsp;`` indentation), not escaped again."""


def markdown(text: str) -> str:
    """A Markdown table cell: nothing in it can end the cell, be markup, or be HTML."""
    if isinstance(text, Markdown):
        return text
    from html import escape  # imported here: html loads its 100 kB entity table, which terminals never need

    text = escape(visible(text, keep="\n"), quote=False)
    return "<br>".join(re.sub(_MARKDOWN_SPECIAL, r"\\\1", line) for line in text.split("\n"))


def csv_cell(text: str) -> str:
    """A CSV cell (the csv module quotes separators and breaks): no control characters, and
    no leading character that makes a spreadsheet read the cell as a formula (a lone "-"
    and negative numbers stay as they are)."""
    text = visible(text, keep="\n")
    formula = text[:1] in ("=", "+", "@") or text[:1] == "-" and text[1:2] not in ("", *"0123456789")
    return "'" + text if formula else text


def mermaid(text: str) -> str:
    """Text inside a quoted Mermaid label, or a ``%%`` comment (pass ``one_line`` text)."""
    text = visible(text, keep="\n").replace("#", "#35;")
    for char, code in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text.replace("\n", "<br/>")


def dot(text: str) -> str:
    """The inside of a Graphviz double-quoted string."""
    text = visible(text, keep="\n").replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\n", "\\n")


def xml(text: str) -> str:
    """SVG/XML text or attribute value: entities, and no character XML 1.0 forbids."""
    from html import escape

    return escape(visible(text, keep="\n"), quote=True)


def mathtext(text: str) -> str:
    """Text for matplotlib: shown as written, never parsed as mathtext (``$...$``)."""
    return visible(text, keep="\n").replace("$", r"\$")


# --- machines -------------------------------------------------------------------------------

def github_message(text: str) -> str:
    """The message of a GitHub workflow command (``::error ...::message``)."""
    return visible(text, keep="\n\r").replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """A property value of a workflow command (``file=...``)."""
    return github_message(text).replace(":", "%3A").replace(",", "%2C")


def python_comment(text: str) -> list[str]:
    """Comment lines for Python source: one per line of ``text``, split on every line break
    Python recognises, so no part of ``text`` can become a line of code."""
    return ["# " + visible(line) for line in re.split(_PYTHON_LINE_BREAK, text.rstrip("\r\n"))]
