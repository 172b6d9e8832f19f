"""archcalc roofline: which layers are compute- or memory-bound on a device, and the predicted time."""

from __future__ import annotations

import click

from archcalc.cli.options import analysis_options, complete_spec, emit, output_options, show


@click.command(
    "roofline",
    epilog="""\b
Examples:
  archcalc roofline resnet50 --device a100 --batch 32
  archcalc roofline mobilenet-v2 --device t4 --dtype float16 --batch 8
  archcalc roofline resnet18 --device cpu --batch 8      # after `archcalc calibrate`
  archcalc roofline --list

\b
Each layer takes max(FLOPs / peak, bytes / bandwidth) at the dtype's peak; the
network's time is their sum. The device table: docs/performance.md.""",
)
@click.argument("spec", required=False, shell_complete=complete_spec)
@analysis_options
@click.option("--device", default="a100", show_default=True, metavar="NAME", help="A device of `--list`.")
@click.option("--list", "list_devices", is_flag=True, help="List the devices and their figures.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format; json is archcalc.roofline/1.")
@output_options
def command(spec, input_shape, batch, dtype, overrides, device, list_devices, fmt, output, force):
    """Per layer of SPEC: compute- or memory-bound on DEVICE, and the predicted time."""
    from archcalc.devices import TABLE, calibrated, config_path, get_device

    if list_devices:
        from archcalc.report.roofline import devices_renderable

        found = calibrated()
        missing = None if found else f"cpu: this machine, once `archcalc calibrate` has stored it in {config_path()}"
        show(lambda _width: devices_renderable([*TABLE.values(), *([found] if found else [])], missing), output, force)
        return
    if spec is None:
        raise click.UsageError("give a SPEC, or --list for the devices")
    import archcalc
    from archcalc.roofline import roofline

    chosen = get_device(device)
    chosen.peak(dtype)
    graph = archcalc.load(spec, overrides=overrides, input_shape=input_shape)
    result = roofline(archcalc.analyze(graph, batch=batch, dtype=dtype), chosen)
    if fmt == "json":
        from archcalc.report.formats import to_json

        emit(to_json(result.to_dict()), output, force)
        return
    from archcalc.report.roofline import roofline_renderable

    show(lambda _width: roofline_renderable(result), output, force)
