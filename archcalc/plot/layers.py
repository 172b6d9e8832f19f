"""Per-layer bars: activation memory, parameters and MACs on one shared layer axis.

Three stacked panels share x, so the lecture's VGG observation reads straight off
the picture: the memory is in the early convolutions, the parameters in the late
fully connected layers, and the MACs in between.
"""

from __future__ import annotations

import math

from archcalc.plot import new_figure
from archcalc.plot.data import LayerSeries, byte_scale, count_scale
from archcalc.sinks import mathtext
from archcalc.units import format_bytes, format_count

# By the kind's family (Op.family); "block" is a collapsed block of summed layers.
FAMILY_COLOURS = {
    "conv": "#1f77b4",
    "linear": "#ff7f0e",
    "pool": "#2ca02c",
    "block": "#9467bd",
    "input": "#7f7f7f",
}
OTHER_COLOUR = "#bcbd22"
PANELS = (
    # metric, what, byte-valued
    ("activation_bytes", "Activation memory", True),
    ("params", "Parameters", False),
    ("macs", "MACs", False),
)


def kind_colour(kind: str) -> str:
    """The colour of a bar: its kind's family's, or the block colour."""
    from archcalc.ops import REGISTRY

    op = REGISTRY.get(kind)
    return FAMILY_COLOURS.get(op.family if op is not None else kind, OTHER_COLOUR)


def label_step(count: int, max_labels: int) -> int:
    """Label every n-th bar so that at most ``max_labels`` names are written."""
    return max(1, math.ceil(count / max_labels))


def shown_labels(series: LayerSeries, max_labels: int) -> list[tuple[int, str]]:
    """(position, text) of the layer names written under the bottom panel."""
    step = label_step(len(series.bars), max_labels)
    return [(i, b.name) for i, b in enumerate(series.bars) if i % step == 0]


def axis_label(what: str, byte_valued: bool, largest: float, series: LayerSeries) -> tuple[float, str]:
    if byte_valued:
        divisor, unit = byte_scale(largest)
        return divisor, f"{what}\n({unit}, {series.dtype}, batch {series.batch})"
    divisor, word = count_scale(largest)
    return divisor, f"{what}\n({word})"


def draw_layers(series: LayerSeries, *, log: bool = False, max_labels: int = 70, title: str | None = None):
    """The figure; panel axes are ``fig.axes[:3]`` in PANELS order, bars in series order."""
    from matplotlib.patches import Patch

    n = len(series.bars)
    width = min(max(9.0, 2.5 + 0.2 * min(n, max_labels) + 0.02 * max(0, n - max_labels)), 30.0)
    fig = new_figure(width, 10.0)
    fig.set_layout_engine("constrained")
    axes = fig.subplots(3, 1, sharex=True)
    xs = list(range(n))
    colours = [kind_colour(b.kind) for b in series.bars]
    bar_width = 0.8 if n <= 200 else 1.0
    for ax, (metric, what, byte_valued) in zip(axes, PANELS):
        values = series.values(metric)
        largest = max(values, default=0)
        divisor, ylabel = axis_label(what, byte_valued, largest, series)
        heights = [v / divisor for v in values]
        ax.bar(xs, heights, width=bar_width, color=colours, edgecolor="none", gid=metric)
        ax.set_ylabel(ylabel, fontsize=10)
        ax.grid(True, axis="y", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if log and largest > 0:
            ax.set_yscale("log")
            smallest = min((h for h in heights if h > 0), default=largest / divisor)
            ax.set_ylim(smallest / 2, largest / divisor * 4)
        elif largest > 0:
            ax.set_ylim(0, largest / divisor * 1.22)
        if largest > 0:
            top = values.index(largest)
            text = format_bytes(largest) if byte_valued else format_count(largest, 2)
            ax.annotate(f"{mathtext(series.bars[top].name)}: {text}", xy=(top, largest / divisor),
                        xytext=(0, 4), textcoords="offset points",
                        ha="left" if top < n / 2 else "right", va="bottom", fontsize=9,
                        gid=f"peak:{metric}")
    bottom = axes[-1]
    ticks = shown_labels(series, max_labels)
    bottom.set_xticks([i for i, _ in ticks])
    bottom.set_xticklabels([mathtext(t) for _, t in ticks], rotation=90, fontsize=8)
    step = label_step(n, max_labels)
    unit = "layer or summed block" if series.depth is not None else "layer"
    bottom.set_xlabel(f"{unit} (graph order{'; every %d%s name shown' % (step, _ordinal(step)) if step > 1 else ''})")
    bottom.set_xlim(-0.7, n - 0.3)

    kinds = []
    for b in series.bars:
        colour = kind_colour(b.kind)
        if colour not in [c for _, c in kinds]:
            kinds.append((_legend_name(b.kind), colour))
    axes[0].legend(handles=[Patch(color=c, label=k) for k, c in kinds], loc="upper left",
                   bbox_to_anchor=(1.01, 1.0), title="kind", fontsize=9, title_fontsize=9, frameon=False)
    head = mathtext(title or f"{series.title}: activation memory, parameters and MACs per layer")
    fig.suptitle(_wrap(head, width, 13 * 0.56), fontsize=13, fontweight="bold")
    axes[0].set_title(_wrap(series.subtitle(), width * 0.85, 9.5 * 0.5), fontsize=9.5, color="#333333", pad=8)
    if series.footnote():
        fig.supxlabel(_wrap(series.footnote(), width, 8 * 0.55), fontsize=8, color="#555555")
    fig.archcalc_series = series
    return fig


def _wrap(text: str, width_in: float, char_pt: float) -> str:
    """Wrap ``text`` to the figure width (inches), given an average character width in points."""
    import textwrap

    columns = max(20, int(width_in * 72 * 0.92 / char_pt))
    return "\n".join(textwrap.wrap(text, columns, break_on_hyphens=False))


def _legend_name(kind: str) -> str:
    from archcalc.ops import REGISTRY

    op = REGISTRY.get(kind)
    family = op.family if op is not None else kind
    if family not in FAMILY_COLOURS:
        return "other"
    return {"pool": "pooling", "block": "block (summed)"}.get(family, family)


def _ordinal(n: int) -> str:
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
