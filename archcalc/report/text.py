"""The summary for the terminal: a layer table, the totals and the conventions.

The layer table is laid out here rather than with ``rich.table.Table``: rich
measures every cell, which takes about 16 s for a 10,000-layer network, while
padding pre-formatted strings takes milliseconds. rich still prints it, so
colour appears on a terminal and plain, stable text everywhere else.
"""

from __future__ import annotations

from typing import Sequence

from rich.console import Group
from rich.text import Text

from archcalc.analysis import Analysis
from archcalc.report.rows import COLUMNS, Row
from archcalc.units import format_bytes, format_count

CONVENTIONS = (
    "MACs = multiply-accumulates (conv: H_out·W_out·C_out·k_h·k_w·C_in/groups; linear: in·out); "
    "FLOPs = 2 × MACs. Bias adds, pooling, activations and normalisation are not MACs."
)


def layout(headers: Sequence[str], cells: Sequence[Sequence[str]], right: Sequence[bool],
           styles: Sequence[str | None]) -> Text:
    """Aligned columns under a bold header and a rule, one styled line per row."""
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)).rstrip()

    text = Text(line(headers), style="bold", no_wrap=True, overflow="ignore")
    text.append("\n" + "─" * (sum(widths) + 2 * (len(widths) - 1)))
    for values, style in zip(cells, styles):
        text.append("\n")
        text.append(line(values), style=style)
    return text


def summary_table(analysis: Analysis, rows: Sequence[Row], columns: Sequence[str]) -> Text:
    return layout(
        [COLUMNS[key][0] for key in columns],
        [[COLUMNS[key][2](row) for key in columns] for row in rows],
        [COLUMNS[key][3] for key in columns],
        ["dim" if row.training_only else ("bold" if row.kind == "block" else None) for row in rows],
    )


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
        f"Activations   {t['activations']:,} values = {format_bytes(t['activation_bytes'])} "
        f"(sum over nodes, input included)  ·  peak live {format_bytes(t['peak_activation_bytes'])}",
        f"Param memory  {format_bytes(t['param_bytes'])} ({analysis.dtype})",
        f"Receptive field  {t['receptive_field'][0]}×{t['receptive_field'][1]} (largest of any spatial node)",
    ]
    return lines


def summary_renderable(analysis: Analysis, rows: Sequence[Row], columns: Sequence[str]):
    g = analysis.graph
    heading = (
        f"{g.title or g.name}  ·  input {'×'.join(map(str, g.input.shape))}  ·  "
        f"batch {analysis.batch}  ·  {analysis.dtype}"
    )
    return Group(
        Text(heading, style="bold"),
        Text(""),
        summary_table(analysis, rows, columns),
        Text(""),
        Text("\n".join(totals_lines(analysis))),
        Text(CONVENTIONS, style="dim"),
    )
