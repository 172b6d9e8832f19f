"""The MACs of a training step against torch's flop counter over a real forward + backward pass.

The oracle is ``torch.utils.flop_counter.FlopCounterMode`` on archcalc's own torch
module (2 FLOPs per MAC, convolutions and matrix products only, so conv and linear
nodes are compared). Stock, it counts a grouped convolution's weight gradient
``groups`` times over; :func:`training_flop_counts` corrects that one formula, and
ResNet-18 (no groups) is checked against the stock counter's figures too. Modules and
inputs live on the meta device: the counter needs shapes only, so nothing is computed
and full-size inputs cost no more than small ones.
"""

import pytest

torch = pytest.importorskip("torch")

import archcalc  # noqa: E402
from archcalc.library import builtin_paths  # noqa: E402
from archcalc.torch.build import build_module, torch_paths  # noqa: E402
from archcalc.torch.flops import training_flop_counts  # noqa: E402
from archcalc.training import freeze, is_weight_layer  # noqa: E402

from conftest import EVERY_KIND  # noqa: E402

def step_macs(graph, module, batch=1):
    """(analytic, counted) MACs of one training step, over the conv and linear nodes.

    Totals, not node by node: the counter files a backward operator under every module
    whose backward is running at the time, which over parallel branches is not one node.
    """
    counts = training_flop_counts(module, (meta_input(graph, batch),))
    analysis = archcalc.analyze(graph, batch=batch)
    analytic = sum(row.training_macs for node, row in zip(graph.nodes, analysis.layers)
                   if "flop_counter" in node.op.mac_counters)
    return analytic, sum(counts[""].values()) // 2


def meta_module(graph):
    return build_module(graph, device="meta", init=False, allow_large=True)


def meta_input(graph, batch=1):
    return torch.empty(batch, *graph.input.shape, device="meta")


def freeze_module(graph, module):
    paths = torch_paths(graph)
    for node in graph.nodes:
        if node.frozen and node.inputs:
            module.get_submodule(paths[node.index]).requires_grad_(False)


def test_resnet18_at_224_reproduces_the_flop_counter():
    """torchvision's ResNet-18 at 1x3x224x224: FlopCounterMode counts 10,648,412,160 FLOPs.

    ResNet-18 has no grouped convolution, where the corrected formula is the stock one.
    """
    graph = archcalc.load("resnet18")
    assert all(n.args.get("groups", 1) == 1 for n in graph.nodes if n.kind == "conv")
    counts = training_flop_counts(meta_module(graph), (meta_input(graph),))
    assert counts[""] == {"convolution": 3_627_122_688, "convolution_backward": 7_018_217_472,
                          "addmm": 1_024_000, "mm": 2_048_000}
    stock = counts[""]
    t = archcalc.analyze(graph).totals
    assert t["training_macs"] == 5_324_206_080 == sum(stock.values()) // 2
    assert t["step_forward_macs"] == t["macs"] == (3_627_122_688 + 1_024_000) // 2
    # The first convolution sends no gradient to the image: backward is 2.93x forward, not 2x.
    assert t["backward_weight_macs"] == t["macs"]
    assert t["backward_input_macs"] == t["macs"] - archcalc.analyze(graph).layer("conv1").macs


@pytest.mark.parametrize("name", sorted(builtin_paths()))
def test_training_macs_of_every_builtin_spec_frozen_and_not(name):
    """Each spec at its own input, batch 2 (training-mode batch norm needs two values per channel
    on a 1x1 map): all trainable, then its first half of weight layers frozen."""
    graph = archcalc.load(name)
    module = meta_module(graph)
    analytic, counted = step_macs(graph, module, batch=2)
    assert analytic == counted > 0
    aux = graph.training_only()
    weights = [n for n in graph.nodes if n.index not in aux and is_weight_layer(n)]
    freeze(graph, train_last=len(weights) - len(weights) // 2)
    freeze_module(graph, module)
    frozen_analytic, frozen_counted = step_macs(graph, module, batch=2)
    assert frozen_analytic == frozen_counted
    if len(weights) > 1:
        assert frozen_counted < counted


def test_every_kind_with_random_freezing():
    """Table convolutions, LeNet's RBF (never trained), dilations, groups, auxiliary heads;
    as written, then with random nodes frozen."""
    import random

    rnd = random.Random(20)
    cases = []
    for trial in range(5):
        graph = archcalc.load(EVERY_KIND)
        for node in graph.nodes:
            node.frozen = node.frozen or (trial > 0 and rnd.random() < 0.4)
            # leaky_relu -> dropout(p=0) -> relu, all in place, cannot run backward in torch
            # (relu_ overwrites the result leaky_relu_ saved); out of place the MACs are the same.
            node.inplace_allowed = False
        cases.append(graph)
    for graph in cases:
        analytic, counted = step_macs(graph, meta_module(graph), batch=2)
        assert analytic == counted > 0


def test_grouped_weight_gradient_is_corrected_only_by_groups():
    """The stock counter counts a depthwise weight gradient 8x; the corrected one the true products."""
    from torch.utils.flop_counter import FlopCounterMode

    conv = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8)
    x = torch.randn(1, 8, 10, 10, requires_grad=True)
    forward = 2 * 10 * 10 * 8 * 9
    with FlopCounterMode(display=False) as counter:
        conv(x).sum().backward()
    assert sum(counter.get_flop_counts()["Global"].values()) == forward + forward + 8 * forward
    corrected = training_flop_counts(torch.nn.Sequential(conv), (x,))
    assert corrected[""] == {"convolution": forward, "convolution_backward": 2 * forward}
