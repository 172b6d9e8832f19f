"""archcalc profile: the spec as a real torch module — parameters, fvcore FLOPs, latency, memory.

The command parses options and drives a progress bar; the measuring is
:func:`archcalc.profile.profile`, which returns the ``archcalc.profile/2`` dict that
``--format json`` prints as it is, and :mod:`archcalc.report.profile` renders it.
Nothing here imports torch at module level: a missing torch extra is the one-line
SpecError of ``require_torch`` (exit 1).
"""

from __future__ import annotations

import click

from archcalc.cli.options import complete_spec, emit, output_options, parse_sets, parse_shape, show, width_option


def _positive_list(what: str, example: str):
    """A click callback reading a comma-separated list of positive integers (None stays None)."""

    def parse(ctx, param, value: str | None):
        if value is None:
            return None
        try:
            numbers = [int(b) for b in value.split(",") if b.strip()]
        except ValueError:
            raise click.BadParameter(f"expected {what} such as {example}, got '{value}'") from None
        if not numbers or min(numbers) < 1:
            raise click.BadParameter(f"expected positive {what} such as {example}, got '{value}'")
        return numbers

    return parse


parse_batches = _positive_list("batch sizes", "1,8,32")


def _device(name: str) -> str:
    """'auto' picks CUDA when torch sees a GPU; a requested but missing GPU is a usage error (exit 2)."""
    from archcalc.errors import SpecError
    from archcalc.torch import device_type, require_torch, resolve_device

    if device_type(name) == "cpu":
        return name  # checked by profile, which refuses a network too large for memory before importing torch
    torch = require_torch()  # missing torch: SpecError naming the extra, exit 1
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolve_device(name)
    except SpecError as error:
        raise click.BadParameter(error.message + (f"; {error.hint}" if error.hint else ""),
                                 param_hint="'--device'") from None
    return name


@click.command(
    "profile",
    epilog="""\b
Examples:
  archcalc profile resnet50
  archcalc profile resnet50 --device cuda --batch 1,32 --dtype float16
  archcalc profile mobilenet-v2 --batch 1,8,32 --threads 4 --channels-last
  archcalc profile resnet50 --batch 1,8 --threads 1,2
  archcalc profile vgg16 --input 3x64x64 --repeat 5 --no-flops
  archcalc profile vgg16 --min-time 2 --format json -o vgg16-profile.json
\b
Needs the torch extra: pip install 'archcalc[torch]'
(from a checkout: pip install '.[torch]'). Parameters and buffers
of the module are checked against the analysis exactly. Conv and linear MACs
are compared node by node with fvcore (batch 1); fvcore's total also counts
normalisation and pooling, so it is shown, not compared. Latency is per call
under inference mode, timed in blocks until the medians of the last 3 blocks
agree within 5% (at least --repeat runs and --min-time seconds, at most
--max-time seconds); each batch gets a verdict: stable, or unstable (bimodal,
drifting or noisy) with the reason and what to try. The CPU load is sampled
before timing; threads beyond the idle cores are reported with a suggestion.""",
)
@click.argument("spec", shell_complete=complete_spec)
@click.option("--device", default="cpu", show_default=True,
              help="cpu, cuda, cuda:N, or auto (cuda when torch sees a GPU).")
@click.option("--batch", "batches", default="1", show_default=True, callback=parse_batches, metavar="N[,N...]",
              help="Batch sizes to time, e.g. 1,8,32.")
@click.option("--dtype", default="float32", show_default=True, type=click.Choice(["float32", "float16", "bfloat16"]),
              help="Element type of the module and its input.")
@click.option("--warmup", default=3, show_default=True, type=click.IntRange(min=0), help="Untimed runs first.")
@click.option("--repeat", default=10, show_default=True, type=click.IntRange(min=1), help="Timed runs (at least).")
@click.option("--min-time", default=0.0, show_default=True, type=click.FloatRange(min=0), metavar="S",
              help="Keep timing until this many seconds of runs have passed.")
@click.option("--max-time", default=10.0, show_default=True, type=click.FloatRange(min=0), metavar="S",
              help="Stop timing a batch after this many seconds even if the median has not settled.")
@click.option("--threads", callback=_positive_list("thread counts", "1,2"), metavar="N[,N...]",
              help="torch's intra-op CPU threads (default: torch's); a list compares them, e.g. 1,2.")
@click.option("--channels-last", is_flag=True, help="Run in channels-last memory format.")
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the module first (slow to start).")
@click.option("--allow-large", is_flag=True, help="Run even when the memory estimate exceeds free memory.")
@click.option("--no-flops", is_flag=True, help="Skip the fvcore comparison (fvcore not needed).")
@click.option("--input", "input_shape", callback=parse_shape, metavar="CxHxW",
              help="Replace the spec's input shape, e.g. 3x160x160.")
@click.option("--set", "overrides", multiple=True, callback=parse_sets, metavar="NAME=VALUE",
              help="Override a spec variable (repeatable), e.g. --set alpha=0.5.")
@click.option("--per-layer", is_flag=True,
              help="Time each node alone and print it beside its roofline prediction (first batch size).")
@click.option("--roofline-device", metavar="NAME",
              help="Device of the prediction for --per-layer (default: cpu, as calibrated, on the CPU).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="json is the archcalc.profile/2 dict with every measurement.")
@width_option
@output_options
def command(spec, device, batches, dtype, warmup, repeat, min_time, max_time, threads, channels_last, compile_,
            allow_large, no_flops, input_shape, overrides, per_layer, roofline_device, fmt, width, output, force):
    """Build SPEC as a torch module, check it against the analysis, and time it."""
    import archcalc
    from archcalc.profile import profile
    from archcalc.report.formats import to_json
    from archcalc.report.profile import renderable

    graph = archcalc.load(spec, overrides=overrides, input_shape=input_shape)
    device = _device(device)
    if max_time < min_time:
        raise click.BadParameter(f"--max-time {max_time} is below --min-time {min_time}", param_hint="'--max-time'")
    if per_layer:
        from archcalc.cli.per_layer import run_per_layer

        run_per_layer(graph, device, batches[0], dtype, repeat, threads[0] if threads else None, roofline_device, fmt,
                      output, force)
        return
    kwargs = dict(device=device, batches=batches, dtype=dtype, warmup=warmup, repeat=repeat, min_time=min_time,
                  max_time=max_time, threads=threads, channels_last=channels_last, compile=compile_, flops=not no_flops,
                  allow_large=allow_large)
    from archcalc.torch import allocation_errors

    with allocation_errors(graph, device, max(batches), dtype):  # --allow-large: torch may refuse to allocate
        measured = profile(graph, **kwargs) if fmt == "json" else _with_progress(graph, profile, kwargs)
    if fmt == "json":
        emit(to_json(measured), output, force)
    else:
        show(lambda columns: renderable(measured, columns), output, force, width)


def _with_progress(graph, profile, kwargs):
    """Run ``profile`` with a transient rich progress bar on stderr, only when stderr is a terminal."""
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        return profile(graph, **kwargs)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from archcalc.sinks import terminal

    name = terminal(graph.name)
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(f"{name}: build", total=None)

        def progress(stage, done, total):
            bar.update(task, description=f"{name}: {stage}", completed=done, total=total)

        return profile(graph, progress=progress, **kwargs)
