"""torch as the oracle of every analytic rule, node by node: shared by the per-kind tests
(tests/test_kinds.py), the receptive-field tests of the built-in specs and the memory tests.

Each function takes a built graph and measures one thing on its torch module: output
shapes, parameters and buffers, MACs (torch.utils.flop_counter, fvcore), other operations
(a dispatch-mode counter with its own table of aten operators), the bytes autograd saves
(saved_tensors_hooks), and the receptive field (the extent of the input gradient of one
output position).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import torch
from torch.autograd.graph import saved_tensors_hooks
from torch.utils._python_dispatch import TorchDispatchMode

import archcalc
from archcalc.analysis import input_region, receptive_fields
from archcalc.ops.tokens import token_grid
from archcalc.torch.build import build_module, torch_paths


def example_graph(kind: str, example):
    """The graph of one of a kind's examples, read as the spec it stands for."""
    return archcalc.load_text(json.dumps(example.spec(kind)), f"{kind}-example.yaml")


def submodules(graph, module):
    """(node, its submodule) for every node but the network input."""
    paths = torch_paths(graph)
    return [(node, module.get_submodule(paths[node.index])) for node in graph.nodes if not node.op.graph_input]


def positive_(module) -> None:
    """Weights and inputs that cannot cancel: every parameter positive, of a size that keeps
    activations near 1 (a weight's share of its fan-in), scales (batch norm's) near a half so
    that residual sums do not grow into a saturating activation (relu6 is flat above 6);
    biases small. Frozen codes (LeNet's RBF) keep their +-1 values; running statistics start
    as torch's (mean 0, variance 1), also for a module built without initialisation."""
    for sub in module.modules():
        if hasattr(sub, "reset_running_stats"):
            sub.reset_running_stats()
    with torch.no_grad():
        for name, p in module.named_parameters():
            if not p.requires_grad and p.dim() > 1:
                continue
            if name.rsplit(".", 1)[-1] == "bias":
                p.uniform_(0.05, 0.15)
            elif p.dim() > 1:
                p.uniform_(0.5, 1.5).div_(p[0].numel())
            else:
                p.uniform_(0.25, 0.75)


# --- shapes, parameters, buffers ------------------------------------------------

def output_shapes(graph, module, x) -> dict[str, tuple[int, ...]]:
    shapes = {}
    hooks = [sub.register_forward_hook(lambda m, a, out, n=node.name: shapes.__setitem__(n, tuple(out.shape[1:])))
             for node, sub in submodules(graph, module)]
    with torch.no_grad():
        module(x)
    for h in hooks:
        h.remove()
    return shapes


def parameter_split(sub) -> tuple[int, int]:
    """(weights, biases) of a module: biases are the parameters named ``bias``."""
    weights = biases = 0
    for name, p in sub.named_parameters():
        if name.rsplit(".", 1)[-1] == "bias":
            biases += p.numel()
        else:
            weights += p.numel()
    return weights, biases


# --- operations --------------------------------------------------------------------

def _numel(t) -> int:
    return t.numel() if isinstance(t, torch.Tensor) else 0


def _window(args, out) -> int:
    kernel = args[1]
    return _numel(out[0] if isinstance(out, tuple) else out) * math.prod(kernel if len(kernel) > 1 else kernel * 2)


def _bins(args, out) -> int:
    """Input elements torch's adaptive bins read: per axis size + out - gcd(size, out)."""
    x = args[0]
    n, c, h, w = x.shape
    oh, ow = out.shape[-2:]
    return n * c * (h + oh - math.gcd(h, oh)) * (w + ow - math.gcd(w, ow))


# aten operator -> count of "other operations" (see Op.other_ops); matrix products and
# convolutions count only their bias add; copies and views count nothing.
_ELEMENTWISE = {
    "add", "sub", "mul", "div", "relu", "hardtanh", "leaky_relu", "sigmoid", "tanh", "gelu", "silu",
    "hardswish", "hardsigmoid", "pow", "_softmax", "neg", "exp", "rsqrt", "sqrt", "clamp", "elu", "mish",
    "softplus", "_prelu_kernel",
}
_REDUCTION = {"sum", "mean", "amax", "adaptive_max_pool2d"}
_FREE = {
    "view", "_unsafe_view", "reshape", "cat", "constant_pad_nd", "clone", "index", "permute", "t", "unsqueeze",
    "squeeze", "detach", "expand", "slice", "select", "channel_shuffle", "native_channel_shuffle", "alias",
    "transpose", "contiguous", "lift_fresh", "mm", "bmm", "_to_copy", "copy", "empty", "empty_like", "zeros",
    "zeros_like", "ones", "fill", "zero", "repeat", "pixel_shuffle", "pixel_unshuffle", "unbind",
}
# Interpolation: the input elements each output element blends.
_INTERPOLATION = {"upsample_nearest2d": 1, "upsample_bilinear2d": 4, "upsample_bicubic2d": 16}


def _normalising(x, weight, bias) -> int:
    """Per element: mean and variance read it, the mean is subtracted and the inverse deviation
    multiplied; then the scale and the shift, where the module has them."""
    return _numel(x) * (4 + (weight is not None) + (bias is not None))


def _count(func, args, out) -> int:
    name = func.overloadpacket.__name__.rstrip("_") if func.overloadpacket.__name__ != "_softmax" else "_softmax"
    if name in _ELEMENTWISE:
        return _numel(out)
    if name in _REDUCTION:
        return _numel(args[0])
    if name in ("max_pool2d_with_indices", "avg_pool2d", "avg_pool3d"):
        return _window(args, out)
    if name in _INTERPOLATION:
        return _INTERPOLATION[name] * _numel(out)
    if name == "_adaptive_avg_pool2d":
        return _bins(args, out)
    if name == "native_batch_norm" and args[5]:  # batch statistics (instance norm runs this way)
        return _normalising(args[0], args[1], args[2])
    if name in ("native_batch_norm", "_native_batch_norm_legit_no_training"):
        return 2 * _numel(out[0])
    if name == "native_layer_norm":
        return _normalising(args[0], args[2], args[3])
    if name == "native_group_norm":
        return _normalising(args[0], args[1], args[2])
    if name == "convolution":
        return _numel(out) if args[2] is not None else 0
    if name == "addmm":
        return _numel(out)
    if name in _FREE:
        return 0
    raise AssertionError(f"the oracle does not know how to count aten.{name}: add it to tests/oracles.py")


class _OpCounter(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.current = None
        self.counts: dict[str, int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.current is not None:
            self.counts[self.current] = self.counts.get(self.current, 0) + _count(func, args, out)
        return out


def other_ops_per_sample(graph, module, x_of_batch) -> dict[str, int]:
    """Other operations per node and sample: the count at batch 2 minus batch 1 (what does
    not grow with the batch, such as |w|² of LeNet's codes, is per network)."""
    counter = _OpCounter()
    hooks = []
    for node, sub in submodules(graph, module):
        hooks.append(sub.register_forward_pre_hook(lambda m, a, n=node.name: setattr(counter, "current", n)))
        hooks.append(sub.register_forward_hook(lambda m, a, o: setattr(counter, "current", None)))
    counts = []
    for batch in (1, 2):
        counter.counts = {}
        with torch.no_grad(), counter:
            module(x_of_batch(batch))
        counts.append(counter.counts)
    for h in hooks:
        h.remove()
    return {name: counts[1].get(name, 0) - counts[0].get(name, 0) for name in counts[0].keys() | counts[1].keys()}


# --- saved for backward ----------------------------------------------------------------

def measure_saved(graph, batch=2, dtype="float32"):
    """Bytes of each distinct storage autograd saves, by the node that first saves it."""
    module = build_module(graph, batch=batch, init=False, dtype=dtype).train()
    skip = {t.untyped_storage().data_ptr() for t in (*module.parameters(), *module.buffers())}
    paths = torch_paths(graph)
    current = [None]
    for node in graph.nodes:
        if not node.op.graph_input:
            module.get_submodule(paths[node.index]).register_forward_pre_hook(
                lambda m, args, name=node.name: current.__setitem__(0, name)
            )
    x = torch.randn(batch, *graph.input.shape, dtype=getattr(torch, dtype))
    skip.add(x.untyped_storage().data_ptr())
    saved: dict[int, tuple[str, int]] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in skip and storage.data_ptr() not in saved:
            saved[storage.data_ptr()] = (current[0], storage.nbytes())
        return tensor  # kept alive, so no address is reused while we count

    with saved_tensors_hooks(pack, lambda tensor: tensor):
        module(x)
    per_node: dict[str, int] = {}
    for name, nbytes in saved.values():
        per_node[name] = per_node.get(name, 0) + nbytes
    return per_node


# --- receptive field -----------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    """One output position: the input region autograd says it reads, beside the analysis."""

    node: str
    position: tuple[int, ...]
    measured: tuple | None  # ((first row, last row), (first col, last col)) of non-zero gradient
    expected: tuple | None  # analysis.input_region: the steps composed, clipped at every node
    window: tuple  # the node's ReceptiveField (size, jump, offset) placed at the position
    composed: tuple  # the steps composed without clipping: must be that window
    exact: bool

    @property
    def agrees(self) -> bool:
        if self.exact and self.window != self.composed:
            return False
        if self.exact or self.measured is None:
            return self.measured == self.expected
        if self.expected is None:
            return False
        return all(e[0] <= m[0] and m[1] <= e[1] for m, e in zip(self.measured, self.expected))


def _extent(grad):
    nonzero = (grad != 0).flatten(0, -3).any(0)
    if not nonzero.any():
        return None
    rows = nonzero.any(1).nonzero().flatten()
    cols = nonzero.any(0).nonzero().flatten()
    return ((int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1])))


def _average_pools(module) -> None:
    """A max sends its gradient to one element of its window: measure the window with the
    average of the same geometry, which reads every element."""
    from torch import nn

    for name, sub in list(module.named_modules()):
        if isinstance(sub, nn.MaxPool2d):
            new = nn.AvgPool2d(sub.kernel_size, sub.stride, sub.padding, ceil_mode=sub.ceil_mode)
        elif isinstance(sub, nn.AdaptiveMaxPool2d):
            new = nn.AdaptiveAvgPool2d(sub.output_size)
        else:
            continue
        parent, _, attr = name.rpartition(".")
        setattr(module.get_submodule(parent) if parent else module, attr, new)


def _pointwise_norms(module) -> None:
    """Statistics over all positions (group and instance norm) are the same for every
    position: context, like a gate. Normalised by them detached, an output position's
    gradient reaches only its own input position, as through the identity."""
    from torch import nn

    for name, sub in list(module.named_modules()):
        if isinstance(sub, nn.GroupNorm) or (isinstance(sub, nn.InstanceNorm2d) and not sub.track_running_stats):
            parent, _, attr = name.rpartition(".")
            setattr(module.get_submodule(parent) if parent else module, attr, nn.Identity())


def probe_receptive_fields(graph, *, context: bool = False, dtype=torch.float64, limit: int | None = None):
    """Back-propagate from one output position per probe (a centre and a corner of every
    node with spatial output) and compare the extent of the non-zero input gradient with the
    analytic window placed there and clipped to the input.

    All probes run as one batch, one sample each (inference mode, so samples do not mix).
    With ``context`` False, inputs broadcast over positions (gates) and statistics over all
    positions are detached: that is the window, what the analysis reports as the receptive field; with ``context`` True nothing
    is detached and the expected extent includes the node's global context.
    ``limit`` keeps that many nodes, evenly spread (for the largest specs).
    """
    if len(graph.input.shape) != 3:
        return []
    fields = receptive_fields(graph)
    nodes = [n for n in graph.nodes if not n.op.graph_input]
    if limit is not None and len(nodes) > limit:
        nodes = [nodes[round(i * (len(nodes) - 1) / (limit - 1))] for i in range(limit)]
    probes = []
    for node in nodes:
        grid = token_grid(node)
        if len(node.shape) == 3 or grid:
            h, w = node.shape[1:] if grid is None else (grid.height, grid.width)
            positions = {(h // 2, w // 2), (0, 0), (h - 1, w - 1)}
        else:
            positions = {(0, 0)}  # a flat output: every feature reads the whole field
        probes += [(node, p) for p in sorted(positions)]

    module = build_module(graph, dtype=str(dtype).split(".")[-1], allow_large=True, init=False)
    positive_(module)
    module.requires_grad_(False)  # only the input's gradient is wanted
    _average_pools(module)
    if not context:
        _pointwise_norms(module)
    by_name = dict(submodules(graph, module))
    weights = torch.rand(max(max(n.shape) for n in graph.nodes), dtype=dtype) + 0.5
    picked: list[torch.Tensor] = []
    by_node: dict[str, list[tuple[int, tuple[int, int]]]] = {}
    for sample, (node, position) in enumerate(probes):
        by_node.setdefault(node.name, []).append((sample, position))
    for node in nodes:
        samples = torch.tensor([s for s, _ in by_node[node.name]])
        rows = torch.tensor([p[0] for _, p in by_node[node.name]])
        cols = torch.tensor([p[1] for _, p in by_node[node.name]])
        grid = token_grid(node)
        tokens = torch.tensor([grid.index(p) for _, p in by_node[node.name]]) if grid else None

        def pick(m, args, out, samples=samples, rows=rows, cols=cols, tokens=tokens):
            if tokens is not None:  # a token at each probed grid position
                value = out[samples, tokens]
            else:
                value = out[samples] if out.dim() == 2 else out[samples, :, rows, cols]
            picked.append((value * weights[: value.shape[1]]).sum())  # one index per node: one gradient buffer
        by_name[node].register_forward_hook(pick)
    if not context:  # every gate, not only the probed nodes' own
        for node in graph.nodes:
            if any(_gate(src, node) for src in node.inputs):
                by_name[node].register_forward_pre_hook(
                    lambda m, args, node=node: tuple(a.detach() if _gate(s, node) else a
                                                     for a, s in zip(args, node.inputs)))
    x = (torch.rand(len(probes), *graph.input.shape, dtype=dtype) + 0.5).requires_grad_()
    module(x)
    torch.stack(picked).sum().backward()
    results = []
    for sample, (node, position) in enumerate(probes):
        rf = fields[node.index]
        results.append(Probe(
            node.name, position, _extent(x.grad[sample]),
            expected=input_region(graph, node, position, context=context),
            window=rf.window(position),
            composed=input_region(graph, node, position, clip=False),
            exact=rf.exact,
        ))
    return results


def _gate(src, node) -> bool:
    """The oracle's own statement of a broadcast input: (C, 1, 1) spread over another input's positions."""
    return len(node.inputs) > 1 and len(src.shape) == 3 and src.shape[1:] == (1, 1) and len(node.shape) == 3 and node.shape[1:] != (1, 1)
