"""archcalc import: a torch model becomes a spec file."""

from __future__ import annotations

import click

from archcalc.cli.options import emit, output_options, parse_sets, parse_shape, refuse_overwrite


@click.command(
    "import",
    epilog="""\b
Examples:
  archcalc import torchvision:resnet50 -o resnet50.yaml
  archcalc import torchvision:deeplabv3_resnet50 --input 3x520x520 -o deeplab.yaml
  archcalc import my_model.py:Net --arg num_classes=10 --input 3x32x32 -o net.yaml
\b
SOURCE is torchvision:NAME (built with weights=None), timm:NAME (when timm is
installed) or path/file.py:NAME (a module class or a function returning one, from your
own file, imported as you would import it). Node names are the module's qualified
names, so `archcalc export` of the spec loads the model's state_dict (strict=True).
Module classes whose instances repeat one structure become blocks (the arguments that
differ are their parameters); --flat writes every layer out instead.
An operation no layer kind computes stops the import with every such operation listed;
nothing is written then. Needs the torch extra: pip install 'archcalc[torch]'.""",
)
@click.argument("source")
@click.option("--input", "input_shape", callback=parse_shape, metavar="CxHxW",
              help="The input the model is traced at (default 3x224x224).")
@click.option("--arg", "args", multiple=True, callback=parse_sets, metavar="NAME=VALUE",
              help="An argument of the model's builder or class (repeatable).")
@click.option("--flat", is_flag=True,
              help="Write every layer out, modules as named groups (no blocks, no repeat).")
@output_options
def command(source, input_shape, args, flat, output, force):
    """Write the spec of the torch model SOURCE."""
    from archcalc.errors import SpecError
    from archcalc.library import is_model_source
    from archcalc.torch.sources import import_source

    if not is_model_source(source):
        raise SpecError(f"'{source}' is not a model source", hint="torchvision:NAME, timm:NAME or path/file.py:NAME")
    refuse_overwrite(output, force)  # before the seconds of importing torch and the model, not after
    emit(import_source(source, input_shape, args, flat=flat), output, force)
