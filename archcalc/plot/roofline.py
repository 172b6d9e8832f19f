"""The classic roofline chart: attainable FLOP/s against arithmetic intensity, one point per layer.

Each point is a layer at its predicted speed (its FLOPs over its predicted time), so it
lies on the roof: on the slope when memory binds, on the flat when compute does. Labels
are layer kinds and device names only; no spec text reaches matplotlib.
"""

from __future__ import annotations

from archcalc.plot import new_figure
from archcalc.roofline import Roofline

_COLOURS = {"compute": "#d62728", "memory": "#1f77b4"}


def draw_roofline(result: Roofline, width: float = 8.0, height: float = 5.5):
    d, dtype = result.device, result.analysis.dtype
    peak = d.peak(dtype)
    points = [n for n in result.nodes if n.flops and n.bytes]
    fig = new_figure(width, height)
    ax = fig.add_axes((0.11, 0.12, 0.84, 0.78))
    lo = min([n.intensity for n in points] + [d.ridge(dtype) / 100]) / 2
    hi = max([n.intensity for n in points] + [d.ridge(dtype) * 10]) * 2
    xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    ax.plot(xs, [min(peak, d.bandwidth * x) for x in xs], color="black", linewidth=1.5)
    ax.axvline(d.ridge(dtype), color="grey", linestyle=":", linewidth=1)
    for bound in ("memory", "compute"):
        chosen = [n for n in points if n.bound == bound]
        ax.scatter([n.intensity for n in chosen], [n.flops / n.seconds for n in chosen], s=18, alpha=0.7,
                   color=_COLOURS[bound], label=f"{bound}-bound layers ({len(chosen)})", zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOPs per byte moved)")
    ax.set_ylabel("attained FLOP/s (predicted)")
    ax.set_title(f"{result.analysis.graph.name}, batch {result.analysis.batch}, {dtype} on {d.name}: "
                 f"{result.seconds * 1e3:.2f} ms predicted", parse_math=False)
    ax.legend(loc="lower right")
    ax.grid(True, which="major", alpha=0.3)
    return fig
