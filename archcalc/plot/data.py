"""What the pictures show, as plain data: no matplotlib here.

:func:`layer_series` turns an analysis into one bar per displayed node (or
collapsed block, reusing :func:`archcalc.report.rows.summary_rows`), and
:func:`landscape_points` turns analyses with a ``reference:`` into points of the
accuracy-against-operations chart. The drawing modules only draw these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from archcalc.analysis import Analysis
from archcalc.report.rows import summary_rows
from archcalc.units import format_bytes, format_count

# Bubble area (points squared) per million parameters: a fixed scale, so two charts compare.
AREA_PER_MPARAM = 16.0


@dataclass(frozen=True)
class LayerBar:
    """One position on the shared layer axis: a node, or a block collapsed by ``depth``."""

    name: str
    kind: str  # the node's kind, or "block"
    layers: int
    output_shape: tuple[int, ...]
    activation_bytes: int
    params: int
    macs: int


@dataclass
class LayerSeries:
    name: str
    title: str
    input_shape: tuple[int, ...]
    batch: int
    dtype: str
    depth: int | None
    bars: list[LayerBar]
    omitted_empty: int  # shown rows with no memory, parameters or MACs (in-place activations, views)
    omitted_training_only: int  # rows of auxiliary heads, excluded as from the totals
    totals: dict = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [b.name for b in self.bars]

    def values(self, metric: str) -> list[int]:
        return [getattr(b, metric) for b in self.bars]

    def subtitle(self) -> str:
        t = self.totals
        parts = [
            "input " + "×".join(map(str, self.input_shape)),
            f"batch {self.batch}",
            self.dtype,
            f"total {format_count(t['params'])} params",
            f"{format_count(t['macs'], 2)} MACs",
            f"{format_bytes(t['activation_bytes'])} activations",
        ]
        return "  ·  ".join(part.replace(" ", "\u00a0") for part in parts)  # wrap between parts only

    def footnote(self) -> str:
        notes = []
        if self.omitted_empty:
            notes.append(
                f"{self.omitted_empty} layer(s) with no memory, parameters or MACs not shown "
                "(in-place activations, dropout, views)"
            )
        if self.omitted_training_only:
            notes.append(f"{self.omitted_training_only} training-only layer(s) of auxiliary heads not shown")
        if self.depth is not None:
            notes.append(f"blocks deeper than level {self.depth} are summed into one bar")
        return "; ".join(notes)


def layer_series(analysis: Analysis, depth: int | None = None, *, all_nodes: bool = False) -> LayerSeries:
    """Bars in graph order: one per node, or per block below ``depth`` (as ``summary --depth``).

    Rows of training-only auxiliary heads are left out, as they are from the totals.
    Unless ``all_nodes``, rows with no activation memory, parameters and MACs (in-place
    ReLUs, dropout, flatten) are left out too: they would be empty slots on the axis.
    """
    bars: list[LayerBar] = []
    empty = aux = 0
    for row in summary_rows(analysis, depth, headers=False):
        if row.training_only:
            aux += 1
            continue
        if not all_nodes and not (row.activation_bytes or row.params or row.macs):
            empty += 1
            continue
        bars.append(
            LayerBar(
                name=row.name,
                kind=row.kind,
                layers=row.layers,
                output_shape=tuple(row.output_shape),
                activation_bytes=row.activation_bytes,
                params=row.params,
                macs=row.macs,
            )
        )
    g = analysis.graph
    return LayerSeries(
        name=g.name,
        title=g.title,
        input_shape=tuple(g.input.shape),
        batch=analysis.batch,
        dtype=analysis.dtype,
        depth=depth,
        bars=bars,
        omitted_empty=empty,
        omitted_training_only=aux,
        totals=dict(analysis.totals),
    )


def count_scale(largest: float) -> tuple[float, str]:
    """A divisor and its word for an axis of counts: (1e6, 'millions')."""
    for divisor, word in ((1e9, "billions"), (1e6, "millions"), (1e3, "thousands")):
        if largest >= divisor:
            return divisor, word
    return 1.0, "count"


def byte_scale(largest: float) -> tuple[float, str]:
    """A divisor and its unit for an axis of bytes: (2**20, 'MiB')."""
    for divisor, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if largest >= divisor:
            return float(divisor), unit
    return 1.0, "bytes"


@dataclass(frozen=True)
class LandscapePoint:
    name: str
    title: str
    family: str
    macs: int
    params: int
    top1: float
    top5: float | None
    source: str

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9

    @property
    def area(self) -> float:
        """Bubble area in points squared: proportional to the parameter count."""
        return bubble_area(self.params)


def bubble_area(params: float) -> float:
    return params / 1e6 * AREA_PER_MPARAM


def family(name: str) -> str:
    """A colour group: the leading letters of the name (vgg16-bn -> vgg, se-resnet50 -> se)."""
    match = re.match(r"[a-z]+", name.lower())
    return match.group(0) if match else name


def landscape_points(analyses: list[Analysis]) -> tuple[list[LandscapePoint], list[str]]:
    """Points for the analyses whose spec has a ``reference:``, sorted by MACs; and the names skipped."""
    points: list[LandscapePoint] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for a in analyses:
        g = a.graph
        if g.name in seen:
            continue
        seen.add(g.name)
        ref = g.reference
        if not ref:
            skipped.append(g.name)
            continue
        points.append(
            LandscapePoint(
                name=g.name,
                title=g.title,
                family=family(g.name),
                macs=a.totals["macs"] // a.batch,
                params=a.totals["params"],
                top1=float(ref["top1"]),
                top5=float(ref["top5"]) if "top5" in ref else None,
                source=str(ref.get("source", "")),
            )
        )
    points.sort(key=lambda p: (p.macs, p.name))
    return points, skipped
