"""archcalc export: runnable PyTorch source of a spec."""

from __future__ import annotations

import click

from archcalc.cli.options import complete_spec, emit, output_options, parse_sets, parse_shape


@click.command(
    "export",
    epilog="""\b
Examples:
  archcalc export resnet18 --format torch -o resnet18.py
  archcalc export mobilenet-v1 --set alpha=0.5 --format torch""",
)
@click.argument("spec", shell_complete=complete_spec)
@click.option("--format", "fmt", type=click.Choice(["torch"]), default="torch", show_default=True)
@click.option("--input", "input_shape", callback=parse_shape, metavar="CxHxW", help="Replace the spec's input shape.")
@click.option("--set", "overrides", multiple=True, callback=parse_sets, metavar="NAME=VALUE",
              help="Override a spec variable (repeatable).")
@output_options
def command(spec, fmt, input_shape, overrides, output, force):
    """Write SPEC as PyTorch source: a module class with the spec's layers and forward."""
    import archcalc
    from archcalc.torch.build import export_torch_source

    emit(export_torch_source(archcalc.load(spec, overrides=overrides, input_shape=input_shape)), output, force)
