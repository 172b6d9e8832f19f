"""Laying a table out within a width: whole columns are hidden, one column may narrow.

A table that is too wide is never cut at the edge, where a figure would lose its
last digits unnoticed. Instead columns are hidden whole, in the order the table
gives, and one flexible column narrows: a name column is shortened in the middle
(``lay…4.conv2``, keeping both ends, the end longer: it tells rows apart)
or a free-text column wraps onto more lines. :func:`hidden_note` is the one line a
renderer prints to say what was hidden and how to see it all.
"""

from __future__ import annotations

from typing import Sequence

ELLIPSIS = "…"
GAP = 2  # spaces between columns
# The narrowest a flexible column becomes before columns are hidden instead.
FLEX_FLOOR = 20


class Fitted:
    """A laid-out table: its lines (header, rule, rows) and what fitting it took."""

    def __init__(self, lines: list[str], row_of_line: list[int], hidden: list[str] | None = None,
                 shortened: int = 0, full_width: int = 0) -> None:
        self.lines = lines
        self.row_of_line = row_of_line  # the row each line after the rule belongs to
        self.hidden = [] if hidden is None else hidden  # headers of the hidden columns
        self.shortened = shortened  # cells shortened in the middle
        self.full_width = full_width  # the width of the table with every column whole


def shorten_middle(text: str, width: int) -> str:
    """``text`` in ``width`` characters, the middle replaced by an ellipsis; leading
    spaces (a row's indentation) are kept where there is room."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    body = text.lstrip(" ")
    indent = min(len(text) - len(body), max(0, width - 8))
    room = width - indent - 1
    head = room // 3  # the end tells rows apart (conv1, conv2), so it keeps more
    return " " * indent + body[:head] + ELLIPSIS + body[len(body) - (room - head):]


def _total(widths: Sequence[int]) -> int:
    return sum(widths) + GAP * (len(widths) - 1) if widths else 0


def fit_table(headers: Sequence[str], cells: Sequence[Sequence[str]], right: Sequence[bool], width: int | None,
              drop: Sequence[int] = (), flex: int | None = None, wrap: bool = False) -> Fitted:
    """Lay out ``cells`` under ``headers`` within ``width`` (None: no limit).

    ``drop`` lists column indices in the order they are hidden; ``flex`` is the column
    that narrows (wrapped when ``wrap``, else shortened in the middle). Columns are
    hidden while the table would not fit with the flexible column at its floor.
    """
    natural = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)]
    full = _total(natural)
    shown = list(range(len(headers)))
    widths = dict(enumerate(natural))
    if width is not None and full > width:
        floor = dict(widths)
        if flex is not None:
            floor[flex] = min(natural[flex], max(FLEX_FLOOR, len(headers[flex])))
        queue, dropped = list(drop), []
        while queue and _total([floor[i] for i in shown]) > width:
            dropped.append(queue.pop(0))
            shown.remove(dropped[-1])
        for i in reversed(dropped[:-1]):  # a narrower column hidden early may fit beside the rest
            if _total([floor[j] for j in shown] + [floor[i]]) <= width:
                shown = sorted([*shown, i])
        if flex in shown:
            rest = _total([widths[i] for i in shown if i != flex]) + (GAP if len(shown) > 1 else 0)
            widths[flex] = max(1, min(natural[flex], width - rest))
    fitted = Fitted([], [], [headers[i] for i in range(len(headers)) if i not in shown], 0, full)
    column_widths = [widths[i] for i in shown]

    def line(values: Sequence[str]) -> str:
        return (" " * GAP).join(
            v.rjust(w) if right[i] else v.ljust(w) for v, w, i in zip(values, column_widths, shown)).rstrip()

    fitted.lines += [line([shorten_middle(headers[i], widths[i]) for i in shown]), "─" * _total(column_widths)]
    narrowed = flex in shown and widths[flex] < natural[flex]
    for r, row in enumerate(cells):
        values = [row[i] for i in shown]
        if narrowed and len(row[flex]) > widths[flex]:
            at = shown.index(flex)
            if wrap:
                import textwrap  # here: it compiles its word-splitting patterns on import

                parts = textwrap.wrap(row[flex], widths[flex], break_on_hyphens=False) or [""]
                for k, part in enumerate(parts):
                    values = [row[i] if not k else "" for i in shown]
                    values[at] = part
                    fitted.lines.append(line(values))
                    fitted.row_of_line.append(r)
                continue
            values[at] = shorten_middle(row[flex], widths[flex])
            fitted.shortened += 1
        fitted.lines.append(line(values))
        fitted.row_of_line.append(r)
    return fitted


def hidden_note(fitted: Fitted, width: int) -> str | None:
    """One line within ``width`` saying which columns were hidden (as many names as fit,
    then how many more) or how many names were shortened, and the ``--width`` that
    shows the whole table."""
    if not fitted.hidden and not fitted.shortened:
        return None
    shortened = f"{fitted.shortened} name{'s' * (fitted.shortened != 1)} shortened ({ELLIPSIS})"
    show = f" (--width {fitted.full_width} shows all)"
    if not fitted.hidden:
        forms = [f"{shortened} to fit {width} columns{show}", f"{shortened}{show}"]
    else:
        tail = f"; {shortened}" if fitted.shortened else ""
        names = fitted.hidden
        forms = [f"hidden to fit {width} columns: {', '.join(names)}{tail}{show}"]
        forms += [f"hidden: {', '.join(names[:n])}" + (f" +{len(names) - n} more" if n < len(names) else "")
                  + f"{tail}{show}" for n in range(len(names), 0, -1)]
        forms.append(f"hidden: {len(names)} columns" + (f", {fitted.shortened} names shortened" if fitted.shortened
                                                       else "") + f"; see --width {fitted.full_width}")
    return next((form for form in forms if len(form) <= width), forms[-1])
