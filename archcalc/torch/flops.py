"""Counting the built module's operations with fvcore and torch, beside the analytic MACs.

This module is the only place that imports fvcore. fvcore's ``FlopCountAnalysis``
traces with TorchScript, which PyTorch deprecated in 2.11: the tracing and its
warnings are confined to :func:`fvcore_counts`, so replacing the oracle later
touches one function.

Conventions differ, so only like is compared with like:

* fvcore's "flops" for convolutions and linear layers are multiply-accumulates
  (one fused multiply-add = one flop), the same quantity as archcalc's MACs; for
  conv and linear nodes the two must agree exactly.
* fvcore also counts batch norm (per element), adaptive average pooling (one per
  input element) and a few others that archcalc files under "other ops", and
  skips element-wise ops (add, max-pool, activations), listing some of them as
  unsupported. Its total is therefore shown, never equated with the MACs total.
* ``torch.utils.flop_counter.FlopCounterMode`` is a second oracle that runs
  without TorchScript. It counts 2 flops per multiply-accumulate for
  convolutions and matrix products and nothing else; its figures are halved here
  so every column is in MACs.
"""

from __future__ import annotations

import logging
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

from archcalc.graph import Graph
from archcalc.torch import require_torch
from archcalc.torch.build import torch_paths


@dataclass
class FvcoreCounts:
    """fvcore's result for one module: total, per submodule, and the operators it skipped."""

    total: int
    by_module: dict[str, int]
    by_operator: dict[str, int]
    unsupported: dict[str, int]
    unsupported_by_module: dict[str, dict[str, int]]


def fvcore_counts(module, inputs: tuple) -> FvcoreCounts:
    """Run fvcore's ``FlopCountAnalysis`` on ``module`` with its warnings silenced.

    fvcore reports unsupported operators and uncalled modules through warnings and
    logging, and TorchScript (used by fvcore's import and by its tracing) warns
    about its own deprecation. None of it is printed; the operators fvcore skipped
    are collected into the result (``unsupported``) instead.
    """
    torch = require_torch(fvcore=True)
    log = logging.getLogger("fvcore")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            # Importing fvcore scripts its focal losses with torch.jit.script: deprecated, and warns.
            from fvcore.nn import FlopCountAnalysis

            analysis = FlopCountAnalysis(module, inputs)
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            analysis.tracer_warnings("none")
            by_module = {name: int(count) for name, count in analysis.by_module().items()}
            unsupported_by_module = {
                name: dict(analysis.unsupported_ops(name)) for name in by_module if analysis.unsupported_ops(name)
            }
            return FvcoreCounts(
                total=int(analysis.total()),
                by_module=by_module,
                by_operator={op: int(n) for op, n in analysis.by_operator().items()},
                unsupported=dict(analysis.unsupported_ops()),
                unsupported_by_module=unsupported_by_module,
            )
    finally:
        log.setLevel(level)


@contextmanager
def _dispatch_without_dynamo(mode_class):
    """Let ``mode_class``'s ``__torch_dispatch__`` run without importing torch._dynamo first.

    torch wraps every dispatch mode's ``__torch_dispatch__`` in ``torch._disable_dynamo``,
    which imports torch._dynamo, sympy and some 800 modules on the first call (about
    as long as importing torch) only to keep ``torch.compile`` from tracing into the
    mode. Nothing is compiled while archcalc counts, so for the duration of the count
    the wrapper finds its cached result already set (the function itself) and imports
    nothing. Where torch._dynamo is loaded anyway, or torch's wrapper has changed, this
    does nothing and the count runs as torch would run it.
    """
    raw = getattr(mode_class.__dict__.get("__torch_dispatch__"), "__wrapped__", None)
    if raw is None or "torch._dynamo" in sys.modules or hasattr(raw, "__dynamo_disable"):
        yield
        return
    setattr(raw, "__dynamo_disable", raw)
    try:
        yield
    finally:
        delattr(raw, "__dynamo_disable")


def flop_counter_counts(module, inputs: tuple) -> dict[str, int]:
    """FLOPs per submodule name from ``torch.utils.flop_counter`` (2 per MAC; root is "")."""
    torch = require_torch()
    from torch.utils import flop_counter
    from torch.utils.flop_counter import FlopCounterMode

    mode_class = getattr(flop_counter, "_FlopCounterMode", FlopCounterMode)
    with _dispatch_without_dynamo(mode_class), torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    root = type(module).__name__
    counts: dict[str, int] = {}
    for scope, ops in counter.get_flop_counts().items():
        if scope == root:
            counts[""] = int(sum(ops.values()))
        elif scope.startswith(root + "."):
            counts[scope[len(root) + 1 :]] = int(sum(ops.values()))
    return counts


def _grouped_conv_backward_flop(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed,
                                _output_padding, groups, output_mask, out_shape=None, **kwargs) -> int:
    """torch's convolution_backward formula with the weight gradient divided by ``groups``.

    The stock formula counts the weight gradient of a grouped convolution as if every
    input channel met every output channel: ``groups`` times the true products (a
    depthwise 3x3 over 32 channels: 32x). pytorch/pytorch#183405 makes this very change.
    """
    from torch.utils.flop_counter import conv_flop_count

    def t(shape):
        return [shape[1], shape[0], *shape[2:]]

    flops = 0
    if output_mask[0]:
        flops += conv_flop_count(grad_out_shape, w_shape, out_shape[0], not transposed)
    if output_mask[1]:
        first, second = (grad_out_shape, x_shape) if transposed else (x_shape, grad_out_shape)
        flops += conv_flop_count(t(first), t(second), t(out_shape[1]), transposed=False) // groups
    return flops


def training_flop_counts(module, inputs: tuple) -> dict[str, dict[str, int]]:
    """FLOPs of one forward and backward pass of ``module``, per submodule ("" is the root) and
    operator, from ``torch.utils.flop_counter`` with grouped weight gradients counted correctly.

    The module runs in training mode, as a training step does; the loss is the sum of
    every output, so each output (auxiliary heads too) sends a gradient back; parameters
    with ``requires_grad=False`` (frozen nodes) get none.
    """
    torch = require_torch()
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False, custom_mapping={
        torch.ops.aten.convolution_backward: _grouped_conv_backward_flop,
    })
    was_training = module.training
    module.train()
    try:
        with counter:
            outputs = module(*inputs)
            outputs = outputs if isinstance(outputs, tuple) else (outputs,)
            sum(out.sum() for out in outputs).backward()
    finally:
        module.train(was_training)
    root = type(module).__name__
    counts: dict[str, dict[str, int]] = {}
    for scope, ops in counter.get_flop_counts().items():
        # "Global", not the root module's scope: backward operators that run after the root's
        # backward hook has fired (an auxiliary head's) are filed outside it.
        name = "" if scope == "Global" else scope[len(root) + 1:] if scope.startswith(root + ".") else None
        if name is not None:
            counts[name] = {str(op).rpartition(".")[2]: int(n) for op, n in ops.items()}
    return counts


@dataclass
class NodeFlops:
    """One node: the analytic MACs beside each counter's figure for its submodule."""

    name: str
    module: str
    kind: str
    compared: bool
    analytic_macs: int
    fvcore: int
    flop_counter_macs: int | None
    unsupported: dict[str, int] = field(default_factory=dict)

    @property
    def difference(self) -> int:
        """fvcore minus analytic (zero for every conv and linear node when the rules hold)."""
        return self.fvcore - self.analytic_macs

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "module": self.module,
            "kind": self.kind,
            "compared": self.compared,
            "analytic_macs": self.analytic_macs,
            "fvcore": self.fvcore,
            "flop_counter_macs": self.flop_counter_macs,
            "difference": self.difference,
            "unsupported_ops": self.unsupported,
        }


@dataclass
class FlopComparison:
    """Per-node and total counts for one batch size; see the module docstring for conventions."""

    batch: int
    nodes: list[NodeFlops]
    fvcore_total: int
    fvcore_by_operator: dict[str, int]
    flop_counter_macs_total: int | None
    unsupported_ops: dict[str, int]

    @property
    def compared(self) -> list[NodeFlops]:
        return [n for n in self.nodes if n.compared]

    @property
    def mismatches(self) -> list[NodeFlops]:
        """Conv and linear nodes where fvcore and the analytic rule disagree."""
        return [n for n in self.compared if n.difference]

    def to_dict(self) -> dict:
        compared = self.compared
        return {
            "batch": self.batch,
            "convention": (
                "MACs throughout; conv and linear nodes are compared exactly with fvcore; fvcore's total "
                "also counts batch norm and adaptive pooling, so it is shown, not compared; "
                "flop_counter_macs is torch.utils.flop_counter's figure halved"
            ),
            "compared_nodes": len(compared),
            "analytic_conv_linear_macs": sum(n.analytic_macs for n in compared),
            "fvcore_conv_linear": sum(n.fvcore for n in compared),
            "matches": not self.mismatches,
            "mismatches": [n.name for n in self.mismatches],
            "analytic_macs_all_nodes": sum(n.analytic_macs for n in self.nodes),
            "fvcore_total": self.fvcore_total,
            "fvcore_by_operator": self.fvcore_by_operator,
            "flop_counter_macs_total": self.flop_counter_macs_total,
            "unsupported_ops": self.unsupported_ops,
            "nodes": [n.to_dict() for n in self.nodes],
        }


def compare_flops(graph: Graph, module, inputs, *, flop_counter: bool = True, analysis=None) -> FlopComparison:
    """Count ``module`` (built from ``graph`` by ``build_module``) on ``inputs`` with fvcore
    (and FlopCounterMode unless ``flop_counter=False``), node by node against the analysis.

    Every node of the module is counted, auxiliary heads included, so the analytic
    side is every node's MACs (training-only ones too) at the batch of ``inputs``; from
    ``analysis`` (of any batch) when given.
    """
    from archcalc.torch import per_sample_analysis

    batch = inputs.shape[0]
    analysis = per_sample_analysis(graph, "float32") if analysis is None else analysis
    names = torch_paths(graph)
    fv = fvcore_counts(module, (inputs,))
    second = flop_counter_counts(module, (inputs,)) if flop_counter else None
    nodes = []
    for node, row in zip(graph.nodes, analysis.layers):
        if node.op.graph_input:
            continue
        name = names[node.index]
        nodes.append(
            NodeFlops(
                name=node.name,
                module=name,
                kind=node.kind,
                compared="fvcore" in node.op.mac_counters,
                analytic_macs=row.macs // analysis.batch * batch,
                fvcore=fv.by_module.get(name, 0),
                flop_counter_macs=None if second is None else second.get(name, 0) // 2,
                unsupported=fv.unsupported_by_module.get(name, {}),
            )
        )
    return FlopComparison(
        batch=batch,
        nodes=nodes,
        fvcore_total=fv.total,
        fvcore_by_operator=fv.by_operator,
        flop_counter_macs_total=None if second is None else second.get("", 0) // 2,
        unsupported_ops=fv.unsupported,
    )
