"""archcalc plot: pictures drawn with matplotlib (the optional `plot` extra).

matplotlib is imported inside the subcommands only, so registering this group
costs nothing and `archcalc summary` never loads it.
"""

from __future__ import annotations

from pathlib import Path

import click

from archcalc.cli.options import analysis_options, complete_spec, refuse_overwrite
from archcalc.cli.sweep import sweep_options


def image_output(func):
    func = click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")(func)
    func = click.option("--dpi", default=150, show_default=True, type=click.IntRange(min=30, max=1200),
                        help="Resolution of a PNG.")(func)
    return click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
                        metavar="FILE", help="Image to write: FILE.png, FILE.svg or FILE.pdf.")(func)


def _check_output(output: Path, force: bool) -> None:
    from archcalc.plot import image_format

    image_format(output)
    refuse_overwrite(output, force)


def _save(fig, output: Path, dpi: int) -> None:
    from archcalc.plot import save_figure

    save_figure(fig, output, dpi)
    click.echo(f"wrote {output}", err=True)


@click.group(
    "plot",
    epilog="""\b
Examples:
  archcalc plot layers vgg16 -o vgg16-layers.png
  archcalc plot layers resnet50 --depth 2 -o resnet50.svg
  archcalc plot landscape -o landscape.png
  archcalc plot landscape vgg16 resnet50 mobilenet-v2 googlenet -o some.svg
  archcalc plot roofline resnet50 --device a100 --batch 32 -o roofline.png
  archcalc plot sweep resnet50 --batch 1,8,32 --input 160,224,320 -o sweep.png

Needs matplotlib: pip install 'archcalc[plot]'
(from a checkout: pip install '.[plot]').""",
)
def command() -> None:
    """Pictures: per-layer bars of one network, or accuracy against operations of many."""


@command.command(
    "layers",
    epilog="""\b
Examples:
  archcalc plot layers vgg16 -o vgg16-layers.png
  archcalc plot layers resnet50 --depth 2 -o resnet50.svg
  archcalc plot layers googlenet --depth 1 --log -o googlenet.png""",
)
@click.argument("spec", shell_complete=complete_spec)
@analysis_options
@click.option("--depth", type=click.IntRange(min=1),
              help="Show N levels of nesting; deeper blocks become one summed bar (1 = top level only).")
@click.option("--log", is_flag=True, help="Logarithmic value axes (small layers stay visible).")
@click.option("--all-nodes", is_flag=True,
              help="Also give a slot to nodes with no memory, parameters or MACs (in-place ReLUs, views).")
@image_output
def layers(spec, input_shape, batch, dtype, overrides, depth, log, all_nodes, output, dpi, force):
    """Bars of activation memory, parameters and MACs per layer of SPEC, on a shared layer axis."""
    from archcalc.plot import require_matplotlib

    require_matplotlib()
    _check_output(output, force)
    import archcalc
    from archcalc.plot.data import layer_series
    from archcalc.plot.layers import draw_layers

    analysis = archcalc.analyze(spec, batch=batch, dtype=dtype, overrides=overrides, input_shape=input_shape)
    series = layer_series(analysis, depth, all_nodes=all_nodes)
    if not series.bars:
        from archcalc.sinks import terminal

        raise click.ClickException(f"{terminal(analysis.graph.name)} has no layer with memory, parameters or MACs to plot")
    _save(draw_layers(series, log=log), output, dpi)


@command.command(
    "landscape",
    epilog="""\b
Examples:
  archcalc plot landscape -o landscape.png            every built-in with a reference:
  archcalc plot landscape vgg16 resnet50 mobilenet-v2 -o three.svg
  archcalc plot landscape --linear -o landscape-linear.png""",
)
@click.argument("specs", nargs=-1, shell_complete=complete_spec)
@click.option("--linear", is_flag=True, help="Linear operations axis instead of logarithmic.")
@click.option("--title", help="Replace the chart's title.")
@image_output
def landscape(specs, linear, title, output, dpi, force):
    """Top-1 accuracy against GMACs, bubble area proportional to parameters.

    SPECS are built-in names or spec files with a `reference:` block (published
    accuracy); with none, every built-in spec that has one.
    """
    from archcalc.plot import require_matplotlib

    require_matplotlib()
    _check_output(output, force)
    import archcalc
    from archcalc.library import builtin_paths
    from archcalc.plot.data import landscape_points
    from archcalc.plot.landscape import draw_landscape

    chosen = list(specs) or list(builtin_paths().values())
    points, skipped = landscape_points([archcalc.analyze(s) for s in chosen])
    if specs and skipped:
        from archcalc.sinks import terminal

        click.echo(f"skipped (no `reference:` accuracy): {terminal(', '.join(skipped))}", err=True)
    if not points:
        raise click.ClickException(
            "no spec with a `reference:` block (published accuracy) to plot; "
            "add e.g. reference: {top1: 71.6, source: ...}"
        )
    without_macs = [p.name for p in points if p.macs <= 0]
    if without_macs and not linear:
        from archcalc.sinks import terminal

        raise click.ClickException(f"{terminal(', '.join(without_macs))}: no MACs, so no place on a logarithmic "
                                   "operations axis; pass --linear")
    _save(draw_landscape(points, log=not linear, title=title, dpi=dpi), output, dpi)


@command.command(
    "roofline",
    epilog="""\b
Examples:
  archcalc plot roofline resnet50 --device a100 --batch 32 -o roofline.png
  archcalc plot roofline mobilenet-v2 --device t4 --dtype float16 -o mobilenet-t4.svg""",
)
@click.argument("spec", shell_complete=complete_spec)
@analysis_options
@click.option("--device", default="a100", show_default=True, metavar="NAME",
              help="A device of `archcalc roofline --list`.")
@image_output
def roofline(spec, input_shape, batch, dtype, overrides, device, output, dpi, force):
    """The roofline of DEVICE with one point per layer of SPEC at its predicted speed."""
    from archcalc.plot import require_matplotlib

    require_matplotlib()
    _check_output(output, force)
    import archcalc
    from archcalc.devices import get_device
    from archcalc.plot.roofline import draw_roofline
    from archcalc.roofline import roofline as predict

    chosen = get_device(device)
    chosen.peak(dtype)
    graph = archcalc.load(spec, overrides=overrides, input_shape=input_shape)
    _save(draw_roofline(predict(archcalc.analyze(graph, batch=batch, dtype=dtype), chosen)), output, dpi)


@command.command(
    "sweep",
    epilog="""\b
Examples:
  archcalc plot sweep resnet50 --batch 1,8,32 --input 160,224,320 -o sweep.png
  archcalc plot sweep mobilenet-v1 --set alpha=0.25,0.5,0.75,1.0 --metric macs -o alpha.svg""",
)
@sweep_options
@click.option("--metric", default="latency", show_default=True,
              type=click.Choice(["latency", "macs", "training_macs", "activation_peak", "training_peak"]),
              help="The figure on the vertical axis.")
@click.option("--x", "x_axis", metavar="AXIS", help="The swept variable on the horizontal axis (default: the first "
              "with more than one value: batch, input, dtype, then --set names).")
@image_output
def sweep(spec, batches, inputs, dtypes, sets, device, optimizer, metric, x_axis, output, dpi, force):
    """One figure of a sweep against the swept variable, one line per combination of the others."""
    from archcalc.plot import require_matplotlib

    require_matplotlib()
    _check_output(output, force)
    from archcalc.cli.sweep import sweep_of
    from archcalc.plot.sweep import draw_sweep

    result = sweep_of(spec, batches, inputs, dtypes, sets, device, optimizer)
    if x_axis is not None and x_axis not in result.axes:
        raise click.BadParameter(f"'{x_axis}' is not swept; choose from {', '.join(result.axes)}", param_hint="'--x'")
    _save(draw_sweep(result, metric, x_axis), output, dpi)
