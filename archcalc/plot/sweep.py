"""A sweep against one swept variable: one line per combination of the others."""

from __future__ import annotations

from archcalc.plot import new_figure
from archcalc.sweep import Point, Sweep

METRICS = {
    "latency": ("predicted latency (ms)", lambda p: p.latency_s * 1e3),
    "macs": ("MACs (G)", lambda p: p.macs / 1e9),
    "training_macs": ("training-step MACs (G)", lambda p: p.training_macs / 1e9),
    "activation_peak": ("inference activation peak (MiB)", lambda p: p.activation_peak_bytes / 2**20),
    "training_peak": ("training-step peak (MiB)", lambda p: p.training_peak_bytes / 2**20),
}


def axis_value(point: Point, axis: str):
    if axis in ("batch", "dtype"):
        return getattr(point, axis)
    if axis == "input":
        return point.input[-1]
    return point.variables[axis]


def swept_axis(sweep: Sweep) -> str:
    """The first axis with more than one value (batch when none has)."""
    return next((k for k, values in sweep.axes.items() if len(values) > 1), "batch")


def draw_sweep(sweep: Sweep, metric: str = "latency", x: str | None = None, width: float = 8.0, height: float = 5.0):
    axis = x or swept_axis(sweep)
    label, value = METRICS[metric]
    lines: dict[tuple, list[Point]] = {}
    others = [k for k in sweep.axes if k != axis]
    for p in sweep.points:
        lines.setdefault(tuple(axis_value(p, k) for k in others), []).append(p)
    fig = new_figure(width, height)
    ax = fig.add_axes((0.1, 0.12, 0.62, 0.78))
    numeric = all(isinstance(axis_value(p, axis), (int, float)) for p in sweep.points)
    for key, points in lines.items():
        xs = [axis_value(p, axis) for p in points]
        text = ", ".join(f"{k} {v}" for k, v in zip(others, key) if len(sweep.axes[k]) > 1) or "all"
        ax.plot(xs if numeric else [str(v) for v in xs], [value(p) for p in points], marker="o", label=text)
    ax.set_xlabel("input side" if axis == "input" else axis, parse_math=False)
    ax.set_ylabel(label)
    ax.set_title(f"{sweep.spec}: {label} on {sweep.device.name}", parse_math=False)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    return fig
