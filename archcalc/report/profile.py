"""The profile report for the terminal, from the archcalc.profile/1 dict."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from archcalc.units import format_bytes, format_count


def _params_line(params: dict) -> str:
    m, a = params["module"], params["analytic"]
    if params["matches"]:
        return f"Params   module = analysis exactly: {m['params']:,} params, {m['buffers']:,} buffers"
    return (f"Params   MISMATCH: module {m['params']:,} params / {m['buffers']:,} buffers, "
            f"analysis {a['params']:,} / {a['buffers']:,}")


def _flops_lines(flops: dict) -> list[str]:
    lines = []
    if flops["matches"]:
        lines.append(f"FLOPs    all {flops['compared_nodes']} conv/linear nodes agree with fvcore exactly: "
                     f"{format_count(flops['analytic_conv_linear_macs'], 2)} MACs")
    else:
        lines.append(f"FLOPs    {len(flops['mismatches'])} of {flops['compared_nodes']} conv/linear nodes differ "
                     "from fvcore:")
        for m in flops["mismatches"]:
            lines.append(f"           {m['name']}: analysis {m['analytic_macs']:,}, fvcore {m['fvcore']:,} "
                         f"({m['difference']:+,})")
    lines.append(f"         fvcore's total {format_count(flops['fvcore_total'], 2)} also counts normalisation and "
                 "pooling, so only conv/linear are compared like with like")
    if flops["unsupported_ops"]:
        skipped = ", ".join(f"{op} ×{n}" for op, n in sorted(flops["unsupported_ops"].items()))
        lines.append(f"         operators fvcore skipped (counted 0): {skipped}")
    return lines


def renderable(result: dict):
    dev = result["device"]
    head = Text(
        f"{result['title'] or result['name']}  ·  {dev['type']} ({dev['name']})  ·  torch {result['torch_version']}"
        f"  ·  {result['threads']} threads  ·  {result['dtype']}",
        style="bold",
    )
    lines = [_params_line(result["params"])]
    if result["flops"]:
        lines += _flops_lines(result["flops"])
    table = Table(box=box.SIMPLE_HEAD, title="Latency (inference mode)", title_justify="left")
    for header in ("Batch", "Median", "p10", "p90", "Images/s", "MAC/s", "Peak memory", "Analytic peak"):
        table.add_column(header, justify="right")
    for entry in result["batches"]:
        lat, mem = entry["latency"], entry.get("memory")
        table.add_row(
            str(entry["batch"]),
            f"{lat['median_s'] * 1e3:.2f} ms",
            f"{lat['p10_s'] * 1e3:.2f} ms",
            f"{lat['p90_s'] * 1e3:.2f} ms",
            f"{lat['images_per_s']:.1f}",
            format_count(lat["macs_per_s"], 1),
            format_bytes(mem["peak_bytes"]) if mem else "-",
            format_bytes(mem["analytic_peak_activation_bytes"]) if mem else "-",
        )
    note = Text("Peak memory: measured activations of one forward pass (method: "
                + ", ".join(sorted({e['memory']['method'] for e in result['batches'] if e.get('memory')}) or ["-"])
                + "); analytic peak: live activations in archcalc's model.", style="dim")
    return Group(head, Text("\n".join(lines)), table, note)
