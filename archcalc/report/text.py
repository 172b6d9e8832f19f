"""The summary for the terminal: a layer table, the totals and the conventions.

The layer table is laid out here rather than with ``rich.table.Table``: rich
measures every cell, which takes about 16 s for a 10,000-layer network, while
padding pre-formatted strings takes milliseconds. rich still prints it, so
colour appears on a terminal and plain, stable text everywhere else.

For the same reason the summary table reaches rich as :class:`TableLines`, which
hands rich the segments its ``Text`` would render without splitting the text into
lines again: 0.28 s instead of 0.98 s to print 10,000 layers (benchmarks/hot_path.py).

Where the output is plain text anyway (a pipe, a file), :func:`summary_plain` gives
the same characters without rich, whose console costs more to import than the whole
analysis of VGG-16; rich is imported only by the functions that use it.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import chain
from typing import TYPE_CHECKING, Sequence

from archcalc.analysis import mac_term_totals
from archcalc.collector import paused_gc
from archcalc.report.fit import Fitted, fit_table, hidden_note
from archcalc.report.rows import COLUMNS, HIDE_ORDER, Row
from archcalc.sinks import one_line, terminal
from archcalc.units import format_bytes, format_count

if TYPE_CHECKING:
    from rich.text import Text

    from archcalc.analysis import Analysis

# Where the figures of a totals line begin ("Params        ...").
TOTALS_INDENT = 14
# A table longer than this many rows gets a hint at shorter --depth views.
LONG_TABLE = 100
CONVENTIONS = (
    "MACs = multiply-accumulates (conv: H_out·W_out·C_out·k_h·k_w·C_in/groups; linear: in·out); "
    "FLOPs = 2 × MACs. Bias adds, pooling, activations and normalisation are not MACs."
)


def layout(headers: Sequence[str], cells: Sequence[Sequence[str]], right: Sequence[bool],
           styles: Sequence[str | None], width: int | None = None, drop: Sequence[int] = (),
           flex: int | None = None, wrap: bool = False):
    """Aligned columns under a bold header and a rule, one styled line per row, fitted
    to ``width`` (see :func:`archcalc.report.fit.fit_table`), with the note of what
    fitting hid when it hid anything. Every header and cell passes the terminal sink."""
    from rich.console import Group
    from rich.text import Text

    fitted = fit_table(list(map(terminal, headers)), [list(map(terminal, row)) for row in cells], right, width, drop,
                       flex, wrap)
    table = TableLines(fitted.lines, [styles[r] for r in fitted.row_of_line])
    note = hidden_note(fitted, width) if width is not None else None
    return Group(table, Text(note, style="dim")) if note else table


class TableLines:
    """A laid-out table: a bold header, the rule and the row lines, each row in its style.

    :meth:`text` is the table as one unwrapped rich ``Text``; as a renderable this class
    prints exactly what that ``Text`` prints (tests/test_report_text.py compares them),
    one segment per line, without ``Text`` splitting the whole table into lines again.
    The lines hold no tabs, newlines or control codes for rich to handle: cells are
    figures, kinds and node names, which the spec reader limits to identifiers.
    """

    def __init__(self, lines: list[str], styles: list[str | None], fitted: Fitted | None = None) -> None:
        self.lines = lines  # header, rule, then one per row
        self.styles = ["bold", None, *styles]  # one per line
        self.fitted = fitted  # what fitting the table to a width hid, when it was fitted

    def text(self) -> Text:
        from rich.text import Span, Text

        spans, offset = [], 0
        for line, style in zip(self.lines, self.styles):
            if style and line:
                spans.append(Span(offset, offset + len(line), style))
            offset += len(line) + 1
        return Text("\n".join(self.lines), no_wrap=True, overflow="ignore", spans=spans)

    def __rich_console__(self, console, options):
        from rich.segment import Segment
        from rich.style import Style

        if (options.justify or "default") != "default":
            yield from self.text().__rich_console__(console, options)
            return
        # As Text.render styles them: each line the console's base style, then its own.
        null = Style.null()
        base = console.get_style("", default=null)
        combined: dict[str | None, Style] = {None: Style.combine((base,))}
        newline = Segment("\n", combined[None])
        for i, (line, style) in enumerate(zip(self.lines, self.styles)):
            if i:
                yield newline
            if not line:
                continue
            found = combined.get(style)
            if found is None:
                found = combined[style] = Style.combine((base, console.get_style(style, default=null)))
            yield Segment(line, found)
        yield Segment("\n")

    def __rich_measure__(self, console, options):
        return self.text().__rich_measure__(console, options)


def summary_table(rows: Sequence[Row], columns: Sequence[str], width: int | None = None,
                  full_names: bool = False) -> TableLines:
    """The layer table: the chosen columns, block rows bold, training-only rows dim.

    Within ``width``, columns are hidden in the order of ``HIDE_ORDER`` and names
    shortened in the middle; the table's ``fitted`` records what was hidden.
    """
    with paused_gc():
        human = [COLUMNS[key][2] for key in columns]
        if full_names and "name" in columns:
            human[columns.index("name")] = COLUMNS["name"][1]
        fitted = fit_table(
            [COLUMNS[key][0] for key in columns],
            [[cell(row) for cell in human] for row in rows],
            [COLUMNS[key][3] for key in columns],
            width,
            drop=[columns.index(key) for key in HIDE_ORDER if key in columns],
            flex=columns.index("name") if "name" in columns else None,
        )
    styles = ["dim" if row.training_only else ("bold" if row.kind == "block" else None) for row in rows]
    return TableLines(fitted.lines, [styles[r] for r in fitted.row_of_line], fitted)


def depth_hint(rows: Sequence[Row], threshold: int = LONG_TABLE) -> str | None:
    """For a table longer than ``threshold`` rows, what --depth 1 and 2 would show instead."""
    if len(rows) <= threshold:
        return None
    options = []
    for depth in (1, 2):
        count = sum(1 for row in rows if row.depth < depth)
        if count < len(rows) and (not options or count > options[-1][1]):
            options.append((depth, count))
    if not options:
        return None
    return f"{len(rows):,} rows: " + ", ".join(f"--depth {d} shows {n:,}" for d, n in options) + "."


def totals_lines(analysis: Analysis) -> list[str]:
    t = analysis.totals
    lines = [
        f"Params        {t['params']:,} ({format_count(t['params'])}) = {t['weights']:,} weights + {t['biases']:,} biases",
        f"              trainable {t['trainable_params']:,} · frozen {t['frozen_params']:,}"
        + (f" · buffers {t['buffers']:,}" if t["buffers"] else ""),
    ]
    if t["training_only_params"]:
        lines.append(
            f"              training-only heads: {t['training_only_params']:,} params "
            f"({format_count(t['training_only_params'])}), {format_count(t['training_only_macs'])} MACs, not in the totals"
        )
    lines += [
        f"MACs          {format_count(t['macs'], 2)} ({t['macs']:,})  ·  FLOPs (2 × MACs) {format_count(t['flops'], 2)}",
        *attention_lines(analysis),
        training_line(t),
        f"Traffic       {format_bytes(t['bytes_moved'])} moved = {format_bytes(t['input_bytes'])} inputs + "
        f"{format_bytes(t['weight_bytes'])} weights read + {format_bytes(t['output_bytes'])} written "
        f"(each layer alone, no reuse)  ·  {t['macs_per_byte']:.1f} MACs/byte",
        f"Activations   {t['activations']:,} values = {format_bytes(t['activation_bytes'])} "
        f"(sum over nodes, input included)  ·  peak live {format_bytes(t['peak_activation_bytes'])}",
        f"Param memory  {format_bytes(t['param_bytes'])} ({analysis.dtype})",
        receptive_field_line(analysis),
    ]
    return lines


def receptive_field_line(analysis: Analysis) -> str:
    """The largest window, and where every position sees the whole input (jump 0: from the
    first attention on), the node that makes it so: there the number is the input's size."""
    height, width = analysis.totals["receptive_field"]
    whole = next((r for r in analysis.layers if list(r.jump) == [0, 0] and not r.training_only), None)
    where = f"; every position sees the whole input from {terminal(whole.name)} ({whole.kind}) on" if whole else ""
    return f"Receptive field  {height}×{width} (largest of any spatial node{where})"


def attention_lines(analysis: Analysis) -> list[str]:
    """The matrix products of the attention nodes, summed, and the share of those between two
    activations: the MACs that counters following the layers' weights leave out."""
    terms = mac_term_totals(analysis.layers)
    if not terms:
        return []
    t = analysis.totals
    nodes = sum(1 for r in analysis.layers if r.mac_terms and not r.training_only)
    share = t["attention_macs"] / t["macs"] if t["macs"] else 0.0
    return [
        f"              attention, {nodes} node{'s' * (nodes != 1)}: "
        + " + ".join(f"{what} {format_count(macs, 2)}" for what, macs in terms.items()),
        f"              of which {format_count(t['attention_macs'], 2)} ({share:.1%}) multiply two activations "
        "(scores, weighted sum): fvcore and torch's fused attention omit them",
    ]


def training_line(t) -> str:
    """The MACs of one training step, by where the backward pass sends them (summary and memory)."""
    forward = t["step_forward_macs"]
    ratio = f"  ({t['training_macs'] / forward:.2f} × forward)" if forward else ""
    return (f"Training step {format_count(t['training_macs'], 2)} MACs = forward {format_count(forward, 2)} + "
            f"backward to inputs {format_count(t['backward_input_macs'], 2)} + to weights "
            f"{format_count(t['backward_weight_macs'], 2)}{ratio}")


def _heading(analysis: Analysis) -> str:
    g = analysis.graph
    return (
        f"{terminal(one_line(g.title or g.name))}  ·  input {'×'.join(map(str, g.input.shape))}  ·  "
        f"batch {analysis.batch}  ·  {analysis.dtype}"
    )


def _summary_parts(analysis: Analysis, rows: Sequence[Row], columns: Sequence[str], width: int | None,
                   full_names: bool) -> tuple[TableLines, list[str], list[str]]:
    """The layer table, the notes under it (what fitting hid, the --depth hint) and the totals."""
    table = summary_table(rows, columns, width, full_names)
    notes = [hidden_note(table.fitted, width) if width is not None else None, depth_hint(rows)]
    totals = totals_lines(analysis) if width is None else wrap_totals(totals_lines(analysis), width)
    return table, [note for note in notes if note], totals


def summary_renderable(analysis: Analysis, rows: Sequence[Row], columns: Sequence[str], width: int | None = None,
                       full_names: bool = False):
    """Heading, layer table, what fitting it hid, the --depth hint, totals and conventions."""
    from rich.console import Group
    from rich.text import Text

    table, notes, totals = _summary_parts(analysis, rows, columns, width, full_names)
    return Group(
        Text(_heading(analysis), style="bold"),
        Text(""),
        table,
        *[Text(note, style="dim") for note in notes],
        Text(""),
        Text("\n".join(totals)),
        Text(CONVENTIONS, style="dim"),
    )


def wrap_totals(lines: Sequence[str], width: int) -> list[str]:
    """Totals lines too long for ``width`` broken at their ' · ' separators, each
    continuation under the figures (a label never ends a line without its figure);
    a piece still too long is broken between words, its continuation indented too."""
    wrapped = []
    for line in lines:
        if len(line) <= width:
            wrapped.append(line)
            continue
        pieces = [p.strip() for p in line[TOTALS_INDENT:].split(" · ")]
        current = line[:TOTALS_INDENT] + pieces[0]
        for piece in pieces[1:]:
            if len(current) + 3 + len(piece) <= width:
                current += " · " + piece
            else:
                wrapped += _hanging(current, width)
                current = " " * TOTALS_INDENT + piece
        wrapped += _hanging(current, width)
    return wrapped


def _hanging(line: str, width: int) -> list[str]:
    """One totals line broken between words to fit ``width``, continuations under the figures."""
    if len(line) <= width:
        return [line]
    first, *words = line[TOTALS_INDENT:].split(" ")
    lines, current = [], line[:TOTALS_INDENT] + first
    for word in words:
        if len(current) + 1 + len(word) > width:
            lines.append(current)
            current = " " * TOTALS_INDENT + word
        else:
            current += " " + word
    lines.append(current)
    return lines


def summary_plain(analysis: Analysis, rows: Sequence[Row], columns: Sequence[str], width: int,
                  full_names: bool = False) -> str | None:
    """What :func:`summary_renderable` prints at ``width`` on a plain console
    (``archcalc.cli.options.plain_text``), built without rich.

    The table and its notes are fitted as for rich; the other text is wrapped as rich
    wraps it (:func:`rich_wrap`). None when that is not certain: a character other
    than one cell wide, or a word or table line longer than the width (rich would
    fold or crop it).
    """
    table, notes, totals = _summary_parts(analysis, rows, columns, width, full_names)
    wrapped = [rich_wrap(text, width) for text in [_heading(analysis), "", *notes, "", *totals, CONVENTIONS]]
    if None in wrapped or any(len(line) > width for line in table.lines):
        return None
    before, after = wrapped[:2], wrapped[2:]
    return "\n".join([*chain(*before), *table.lines, *chain(*after)]) + "\n"


def rich_wrap(text: str, width: int) -> list[str] | None:
    """``text`` broken into lines as rich wraps it (``rich._wrap.divide_line``: greedy, a
    word with the spaces after it, a word fitting when it does without them), trailing
    spaces dropped; None where rich would measure or fold differently."""
    if any(unicodedata.east_asian_width(c) in "WF" or unicodedata.combining(c) for c in text if not c.isascii()):
        return None
    lines, current = [], ""
    for word in re.findall(r"\s*\S+\s*", text) or [text]:
        if len(word.rstrip()) > width:
            return None
        if current and len(current) + len(word.rstrip()) > width:
            lines.append(current.rstrip())
            current = ""
        current += word
    return [*lines, current.rstrip()]
