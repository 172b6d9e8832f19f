"""Each node's own time, measured beside its roofline prediction.

The network runs node by node in graph order (its inference nodes), each submodule
called ``repeat`` times on its real inputs after one untimed call; the median is the
node's time. Node by node is slower than one forward pass (no overlap, a Python call
per node), which is what the roofline models too: every layer alone.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from archcalc.graph import Graph
from archcalc.roofline import Roofline
from archcalc.torch import require_torch


@dataclass(frozen=True)
class LayerTiming:
    name: str
    kind: str
    bound: str
    predicted_s: float
    measured_s: float

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "bound": self.bound, "predicted_s": self.predicted_s,
                "measured_s": self.measured_s}


@dataclass
class PerLayer:
    device: str
    batch: int
    layers: list[LayerTiming]

    @property
    def predicted_s(self) -> float:
        return sum(t.predicted_s for t in self.layers)

    @property
    def measured_s(self) -> float:
        return sum(t.measured_s for t in self.layers)

    @property
    def factor(self) -> float:
        """Measured / predicted over the whole network: what the roofline's time is to be multiplied by."""
        return self.measured_s / self.predicted_s if self.predicted_s else 0.0

    @property
    def rank_correlation(self) -> float:
        timed = [t for t in self.layers if t.predicted_s > 0]
        return spearman([t.predicted_s for t in timed], [t.measured_s for t in timed])

    def to_dict(self) -> dict:
        return {"device": self.device, "batch": self.batch, "predicted_s": self.predicted_s,
                "measured_s": self.measured_s, "calibration_factor": self.factor,
                "spearman": self.rank_correlation, "layers": [t.to_dict() for t in self.layers]}


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2  # ties share their mean rank
        i = j + 1
    return ranks


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation: Pearson's over the ranks."""
    if len(xs) < 2:
        return 0.0
    return statistics.correlation(_ranks(xs), _ranks(ys))


def time_layers(graph: Graph, module, x, prediction: Roofline, repeat: int = 5) -> PerLayer:
    """Time every node of ``prediction`` on ``x``; ``module`` is build_module(graph) on x's device."""
    torch = require_torch()
    from archcalc.torch.build import torch_paths

    paths = torch_paths(graph)
    cuda = x.device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    by_name = {t.name: t for t in prediction.nodes}
    values = {graph.input.index: x}
    timings = []
    with torch.inference_mode():
        for node in graph.nodes:
            if node.name not in by_name:
                continue
            call = module.get_submodule(paths[node.index])
            args = [values[src.index] for src in node.inputs]
            out = call(*args)
            samples = []
            for _ in range(repeat):
                sync()
                start = time.perf_counter()
                out = call(*args)
                sync()
                samples.append(time.perf_counter() - start)
            values[node.index] = out
            predicted = by_name[node.name]
            timings.append(LayerTiming(node.name, node.kind, predicted.bound, predicted.seconds,
                                       statistics.median(samples)))
    return PerLayer(x.device.type, x.shape[0], timings)
