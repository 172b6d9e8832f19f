"""Rich tables for the terminal; plain and stable when output is not a terminal."""

from __future__ import annotations

from typing import Sequence

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from archcalc.analysis import Analysis
from archcalc.report.rows import COLUMNS, Row
from archcalc.units import format_bytes, format_count

CONVENTIONS = (
    "MACs = multiply-accumulates (conv: H_out·W_out·C_out·k_h·k_w·C_in/groups; linear: in·out); "
    "FLOPs = 2 × MACs. Bias adds, pooling, activations and normalisation are not MACs."
)


def summary_table(analysis: Analysis, rows: Sequence[Row], columns: Sequence[str]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for key in columns:
        header, _, _, right = COLUMNS[key]
        table.add_column(header, justify="right" if right else "left", no_wrap=True)
    for row in rows:
        style = "dim" if row.training_only else ("bold" if row.kind == "block" else None)
        table.add_row(*(COLUMNS[key][2](row) for key in columns), style=style)
    return table


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
        summary_table(analysis, rows, columns),
        Text("\n".join(totals_lines(analysis))),
        Text(CONVENTIONS, style="dim"),
    )
