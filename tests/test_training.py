"""Transfer learning: freezing, replacing the classifier, and the optimizer and gradient figures
against a real optimizer step."""

import json
import textwrap

import pytest

import archcalc
from archcalc.errors import SpecError
from archcalc.memory import estimate_memory
from archcalc.training import freeze, requires_grad, with_classes


def trainable_names(graph):
    return [n.name for n in graph.nodes if n.inputs and not n.frozen and sum(n.op.params(n))]


def test_freeze_until_a_block_freezes_it_and_everything_before():
    graph = archcalc.load("resnet50")
    changed = freeze(graph, until="layer3")
    assert graph.scopes["layer3"] == "layer3.5.relu3"
    names = trainable_names(graph)
    assert names[0] == "layer4.0.conv1" and names[-1] == "fc"
    assert all(n.frozen for n in changed) and "conv1" in {n.name for n in changed}
    totals = archcalc.analyze(graph).totals
    assert (totals["trainable_params"], totals["frozen_params"]) == (17_013_736, 8_543_296)
    # the same by a node name
    same = archcalc.load("resnet50")
    freeze(same, until="layer3.5.relu3")
    assert trainable_names(same) == names


def test_freeze_until_keeps_side_heads_that_do_not_feed_the_node():
    graph = archcalc.load("googlenet")
    freeze(graph, until="inception4c")
    names = trainable_names(graph)
    assert "aux1.fc2" in names and "aux2.fc2" in names and "inception4d.branch1.conv" in names
    assert "inception4c.branch1.conv" not in names and "aux1.conv.conv" in names


def test_train_last_counts_weight_layers_and_freezes_side_heads():
    vgg = archcalc.load("vgg16")
    freeze(vgg, train_last=2)
    assert trainable_names(vgg) == ["fc7", "fc8"]
    resnet = archcalc.load("resnet50")
    freeze(resnet, train_last=2)  # conv3 of the last block, its batchnorm, and fc
    assert trainable_names(resnet) == ["layer4.2.conv3", "layer4.2.bn3", "fc"]
    googlenet = archcalc.load("googlenet")
    freeze(googlenet, train_last=1)
    assert trainable_names(googlenet) == ["fc"]
    everything = archcalc.load("resnet18")
    freeze(everything, train_last=0)
    assert trainable_names(everything) == []


def test_freeze_errors_and_spec_frozen_layers_stay_frozen():
    graph = archcalc.load("resnet18")
    with pytest.raises(SpecError, match="did you mean 'layer3'"):
        freeze(graph, until="layr3")
    with pytest.raises(SpecError, match="not both"):
        freeze(graph, until="layer3", train_last=2)
    with pytest.raises(SpecError, match="only 21 weight layers"):
        freeze(graph, train_last=22)
    lenet = archcalc.load("lenet5")  # the RBF output is fixed by construction
    rbf = next(n for n in lenet.nodes if n.kind == "rbf")
    assert rbf.frozen
    freeze(lenet, train_last=1)
    assert rbf.frozen and trainable_names(lenet)[-1] != rbf.name


def test_requires_grad_starts_at_the_first_trainable_node():
    graph = archcalc.load("resnet18")
    freeze(graph, until="layer2")
    flags = requires_grad(graph)
    first = next(i for i, n in enumerate(graph.nodes) if flags[i])
    assert graph.nodes[first].name == "layer3.0.conv1"
    assert estimate_memory(graph).first_trainable == "layer3.0.conv1"


def test_frozen_nodes_build_frozen_torch_parameters():
    pytest.importorskip("torch")
    from archcalc.torch.build import build_module, parameter_check

    graph = archcalc.load("resnet18", input_shape=(3, 32, 32))
    freeze(graph, until="layer3")
    module = build_module(graph, init=False)
    check = parameter_check(graph, module)
    assert check["matches"], check
    assert check["module"]["frozen_params"] == archcalc.analyze(graph).totals["frozen_params"]


def test_classes_replace_every_head():
    graph, changes = with_classes("resnet50", 20)
    assert [(c.name, c.params, c.previous_params) for c in changes] == [("fc", 40_980, 2_049_000)]
    assert graph.outputs[0].shape == (20,)
    _, changes = with_classes("googlenet", 20)
    assert [c.name for c in changes] == ["fc", "aux1.fc2", "aux2.fc2"]
    _, same = with_classes("resnet18", 1000)  # unchanged size: the head is still found
    assert [(c.name, c.params, c.previous_params) for c in same] == [("fc", 513_000, 513_000)]
    with pytest.raises(SpecError, match="num_classes"):
        with_classes("bottleneck", 10)
    spec = textwrap.dedent(
        """
        name: unused
        title: t
        source: s
        input: [3, 8, 8]
        vars: {num_classes: 10}
        layers: [{conv: [4, 3]}, flatten, {linear: 5}]
        """
    )
    import pathlib
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "unused.yaml"
        path.write_text(spec)
        with pytest.raises(SpecError, match="no layer's parameters depend on it"):
            with_classes(path, 3)


# --- gradients and optimizer state against a real optimizer step ----------------------

SMALL_NET = """
name: small
title: a small network with frozen and trainable parts
source: test
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1, name: c1}
  - batchnorm
  - relu
  - conv: {out: 16, kernel: 3, stride: 2, padding: 1, bias: false, name: c2}
  - batchnorm: {affine: false}
  - relu
  - conv: {out: 16, kernel: 3, padding: 1, name: c3}
  - global_avgpool
  - flatten
  - linear: {out: 10, name: fc}
"""


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "adamw"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("until", [None, "c2"])
def test_gradients_and_optimizer_state_match_a_real_step(optimizer, dtype, until):
    torch = pytest.importorskip("torch")
    from archcalc.torch.build import build_module

    graph = archcalc.load_text(textwrap.dedent(SMALL_NET), "small.yaml")
    if until:
        freeze(graph, until=until)
    module = build_module(graph, dtype=dtype).train()
    params = [p for p in module.parameters() if p.requires_grad]
    opt = {
        "sgd": lambda: torch.optim.SGD(params, lr=0.1),
        "momentum": lambda: torch.optim.SGD(params, lr=0.1, momentum=0.9),
        "adam": lambda: torch.optim.Adam(params),
        "adamw": lambda: torch.optim.AdamW(params),
    }[optimizer]()
    x = torch.randn(4, 3, 16, 16, dtype=getattr(torch, dtype))
    module(x).float().sum().backward()
    grads = sum(p.grad.untyped_storage().nbytes() for p in module.parameters() if p.grad is not None)
    opt.step()
    state = sum(v.untyped_storage().nbytes() for s in opt.state.values() for v in s.values() if torch.is_tensor(v))
    weights = sum(p.untyped_storage().nbytes() for p in module.parameters())

    e = estimate_memory(graph, batch=4, dtype=dtype, optimizer=optimizer)
    assert e.part("weights") == weights
    assert e.part("gradients") == grads
    assert e.part("optimizer_state") == state
    assert e.trainable_tensors == len(params)


# --- the summary command ---------------------------------------------------------------


def test_summary_freeze_options(run):
    out = run("summary", "resnet50", "--freeze-until", "layer3", "--depth", "1").output
    assert "trainable 17,013,736 · frozen 8,543,296" in out
    data = json.loads(run("summary", "vgg16", "--train-last", "2", "--format", "json").output)
    assert data["totals"]["trainable_params"] == 16_781_312 + 4_097_000
    assert [row["name"] for row in data["layers"] if row["trainable"] and row["params"]] == ["fc7", "fc8"]
    plain = run("summary", "vgg16").output
    assert "frozen 0" in plain
    result = run("summary", "vgg16", "--freeze-until", "block3", "--train-last", "2")
    assert result.exit_code == 2 and "not both" in result.output
    result = run("summary", "vgg16", "--freeze-until", "block9")
    assert result.exit_code == 1 and "no node or block named 'block9'" in result.output
