"""archcalc sweep: the figures of SPEC over a grid of batch sizes, inputs, dtypes and variables."""

from __future__ import annotations

import click

from archcalc.cli.options import complete_spec, emit, output_options, parse_shape, show


def _items(value: str, what: str) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise click.BadParameter(f"expected a comma-separated list of {what}, got '{value}'")
    return items


def parse_batches(ctx, param, value):
    try:
        batches = [int(item) for item in _items(value, "batch sizes")]
    except ValueError:
        raise click.BadParameter(f"expected batch sizes such as 1,8,32, got '{value}'") from None
    if min(batches) < 1:
        raise click.BadParameter(f"batch sizes must be positive, got '{value}'")
    return batches


def parse_inputs(ctx, param, value):
    """'160,224' (square, the spec's channels) or '3x160x160,3x224x224'; None keeps the spec's."""
    if value is None:
        return [None]
    inputs = []
    for item in _items(value, "inputs"):
        if "x" in item.lower():
            inputs.append(parse_shape(ctx, param, item))
        elif item.isdigit() and int(item) > 0:
            inputs.append(int(item))
        else:
            raise click.BadParameter(f"expected a side such as 224 or a shape such as 3x224x224, got '{item}'")
    return inputs


def parse_dtypes(ctx, param, value):
    from archcalc.sweep import DTYPES

    dtypes = _items(value, "dtypes")
    for dtype in dtypes:
        if dtype not in DTYPES:
            raise click.BadParameter(f"unknown dtype '{dtype}'; choose from {', '.join(DTYPES)}")
    return dtypes


def parse_grid_sets(ctx, param, values):
    from archcalc.spec.yaml_loader import plain_scalar

    grid = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected name=v1,v2,..., got '{item}'")
        grid[name.strip()] = [plain_scalar(v) for v in _items(value, f"values of {name.strip()}")]
    return grid


def sweep_options(func):
    """The grid and the device: shared by `sweep` and `plot sweep`."""
    for option in reversed([
        click.argument("spec", shell_complete=complete_spec),
        click.option("--batch", "batches", default="1", show_default=True, callback=parse_batches,
                     metavar="B1,B2,...", help="Batch sizes."),
        click.option("--input", "inputs", callback=parse_inputs, metavar="S1,S2,...",
                     help="Input sides (224) or shapes (3x224x224); default: the spec's."),
        click.option("--dtype", "dtypes", default="float32", show_default=True, callback=parse_dtypes,
                     metavar="D1,D2,...", help="Element types: float32, float16, bfloat16."),
        click.option("--set", "sets", multiple=True, callback=parse_grid_sets, metavar="NAME=V1,V2,...",
                     help="Sweep a spec variable (repeatable), e.g. --set alpha=0.5,1.0."),
        click.option("--device", default="a100", show_default=True, metavar="NAME",
                     help="Device whose roofline predicts the latency (see `archcalc roofline --list`)."),
        click.option("--optimizer", default="adam", show_default=True,
                     type=click.Choice(["sgd", "momentum", "adam", "adamw"]), help="Optimizer, for the training-step peak."),
    ]):
        func = option(func)
    return func


def sweep_of(spec, batches, inputs, dtypes, sets, device, optimizer):
    """Run the sweep the options describe (sides become the spec's channels x side x side)."""
    import archcalc
    from archcalc.devices import get_device
    from archcalc.sweep import run_sweep

    channels = archcalc.load(spec).input.shape[0] if any(isinstance(i, int) for i in inputs) else None
    shapes = [(channels, i, i) if isinstance(i, int) else i for i in inputs]
    return run_sweep(spec, batches=batches, inputs=shapes, dtypes=dtypes, sets=sets, device=get_device(device),
                     optimizer=optimizer)


@click.command(
    "sweep",
    epilog="""\b
Examples:
  archcalc sweep resnet50 --batch 1,8,32 --input 160,224,320 --dtype float32,float16
  archcalc sweep mobilenet-v1 --set alpha=0.5,1.0 --input 128,224 --device l4
  archcalc sweep resnet18 --batch 1,2,4,8,16 --format csv -o resnet18-sweep.csv

\b
--input takes sides (the spec's channels, square) or CxHxW shapes. The spec is
analysed once per input, variables and dtype; batch sizes are read off it.""",
)
@sweep_options
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "markdown", "json"]), default="table",
              show_default=True, help="Output format; json is archcalc.sweep/1 with exact integers.")
@output_options
def command(spec, batches, inputs, dtypes, sets, device, optimizer, fmt, output, force):
    """Params, MACs, training MACs, peaks and predicted latency of SPEC at every grid point."""
    from archcalc.report import sweep as report

    result = sweep_of(spec, batches, inputs, dtypes, sets, device, optimizer)
    if fmt == "table":
        show(lambda _width: report.sweep_renderable(result), output, force)
        return
    render = {"csv": report.sweep_csv, "markdown": report.sweep_markdown, "json": report.sweep_json}[fmt]
    emit(render(result), output, force)
