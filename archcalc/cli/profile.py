"""archcalc profile: the spec as a real torch module — parameters, fvcore FLOPs, latency, memory."""

from __future__ import annotations

import click

from archcalc.cli.options import complete_spec, emit, output_options, parse_sets, parse_shape, show


def parse_batches(ctx, param, value: str):
    try:
        batches = [int(b) for b in value.split(",") if b.strip()]
    except ValueError:
        raise click.BadParameter(f"expected batch sizes such as 1,8,32, got '{value}'") from None
    if not batches or min(batches) < 1:
        raise click.BadParameter(f"expected positive batch sizes such as 1,8,32, got '{value}'")
    return batches


def _device(name: str) -> str:
    """'auto' picks CUDA when torch sees a GPU; a requested but missing GPU is a usage error (exit 2)."""
    from archcalc.errors import SpecError
    from archcalc.torch import require_torch, resolve_device

    torch = require_torch()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolve_device(name)
    except SpecError as error:
        raise click.UsageError(error.message + (f" ({error.hint})" if error.hint else "")) from None
    return name


@click.command(
    "profile",
    epilog="""\b
Examples:
  archcalc profile resnet50
  archcalc profile resnet50 --device cuda --batch 1,32 --dtype float16
  archcalc profile mobilenet-v2 --batch 1,8,32 --threads 4 --channels-last
  archcalc profile vgg16 --min-time 2 --format json -o vgg16-profile.json
\b
Needs the torch extra: pip install 'archcalc[torch]'. Conv and linear MACs are
compared node by node with fvcore; fvcore's total also counts normalisation and
pooling, so it is shown but not compared.""",
)
@click.argument("spec", shell_complete=complete_spec)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--batch", "batches", default="1", show_default=True, callback=parse_batches, metavar="N[,N...]",
              help="Batch sizes to time, e.g. 1,8,32.")
@click.option("--dtype", default="float32", show_default=True, type=click.Choice(["float32", "float16", "bfloat16"]))
@click.option("--warmup", default=3, show_default=True, type=click.IntRange(min=0), help="Untimed runs first.")
@click.option("--repeat", default=10, show_default=True, type=click.IntRange(min=1), help="Timed runs (at least).")
@click.option("--min-time", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="Keep timing until this many seconds have passed.")
@click.option("--threads", type=click.IntRange(min=1), help="torch's intra-op CPU threads.")
@click.option("--channels-last", is_flag=True, help="Run in channels-last memory format.")
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the module first.")
@click.option("--no-flops", is_flag=True, help="Skip the fvcore comparison.")
@click.option("--allow-large", is_flag=True, help="Run even when the estimate exceeds free memory.")
@click.option("--input", "input_shape", callback=parse_shape, metavar="CxHxW", help="Replace the spec's input shape.")
@click.option("--set", "overrides", multiple=True, callback=parse_sets, metavar="NAME=VALUE",
              help="Override a spec variable (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@output_options
def command(spec, device, batches, dtype, warmup, repeat, min_time, threads, channels_last, compile_, no_flops,
            allow_large, input_shape, overrides, fmt, output, force):
    """Build SPEC as a torch module, check it against the analysis, and time it."""
    import archcalc
    from archcalc.profile import profile
    from archcalc.report.formats import to_json
    from archcalc.report.profile import renderable

    graph = archcalc.load(spec, overrides=overrides, input_shape=input_shape)
    device = _device(device)
    kwargs = dict(device=device, batches=batches, dtype=dtype, warmup=warmup, repeat=repeat, min_time=min_time,
                  threads=threads, channels_last=channels_last, compile=compile_, flops=not no_flops,
                  allow_large=allow_large)
    if fmt == "json" or output is not None:
        result = profile(graph, **kwargs)
    else:
        result = _with_progress(graph, profile, kwargs)
    if fmt == "json":
        emit(to_json(result), output, force)
    else:
        show(renderable(result), output, force)


def _with_progress(graph, profile, kwargs):
    """Run with a rich progress bar on stderr (rich hides it when stderr is not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"profiling {graph.name}", total=None)

        def progress(stage, done, total):
            bar.update(task, description=f"{graph.name}: {stage}", completed=done, total=total)

        return profile(graph, progress=progress, **kwargs)
