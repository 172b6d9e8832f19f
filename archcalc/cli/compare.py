"""archcalc compare: totals side by side, ratios against the first spec."""

from __future__ import annotations

import click

from archcalc.cli.options import analysis_options, complete_spec, emit, output_options, show, width_option


@click.command(
    "compare",
    epilog="""\b
Examples:
  archcalc compare naive-inception bottleneck
  archcalc compare resnet50 resnext50-32x4d wide-resnet50-2
  archcalc compare resnet18 resnet34 --by-block
  archcalc compare vgg16 resnet50 --format json""",
)
@click.argument("specs", nargs=-1, required=True, shell_complete=complete_spec)
@analysis_options
@click.option("--by-block", is_flag=True, help="Also align top-level blocks by name and compare them.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table", show_default=True,
              help="csv: one row per spec with exact totals and ratios (with --by-block, one per spec and block).")
@width_option
@output_options
def command(specs, input_shape, batch, dtype, overrides, by_block, fmt, width, output, force):
    """Compare the totals of two or more SPECS; the best value of each row is marked."""
    import archcalc
    from archcalc.report import compare as report

    if len(specs) < 2:
        raise click.UsageError("compare needs at least two specs")
    analyses = [
        archcalc.analyze(s, batch=batch, dtype=dtype, overrides=overrides, input_shape=input_shape) for s in specs
    ]
    if fmt == "json":
        emit(report.to_json(analyses, by_block), output, force)
    elif fmt == "markdown":
        emit(report.to_markdown(analyses, by_block), output, force)
    elif fmt == "csv":
        emit(report.to_csv(analyses, by_block), output, force)
    else:
        show(lambda columns: report.renderable(analyses, by_block, columns), output, force, width)
