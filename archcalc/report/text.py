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

from typing import TYPE_CHECKING, Sequence

from archcalc.collector import paused_gc
from archcalc.report.rows import COLUMNS, Row
from archcalc.sinks import one_line, terminal
from archcalc.units import format_bytes, format_count

if TYPE_CHECKING:
    from rich.text import Text

    from archcalc.analysis import Analysis

PLAIN_WIDTH = 200  # the width of rich's plain console (archcalc.cli.options.console), where it wraps text

CONVENTIONS = (
    "MACs = multiply-accumulates (conv: H_out·W_out·C_out·k_h·k_w·C_in/groups; linear: in·out); "
    "FLOPs = 2 × MACs. Bias adds, pooling, activations and normalisation are not MACs."
)


def layout(headers: Sequence[str], cells: Sequence[Sequence[str]], right: Sequence[bool],
           styles: Sequence[str | None]) -> Text:
    """Aligned columns under a bold header and a rule, one styled line per row."""
    return TableLines(aligned_lines(headers, cells, right), list(styles)).text()


def aligned_lines(headers: Sequence[str], cells: Sequence[Sequence[str]], right: Sequence[bool]) -> list[str]:
    """The header, a rule under it and one line per row, each column padded to its widest cell."""
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)).rstrip()

    return [line(headers), "─" * (sum(widths) + 2 * (len(widths) - 1)), *map(line, cells)]


class TableLines:
    """A laid-out table: a bold header, the rule and the row lines, each row in its style.

    :meth:`text` is the table as one unwrapped rich ``Text``; as a renderable this class
    prints exactly what that ``Text`` prints (tests/test_report_text.py compares them),
    one segment per line, without ``Text`` splitting the whole table into lines again.
    The lines hold no tabs, newlines or control codes for rich to handle: cells are
    figures, kinds and node names, which the spec reader limits to identifiers.
    """

    def __init__(self, lines: list[str], styles: list[str | None]) -> None:
        self.lines = lines  # header, rule, then one per row
        self.styles = ["bold", None, *styles]  # one per line

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


def summary_table(rows: Sequence[Row], columns: Sequence[str]) -> TableLines:
    """The layer table: the chosen columns, block rows bold, training-only rows dim."""
    with paused_gc():
        lines = aligned_lines(
            [COLUMNS[key][0] for key in columns],
            [[COLUMNS[key][2](row) for key in columns] for row in rows],
            [COLUMNS[key][3] for key in columns],
        )
    return TableLines(lines, ["dim" if row.training_only else ("bold" if row.kind == "block" else None) for row in rows])


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
        training_line(t),
        f"Traffic       {format_bytes(t['bytes_moved'])} moved = {format_bytes(t['input_bytes'])} inputs + "
        f"{format_bytes(t['weight_bytes'])} weights read + {format_bytes(t['output_bytes'])} written "
        f"(each layer alone, no reuse)  ·  {t['macs_per_byte']:.1f} MACs/byte",
        f"Activations   {t['activations']:,} values = {format_bytes(t['activation_bytes'])} "
        f"(sum over nodes, input included)  ·  peak live {format_bytes(t['peak_activation_bytes'])}",
        f"Param memory  {format_bytes(t['param_bytes'])} ({analysis.dtype})",
        f"Receptive field  {t['receptive_field'][0]}×{t['receptive_field'][1]} (largest of any spatial node)",
    ]
    return lines


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


def summary_renderable(analysis: Analysis, rows: Sequence[Row], columns: Sequence[str]):
    from rich.console import Group
    from rich.text import Text

    return Group(
        Text(_heading(analysis), style="bold"),
        Text(""),
        summary_table(rows, columns),
        Text(""),
        Text("\n".join(totals_lines(analysis))),
        Text(CONVENTIONS, style="dim"),
    )


def summary_plain(analysis: Analysis, rows: Sequence[Row], columns: Sequence[str]) -> str | None:
    """What :func:`summary_renderable` prints on a plain console, built without rich.

    None when rich would change a line: wrap text wider than its console
    (``PLAIN_WIDTH``) or expand a tab; the table itself is never wrapped.
    """
    text = [_heading(analysis), *totals_lines(analysis), CONVENTIONS]
    if any(len(line) > PLAIN_WIDTH or "\t" in line for part in text for line in part.split("\n")):
        return None
    table = summary_table(rows, columns).lines
    return "\n".join([text[0], "", *table, "", *text[1:]]) + "\n"
