"""The roofline prediction for the terminal: per node its bound and time, then the total; and the device table."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from archcalc.devices import Device
from archcalc.report.text import layout
from archcalc.roofline import Roofline
from archcalc.sinks import terminal
from archcalc.units import format_bytes, format_count


def seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.3f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.3f} ms"
    return f"{value * 1e6:.1f} µs"


def bandwidth(device: Device) -> str:
    """In decimal GB/s, as vendors state it."""
    gb = device.bandwidth / 1e9
    return f"{gb:,.0f} GB/s" if gb >= 100 else f"{gb:.1f} GB/s"


def roofline_renderable(result: Roofline):
    a, d = result.analysis, result.device
    total = result.seconds
    cells = [
        [n.name, n.kind, format_count(n.flops) if n.flops else "-", format_bytes(n.bytes) if n.bytes else "-",
         f"{n.intensity:.1f}" if n.bytes else "-", n.bound, seconds(n.seconds) if n.seconds else "-",
         f"{100 * n.seconds / total:.1f}%" if total and n.seconds else "-"]
        for n in result.nodes
    ]
    ridge = d.ridge(a.dtype)
    return Group(
        Text(f"{terminal(a.graph.title or a.graph.name)}  ·  input {'×'.join(map(str, a.graph.input.shape))}  ·  batch {a.batch}"
             f"  ·  {a.dtype}  ·  {d.title}", style="bold"),
        Text(""),
        layout(["Layer", "Kind", "FLOPs", "Bytes", "FLOP/B", "Bound", "Time", "Share"], cells,
               [False, False, True, True, True, False, True, True], [None] * len(cells)),
        Text(""),
        Text(f"Predicted     {seconds(total)} per batch of {a.batch}  ·  compute-bound layers "
             f"{100 * result.share('compute'):.0f}% of the time, memory-bound {100 * result.share('memory'):.0f}%\n"
             f"Device        {format_count(d.peak(a.dtype), 1)}FLOP/s {a.dtype} · {bandwidth(d)} · "
             f"ridge {ridge:.1f} FLOP/B  ({d.source})"),
        Text("Per layer max(FLOPs / peak, bytes / bandwidth); FLOPs = 2 × MACs + other ops; inputs and weights "
             "read once, the output written once, no reuse between layers.", style="dim"),
    )


def devices_renderable(devices: list[Device], missing: str | None):
    dtypes = ["float32", "float16", "bfloat16"]
    cells = [[d.name, d.title, *(format_count(d.peak_flops[t], 1) if t in d.peak_flops else "-" for t in dtypes),
              bandwidth(d), d.source] for d in devices]
    parts = [layout(["Device", "Name", *(f"{t} FLOP/s" for t in dtypes), "Bandwidth", "Source"], cells,
                    [False, False, True, True, True, True, False], [None] * len(cells))]
    if missing:
        parts.append(Text(missing, style="dim"))
    return Group(*parts)
