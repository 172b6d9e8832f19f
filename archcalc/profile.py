"""Profile a spec as a real torch module: parameters, FLOPs, latency and memory, beside the analysis.

:func:`profile` is the library function behind ``archcalc profile``: it returns one
JSON-able dict (schema ``archcalc.profile/2``) and reports its progress through a
callback, so the command only parses options, drives a progress bar and renders.
torch is imported inside the function only; importing this module costs nothing.
"""

from __future__ import annotations

import platform
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from archcalc.errors import SpecError
from archcalc.graph import Graph

SCHEMA = "archcalc.profile/2"

ProgressCallback = Callable[[str, int, "int | None"], None]
"""``progress(stage, done, total)``: stage is one of ``build``, ``params``, ``flops``,
``warmup batch=N``, ``time batch=N``, ``memory batch=N`` (with `` threads=T`` added
when several thread counts are compared); ``total`` is None while the number of timed
runs is open (timing stops when the median settles). Called after each step."""


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _positive_ints(values) -> bool:
    return bool(values) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values)


def _check_options(batches, warmup, repeat, min_time, max_time, threads) -> tuple[list[int], list[int | None]]:
    batches = list(batches)
    if not _positive_ints(batches):
        raise SpecError(f"batch sizes must be positive integers, got {batches}")
    if warmup < 0 or repeat < 1 or min_time < 0 or max_time < min_time:
        raise SpecError(f"need warmup >= 0, repeat >= 1 and 0 <= min_time <= max_time; "
                        f"got {warmup}, {repeat}, {min_time}, {max_time}")
    counts = [threads] if threads is None or isinstance(threads, int) else list(threads)
    if counts != [None] and not _positive_ints(counts):
        raise SpecError(f"threads must be positive integers, got {threads}")
    return batches, counts


def _verdict_line(verdict: dict, threads: int, load, on_cpu: bool) -> str:
    """The verdict in words, with what to try when the figure cannot be trusted."""
    if verdict["verdict"] == "stable":
        return f"stable: {verdict['reason']}"
    line = f"unstable ({verdict['kind']}): {verdict['reason']}"
    if on_cpu and load.busy_cores is not None and load.busy_cores >= 0.5:
        line += (f"; other processes are competing for the {threads} thread" + ("s" if threads > 1 else "")
                 + f" (about {load.busy_cores:.1f} of {load.cores} cores busy)")
    tries = [f"--threads {max(1, min(threads - 1, load.idle_cores))}"] if on_cpu and threads > 1 else []
    tries += ["a longer --max-time", "a quieter machine"]
    return line + "; try " + ", ".join(tries[:-1]) + " or " + tries[-1]


def profile(
    spec: str | Path | Graph,
    *,
    device: str = "cpu",
    batches: Sequence[int] = (1,),
    dtype: str = "float32",
    warmup: int = 3,
    repeat: int = 10,
    min_time: float = 0.0,
    max_time: float = 10.0,
    threads: int | Sequence[int] | None = None,
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
    per batch size (and per thread count) the latency statistics (median, p10, p90,
    images/s, MAC/s), the stability verdict and the measured peak memory beside the
    analytic peak (``memory=False`` skips it).

    Latency and memory are measured on the inference network (main output only);
    auxiliary heads are built and counted but not timed. ``compile`` is False,
    True or a ``torch.compile`` mode name. ``threads`` sets torch's intra-op CPU
    threads for the duration; a list times every batch at each count, to compare
    them. Timing stops when the median settles or after ``max_time`` seconds per
    batch (:mod:`archcalc.torch.stability`); the CPU load is sampled before timing.
    ``seconds`` splits the wall time into set-up (importing torch, building, counting)
    and measuring. Before allocating, the memory for the largest batch
    is estimated and a SpecError raised if it exceeds free memory, unless
    ``allow_large``.
    """
    from archcalc.analysis import DTYPE_BYTES, analyze_graph
    from archcalc.api import load
    from archcalc.torch import check_memory, device_type, require_torch, resolve_device

    batches, thread_counts = _check_options(batches, warmup, repeat, min_time, max_time, threads)
    report = progress or (lambda stage, done, total: None)
    graph = spec if isinstance(spec, Graph) else load(spec, overrides=overrides)
    on_cpu = device_type(device) == "cpu"
    analysis = analyze_graph(graph, batch=1, dtype=dtype)  # per sample: every step below scales it
    if on_cpu and not allow_large:  # refuse what cannot fit before the seconds of importing torch
        check_memory(graph, "cpu", max(batches), dtype, analysis)
    began = time.perf_counter()
    torch = require_torch(fvcore=flops)
    from archcalc.machine import sample_load
    from archcalc.torch.build import build_module, inference_module, input_tensor, parameter_check
    from archcalc.torch.timing import measure_peak_memory, summarize, time_forward, torch_threads

    dev = resolve_device(device)
    if dev.type == "meta":
        raise SpecError("cannot time on the meta device; use cpu or cuda")
    seconds = {"import_torch": time.perf_counter() - began}

    def lap(key: str, since: float) -> float:
        now = time.perf_counter()
        seconds[key] = seconds.get(key, 0.0) + now - since
        return now

    now = time.perf_counter()
    # On CPU memory was checked above, so building does not analyse the graph again.
    module = build_module(graph, device=dev, dtype=dtype, batch=max(batches), allow_large=allow_large or on_cpu,
                          analysis=analysis)
    report("build", 1, 1)
    params = parameter_check(graph, module, analysis)
    report("params", 1, 1)
    now = lap("build", now)
    flop_result = None
    if flops:
        from archcalc.torch.flops import compare_flops

        flop_result = compare_flops(graph, module, input_tensor(graph, 1, dev, dtype), analysis=analysis).to_dict()
        report("flops", 1, 1)
        now = lap("flops", now)

    runner = inference_module(module, graph)
    if channels_last:
        runner = runner.to(memory_format=torch.channels_last)
    if compile:
        runner = torch.compile(runner, **({} if compile is True else {"mode": compile}))
    cpu_load = sample_load()
    now = lap("load_sample", now)

    results, used = [], []
    for turn, count in enumerate(thread_counts):
        with torch_threads(count) as used_threads:
            used.append(used_threads)
            tag = f" threads={used_threads}" if len(thread_counts) > 1 else ""
            for batch in batches:
                x = input_tensor(graph, batch, dev, dtype, channels_last)
                timed = time_forward(
                    runner,
                    x,
                    warmup=warmup,
                    repeat=repeat,
                    min_time=min_time,
                    max_time=max_time,
                    progress=lambda stage, done, total, b=batch: report(f"{stage} batch={b}{tag}", done, total),
                )
                verdict = timed.verdict().to_dict()
                verdict["advice"] = _verdict_line(verdict, used_threads, cpu_load, dev.type == "cpu")
                entry: dict[str, Any] = {
                    "latency": summarize(timed.kept, batch, analysis.totals["macs"] * batch, warmup).to_dict(),
                    "stability": {**verdict, "block_runs": timed.block_runs, "blocks": len(timed.block_medians),
                                  "kept_blocks": timed.kept_blocks, "stopped": timed.stopped,
                                  "timed_s": timed.elapsed_s},
                }
                now = lap("timing", now)
                if memory and turn == 0:  # memory does not depend on threads
                    measured = measure_peak_memory(runner, x)
                    entry["memory"] = {
                        **measured.to_dict(),
                        "measured_with_input_bytes": measured.peak_bytes + measured.input_bytes,
                        "analytic_peak_activation_bytes": analysis.totals["peak_activation_bytes"] * batch,
                        "analytic_param_bytes": analysis.totals["param_bytes"],
                    }
                    report(f"memory batch={batch}", 1, 1)
                    now = lap("memory", now)
                results.append({"batch": batch, "threads": used_threads, **entry})
                del x

    device_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else _cpu_name()
    del module, runner
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    seconds["setup"] = sum(v for k, v in seconds.items() if k not in ("timing", "memory"))
    thread_advice = [a for a in (cpu_load.advice(t) for t in used) if a] if dev.type == "cpu" else []
    return {
        "schema": SCHEMA,
        "name": graph.name,
        "title": graph.title,
        "input_shape": list(graph.input.shape),
        "device": {"type": dev.type, "name": device_name, "index": dev.index},
        "torch_version": torch.__version__,
        "fvcore_version": version("fvcore") if flops else None,
        "threads": used,
        "cpu_load": {**cpu_load.to_dict(), "advice": thread_advice},
        "seconds": seconds,
        "dtype": dtype,
        "dtype_bytes": DTYPE_BYTES[dtype],
        "options": {
            "warmup": warmup,
            "repeat": repeat,
            "min_time": min_time,
            "max_time": max_time,
            "channels_last": channels_last,
            "compile": compile,
        },
        "params": params,
        "flops": flop_result,
        "batches": results,
    }
