"""Machine formats: JSON (the archcalc.summary/1 contract), CSV and Markdown, with exact integers."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Sequence

from archcalc.collector import paused_gc
from archcalc.report.rows import COLUMNS, Row
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


def rows_csv(rows: Sequence[Row], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(COLUMNS[key][1](row)) for key in columns])
    return out.getvalue()


def _csv_value(value):
    return csv_cell(value) if isinstance(value, str) else value


def markdown_table(headers: Sequence[str], body: Sequence[Sequence[Any]], right: Sequence[bool]) -> str:
    """A Markdown table; every header and cell passes through the Markdown sink."""
    lines = [
        "| " + " | ".join(markdown(str(h)) for h in headers) + " |",
        "|" + "|".join("---:" if r else "---" for r in right) + "|",
    ]
    for cells in body:
        lines.append("| " + " | ".join(c if isinstance(c, Markdown) else markdown(str(c)) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def rows_markdown(rows: Sequence[Row], columns: Sequence[str]) -> str:
    headers = [COLUMNS[k][0] for k in columns]
    right = [COLUMNS[k][3] for k in columns]
    body = [[_md_cell(k, row) for k in columns] for row in rows]
    return markdown_table(headers, body, right)


def _md_cell(key: str, row: Row) -> str:
    if key == "name":
        return Markdown("&nbsp;&nbsp;" * row.depth + markdown(row.name.rsplit(".", 1)[-1])) if row.depth else row.name
    value = COLUMNS[key][1](row)
    return f"{value:,}" if isinstance(value, int) else str(value)
