"""archcalc summary: one row per node and the totals."""

from __future__ import annotations

import click

from archcalc.cli.options import (analysis_options, apply_freeze, complete_spec, emit, freeze_options, output_options,
                                  output_width, plain_output, show, width_option)
from archcalc.report.rows import COLUMNS, DEFAULT_COLUMNS, HIDE_ORDER, TRAFFIC_COLUMNS, TRAINING_COLUMNS


def parse_columns(ctx, param, value):
    if value is None:
        return None
    columns = tuple(c.strip() for c in value.split(",") if c.strip())
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown or not columns:
        raise click.BadParameter(f"unknown column '{unknown[0] if unknown else value}'; choose from {', '.join(COLUMNS)}")
    return columns


@click.command(
    "summary",
    epilog="""\b
Examples:
  archcalc summary vgg16
  archcalc summary resnet50 --depth 1
  archcalc summary mobilenet-v1 --set alpha=0.5 --input 3x160x160
  archcalc summary my_net.yaml --format json -o my_net.json
  archcalc summary vgg16 --columns name,shape,params,macs --format csv
  archcalc summary resnet50 --freeze-until layer3 --depth 1
  archcalc summary resnet152 --full-names --width 120
  archcalc summary resnet18 --training --freeze-until layer2 --depth 1
  archcalc summary mobilenet-v2 --traffic --dtype float16 --depth 1
\b
A table wider than its width (--width, else $COLUMNS, else the terminal, else 80)
hides columns, and says so under it, in this order: """ + ", ".join(HIDE_ORDER) + """.
Long names are shortened in the middle (…).""",
)
@click.argument("spec", shell_complete=complete_spec)
@analysis_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table",
              show_default=True, help="Output format; json is the archcalc.summary/1 contract with exact integers.")
@click.option("--columns", callback=parse_columns, metavar="A,B,...",
              help=f"Columns for table/csv/markdown: {', '.join(COLUMNS)}.")
@click.option("--depth", type=click.IntRange(min=1),
              help="Show N levels of nesting; deeper blocks become one summed row (1 = top level only).")
@click.option("--full-names", is_flag=True,
              help="Show every row's full dotted path (layer3.4.conv2) instead of its last part under its block.")
@click.option("--training", is_flag=True,
              help="Columns of one training step: forward MACs, backward to the inputs and to the weights.")
@click.option("--traffic", is_flag=True,
              help="Columns of memory traffic: bytes read (inputs, weights), written, and MACs per byte.")
@freeze_options
@width_option
@output_options
def command(spec, input_shape, batch, dtype, overrides, fmt, columns, depth, full_names, training, traffic,
            freeze_until, train_last, width, output, force):
    """Per-layer shapes, parameters, MACs, activation memory and receptive fields of SPEC.

    Warnings about the spec (see `archcalc check`) follow on standard error.
    """
    import archcalc
    from archcalc.lint import lint

    if columns is None:
        chosen = [*(TRAINING_COLUMNS if training else ()), *(TRAFFIC_COLUMNS if traffic else ())]
        columns = tuple(dict.fromkeys(chosen)) or DEFAULT_COLUMNS
    graph = archcalc.load(spec, overrides=overrides, input_shape=input_shape)
    apply_freeze(graph, freeze_until, train_last)
    analysis = archcalc.analyze(graph, batch=batch, dtype=dtype)
    _report(analysis, fmt, columns, depth, full_names, width, output, force)
    for warning in lint(graph):
        click.echo(warning.render(), err=True)


def _report(analysis, fmt, columns, depth, full_names, width, output, force) -> None:
    from archcalc.report.rows import summary_rows

    if fmt != "table":  # json, csv, markdown: the machine formats
        from archcalc.report import formats

        if fmt == "json":
            emit(formats.to_json(analysis.to_dict()), output, force)
        elif fmt == "csv":
            emit(formats.rows_csv(summary_rows(analysis, depth, headers=False), columns), output, force)
        else:
            emit(formats.rows_markdown(summary_rows(analysis, depth), columns, analysis, full_names), output, force)
        return
    rows = summary_rows(analysis, depth)
    from archcalc.report.text import summary_plain, summary_renderable

    # Piped or to a file: the same text, fitted to the same width, without importing rich.
    plain = summary_plain(analysis, rows, columns, output_width(width), full_names) if plain_output(output) else None
    if plain is not None:
        emit(plain, output, force)
    else:
        show(lambda columns_: summary_renderable(analysis, rows, columns, columns_, full_names), output, force, width)
