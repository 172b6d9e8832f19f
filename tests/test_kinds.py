"""Every layer kind against torch, generated from the registry: each example of each kind is
built as a real module and every rule is compared node by node (see tests/oracles.py).

A kind added to archcalc/ops is tested here the moment it is registered; one without
examples fails ``test_every_kind_has_examples``.
"""

import pytest

import archcalc
from archcalc.memory import estimate_memory
from archcalc.ops import REGISTRY

torch = pytest.importorskip("torch")

import oracles  # noqa: E402
from archcalc.torch.build import build_module, class_name, export_torch_source, torch_paths  # noqa: E402
from archcalc.torch.flops import flop_counter_counts, fvcore_counts, training_flop_counts  # noqa: E402

KINDS = [op for op in REGISTRY.kinds() if not op.graph_input]
CASES = [pytest.param(op.kind, i, id=f"{op.kind}-{i}") for op in KINDS for i in range(len(op.examples))]


def test_every_kind_has_examples():
    missing = [op.kind for op in KINDS if not op.examples]
    assert not missing, f"give these kinds `examples` (Example(input, value)) in their Op class: {missing}"


def _x(graph, batch):
    torch.manual_seed(0)
    return torch.rand(batch, *graph.input.shape, dtype=torch.float64) + 0.5


def built_example(kind, index):
    """(graph, float64 module with positive weights) of one example."""
    graph = oracles.example_graph(kind, REGISTRY.get(kind).examples[index])
    module = build_module(graph, dtype="float64")
    oracles.positive_(module)
    return graph, module


def check_uses_its_kind(kind, graph, module):
    assert kind in {n.kind for n in graph.nodes}


def check_shapes_parameters_and_buffers(kind, graph, module):
    shapes = oracles.output_shapes(graph, module, _x(graph, 2))
    for node, sub in oracles.submodules(graph, module):
        assert shapes[node.name] == tuple(node.shape), node.name
        assert oracles.parameter_split(sub) == tuple(node.op.params(node)), node.name
        assert sum(b.numel() for b in sub.buffers()) == node.op.buffers(node), node.name


def check_macs(kind, graph, module):
    """Against torch.utils.flop_counter (FLOPs / 2) and fvcore, for the kinds that name them."""
    names = torch_paths(graph)
    x = _x(graph, 2)
    flops = flop_counter_counts(module, (x,))
    fv = fvcore_counts(module, (x,)) if any("fvcore" in n.op.mac_counters for n in graph.nodes) else None
    for node, _ in oracles.submodules(graph, module):
        macs = 2 * node.op.macs(node)
        if "flop_counter" in node.op.mac_counters:
            assert flops.get(names[node.index], 0) // 2 == macs, node.name
        if "fvcore" in node.op.mac_counters:
            assert fv.by_module.get(names[node.index], 0) == macs, node.name


def check_training_macs(kind, graph, module):
    """A training step's MACs (forward, and backward to the inputs and the weights) against
    torch.utils.flop_counter, for the kinds it counts; node by node, batch 2."""
    rows = {row.name: row for row in archcalc.analyze(graph, batch=2).layers}
    if not any(p.requires_grad for p in module.parameters()):  # nothing trains: no backward pass
        assert all(row.training_macs == row.macs for row in rows.values())
        return
    names = torch_paths(graph)
    counts = training_flop_counts(module, (_x(graph, 2),))
    for node, _ in oracles.submodules(graph, module):
        if "flop_counter" in node.op.mac_counters:
            counted = sum(counts.get(names[node.index], {}).values()) // 2
            assert counted == rows[node.name].training_macs, node.name


def check_other_ops(kind, graph, module):
    """Per sample; a multiply-accumulate no matrix-product counter sees (a scale) is an
    elementwise operation to the count, so it is added to the kind's other ops there."""
    counted = oracles.other_ops_per_sample(graph, module, lambda b: _x(graph, b))
    for node, _ in oracles.submodules(graph, module):
        expected = node.op.other_ops(node)
        if "flop_counter" not in node.op.mac_counters:
            expected += node.op.macs(node)
        assert counted.get(node.name, 0) == expected, node.name


def check_saved_for_backward(kind, graph, module):
    measured = oracles.measure_saved(graph)
    estimate = estimate_memory(graph, batch=2, device="cpu")
    for row in estimate.layers:
        assert measured.get(row.name, 0) == row.new_saved.at(2), row.name


def check_receptive_field(kind, graph, module):
    """The window (gates detached) and the window with its context, against autograd."""
    for context in (False, True):
        probes = oracles.probe_receptive_fields(graph, context=context)
        assert all(p.agrees for p in probes), [p for p in probes if not p.agrees]


def check_export(kind, graph, module):
    """The exported source runs without archcalc and computes what the built module does."""
    source = export_torch_source(graph)
    scope: dict = {}
    exec(compile(source, f"{kind}.py", "exec"), scope)  # noqa: S102 - our own generated source
    exported = scope[class_name(graph)]()
    exported.load_state_dict(module.state_dict())
    x = _x(graph, 2)
    with torch.no_grad():
        assert torch.allclose(exported.double().eval()(x), module(x))


CHECKS = [check_uses_its_kind, check_shapes_parameters_and_buffers, check_macs, check_training_macs, check_other_ops,
          check_saved_for_backward, check_receptive_field, check_export]


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__[6:] for c in CHECKS])
@pytest.mark.parametrize("kind,index", CASES)
def test_kind_example_against_torch(kind, index, check):
    check(kind, *built_example(kind, index))


def test_analysis_receptive_fields_carry_the_offset():
    graph = archcalc.load_text(
        "input: [1, 9, 9]\nlayers:\n  - conv: {out: 1, kernel: 3, padding: same, stride: 2}\n"
        "  - crop: {top: 1}\n  - maxpool: {kernel: 2, padding: 1}\n", "offset.yaml")
    layers = archcalc.analyze(graph).layers
    # same with stride 2 on 9: pad 1 before; a crop moves the window down by one jump.
    assert [(r.receptive_field, r.jump, r.rf_padding) for r in layers[1:]] == [
        ([3, 3], [2, 2], [1, 1]),
        ([3, 3], [2, 2], [-1, 1]),
        ([5, 5], [4, 4], [1, 3]),
    ]
