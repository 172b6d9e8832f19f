"""Latency, throughput and peak memory of a module's forward pass.

Timing: ``warmup`` untimed calls (first-call costs: oneDNN/cuDNN algorithm choice,
``torch.compile``), then timed calls under ``torch.inference_mode`` in blocks, until
the median settles (:mod:`archcalc.torch.stability`: the stopping rule, the verdict,
and how both differ from ``torch.utils.benchmark``). Each call is timed alone, so
p10/p90 describe the spread between calls:

* CPU: ``time.perf_counter`` around the call (the call returns when the work is done).
* CUDA: a pair of ``torch.cuda.Event(enable_timing=True)`` recorded around the
  call, then a synchronise on the end event before the next call. The stream is
  idle when the start event is recorded, so the figure is the latency of one call
  as a caller sees it (kernel launches included), not overlapped throughput.

All results are plain dataclasses with ``to_dict()`` for JSON.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Callable

from archcalc.torch import require_torch
from archcalc.torch.stability import Measurement, measure, percentile

Progress = Callable[[str, int, "int | None"], None]


@dataclass
class LatencyStats:
    """Per-call latency of a forward pass at one batch size, in seconds."""

    batch: int
    runs: int
    warmup: int
    median_s: float
    p10_s: float
    p90_s: float
    mean_s: float
    min_s: float
    max_s: float
    macs: int | None = None

    @property
    def images_per_s(self) -> float:
        """Throughput at the median latency."""
        return self.batch / self.median_s

    @property
    def macs_per_s(self) -> float | None:
        """Achieved multiply-accumulates per second at the median latency (analytic MACs)."""
        return None if self.macs is None else self.macs / self.median_s

    def to_dict(self) -> dict:
        return {
            "batch": self.batch,
            "runs": self.runs,
            "warmup": self.warmup,
            "median_s": self.median_s,
            "p10_s": self.p10_s,
            "p90_s": self.p90_s,
            "mean_s": self.mean_s,
            "min_s": self.min_s,
            "max_s": self.max_s,
            "images_per_s": self.images_per_s,
            "macs": self.macs,
            "macs_per_s": self.macs_per_s,
        }


def summarize(times: list[float], batch: int, macs: int | None = None, warmup: int = 0) -> LatencyStats:
    """Statistics of per-call times; ``macs`` is the work of one call (for MAC/s)."""
    return LatencyStats(
        batch=batch,
        runs=len(times),
        warmup=warmup,
        median_s=percentile(times, 50),
        p10_s=percentile(times, 10),
        p90_s=percentile(times, 90),
        mean_s=sum(times) / len(times),
        min_s=min(times),
        max_s=max(times),
        macs=macs,
    )


def time_forward(
    module,
    inputs,
    *,
    warmup: int = 3,
    repeat: int = 10,
    min_time: float = 0.0,
    max_time: float = 10.0,
    progress: Progress | None = None,
) -> Measurement:
    """Per-call seconds of ``module(inputs)``: ``warmup`` untimed calls, then blocks of timed
    calls until the median settles (at least ``repeat`` calls and ``min_time`` seconds,
    at most ``max_time`` seconds once ``repeat`` calls are in); see :func:`stability.measure`."""
    torch = require_torch()
    if repeat < 1 or warmup < 0 or min_time < 0 or max_time < min_time:
        raise ValueError("repeat must be >= 1, warmup >= 0 and 0 <= min_time <= max_time")
    report = progress or (lambda stage, done, total: None)
    device = inputs.device
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

        def call() -> float:
            start.record()
            module(inputs)
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1e3

    else:

        def call() -> float:
            began = time.perf_counter()
            module(inputs)
            return time.perf_counter() - began

    # Events record on the current device's stream: make that the input's device.
    on_device = torch.cuda.device(device) if device.type == "cuda" else nullcontext()
    with on_device, torch.inference_mode():
        last = None
        for done in range(1, warmup + 1):
            last = call()
            report("warmup", done, warmup)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return measure(call, min_runs=repeat, min_time=min_time, max_time=max_time, first_call_s=last,
                       progress=lambda done: report("time", done, None))


@contextmanager
def torch_threads(threads: int | None):
    """Run with ``threads`` intra-op CPU threads (None: leave torch's setting), then restore."""
    torch = require_torch()
    previous = torch.get_num_threads()
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


@dataclass
class MemoryMeasurement:
    """Peak memory allocated during one forward pass, above what was allocated before it.

    ``method`` says what was measured:

    * ``cuda.max_memory_allocated``: the caching allocator's peak of bytes in live
      tensors during the call (outputs, intermediates, cuDNN/cuBLAS workspaces taken
      from the allocator), minus the bytes allocated before it (parameters, buffers,
      the input). Allocator rounding (512-byte blocks) is included; memory
      reserved but unused by the cache is not.
    * ``profiler.cpu_allocations``: torch's profiler with ``profile_memory=True``
      records every allocation and free through c10's CPU allocator during the
      call; the peak of their running sum is the figure. It is the autograd
      profiler (``torch.autograd.profiler.profile``), which ``torch.profiler.profile``
      drives: the latter looks up ``torch._inductor`` on entry, which imports
      torch._dynamo, sympy and some 800 modules (about as long as importing torch). It includes outputs,
      intermediates and kernel scratch buffers (e.g. oneDNN weight reorders,
      im2col), and excludes memory that libraries take outside c10's allocator.

    Both exclude the parameters and the input, which exist before the call; the
    analytic peak of live activations counts the input, so ``input_bytes`` is given
    to compare like with like.
    """

    method: str
    peak_bytes: int
    input_bytes: int

    def to_dict(self) -> dict:
        return {"method": self.method, "peak_bytes": self.peak_bytes, "input_bytes": self.input_bytes}


@contextmanager
def _quiet_stderr():
    """Silence file descriptor 2: kineto prints profiler start/stop lines there from C++,
    which would tear a progress bar drawn on the terminal."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def measure_peak_memory(module, inputs) -> MemoryMeasurement:
    """Peak bytes allocated by one ``module(inputs)`` call; see :class:`MemoryMeasurement`."""
    torch = require_torch()
    input_bytes = inputs.numel() * inputs.element_size()
    device = inputs.device
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        with torch.inference_mode():
            out = module(inputs)
            torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device) - before
        del out
        return MemoryMeasurement("cuda.max_memory_allocated", peak, input_bytes)

    from torch.autograd import DeviceType
    from torch.autograd.profiler import profile

    with _quiet_stderr(), torch.inference_mode(), profile(use_cpu=True, profile_memory=True) as prof:
        out = module(inputs)
    del out
    changes = sorted(
        (event.start_ns(), event.nbytes())
        for event in prof.kineto_results.events()
        if event.name() == "[memory]" and event.device_type() == DeviceType.CPU
    )
    live = peak = 0
    for _, nbytes in changes:
        live += nbytes
        peak = max(peak, live)
    return MemoryMeasurement("profiler.cpu_allocations", peak, input_bytes)
