"""One figure per point of a grid: batch x input x dtype x spec variables.

The spec is built and analysed once per (input, variables, dtype) at batch 1;
every batch size is then read off that analysis, because each figure is either
per-sample (MACs, activations, bytes of activations) or fixed (parameters, weight
bytes): the inference peak scales with the batch, the training-step peak is
``fixed + batch x per_sample`` (archcalc.memory), the latency is predicted per node
from per-sample and fixed bytes (archcalc.roofline).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from archcalc.analysis import analyze_graph
from archcalc.devices import CALIBRATED, Device
from archcalc.errors import SpecError
from archcalc.memory import estimate_memory
from archcalc.roofline import node_costs, predict_seconds

SCHEMA = "archcalc.sweep/1"
DTYPES = ("float32", "float16", "bfloat16")


@dataclass(frozen=True)
class Point:
    batch: int
    input: tuple[int, ...]
    dtype: str
    variables: dict[str, Any]
    params: int
    macs: int
    training_macs: int
    activation_peak_bytes: int
    training_peak_bytes: int
    latency_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"batch": self.batch, "input": list(self.input), "dtype": self.dtype, "variables": dict(self.variables),
                "params": self.params, "macs": self.macs, "training_macs": self.training_macs,
                "activation_peak_bytes": self.activation_peak_bytes, "training_peak_bytes": self.training_peak_bytes,
                "latency_s": self.latency_s}


@dataclass
class Sweep:
    spec: str
    device: Device
    optimizer: str
    axes: dict[str, list[Any]]  # the swept variables in grid order: batch, input, dtype, then --set names
    points: list[Point]

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "spec": self.spec, "device": self.device.to_dict(), "optimizer": self.optimizer,
                "axes": {k: [list(v) if isinstance(v, tuple) else v for v in vs] for k, vs in self.axes.items()},
                "points": [p.to_dict() for p in self.points]}


def run_sweep(
    spec: str | Path,
    *,
    batches: Sequence[int] = (1,),
    inputs: Sequence[Sequence[int] | None] = (None,),
    dtypes: Sequence[str] = ("float32",),
    sets: dict[str, Sequence[Any]] | None = None,
    device: Device,
    optimizer: str = "adam",
) -> Sweep:
    """Every combination: inputs and variables slowest, then dtypes, batches fastest."""
    from archcalc.api import load

    sets = dict(sets or {})
    for dtype in dtypes:
        if dtype not in DTYPES:
            raise SpecError(f"sweep dtype '{dtype}': expected one of {', '.join(DTYPES)}")
        device.peak(dtype)
    if min(batches) < 1:
        raise SpecError(f"batch sizes must be positive, got {min(batches)}")
    points: list[Point] = []
    names = list(sets)
    memory_device = "cpu" if device.name == CALIBRATED else "cuda"
    for shape, values in itertools.product(inputs, itertools.product(*sets.values())):
        variables = dict(zip(names, values))
        graph = load(spec, overrides=variables, input_shape=shape)
        for dtype in dtypes:
            analysis = analyze_graph(graph, batch=1, dtype=dtype)
            costs = node_costs(analysis)
            estimate = estimate_memory(graph, batch=1, dtype=dtype, optimizer=optimizer, device=memory_device)
            t = analysis.totals
            for batch in batches:
                points.append(Point(
                    batch=batch, input=tuple(graph.input.shape), dtype=dtype, variables=variables,
                    params=t["params"], macs=t["macs"] * batch, training_macs=t["training_macs"] * batch,
                    activation_peak_bytes=t["peak_activation_bytes"] * batch,
                    training_peak_bytes=estimate.peak(batch),
                    latency_s=predict_seconds(costs, device, dtype, batch),
                ))
    axes: dict[str, list[Any]] = {"batch": list(batches), "input": list(dict.fromkeys(pt.input for pt in points)),
                                  "dtype": list(dtypes), **{k: list(v) for k, v in sets.items()}}
    return Sweep(str(spec), device, optimizer, axes, points)
