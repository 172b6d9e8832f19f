"""archcalc memory: the memory of one training step, and the largest batch that fits."""

from __future__ import annotations

import click

from archcalc.cli.options import (check_freeze_options, complete_spec, emit, freeze_options, output_options,
                                  parse_sets, parse_shape, show, width_option)


def parse_budget(ctx, param, value):
    """'24GiB', '24G' (read as GiB), '16GB' (10^9), '512MiB' -> bytes."""
    if value is None:
        return None
    from archcalc.units import parse_quantity

    text = value.strip()
    if text[-1:].upper() in ("K", "M", "G", "T"):
        text += "iB"
    try:
        budget = parse_quantity(text, binary=True)
    except ValueError:
        raise click.BadParameter(f"expected a size such as 24GiB, 16G or 512MiB, got '{value}'") from None
    if budget <= 0:
        raise click.BadParameter(f"expected a positive size, got '{value}'")
    return int(budget)


@click.command(
    "memory",
    epilog="""\b
Examples:
  archcalc memory resnet50 --batch 32 --optimizer adam
  archcalc memory resnet50 --classes 20 --freeze-until layer3 --budget 16GiB
  archcalc memory vgg16 --train-last 3 --dtype mixed --budget 24GiB
  archcalc memory mobilenet-v2 --batch 64 --layers
  archcalc memory resnet18 --batch 8 --format json -o resnet18-memory.json

\b
Parts: weights (every parameter), gradients (trainable only), optimizer state
(sgd 0, momentum 1x, adam/adamw 2x trainable), the input batch, and the
activations autograd saves for backward (from the first trainable layer on;
with everything frozen, the peak live activations of the forward pass).
--dtype mixed: float16 weights, gradients and activations, float32 master
weights and optimizer state. The peak is the high-water mark of a simulated
step; --budget gives the largest batch whose peak fits.""",
)
@click.argument("spec", shell_complete=complete_spec)
@click.option("--input", "input_shape", callback=parse_shape, metavar="CxHxW",
              help="Replace the spec's input shape, e.g. 3x160x160.")
@click.option("--set", "overrides", multiple=True, callback=parse_sets, metavar="NAME=VALUE",
              help="Override a spec variable (repeatable).")
@click.option("--batch", default=1, show_default=True, type=click.IntRange(min=1), help="Batch size.")
@click.option("--dtype", default="float32", show_default=True,
              type=click.Choice(["float32", "float16", "bfloat16", "mixed"]),
              help="Training precision; mixed = float16 copy + float32 master weights and optimizer state.")
@click.option("--optimizer", default="adam", show_default=True, type=click.Choice(["sgd", "momentum", "adam", "adamw"]),
              help="Optimizer, for its state: sgd none, momentum 1x, adam/adamw 2x the trainable parameters.")
@click.option("--device", default="cuda", show_default=True, type=click.Choice(["cuda", "cpu"]),
              help="Where the step runs: dropout keeps a 1-byte mask on CUDA, a full-width one on CPU.")
@freeze_options
@click.option("--classes", type=click.IntRange(min=1), metavar="C",
              help="Replace the classifier for C classes (sets the spec's num_classes).")
@click.option("--budget", callback=parse_budget, metavar="SIZE",
              help="Memory available, e.g. 24GiB or 16G (GiB): report the largest batch that fits.")
@click.option("--layers", "show_layers", is_flag=True, help="List what each layer keeps for the backward pass.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format; json is the archcalc.memory/1 contract with exact integers.")
@width_option
@output_options
def command(spec, input_shape, overrides, batch, dtype, optimizer, device, freeze_until, train_last, classes,
            budget, show_layers, fmt, width, output, force):
    """Memory of one training step of SPEC: weights, gradients, optimizer state, saved activations, peak."""
    from archcalc.memory import estimate_memory
    from archcalc.report import formats
    from archcalc.training import prepare_transfer

    check_freeze_options(freeze_until, train_last)
    if classes is not None and "num_classes" in overrides:
        raise click.UsageError("use either --classes or --set num_classes=..., not both")
    graph, changes = prepare_transfer(spec, classes=classes, freeze_until=freeze_until, train_last=train_last,
                                      overrides=overrides, input_shape=input_shape)
    estimate = estimate_memory(graph, batch=batch, dtype=dtype, optimizer=optimizer, device=device)
    estimate.extra = changes
    if fmt == "json":
        emit(formats.to_json(estimate.to_dict(budget)), output, force)
        return
    from archcalc.report.memory import memory_renderable

    show(lambda columns: memory_renderable(estimate, budget, show_layers, columns), output, force, width)
