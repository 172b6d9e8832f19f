"""archcalc diagram: the layer graph as Mermaid, Graphviz DOT or SVG (no extra needed)."""

from __future__ import annotations

from pathlib import Path

import click

from archcalc.cli.options import complete_spec, emit, output_options, parse_sets, parse_shape

SUFFIXES = {".mmd": "mermaid", ".mermaid": "mermaid", ".md": "mermaid", ".dot": "dot", ".gv": "dot", ".svg": "svg"}


@click.command(
    "diagram",
    epilog="""\b
Examples:
  archcalc diagram resnet18 --depth 2                  Mermaid to standard output
  archcalc diagram googlenet --depth 1 -o googlenet.svg
  archcalc diagram bottleneck --format dot -o bottleneck.dot
  archcalc diagram resnet50 --depth 2 --format svg > resnet50.svg

Edges carry the shape (C×H×W) of the tensor they pass; blocks are clusters,
and --depth collapses blocks below that level into single nodes (as summary
--depth sums them). The SVG is laid out by archcalc itself; paste Mermaid into
a Markdown ```mermaid fence, or render DOT with Graphviz (dot -Tpng).""",
)
@click.argument("spec", shell_complete=complete_spec)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "svg"]),
              help="Output format [default: from the -o suffix (.mmd .dot .gv .svg), else mermaid].")
@click.option("--depth", type=click.IntRange(min=1),
              help="Show N levels of nesting; deeper blocks become one node (1 = top level only).")
@click.option("--input", "input_shape", callback=parse_shape, metavar="CxHxW",
              help="Replace the spec's input shape, e.g. 3x160x160.")
@click.option("--set", "overrides", multiple=True, callback=parse_sets, metavar="NAME=VALUE",
              help="Override a spec variable (repeatable), e.g. --set alpha=0.5.")
@output_options
def command(spec, fmt, depth, input_shape, overrides, output, force):
    """Draw the layer graph of SPEC: shapes on the edges, blocks as clusters."""
    import archcalc
    from archcalc.plot import diagram

    if fmt is None:
        fmt = SUFFIXES.get(Path(output).suffix.lower(), "mermaid") if output is not None else "mermaid"
    graph = archcalc.load(spec, overrides=overrides, input_shape=input_shape)
    d = diagram.build_diagram(graph, depth)
    writer = {"mermaid": diagram.to_mermaid, "dot": diagram.to_dot, "svg": diagram.to_svg}[fmt]
    emit(writer(d), output, force)
