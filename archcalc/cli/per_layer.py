"""`archcalc profile --per-layer`: the measuring and printing behind the option."""

from __future__ import annotations

from archcalc.cli.options import emit, show


def run_per_layer(graph, device: str, batch: int, dtype: str, repeat: int, threads: int | None,
                  roofline_device: str | None, fmt: str, output, force: bool) -> None:
    import archcalc
    from archcalc.devices import get_device
    from archcalc.roofline import roofline
    from archcalc.torch import device_type, require_torch
    from archcalc.torch.build import build_module, inference_module, input_tensor
    from archcalc.torch.per_layer import time_layers

    torch = require_torch()
    if threads:
        torch.set_num_threads(threads)
    target = get_device(roofline_device or ("cpu" if device_type(device) == "cpu" else "a100"))
    target.peak(dtype)
    prediction = roofline(archcalc.analyze(graph, batch=batch, dtype=dtype), target)
    module = inference_module(build_module(graph, device=device, dtype=dtype, batch=batch), graph)
    result = time_layers(graph, module, input_tensor(graph, batch, device, dtype), prediction, repeat)
    if fmt == "json":
        from archcalc.report.formats import to_json

        emit(to_json({"schema": "archcalc.per_layer/1", "name": graph.name, "dtype": dtype,
                      "roofline_device": target.to_dict(), **result.to_dict()}), output, force)
        return
    from archcalc.report.per_layer import per_layer_renderable

    show(lambda _width: per_layer_renderable(result, target.title), output, force)
