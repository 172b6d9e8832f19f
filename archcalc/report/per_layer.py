"""`profile --per-layer` for the terminal: each node's predicted and measured time, and the factor between."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from archcalc.report.roofline import seconds
from archcalc.report.text import layout


def per_layer_renderable(result, device_title: str):
    cells = [[t.name, t.kind, t.bound, seconds(t.predicted_s) if t.predicted_s else "-", seconds(t.measured_s),
              f"{t.measured_s / t.predicted_s:.1f}×" if t.predicted_s else "-"] for t in result.layers]
    return Group(
        Text(f"Per layer · {result.device} · batch {result.batch} · predicted for {device_title}", style="bold"),
        Text(""),
        layout(["Layer", "Kind", "Bound", "Predicted", "Measured", "Measured/pred."], cells,
               [False, False, False, True, True, True], [None] * len(cells)),
        Text(""),
        Text(f"Total         predicted {seconds(result.predicted_s)} · measured {seconds(result.measured_s)} · "
             f"calibration factor {result.factor:.2f} (measured / predicted)\n"
             f"Rank order    Spearman {result.rank_correlation:.2f} between predicted and measured layer times"),
        Text("Each node timed alone on its real inputs (median of the repeats), as the roofline models it.",
             style="dim"),
    )
