"""A sweep as a table, CSV, Markdown or JSON: one row per grid point."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from archcalc.report.formats import csv_text, markdown_table, to_json
from archcalc.report.text import layout
from archcalc.sinks import terminal
from archcalc.sweep import Point, Sweep
from archcalc.units import format_bytes, format_count

FIXED = ("batch", "input", "dtype")
FIGURES = ("params", "macs", "training_macs", "activation_peak_bytes", "training_peak_bytes", "latency_ms")
HEADERS = {"batch": "Batch", "input": "Input", "dtype": "Dtype", "params": "Params", "macs": "MACs",
           "training_macs": "Train MACs", "activation_peak_bytes": "Act peak", "training_peak_bytes": "Train peak",
           "latency_ms": "Latency"}


def _exact(point: Point, key: str):
    if key == "input":
        return "x".join(map(str, point.input))
    if key == "latency_ms":
        return round(point.latency_s * 1e3, 6)
    return getattr(point, key)


def _human(point: Point, key: str) -> str:
    if key == "input":
        return "×".join(map(str, point.input))
    if key in ("macs", "training_macs", "params"):
        return format_count(getattr(point, key), 2)
    if key.endswith("_bytes"):
        return format_bytes(getattr(point, key))
    if key == "latency_ms":
        return f"{point.latency_s * 1e3:.3f} ms"
    return str(getattr(point, key))


def _cells(sweep: Sweep, human: bool) -> tuple[list[str], list[list]]:
    names = [k for k in sweep.axes if k not in FIXED]
    headers = [*(HEADERS[k] for k in FIXED), *names, *(HEADERS[k] for k in FIGURES)]
    rows = []
    for p in sweep.points:
        cell = _human if human else _exact
        rows.append([*(cell(p, k) for k in FIXED), *(str(p.variables[n]) if human else p.variables[n] for n in names),
                     *(cell(p, k) for k in FIGURES)])
    return headers, rows


def sweep_csv(sweep: Sweep) -> str:
    headers, rows = _cells(sweep, human=False)
    return csv_text([*FIXED, *headers[len(FIXED):-len(FIGURES)], *FIGURES], rows)


def sweep_markdown(sweep: Sweep) -> str:
    headers, rows = _cells(sweep, human=True)
    return markdown_table(headers, rows, [i >= len(FIXED) for i in range(len(headers))])


def sweep_json(sweep: Sweep) -> str:
    return to_json(sweep.to_dict())


def sweep_renderable(sweep: Sweep):
    headers, rows = _cells(sweep, human=True)
    d = sweep.device
    return Group(
        Text(f"{terminal(sweep.spec)}  ·  {len(rows)} points  ·  latency predicted for {d.title} ({d.name})", style="bold"),
        Text(""),
        layout(headers, rows, [i != 2 for i in range(len(headers))], [None] * len(rows)),
        Text(""),
        Text(f"Act peak: live activations of one inference pass · Train peak: a simulated training step "
             f"({sweep.optimizer}) · Latency: roofline, each layer max(FLOPs / peak, bytes / bandwidth)",
             style="dim"),
    )
