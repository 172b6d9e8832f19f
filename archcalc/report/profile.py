"""The terminal report of an ``archcalc.profile/2`` dict: parameters, FLOPs, latency, its stability, memory."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from archcalc.ops import REGISTRY
from archcalc.report.text import layout
from archcalc.sinks import one_line, terminal
from archcalc.units import format_bytes, format_count


def _params_lines(params: dict) -> list[str]:
    m, a = params["module"], params["analytic"]
    heads = params.get("training_only_params") or 0
    extra = f" (incl. {heads:,} in training-only heads)" if heads else ""
    if params["matches"]:
        return [f"Params   module = analysis exactly: {m['params']:,} params{extra}, {m['buffers']:,} buffers"]
    lines = ["Params   MISMATCH between the module and the analysis:"]
    for key, label in (("params", "params"), ("frozen_params", "frozen params"), ("buffers", "buffers")):
        diff = m[key] - a[key]
        state = "exact" if diff == 0 else f"module {diff:+,}"
        lines.append(f"         {label:<14} module {m[key]:>14,}   analysis {a[key]:>14,}   {state}")
    return lines


def _flops_lines(flops: dict, width: int | None):
    """Lines, and the table of conv/linear nodes that differ (None when all agree)."""
    compared = flops["compared_nodes"]
    differing = [n for n in flops["nodes"] if n["compared"] and n["difference"]]
    # The families of the kinds compared (those naming fvcore in Op.mac_counters), in graph order:
    # conv/linear, and attention where archcalc's explicit products are there to compare.
    families = dict.fromkeys(REGISTRY.get(n["kind"]).family for n in flops["nodes"] if n["compared"])
    kinds = "/".join(families) or "conv/linear"
    table = None
    if not differing:
        head = (f"FLOPs    all {compared} {kinds} nodes agree with fvcore exactly: "
                f"{format_count(flops['analytic_conv_linear_macs'], 2)} MACs at batch {flops['batch']}")
    else:
        head = (f"FLOPs    {len(differing)} of {compared} {kinds} nodes differ from fvcore "
                f"(batch {flops['batch']}): analysis {flops['analytic_conv_linear_macs']:,} MACs, "
                f"fvcore {flops['fvcore_conv_linear']:,}")
        table = layout(
            ["Node", "Kind", "Analytic MACs", "fvcore", "Difference"],
            [[n["name"], n["kind"], f"{n['analytic_macs']:,}", f"{n['fvcore']:,}", f"{n['difference']:+,}"]
             for n in differing],
            [False, False, True, True, True],
            ["red"] * len(differing),
            width, drop=[1], flex=0,
        )
    lines = [
        head,
        f"         fvcore's total {format_count(flops['fvcore_total'], 2)} also counts normalisation and pooling, "
        f"so only {kinds} are compared like with like",
    ]
    if flops["unsupported_ops"]:
        skipped = ", ".join(f"{op} ×{n}" for op, n in sorted(flops["unsupported_ops"].items()))
        lines.append(f"         operators fvcore skipped (counted 0): {skipped}")
    return lines, table


# The latency columns in the order a narrow width hides them: the spread's parts first, then the
# derived rates and memory, then the spread and the threads; Verdict goes last, and Batch and Median stay.
LATENCY_HIDE_ORDER = ("p10", "p90", "Runs", "GMAC/s", "Ratio", "Analytic peak", "Peak memory", "Images/s", "Spread",
                      "Threads", "Verdict")


def _latency_table(batches: list[dict], several_threads: bool, width: int | None):
    headers = ["Batch", *(["Threads"] if several_threads else []), "Runs", "Median", "p10", "p90", "Spread",
               "Verdict", "Images/s", "GMAC/s", "Peak memory", "Analytic peak", "Ratio"]
    cells, styles = [], []
    for entry in batches:
        lat, mem, stab = entry["latency"], entry.get("memory"), entry["stability"]
        macs_per_s = lat.get("macs_per_s")
        stable = stab["verdict"] == "stable"
        row = [
            str(entry["batch"]),
            *([str(entry["threads"])] if several_threads else []),
            str(lat["runs"]),
            f"{lat['median_s'] * 1e3:.2f} ms",
            f"{lat['p10_s'] * 1e3:.2f} ms",
            f"{lat['p90_s'] * 1e3:.2f} ms",
            f"{(lat['p90_s'] - lat['p10_s']) / lat['median_s']:.0%}",
            "stable" if stable else stab["kind"].upper(),
            f"{lat['images_per_s']:,.1f}",
            "-" if macs_per_s is None else f"{macs_per_s / 1e9:,.2f}",
        ]
        if mem:
            measured, analytic = mem["measured_with_input_bytes"], mem["analytic_peak_activation_bytes"]
            row += [format_bytes(measured), format_bytes(analytic), f"{measured / analytic:.2f}×" if analytic else "-"]
        else:
            row += ["-", "-", "-"]
        cells.append(row)
        styles.append(None if stable else "yellow")
    return layout(headers, cells, [True] * len(headers), styles, width,
                  drop=[headers.index(h) for h in LATENCY_HIDE_ORDER if h in headers])


def _load_line(result: dict) -> str | None:
    load = result.get("cpu_load")
    if not load or result["device"]["type"] != "cpu":
        return None
    busy = "" if load["busy_cores"] is None else f", about {load['busy_cores']:.1f} busy with other work"
    average = "" if load["load_1min"] is None else f", load average {load['load_1min']:.2f}"
    return f"CPU      {load['cores']} cores{average}{busy}" + "".join(f"\n         warning: {a}" for a in load["advice"])


def _seconds_line(seconds: dict) -> str:
    parts = [(label, seconds.get(key)) for key, label in
             (("import_torch", "import torch"), ("build", "build"), ("flops", "FLOPs"), ("load_sample", "load sample"))]
    setup = ", ".join(f"{label} {value:.2f}" for label, value in parts if value is not None)
    measuring = ", ".join(f"{label} {seconds[key]:.2f} s" for key, label in (("timing", "timing"), ("memory", "memory"))
                          if key in seconds)
    return f"Time     set-up {seconds['setup']:.2f} s ({setup}); {measuring}"


def renderable(result: dict, width: int | None = None):
    """The terminal report of an ``archcalc.profile/2`` dict."""
    dev, opts = result["device"], result["options"]
    shape = "×".join(map(str, result.get("input_shape") or []))
    title = terminal(one_line(result['title'] or result['name'])) + (f"  ·  input {shape}" if shape else "") + f"  ·  {result['dtype']}"
    device = f"{dev['type']}" + (f":{dev['index']}" if dev.get("index") is not None else "") + f" ({dev['name']})"
    flags = [f for f, on in (("channels-last", opts["channels_last"]), ("compiled", opts["compile"])) if on]
    if result.get("fvcore_version"):
        flags.append(f"fvcore {result['fvcore_version']}")
    counts = result["threads"]
    threads = ", ".join(map(str, counts)) + " thread" + ("" if counts == [1] else "s")
    parts = [Text(title, style="bold"),
             Text(f"Device   {device}  ·  torch {result['torch_version']}  ·  {threads}"
                  + "".join(f"  ·  {f}" for f in flags)),
             Text("\n".join(_params_lines(result["params"])))]
    if result["flops"]:
        lines, table = _flops_lines(result["flops"], width)
        parts.append(Text(lines[0]))
        if table is not None:
            parts.append(table)
        parts.append(Text("\n".join(lines[1:])))
    load = _load_line(result)
    if load:
        parts.append(Text(load))
    parts.append(Text(_seconds_line(result["seconds"])))
    several = len(counts) > 1
    parts += [Text(""), Text("Latency per call (inference mode)", style="bold"),
              _latency_table(result["batches"], several, width)]
    # One paragraph per batch, wrapped within the width: the verdict and its advice stay together.
    parts += [Text(f"batch {e['batch']}" + (f", {e['threads']} thread" + ("s" if e["threads"] > 1 else "") if several
                                             else "") + f": {e['stability']['advice']}") for e in result["batches"]]
    methods = sorted({e["memory"]["method"] for e in result["batches"] if e.get("memory")})
    if methods:
        parts.append(Text(
            f"Peak memory: measured during one forward pass ({', '.join(methods)}), plus the input.\n"
            "Analytic peak: live activations, input included, in archcalc's model; kernel workspaces come on top.",
            style="dim"))
    return Group(*parts)
