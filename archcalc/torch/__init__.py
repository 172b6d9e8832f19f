"""The torch side of archcalc: guard rails shared by building, counting and timing.

Nothing here imports torch at module level: the layer kinds in :mod:`archcalc.ops`
import torch inside their ``torch_module`` methods, and the
analytic path (``summary``, ``compare``, ``check``) must start without torch. Every
entry point calls :func:`require_torch` first, so a missing extra is one clear
:class:`~archcalc.errors.SpecError` instead of an ImportError deep in a traceback.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass

from archcalc.collector import freeze_imported
from archcalc.errors import SpecError
from archcalc.extras import install_hint
from archcalc.graph import Node

INSTALL_HINT = install_hint("torch")

# Names of torch dtypes for the dtype names the analysis knows (int8 has no float modules).
TORCH_DTYPES = ("float32", "float16", "bfloat16", "float64")


def require_torch(*, fvcore: bool = False):
    """Import torch (and fvcore when asked) or raise a one-line SpecError naming the extra."""
    first = "torch" not in sys.modules
    try:
        import torch
    except ImportError as exc:
        raise SpecError(f"this needs PyTorch, which is not installed; run: {INSTALL_HINT}") from exc
    if first:
        freeze_imported()
    # Only looked up here: archcalc.torch.flops is the one module that imports fvcore.
    if fvcore and importlib.util.find_spec("fvcore") is None:
        raise SpecError(f"FLOP counting needs fvcore, which is not installed; run: {INSTALL_HINT}")
    return torch


def resolve_device(device):
    """A ``torch.device`` for a name such as ``cpu``, ``cuda`` or ``cuda:1``, checked to exist.

    ``meta`` is accepted too: tensors with shapes and no storage, for counting
    parameters of a module without allocating it.
    """
    torch = require_torch()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise SpecError(f"unknown device '{device}'; expected cpu, cuda or cuda:N") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SpecError(
                f"device '{device}' was requested but CUDA is not available "
                f"(torch {torch.__version__} sees no GPU or was built without CUDA)",
                hint="use --device cpu",
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SpecError(f"device '{device}' does not exist: torch sees {torch.cuda.device_count()} GPU(s)")
    elif dev.type not in ("cpu", "meta"):
        raise SpecError(f"device '{device}' is not supported; expected cpu, cuda, cuda:N or meta")
    return dev


def resolve_dtype(dtype: str):
    """The torch dtype for an analysis dtype name; int8 and unknown names are refused."""
    torch = require_torch()
    if dtype not in TORCH_DTYPES:
        raise SpecError(f"cannot build a torch module in dtype '{dtype}'; expected one of {', '.join(TORCH_DTYPES)}")
    return getattr(torch, dtype)


def available_memory(device) -> int | None:
    """Bytes free for new tensors on ``device`` (a name or a ``torch.device``), or None
    where the system does not say.

    CUDA: ``torch.cuda.mem_get_info`` (free memory on the GPU, all processes included).
    meta: None, as a meta tensor takes no memory.
    CPU: ``MemAvailable`` from ``/proc/meminfo`` (Linux's estimate of memory obtainable
    without swapping), else available physical pages from ``sysconf``; no torch needed.
    """
    kind = device_type(device)
    if kind == "meta":
        return None
    if kind == "cuda":
        return int(require_torch().cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def device_type(device) -> str:
    """'cpu', 'cuda' or 'meta' for a device name such as 'cuda:1' or a ``torch.device``."""
    return getattr(device, "type", None) or str(device).split(":", 1)[0]


@dataclass
class ForwardMemory:
    """What building and running a graph needs, from the analytic rules, before any allocation."""

    param_bytes: int
    buffer_bytes: int
    activation_bytes: int
    available_bytes: int | None
    largest_node: Node  # the one whose parameters and output need the most
    largest_node_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.param_bytes + self.buffer_bytes + self.activation_bytes


def per_sample_analysis(graph, dtype: str, analysis=None):
    """``analysis`` when given (at batch 1 in ``dtype``, what the torch path is handed), else a new one."""
    from archcalc.analysis import analyze_graph

    if analysis is None:
        return analyze_graph(graph, batch=1, dtype=dtype)
    if analysis.batch != 1 or analysis.dtype != dtype:
        raise ValueError(f"expected an analysis at batch 1 in {dtype}, got batch {analysis.batch} in {analysis.dtype}")
    return analysis


def forward_memory(graph, device, batch: int, dtype: str, analysis=None) -> ForwardMemory:
    """Parameters and buffers of every node (auxiliary heads included, as the module holds
    them) plus the analytic peak of live activations for ``batch``, from ``analysis`` (at
    batch 1) when given.

    This is a lower bound: kernel workspaces and allocator rounding come on top.
    """
    from archcalc.analysis import DTYPE_BYTES

    analysis = per_sample_analysis(graph, dtype, analysis)
    width = DTYPE_BYTES[dtype]
    params = sum(row.params for row in analysis.layers)
    # BatchNorm's one-element batch counter is int64 whatever the dtype: a few bytes, ignored.
    buffers = sum(row.buffers for row in analysis.layers)
    needs = [(row.params + row.buffers) * width + row.activation_bytes * batch for row in analysis.layers]
    largest = max(range(len(needs)), key=needs.__getitem__)
    return ForwardMemory(
        param_bytes=params * width,
        buffer_bytes=buffers * width,
        activation_bytes=analysis.totals["peak_activation_bytes"] * batch,
        available_bytes=available_memory(device),
        largest_node=graph.nodes[largest],
        largest_node_bytes=needs[largest],
    )


def check_memory(graph, device, batch: int, dtype: str, analysis=None) -> None:
    """Refuse, before anything is allocated, a graph whose estimate exceeds free memory.

    Located at the node that needs the most (its parameters and its output), as that is
    usually the size to fix. Callers skip the check for ``allow_large`` (machines that
    swap, or an estimate known to be pessimistic). Needs torch only for a CUDA device,
    so ``profile`` refuses a CPU run before importing it.
    """
    from archcalc.units import format_bytes

    estimate = forward_memory(graph, device, batch, dtype, analysis)
    free = estimate.available_bytes
    if free is not None and estimate.total_bytes > free:
        node = estimate.largest_node
        raise SpecError(
            f"'{graph.name}' at batch {batch} in {dtype} needs about {format_bytes(estimate.total_bytes)} "
            f"(parameters {format_bytes(estimate.param_bytes)}, peak activations "
            f"{format_bytes(estimate.activation_bytes)}) but only {format_bytes(free)} is free on {device}; "
            f"'{node.name}' alone needs {format_bytes(estimate.largest_node_bytes)}",
            node.location,
            node.name,
            hint="lower the batch size or the spec's sizes, or pass allow_large=True (--allow-large) to try anyway",
        )


_TRIED = re.compile(r"tried to allocate ([0-9.]+) ?([KMGTP]i?B|bytes)")


@contextmanager
def allocation_errors(graph, device, batch: int, dtype: str):
    """Turn torch's failed allocation (``allow_large`` skips the estimate) into one line
    that names the size torch asked for."""
    from archcalc.units import format_bytes

    try:
        yield
    except (MemoryError, RuntimeError) as exc:
        text = str(exc)
        out_of_memory = isinstance(exc, (MemoryError, require_torch().OutOfMemoryError)) or "allocate" in text
        if not out_of_memory:
            raise
        tried = _TRIED.search(text)
        asked = (format_bytes(int(tried.group(1))) if tried.group(2) == "bytes" else f"{tried.group(1)} {tried.group(2)}"
                 ) if tried else "memory"
        total = forward_memory(graph, device, batch, dtype).total_bytes
        raise SpecError(
            f"'{graph.name}' at batch {batch} in {dtype}: {device} could not allocate {asked} "
            f"(the network needs about {format_bytes(total)} in all); lower the batch size or the spec's sizes",
        ) from None
