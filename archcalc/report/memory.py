"""The training-memory report for the terminal: the parts of one step, the peak, the budget."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from archcalc.memory import Event, MemoryEstimate, Size
from archcalc.ops.attention import ATTENTION_MATRICES
from archcalc.report.text import layout, training_line
from archcalc.sinks import one_line, terminal
from archcalc.units import format_bytes, format_count

EXPLAIN = (
    "weights: every parameter · gradients and optimizer state: trainable parameters only "
    "(sgd 0, momentum 1x, adam/adamw 2x + a step counter per tensor)\n"
    "activations: the tensors autograd saves for backward, as distinct storages (parameters and "
    "the input excluded)\n"
    "total: all parts at once · peak: high-water mark of a simulated step (forward, backward, "
    "optimizer step)\n"
    "Not counted: the CUDA context, allocator rounding and caching, cuDNN workspaces."
)


def _when(event: Event) -> str:
    """Where in the step an event is: 'forward at conv1', 'optimizer'."""
    return event.phase + (f" at {event.node}" if event.phase != "optimizer" else "")


def _peak(event: Event, batch: int) -> str:
    return (f"peak {format_bytes(event.live.at(batch))} = {format_bytes(event.live.fixed)} fixed + "
            f"{format_bytes(event.live.per_sample)} per sample, {_when(event)}")


def _size(size: Size) -> tuple[str, str]:
    per = format_bytes(size.per_sample) if size.per_sample else "-"
    fixed = format_bytes(size.fixed) if size.fixed else "-"
    return per, fixed


def parts_table(e: MemoryEstimate, width: int | None = None):
    p = e.precision
    b = e.batch
    state = {"sgd": "none", "momentum": "momentum buffer, 1x", "adam": "exp_avg + exp_avg_sq, 2x",
             "adamw": "exp_avg + exp_avg_sq, 2x"}[e.optimizer]
    rows: list[tuple[str, Size, str]] = [
        ("weights", e.parts["weights"], f"{e.params:,} params × {p.weight} B"),
    ]
    if p.master:
        rows.append(("master weights", e.parts["master_weights"], f"{e.trainable_params:,} trainable × {p.master} B (float32)"))
    if e.buffers:
        rows.append(("buffers", e.parts["buffers"], f"{e.buffers:,} values (BatchNorm running statistics)"))
    rows += [
        ("gradients", e.parts["gradients"], f"{e.trainable_params:,} trainable × {p.grad} B"),
        ("optimizer state", e.parts["optimizer_state"], f"{e.optimizer}: {state}, {p.state} B each"),
        ("input batch", e.parts["input"], f"{b} × {'×'.join(map(str, e.graph.input.shape))} × {p.activation} B"),
    ]
    if e.training:
        kept = sum(1 for s in e.saved if not s.is_input)
        note = f"saved for backward: {kept} tensors, from {e.first_trainable}"
        matrices = [s for s in e.saved if s.what in ATTENTION_MATRICES]
        if matrices:
            total = sum(s.size.at(b) for s in matrices)
            note += f"; {len(matrices)} attention matrices (heads×N×N): {format_bytes(total)}"
        rows.append(("activations", e.parts["activations"], note))
    else:
        rows.append(("activations", e.parts["activations"], "nothing trains: peak live activations of the forward pass"))
    cells = []
    for name, size, note in rows:
        per, fixed = _size(size)
        cells.append([name, format_bytes(size.at(b)), per, fixed, note])
    total = e.total_size()
    peak = e.peak_event()
    cells.append(["total", format_bytes(total.at(b)), *_size(total), "all of the above at once"])
    cells.append(["peak", format_bytes(peak.live.at(b)), *_size(peak.live),
                  f"simulated step: {_when(peak)}"])
    styles = [None] * (len(cells) - 2) + ["bold", "bold"]
    return layout(["Part", "Memory", "Per sample", "Fixed", "What"], cells, [False, True, True, True, False], styles,
                  width, drop=[3, 2], flex=4, wrap=True)


def layers_table(e: MemoryEstimate, width: int | None = None):
    """One row per node that keeps something for the backward pass."""
    b = e.batch
    cells = []
    for row in e.layers:
        if not row.saved:
            continue
        kept = ", ".join(
            f"{s['what']} {'×'.join(map(str, s['shape'])) or 'scalar'}"
            + (f" {s['dtype']}" if s["dtype"] != e.precision.activation_type else "")
            + ("" if s["first"] else " (shared)")
            for s in row.saved
        )
        state = "trainable" if row.trainable else ("frozen" if row.params else "-")
        cells.append([row.name, row.kind, state, format_bytes(row.new_saved.at(b)) if row.new_saved.at(b) else "-", kept])
    if not cells:
        return Text("No layer keeps anything for a backward pass.")
    return layout(["Layer", "Kind", "Params", "Saved", "Keeps"], cells, [False, False, False, True, False],
                  [None] * len(cells), width, drop=[1, 2], flex=4, wrap=True)


def memory_renderable(e: MemoryEstimate, budget: int | None = None, show_layers: bool = False,
                      width: int | None = None):
    g = e.graph
    heading = (
        f"{terminal(one_line(g.title or g.name))}  ·  input {'×'.join(map(str, g.input.shape))}  ·  batch {e.batch}  ·  "
        f"{e.precision.describe()}  ·  {e.optimizer}  ·  {e.device}"
    )
    lines: list[Text] = [Text(heading, style="bold")]
    head = e.extra.get("head")
    if head:
        for change in head["layers"]:
            lines.append(Text(
                f"New head      {change['name']} ({change['kind']}, {head['classes']} classes): "
                f"{change['params']:,} params (was {change['previous_params']:,})"
                + ("  [frozen: it will not learn]" if change["frozen"] else "")
            ))
    freeze = e.extra.get("freeze")
    if freeze and (freeze.get("until") is not None or freeze.get("train_last") is not None):
        how = (f"up to {freeze['until']}" + (f" ({freeze['node']})" if freeze["node"] != freeze["until"] else "")
               if freeze.get("until") is not None else f"all but the last {freeze['train_last']} weight layers")
        lines.append(Text(f"Frozen        {how}: {freeze['frozen_param_layers']} layers with parameters"))
    lines.append(Text(
        f"Params        {e.params:,} ({format_count(e.params)}): trainable {e.trainable_params:,} · "
        f"frozen {e.frozen_params:,}" + (f" · first trainable {e.first_trainable}" if e.first_trainable else "")
    ))
    lines.append(Text(training_line(e.macs)))
    lines.append(Text(""))
    lines.append(parts_table(e, width))
    if budget is not None:
        lines.append(Text(""))
        fits, _ = e.max_batch(budget)
        if fits:
            lines.append(Text(f"Budget {format_bytes(budget)}: largest batch {fits:,} "
                              f"({_peak(e.peak_event(fits), fits)})", style="bold"))
        else:
            lines.append(Text(f"Budget {format_bytes(budget)}: does not fit even at batch 1 "
                              f"({_peak(e.peak_event(1), 1)})", style="bold red"))
    if show_layers:
        lines += [Text(""), layers_table(e, width)]
    lines += [Text(""), Text(EXPLAIN, style="dim")]
    return Group(*lines)
