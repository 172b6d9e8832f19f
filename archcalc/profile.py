"""Profile a spec as a real torch module: parameters, FLOPs, latency and memory, beside the analysis.

:func:`profile` is the library function behind ``archcalc profile``: it returns one
JSON-able dict (schema ``archcalc.profile/1``) and reports its progress through a
callback, so the command only parses options, drives a progress bar and renders.
torch is imported inside the function only; importing this module costs nothing.
"""

from __future__ import annotations

import platform
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from archcalc.errors import SpecError
from archcalc.graph import Graph

SCHEMA = "archcalc.profile/1"

ProgressCallback = Callable[[str, int, "int | None"], None]
"""``progress(stage, done, total)``: stage is one of ``build``, ``params``, ``flops``,
``warmup batch=N``, ``time batch=N``, ``memory batch=N``; ``total`` is None while
the number of timed runs is open (``min_time``). Called after each step."""


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _check_options(batches, warmup, repeat, min_time, threads) -> list[int]:
    batches = list(batches)
    if not batches or any(not isinstance(b, int) or isinstance(b, bool) or b < 1 for b in batches):
        raise SpecError(f"batch sizes must be positive integers, got {batches}")
    if warmup < 0 or repeat < 1 or min_time < 0:
        raise SpecError(f"need warmup >= 0, repeat >= 1 and min_time >= 0; got {warmup}, {repeat}, {min_time}")
    if threads is not None and threads < 1:
        raise SpecError(f"threads must be a positive integer, got {threads}")
    return batches


def profile(
    spec: str | Path | Graph,
    *,
    device: str = "cpu",
    batches: Sequence[int] = (1,),
    dtype: str = "float32",
    warmup: int = 3,
    repeat: int = 10,
    min_time: float = 0.0,
    threads: int | None = None,
    channels_last: bool = False,
    compile: bool | str = False,
    flops: bool = True,
    memory: bool = True,
    allow_large: bool = False,
    overrides: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> dict:
    """Build ``spec`` as a torch module on ``device`` and measure it.

    Returns a JSON-able dict with the device, torch version and thread count; the
    parameter check (module vs analytic, exact); the FLOP comparison (fvcore per
    node at batch 1, conv and linear nodes exactly; ``flops=False`` skips it); and
    per batch size the latency statistics (median, p10, p90, images/s, MAC/s) and
    the measured peak memory beside the analytic peak (``memory=False`` skips it).

    Latency and memory are measured on the inference network (main output only);
    auxiliary heads are built and counted but not timed. ``compile`` is False,
    True or a ``torch.compile`` mode name. ``threads`` sets torch's intra-op CPU
    threads for the duration. Before allocating, the memory for the largest batch
    is estimated and a SpecError raised if it exceeds free memory, unless
    ``allow_large``.
    """
    from archcalc.analysis import DTYPE_BYTES, analyze_graph
    from archcalc.api import load
    from archcalc.torch import check_memory, device_type, require_torch, resolve_device

    batches = _check_options(batches, warmup, repeat, min_time, threads)
    report = progress or (lambda stage, done, total: None)
    graph = spec if isinstance(spec, Graph) else load(spec, overrides=overrides)
    on_cpu = device_type(device) == "cpu"
    analysis = analyze_graph(graph, batch=1, dtype=dtype)  # per sample: every step below scales it
    if on_cpu and not allow_large:  # refuse what cannot fit before the seconds of importing torch
        check_memory(graph, "cpu", max(batches), dtype, analysis)
    torch = require_torch(fvcore=flops)
    from archcalc.torch.build import build_module, inference_module, input_tensor, parameter_check
    from archcalc.torch.timing import measure_peak_memory, summarize, time_forward, torch_threads

    dev = resolve_device(device)
    if dev.type == "meta":
        raise SpecError("cannot time on the meta device; use cpu or cuda")

    with torch_threads(threads) as used_threads:
        # On CPU memory was checked above, so building does not analyse the graph again.
        module = build_module(graph, device=dev, dtype=dtype, batch=max(batches), allow_large=allow_large or on_cpu,
                              analysis=analysis)
        report("build", 1, 1)
        params = parameter_check(graph, module, analysis)
        report("params", 1, 1)
        flop_result = None
        if flops:
            from archcalc.torch.flops import compare_flops

            flop_result = compare_flops(graph, module, input_tensor(graph, 1, dev, dtype), analysis=analysis).to_dict()
            report("flops", 1, 1)

        runner = inference_module(module, graph)
        if channels_last:
            runner = runner.to(memory_format=torch.channels_last)
        if compile:
            runner = torch.compile(runner, **({} if compile is True else {"mode": compile}))

        results = []
        for batch in batches:
            x = input_tensor(graph, batch, dev, dtype, channels_last)
            times = time_forward(
                runner,
                x,
                warmup=warmup,
                repeat=repeat,
                min_time=min_time,
                progress=lambda stage, done, total, b=batch: report(f"{stage} batch={b}", done, total),
            )
            entry: dict[str, Any] = {"latency": summarize(times, batch, analysis.totals["macs"] * batch, warmup).to_dict()}
            if memory:
                measured = measure_peak_memory(runner, x)
                entry["memory"] = {
                    **measured.to_dict(),
                    "measured_with_input_bytes": measured.peak_bytes + measured.input_bytes,
                    "analytic_peak_activation_bytes": analysis.totals["peak_activation_bytes"] * batch,
                    "analytic_param_bytes": analysis.totals["param_bytes"],
                }
                report(f"memory batch={batch}", 1, 1)
            results.append({"batch": batch, **entry})
            del x

    device_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else _cpu_name()
    del module, runner
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return {
        "schema": SCHEMA,
        "name": graph.name,
        "title": graph.title,
        "input_shape": list(graph.input.shape),
        "device": {"type": dev.type, "name": device_name, "index": dev.index},
        "torch_version": torch.__version__,
        "fvcore_version": version("fvcore") if flops else None,
        "threads": used_threads,
        "dtype": dtype,
        "dtype_bytes": DTYPE_BYTES[dtype],
        "options": {
            "warmup": warmup,
            "repeat": repeat,
            "min_time": min_time,
            "channels_last": channels_last,
            "compile": compile,
        },
        "params": params,
        "flops": flop_result,
        "batches": results,
    }
