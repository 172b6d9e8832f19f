"""Comparison of several analyses: the figures as data first, then table, JSON or Markdown."""

from __future__ import annotations

import json
from typing import Sequence

from archcalc.analysis import Analysis
from archcalc.report.formats import markdown_table
from archcalc.units import format_bytes, format_count

SCHEMA = "archcalc.compare/1"
# (key, label, formatter); lower is better for each of these costs.
METRICS = [
    ("params", "Params", format_count),
    ("macs", "MACs", format_count),
    ("flops", "FLOPs (2×MACs)", format_count),
    ("activations", "Activations", format_count),
    ("activation_bytes", "Activation memory", format_bytes),
    ("peak_activation_bytes", "Peak live memory", format_bytes),
    ("param_bytes", "Param memory", format_bytes),
]


def relation(value: float, base: float) -> str:
    """How a value stands against the first spec's: '3.15× less', '1.20× more', 'same'."""
    if value == base:
        return "same"
    if value == 0 or base == 0:
        return "n/a"
    return f"{base / value:.2f}× less" if value < base else f"{value / base:.2f}× more"


def block_totals(analysis: Analysis) -> dict[str, dict[str, int]]:
    """Params and MACs per top-level block (a top-level layer counts as its own block)."""
    blocks: dict[str, dict[str, int]] = {}
    for row in analysis.layers[1:]:
        key = row.block.split(".")[0] if row.block else row.name
        entry = blocks.setdefault(key, {"params": 0, "macs": 0})
        entry["params"] += row.params
        entry["macs"] += row.macs
    return blocks


def to_data(analyses: Sequence[Analysis], by_block: bool) -> dict:
    specs = []
    for a in analyses:
        specs.append(
            {
                "name": a.graph.name,
                "title": a.graph.title,
                "output_shape": list(a.graph.outputs[0].shape),
                "totals": dict(a.totals),
                "layers": len(a.layers) - 1,
            }
        )
    base = analyses[0].totals
    data = {
        "schema": SCHEMA,
        "batch": analyses[0].batch,
        "dtype": analyses[0].dtype,
        "specs": specs,
        "ratios": [
            {key: (a.totals[key] / base[key] if base[key] else None) for key, _, _ in METRICS} for a in analyses
        ],
        "best": {key: min(range(len(analyses)), key=lambda i: analyses[i].totals[key]) for key, _, _ in METRICS},
    }
    if by_block:
        data["blocks"] = [block_totals(a) for a in analyses]
    return data


def output_shapes(analyses: Sequence[Analysis]) -> list[str]:
    """Output shapes, noting agreement with the first: whole shape, or spatial size only."""
    shapes = [tuple(a.graph.outputs[0].shape) for a in analyses]
    cells = []
    for i, shape in enumerate(shapes):
        text = "×".join(map(str, shape))
        if i and shape == shapes[0]:
            text += " (same)"
        elif i and len(shape) == 3 and shape[1:] == shapes[0][1:]:
            text += " (same H×W)"
        cells.append(text)
    return cells


def _cells(analyses: Sequence[Analysis]) -> list[list[str]]:
    rows = []
    for key, label, fmt in METRICS:
        values = [a.totals[key] for a in analyses]
        best = min(values)
        cells = [label]
        for i, v in enumerate(values):
            text = fmt(v) + (f" ({relation(v, values[0])})" if i else "")
            cells.append(("✓ " if v == best and len(set(values)) > 1 else "") + text)
        rows.append(cells)
        if key == "macs" and any(a.totals["attention_macs"] for a in analyses):
            rows.append(["  of which attention", *[_share(a.totals["attention_macs"], a.totals["macs"]) for a in analyses]])
    rows.append(["Output shape", *output_shapes(analyses)])
    rows.append(["Receptive field", *["×".join(map(str, a.totals["receptive_field"])) for a in analyses]])
    base = analyses[0].totals["params"]
    rows.append(["Param difference", "", *[f"{a.totals['params'] - base:+,}" for a in analyses[1:]]])
    rows.append(["Layers", *[str(len(a.layers) - 1) for a in analyses]])
    return rows


def _share(part: int, whole: int) -> str:
    """'715.3M (4.1%)': a part of the MACs and its share, or '-' for none."""
    return f"{format_count(part)} ({part / whole:.1%})" if part else "-"


def _block_cells(analyses: Sequence[Analysis]) -> list[list[str]]:
    per_spec = [block_totals(a) for a in analyses]
    names: list[str] = []
    for blocks in per_spec:
        names += [n for n in blocks if n not in names]
    rows = []
    for name in names:
        cells = [name]
        for blocks in per_spec:
            entry = blocks.get(name)
            cells.append(f"{format_count(entry['params'])} p · {format_count(entry['macs'])} MACs" if entry else "—")
        rows.append(cells)
    return rows


def renderable(analyses: Sequence[Analysis], by_block: bool, width: int | None = None):
    from rich.console import Group
    from rich.text import Text

    from archcalc.report.text import layout

    headers = ["", *[a.graph.name for a in analyses]]
    right = [False, *[True] * len(analyses)]
    # Too narrow a width hides the last specs first; the first, the base of the ratios, stays.
    drop = list(range(len(analyses), 1, -1))

    def table(rows: list[list[str]]):
        return layout(headers, rows, right, [None] * len(rows), width, drop=drop, flex=0)

    heading = (f"Comparison at batch {analyses[0].batch}, {analyses[0].dtype}: ratios against the first spec; "
               "✓ marks the least")
    parts = [Text(heading, style="bold"), Text(""), table(_cells(analyses))]
    if by_block:
        parts += [Text(""), Text("By top-level block"), table(_block_cells(analyses))]
    return Group(*parts)


def to_json(analyses: Sequence[Analysis], by_block: bool) -> str:
    return json.dumps(to_data(analyses, by_block), indent=2) + "\n"


def to_markdown(analyses: Sequence[Analysis], by_block: bool) -> str:
    headers = ["", *[a.graph.name for a in analyses]]
    right = [False, *[True] * len(analyses)]
    text = markdown_table(headers, _cells(analyses), right)
    if by_block:
        text += "\n" + markdown_table(headers, _block_cells(analyses), right)
    return text


def to_csv(analyses: Sequence[Analysis], by_block: bool) -> str:
    """One row per spec: exact totals, then each cost's ratio to the first spec's; with
    ``by_block``, one row per spec and top-level block instead."""
    from archcalc.report.formats import csv_text

    if by_block:
        return csv_text(["spec", "block", "params", "macs"],
                        [[a.graph.name, name, entry["params"], entry["macs"]]
                         for a in analyses for name, entry in block_totals(a).items()])
    keys = [key for key, _, _ in METRICS]
    base = analyses[0].totals
    header = ["spec", *keys, "output_shape", "receptive_field", "layers", *[f"{k}_ratio" for k in keys]]
    body = []
    for a in analyses:
        t = a.totals
        body.append([a.graph.name, *[t[k] for k in keys], "x".join(map(str, a.graph.outputs[0].shape)),
                     "x".join(map(str, t["receptive_field"])), len(a.layers) - 1,
                     *[f"{t[k] / base[k]:.6g}" if base[k] else "" for k in keys]])
    return csv_text(header, body)
