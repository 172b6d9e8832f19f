"""Top-1 accuracy against operations, bubble area proportional to parameters.

After the lecture's "Comparing complexity" chart (Canziani, Paszke & Culurciello,
"An Analysis of Deep Neural Network Models for Practical Applications", 2017),
drawn from the built-in specs: MACs and parameters computed by archcalc, accuracy
from each spec's ``reference:``.
"""

from __future__ import annotations

import math

from archcalc.plot import new_figure
from archcalc.plot.data import LandscapePoint, bubble_area
from archcalc.plot.labels import Box, place_labels
from archcalc.sinks import mathtext
from archcalc.units import format_count

LEGEND_PARAMS = (5e6, 25e6, 60e6, 140e6)
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
    "#8c6d31", "#843c39", "#7b4173", "#3182bd",
)


def family_colours(points: list[LandscapePoint]) -> dict[str, str]:
    """A colour per family (alphabetical order of families): stable for a given set of specs."""
    families = sorted({p.family for p in points})
    return {f: _PALETTE[i % len(_PALETTE)] for i, f in enumerate(families)}


def _limits(points: list[LandscapePoint], log: bool) -> tuple[tuple[float, float], tuple[float, float]]:
    xs = [p.gmacs for p in points]
    ys = [p.top1 for p in points]
    if log:
        lo, hi = min(xs), max(xs)
        span = max(math.log10(hi / lo), 0.5)
        x = (lo / 10 ** (0.12 * span), hi * 10 ** (0.16 * span))
    else:
        span = max(max(xs) - min(xs), 1.0)
        x = (max(0.0, min(xs) - 0.08 * span), max(xs) + 0.12 * span)
    yspan = max(max(ys) - min(ys), 4.0)
    y = (min(ys) - 0.10 * yspan, max(ys) + 0.10 * yspan)
    return x, y


def draw_landscape(points: list[LandscapePoint], *, log: bool = True, title: str | None = None,
                   width: float = 11.0, height: float = 7.5, dpi: int = 150):
    """The figure; its label texts are ``fig.archcalc_labels`` (one per point, same order)."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig = new_figure(width, height)
    fig.set_dpi(dpi)
    ax = fig.add_axes((0.075, 0.09, 0.70, 0.80))
    colours = family_colours(points)

    # Biggest bubbles first, so a small one is never hidden under a big one.
    for p in sorted(points, key=lambda p: (-p.params, p.name)):
        ax.scatter([p.gmacs], [p.top1], s=[p.area], color=colours[p.family], alpha=0.55,
                   edgecolors="black", linewidths=0.6, zorder=2, gid=f"bubble:{mathtext(p.name)}")
        ax.scatter([p.gmacs], [p.top1], s=[6], color="black", zorder=3, gid=f"centre:{mathtext(p.name)}")

    (x0, x1), (y0, y1) = _limits(points, log)
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.grid(True, which="major", color="#dddddd", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    scale = " (log scale)" if log else ""
    ax.set_xlabel(f"Operations per image: GMACs, 10⁹ multiply-accumulates{scale}")
    ax.set_ylabel("Top-1 accuracy on ImageNet (%)")
    fig.suptitle(mathtext(title) if title else "Accuracy against operations; bubble area proportional to parameters",
                 x=0.075, ha="left", fontsize=13, fontweight="bold")
    fig.text(0.075, 0.915,
             "MACs and parameters computed by archcalc from the built-in specs; top-1 accuracy as "
             "published (each spec's reference: source)", fontsize=8.5, color="#444444")

    # Legend for bubble size: reference bubbles on the same scale, beside the plot.
    handles = [
        Line2D([], [], linestyle="none", marker="o", markersize=math.sqrt(bubble_area(n)),
               markerfacecolor="#bbbbbb", markeredgecolor="black", markeredgewidth=0.6,
               label=f"{format_count(n, 0)} params")
        for n in LEGEND_PARAMS
    ]
    ax.legend(handles=handles, title="Bubble area = parameters", loc="upper left",
              bbox_to_anchor=(1.02, 1.0), frameon=False, labelspacing=2.4, borderpad=1.2,
              handlelength=math.sqrt(bubble_area(max(LEGEND_PARAMS))) / 9 + 0.6, handletextpad=0.8,
              fontsize=9, title_fontsize=9)

    # Labels: measure, place without overlaps, then pin them at offsets in points.
    texts = [
        ax.annotate(mathtext(p.name), xy=(p.gmacs, p.top1), xytext=(0, 0), textcoords="offset points",
                    fontsize=8.5, ha="center", va="center", zorder=5, annotation_clip=False,
                    bbox={"boxstyle": "round,pad=0.12", "facecolor": "white", "alpha": 0.75,
                          "edgecolor": "none"},
                    gid=f"label:{mathtext(p.name)}")
        for p in points
    ]
    renderer = fig.canvas.get_renderer()
    to_px = fig.dpi / 72.0
    anchors = [tuple(ax.transData.transform((p.gmacs, p.top1))) for p in points]
    sizes = []
    for t in texts:
        extent = t.get_window_extent(renderer)
        sizes.append((extent.width + 0.3 * 8.5 * to_px, extent.height + 0.2 * 8.5 * to_px))  # + bbox pad
    radii = [math.sqrt(p.area / math.pi) * to_px for p in points]
    frame = ax.get_window_extent(renderer)
    bounds = Box(frame.x0 + 2, frame.y0 + 2, frame.x1 - 2, frame.y1 - 2)
    boxes = place_labels(anchors, sizes, bounds, radii=radii, dot=2 * to_px, pad=2 * to_px, step=4 * to_px)
    for p, t, box, (ax_, ay_), r in zip(points, texts, boxes, anchors, radii):
        p_x, p_y = p.gmacs, p.top1
        cx, cy = box.center
        t.xyann = ((cx - ax_) / to_px, (cy - ay_) / to_px)
        nearest_x = min(max(ax_, box.x0), box.x1)
        nearest_y = min(max(ay_, box.y0), box.y1)
        if math.hypot(nearest_x - ax_, nearest_y - ay_) > 9 * to_px:
            # A leader line from the bubble's centre to the label's nearest edge, in points.
            ax.annotate("", xy=(p_x, p_y), xytext=((nearest_x - ax_) / to_px, (nearest_y - ay_) / to_px),
                        textcoords="offset points",
                        arrowprops={"arrowstyle": "-", "color": "#666666", "linewidth": 0.6,
                                    "shrinkA": 0, "shrinkB": 2},
                        zorder=3, annotation_clip=False)
    fig.archcalc_labels = texts
    fig.archcalc_points = points
    return fig
