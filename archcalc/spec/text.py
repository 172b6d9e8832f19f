"""What characters spec text may hold, checked as the spec is read.

Spec text is untrusted, so the reader refuses what no network description needs and
what could act on a terminal, a log or a file format later:

* every scalar and key: printable characters, plus line breaks and tabs in values
  (YAML's own white space); no control character (ESC, NUL, CR...), no format
  character (bidi overrides, zero-width characters), no separator other than space;
* identifiers (the spec's ``name``, node, block, variable and parameter names, the
  reference dataset): printable characters only, on one line;
* free text (``title``, ``source``, ``notes``, a block's ``doc``, the ``source`` of an
  ``expect:`` figure or of a ``reference:``): printable characters and line breaks.

Writers still escape for their own sink (:mod:`archcalc.sinks`): a graph can be made
in Python, file names are not spec text, and an error message quotes what was wrong.
"""

from __future__ import annotations

import unicodedata

VALUE_EXTRAS = "\n\t"
FREE_TEXT_EXTRAS = "\n"
IDENTIFIER_EXTRAS = ""
_KIND = {"Cc": "a control character", "Cf": "a format character", "Zl": "a line separator",
         "Zp": "a paragraph separator", "Cs": "a lone surrogate", "Co": "a private-use character",
         "Cn": "an unassigned character"}


def refused(text: str, extras: str) -> tuple[int, str] | None:
    """(offset, description) of the first character of ``text`` that is neither printable
    nor in ``extras``; None when all are allowed."""
    if text.isprintable():
        return None
    for i, char in enumerate(text):
        if not char.isprintable() and char not in extras:
            category = unicodedata.category(char)
            name = unicodedata.name(char, "")
            what = _KIND.get(category, "white space other than a space")
            return i, f"U+{ord(char):04X}{f' {name}' if name else ''}, {what}"
    return None
