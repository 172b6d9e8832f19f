"""archcalc export: runnable PyTorch source of a spec."""

from __future__ import annotations

import click

from archcalc.cli.options import complete_spec, emit, output_options, parse_sets, parse_shape


@click.command(
    "export",
    epilog="""\b
Examples:
  archcalc export resnet18 --format torch -o resnet18.py
  archcalc export mobilenet-v1 --set alpha=0.5 --input 3x160x160 -o mobilenet_half.py
  archcalc export googlenet -o googlenet.py --force
\b
The file needs only torch: `from resnet18 import Resnet18; model = Resnet18()`.
Attribute names are those of the module `archcalc profile` builds, so its
state_dict loads into the exported class. INPUT_SHAPE holds the (C, H, W) input;
auxiliary heads, if the spec has them, are built and returned after the main
output. Needs the torch extra: pip install 'archcalc[torch]'
(from a checkout: pip install '.[torch]').""",
)
@click.argument("spec", shell_complete=complete_spec)
@click.option("--format", "fmt", type=click.Choice(["torch"]), default="torch", show_default=True,
              help="torch: a Python file defining an nn.Module class.")
@click.option("--input", "input_shape", callback=parse_shape, metavar="CxHxW", help="Replace the spec's input shape.")
@click.option("--set", "overrides", multiple=True, callback=parse_sets, metavar="NAME=VALUE",
              help="Override a spec variable (repeatable).")
@output_options
def command(spec, fmt, input_shape, overrides, output, force):
    """Write SPEC as PyTorch source: a module class with the spec's layers and forward."""
    import archcalc
    from archcalc.torch.build import export_torch_source

    emit(export_torch_source(archcalc.load(spec, overrides=overrides, input_shape=input_shape)), output, force)
