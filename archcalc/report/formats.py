"""Machine formats: JSON (the archcalc.summary/1 contract), CSV and Markdown, with exact integers."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Sequence

from archcalc.collector import paused_gc
from archcalc.report.rows import BYTE_COLUMNS, COLUMNS, Row, nested_name
from archcalc.sinks import Markdown, csv_cell, markdown


def to_json(data: Any) -> str:
    """Indented JSON, except that each entry of a "layers" list is one compact line.

    Indentation forces Python's slow pure-Python encoder; a line per layer keeps
    large networks fast (the C encoder) and the file still reads well.
    """
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        return json.dumps(data, indent=2) + "\n"
    head = json.dumps({k: v for k, v in data.items() if k != "layers"}, indent=2)
    with paused_gc():
        layers = ",\n    ".join([json.dumps(layer) for layer in data["layers"]])
    return head[:-2] + ',\n  "layers": [\n    ' + layers + "\n  ]\n}\n"


def csv_text(header: Sequence[str], body: Sequence[Sequence[Any]]) -> str:
    """CSV with a header row: every CSV archcalc writes goes through here."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_csv_value(value) for value in cells] for cells in body)
    return out.getvalue()


def _csv_value(value):
    return csv_cell(value) if isinstance(value, str) else value


def rows_csv(rows: Sequence[Row], columns: Sequence[str]) -> str:
    """Exact values; a column of bytes is headed <key>_bytes."""
    header = [f"{key}_bytes" if key in BYTE_COLUMNS else key for key in columns]
    return csv_text(header, [[COLUMNS[key][1](row) for key in columns] for row in rows])


def markdown_table(headers: Sequence[str], body: Sequence[Sequence[Any]], right: Sequence[bool]) -> str:
    """A Markdown table; every header and cell passes through the Markdown sink."""
    lines = [
        "| " + " | ".join(markdown(str(h)) for h in headers) + " |",
        "|" + "|".join("---:" if r else "---" for r in right) + "|",
    ]
    for cells in body:
        lines.append("| " + " | ".join(c if isinstance(c, Markdown) else markdown(str(c)) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def rows_markdown(rows: Sequence[Row], columns: Sequence[str], analysis=None, full_names: bool = False) -> str:
    """The layer table with exact figures (bytes headed as such); with ``analysis``, a
    **Total** row and the totals below it."""
    headers = [COLUMNS[k][0] + (" (bytes)" if k in BYTE_COLUMNS else "") for k in columns]
    right = [COLUMNS[k][3] for k in columns]
    body = [[_md_cell(k, row, full_names) for k in columns] for row in rows]
    if analysis is None:
        return markdown_table(headers, body, right)
    t = analysis.totals
    total = {"name": Markdown("**Total**"), "activations": t["activations"], "memory": t["activation_bytes"],
             "params": t["params"], "weights": t["weights"], "biases": t["biases"], "macs": t["macs"],
             "rf": "x".join(map(str, t["receptive_field"]))}
    body.append([f"{v:,}" if isinstance(v, int) else v for v in (total.get(k, "") for k in columns)])
    return markdown_table(headers, body, right) + "\n" + markdown_totals(analysis)


def markdown_totals(analysis) -> str:
    """The totals as a Markdown list, exact integers first, units spelt out."""
    t = analysis.totals
    items = [
        f"**Params** {t['params']:,} = {t['weights']:,} weights + {t['biases']:,} biases "
        f"(trainable {t['trainable_params']:,}, frozen {t['frozen_params']:,}, buffers {t['buffers']:,})",
        f"**MACs** {t['macs']:,}; FLOPs (2 × MACs) {t['flops']:,}",
        f"**Activations** {t['activations']:,} values = {t['activation_bytes']:,} bytes ({analysis.dtype}, batch "
        f"{analysis.batch}, summed over nodes, input included); peak live {t['peak_activation_bytes']:,} bytes",
        f"**Param memory** {t['param_bytes']:,} bytes",
        f"**Receptive field** {'x'.join(map(str, t['receptive_field']))}",
    ]
    if t["training_only_params"]:
        items.insert(1, f"**Training-only heads** {t['training_only_params']:,} params, "
                        f"{t['training_only_macs']:,} MACs, not in the totals")
    return "".join(f"- {item}\n" for item in items)


def _md_cell(key: str, row: Row, full_names: bool) -> str:
    if key == "name":
        if full_names or not row.depth:
            return row.name
        return Markdown("&nbsp;&nbsp;" * row.depth + markdown(nested_name(row).lstrip(" ")))
    value = COLUMNS[key][1](row)
    return f"{value:,}" if isinstance(value, int) else str(value)
