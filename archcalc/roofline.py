"""A latency prediction from the roofline: each node takes max(FLOPs / peak, bytes / bandwidth).

The model (docs/performance.md): a node does ``2 x MACs + other ops`` FLOPs and moves
the bytes the analysis gives it (its inputs and weights read once, its output written
once, no reuse between layers); it runs alone, at the device's peak for the dtype or
its bandwidth, whichever binds; the network's time is the sum over its inference nodes.
Costs are split into a per-sample and a fixed part, so a sweep over batch sizes predicts
every batch from one analysis.
"""

from __future__ import annotations

from dataclasses import dataclass

from archcalc.analysis import Analysis
from archcalc.devices import Device

SCHEMA = "archcalc.roofline/1"


@dataclass(frozen=True)
class NodeCost:
    """A node's work per sample, and the bytes it moves per sample and once per batch (weights)."""

    name: str
    kind: str
    flops: int
    bytes_per_sample: int
    fixed_bytes: int

    def at(self, batch: int) -> tuple[int, int]:
        return self.flops * batch, self.bytes_per_sample * batch + self.fixed_bytes


@dataclass(frozen=True)
class NodeTime:
    name: str
    kind: str
    flops: int
    bytes: int
    compute_s: float
    memory_s: float

    @property
    def seconds(self) -> float:
        return max(self.compute_s, self.memory_s)

    @property
    def bound(self) -> str:
        if not self.flops and not self.bytes:
            return "-"
        return "compute" if self.compute_s >= self.memory_s else "memory"

    @property
    def intensity(self) -> float:
        """FLOPs per byte."""
        return self.flops / self.bytes if self.bytes else 0.0

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "flops": self.flops, "bytes": self.bytes,
                "flops_per_byte": round(self.intensity, 4), "compute_s": self.compute_s,
                "memory_s": self.memory_s, "seconds": self.seconds, "bound": self.bound}


def node_costs(analysis: Analysis) -> list[NodeCost]:
    """Per-sample costs of the inference nodes of ``analysis`` (made at any batch)."""
    b = analysis.batch
    return [
        NodeCost(row.name, row.kind, (2 * row.macs + row.other_ops) // b,
                 (row.input_bytes + row.output_bytes) // b, row.weight_bytes)
        for row in analysis.layers
        if not row.training_only and row.name != analysis.graph.input.name
    ]


def node_times(costs: list[NodeCost], device: Device, dtype: str, batch: int) -> list[NodeTime]:
    peak = device.peak(dtype)
    times = []
    for cost in costs:
        flops, moved = cost.at(batch)
        times.append(NodeTime(cost.name, cost.kind, flops, moved, flops / peak, moved / device.bandwidth))
    return times


def predict_seconds(costs: list[NodeCost], device: Device, dtype: str, batch: int) -> float:
    """The predicted time of one inference pass at ``batch``."""
    return sum(t.seconds for t in node_times(costs, device, dtype, batch))


@dataclass
class Roofline:
    analysis: Analysis
    device: Device
    nodes: list[NodeTime]

    @property
    def seconds(self) -> float:
        return sum(n.seconds for n in self.nodes)

    def share(self, bound: str) -> float:
        """The fraction of the predicted time spent in nodes with this bound."""
        total = self.seconds
        return sum(n.seconds for n in self.nodes if n.bound == bound) / total if total else 0.0

    def to_dict(self) -> dict:
        a = self.analysis
        return {
            "schema": SCHEMA,
            "name": a.graph.name,
            "input": list(a.graph.input.shape),
            "batch": a.batch,
            "dtype": a.dtype,
            "device": self.device.to_dict(),
            "model": "per node max(FLOPs / peak, bytes / bandwidth); FLOPs = 2 x MACs + other ops; "
                     "inputs and weights read once, output written once, no reuse between layers",
            "seconds": self.seconds,
            "compute_bound_share": round(self.share("compute"), 4),
            "memory_bound_share": round(self.share("memory"), 4),
            "layers": [n.to_dict() for n in self.nodes],
        }


def roofline(analysis: Analysis, device: Device) -> Roofline:
    return Roofline(analysis, device, node_times(node_costs(analysis), device, analysis.dtype, analysis.batch))
