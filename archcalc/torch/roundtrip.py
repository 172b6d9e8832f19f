"""Import a model, then hold the spec to it: what the zoo table and the import tests check.

The imported spec's analysis against the module (parameters, buffers, output shape), its
conv and linear MACs against fvcore's count of the module, and the spec's torch module,
given the original's ``state_dict`` with ``strict=True``, against the original's output
in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

from archcalc.torch import require_torch

# fvcore's names for the operators of convolutions and linear layers.
_MATMUL_OPS = ("conv", "linear", "addmm", "matmul", "bmm", "einsum")


@dataclass(frozen=True)
class RoundTrip:
    """Each figure twice: (the imported spec's, the original module's)."""

    params: tuple[int, int]
    buffers: tuple[int, int]
    output_shape: tuple[tuple[int, ...], tuple[int, ...]]
    macs: tuple[int, int]
    max_abs_difference: float

    @property
    def matches(self) -> bool:
        same = all(a == b for a, b in (self.params, self.buffers, self.output_shape, self.macs))
        return same and self.max_abs_difference < 1e-5


def round_trip(model, input_shape, name: str = "model") -> RoundTrip:
    """Import ``model`` at ``input_shape`` and compare the spec with it (see the module docstring)."""
    torch = require_torch()
    import archcalc
    from archcalc.torch.build import build_module
    from archcalc.torch.flops import fvcore_counts

    model = model.eval()
    graph = archcalc.load_model(model, input_shape, name=name)
    analysis = archcalc.analyze(graph)
    built = build_module(graph, init=False)
    built.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(1, *input_shape, dtype=torch.float64)
    threads = torch.get_num_threads()
    # One thread: torch's float64 grouped convolutions on CPU open a parallel region per group, which
    # on a busy machine costs milliseconds each (EfficientNet-B0's round trip at 64x64: 45 s on 2 threads, 3 s on 1).
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            expected = model.double()(x)
            got = built.double()(x)
    finally:
        torch.set_num_threads(threads)
    with torch.no_grad():
        fv = fvcore_counts(model.float(), (x.float(),))
    expected = _main(expected)
    got = _main(got)
    fv_macs = sum(n for op, n in fv.by_operator.items() if op in _MATMUL_OPS)
    # The kinds that name fvcore as their counter (conv, linear, ...): their MACs are what it counts,
    # at inference (the module in eval mode runs no auxiliary head).
    aux = graph.training_only()
    spec_macs = sum(r.macs for node, r in zip(graph.nodes, analysis.layers)
                    if "fvcore" in node.op.mac_counters and node.index not in aux)
    return RoundTrip(
        params=(analysis.totals["params"] + analysis.totals["training_only_params"],
                sum(p.numel() for p in model.parameters())),
        buffers=(sum(r.buffers for r in analysis.layers), sum(b.numel() for b in model.buffers())),
        output_shape=(tuple(graph.outputs[0].shape), tuple(expected.shape[1:])),
        macs=(spec_macs, fv_macs),
        max_abs_difference=float((got - expected).abs().max()),
    )


def _main(output):
    """The main output of a model that returns several (a dict's first entry, a tuple's first)."""
    if isinstance(output, dict):
        return next(iter(output.values()))
    if isinstance(output, (tuple, list)):
        return output[0]
    return output
