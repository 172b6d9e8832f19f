"""Training memory: the analytic estimate against what torch's autograd really keeps.

The oracle is the spec-built torch module in train mode on CPU: every tensor autograd
saves for backward passes through ``torch.autograd.graph.saved_tensors_hooks``; distinct
storages (by ``untyped_storage().data_ptr()``) are summed, parameters, buffers and the
input batch left out, and each is attributed to the node whose submodule was running.
The peak of a whole step (forward, backward, optimizer step) is measured by a dispatch
mode that follows the life of every tensor storage.
"""

import json
import random
import subprocess
import sys
import textwrap
import weakref

import pytest

import archcalc
from archcalc.memory import PRECISIONS, Size, estimate_memory
from archcalc.training import freeze

torch = pytest.importorskip("torch")

from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils._pytree import tree_flatten  # noqa: E402
from torch.utils.weak import WeakIdKeyDictionary  # noqa: E402

from archcalc.torch.build import build_module  # noqa: E402

from conftest import EVERY_KIND  # noqa: E402
from oracles import measure_saved  # noqa: E402

SMALL = (3, 64, 64)
BATCH = 2


def estimated_saved(graph, batch=BATCH, dtype="float32"):
    estimate = estimate_memory(graph, batch=batch, dtype=dtype, device="cpu")
    per_node = {row.name: row.new_saved.at(batch) for row in estimate.layers if row.new_saved.at(batch)}
    return estimate, per_node


def mismatches(graph, measured, estimated):
    order = {n.name: n.index for n in graph.nodes}
    names = sorted(set(measured) | set(estimated), key=order.__getitem__)
    return [(n, measured.get(n, 0), estimated.get(n, 0)) for n in names if measured.get(n, 0) != estimated.get(n, 0)]


NETWORKS = [
    ("vgg16", None), ("vgg16", "block3"),
    ("resnet18", None), ("resnet18", "layer2"),
    ("resnet50", None), ("resnet50", "layer3"),
    ("mobilenet-v2", None), ("mobilenet-v2", "stage4"),
    ("densenet121", None), ("densenet121", "transition2"),
    ("googlenet", None), ("googlenet", "inception4b"),
]


@pytest.mark.parametrize("name,until", NETWORKS, ids=[f"{n}-{u or 'all'}" for n, u in NETWORKS])
def test_saved_activations_match_autograd(name, until):
    graph = archcalc.load(name, input_shape=SMALL)
    if until:
        freeze(graph, until=until)
    measured = measure_saved(graph)
    estimate, estimated = estimated_saved(graph)
    total = sum(measured.values())
    assert total > 0
    assert estimate.part("activations") == sum(estimated.values())
    assert abs(estimate.part("activations") - total) <= 0.05 * total
    assert not mismatches(graph, measured, estimated), "node, measured, estimated"


def test_every_kind_every_freeze_point_and_random_freezing():
    graph = archcalc.load(EVERY_KIND)
    cases = [("none", graph)]
    for node in graph.nodes:  # freezing up to each layer with parameters
        if node.inputs and sum(node.op.params(node)):
            g = archcalc.load(EVERY_KIND)
            freeze(g, until=node.name)
            cases.append((f"until {node.name}", g))
    rnd = random.Random(6)
    for trial in range(6):
        g = archcalc.load(EVERY_KIND)
        for node in g.nodes:
            node.frozen = node.frozen or rnd.random() < 0.4
        cases.append((f"random {trial}", g))
    for label, g in cases:
        measured = measure_saved(g)
        _, estimated = estimated_saved(g)
        assert not mismatches(g, measured, estimated), label


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_saved_activations(dtype):
    graph = archcalc.load("googlenet", input_shape=SMALL)  # batchnorm stats and the dropout mask in 2 bytes on CPU
    measured = measure_saved(graph, dtype=dtype)
    estimate, estimated = estimated_saved(graph, dtype=dtype)
    assert not mismatches(graph, measured, estimated)
    full = estimated_saved(graph, dtype="float32")[0]
    indices = sum(s["size"].at(BATCH) for row in full.layers for s in row.saved if s["what"] == "indices" and s["first"])
    # everything but the int64 pooling indices halves
    assert estimate.part("activations") == (full.part("activations") - indices) // 2 + indices


def test_cuda_keeps_a_one_byte_dropout_mask_and_float32_statistics():
    graph = archcalc.load("vgg16", input_shape=SMALL)
    cpu = estimate_memory(graph, batch=4, device="cpu", dtype="float16")
    cuda = estimate_memory(graph, batch=4, device="cuda", dtype="float16")
    # two dropouts over 4096 features: 2 bytes per value on CPU (float16), 1 on CUDA (bool)
    assert cpu.part("activations") - cuda.part("activations") == 2 * 4096 * 4 * (2 - 1)
    masks = [s for row in cuda.layers for s in row.saved if s["what"] == "mask"]
    assert [m["dtype"] for m in masks] == ["bool", "bool"]


# --- the peak of a whole step ---------------------------------------------------------


class LiveStorages(TorchDispatchMode):
    """Bytes of tensor storages alive, and their peak: every storage an op returns counts."""

    def __init__(self, held):
        super().__init__()
        self.seen = WeakIdKeyDictionary()
        self.live = 0
        for tensor in held:
            self._track(tensor)
        self.start = self.peak = self.live

    def _track(self, tensor):
        storage = tensor.untyped_storage()
        if storage not in self.seen:
            self.seen[storage] = storage.nbytes()
            self.live += storage.nbytes()
            weakref.finalize(storage, self._free, storage.nbytes())

    def _free(self, nbytes):
        self.live -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for value in tree_flatten(out)[0]:
            if isinstance(value, torch.Tensor):
                self._track(value)
        self.peak = max(self.peak, self.live)
        return out


def measure_step(graph, batch, optimizer):
    """(bytes held before the step, peak during it) of a second training step, optimizer state built."""
    module = build_module(graph, batch=batch).train()
    params = [p for p in module.parameters() if p.requires_grad]
    make = {
        "sgd": lambda: torch.optim.SGD(params, lr=0.01, foreach=True),
        "momentum": lambda: torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=True),
        "adam": lambda: torch.optim.Adam(params, foreach=True),
    }
    opt = make[optimizer]()
    x = torch.randn(batch, *graph.input.shape)

    def step():
        out = module(x)
        loss = sum(o.sum() for o in (out if isinstance(out, tuple) else (out,)))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()
    held = [*module.parameters(), *module.buffers(), x]
    held += [v for state in opt.state.values() for v in state.values() if torch.is_tensor(v)]
    mode = LiveStorages(held)
    with mode:
        step()
    return mode.start, mode.peak


@pytest.mark.parametrize(
    "name,until,size,batch,optimizer,phase",
    [
        ("resnet18", None, 32, 2, "adam", "optimizer"),  # Adam's foreach temporary on top of the gradients
        ("googlenet", None, 32, 8, "sgd", "backward"),  # saved activations plus gradients, auxiliary heads
        ("resnet18", "layer2", 32, 8, "momentum", "backward"),
        ("resnet18", "layer4", 64, 16, "sgd", "forward"),  # a frozen stem's live activations
    ],
)
def test_peak_of_a_step_matches_torch(name, until, size, batch, optimizer, phase):
    graph = archcalc.load(name, input_shape=(3, size, size))
    if until:
        freeze(graph, until=until)
    held, peak = measure_step(graph, batch, optimizer)
    e = estimate_memory(graph, batch=batch, optimizer=optimizer, device="cpu")
    estimated_held = sum(e.part(p) for p in ("weights", "buffers", "optimizer_state", "input"))
    # BatchNorm's batch counter is an int64, which the estimate counts at the weight width.
    assert held - estimated_held == 4 * sum(1 for n in graph.nodes if n.kind == "batchnorm")
    assert e.peak_event().phase == phase
    assert abs(e.peak() - peak) <= 0.02 * peak, (e.peak(), peak, e.peak_event())


# --- parts, budget, model ---------------------------------------------------------------


def test_parts_follow_the_precision_and_optimizer():
    graph = archcalc.load("resnet18")
    freeze(graph, until="layer3")
    a = archcalc.analyze(graph).totals
    trainable, params = a["trainable_params"], a["params"]
    tensors = estimate_memory(graph).trainable_tensors
    for dtype, p in PRECISIONS.items():
        for optimizer, states in (("sgd", 0), ("momentum", 1), ("adam", 2), ("adamw", 2)):
            e = estimate_memory(graph, batch=3, dtype=dtype, optimizer=optimizer)
            assert e.part("weights") == params * p.weight
            assert e.part("master_weights") == (trainable * 4 if dtype == "mixed" else 0)
            assert e.part("gradients") == trainable * p.grad
            steps = 4 * tensors if optimizer.startswith("adam") else 0
            assert e.part("optimizer_state") == states * trainable * p.state + steps
            assert e.part("input") == 3 * 3 * 224 * 224 * p.activation
            assert e.total() == sum(e.part(k) for k in e.parts)
    mixed = estimate_memory(graph, dtype="mixed", optimizer="adam")
    # ZeRO's accounting of mixed-precision Adam: 2 + 2 + 4 + 4 + 4 = 16 bytes per trainable parameter
    per_trainable = (mixed.part("weights") - (params - trainable) * 2 + mixed.part("gradients")
                     + mixed.part("master_weights") + mixed.part("optimizer_state") - 4 * tensors)
    assert per_trainable == 16 * trainable


def test_everything_frozen_means_inference_peak():
    graph = archcalc.load("resnet18")
    freeze(graph, until="fc")
    e = estimate_memory(graph, batch=4)
    assert e.trainable_params == 0 and e.part("gradients") == e.part("optimizer_state") == 0
    assert not e.training and all(not row.saved for row in e.layers)
    summary = archcalc.analyze(archcalc.load("resnet18"), batch=4).totals
    # The inference peak of `summary` (at bn1, after the input was last read: conv1 and bn1 outputs).
    assert e.part("activations") == summary["peak_activation_bytes"] == 2 * 4 * 64 * 112 * 112 * 4
    assert e.peak() == e.total()


def test_largest_batch_that_fits():
    e = estimate_memory(archcalc.load("resnet50"), optimizer="adam")
    budget = 16 * 2**30
    fits, binding = e.max_batch(budget)
    assert fits > 100
    assert e.peak(fits) <= budget < e.peak(fits + 1)
    assert binding.live.at(fits) <= budget < binding.live.at(fits + 1)  # the event that stops one more
    assert e.max_batch(10)[0] == 0  # nothing fits in 10 bytes
    total = e.total_size()
    assert total.at(7) == total.fixed + 7 * total.per_sample
    assert Size(3, 5).at(2) == 13


def test_analytic_path_does_not_import_torch():
    code = textwrap.dedent(
        """
        import sys
        from click.testing import CliRunner
        from archcalc.cli import cli
        r = CliRunner().invoke(cli, ["memory", "resnet50", "--classes", "20", "--freeze-until", "layer3",
                                     "--budget", "16GiB", "--layers"])
        assert r.exit_code == 0, r.output
        r = CliRunner().invoke(cli, ["summary", "resnet18", "--train-last", "2"])
        assert r.exit_code == 0, r.output
        assert "torch" not in sys.modules, "torch imported"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the command ------------------------------------------------------------------------


def test_memory_table(run):
    result = run("memory", "resnet50", "--classes", "20", "--freeze-until", "layer3", "--optimizer", "adam",
                 "--batch", "32", "--budget", "16GiB", "--width", "200")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "New head      fc (linear, 20 classes): 40,980 params (was 2,049,000)" in out
    assert "Frozen        up to layer3 (layer3.5.relu3)" in out
    assert "trainable 15,005,716 · frozen 8,543,296 · first trainable layer4.0.conv1" in out
    for part in ("weights", "buffers", "gradients", "optimizer state", "input batch", "activations", "total", "peak"):
        assert any(line.startswith(part + " ") for line in out.splitlines()), part
    e = estimate_memory(_transfer_graph(), batch=32, optimizer="adam")
    fits, _ = e.max_batch(16 * 2**30)
    assert f"Budget 16.0 GiB: largest batch {fits:,}" in out


def _transfer_graph():
    from archcalc.training import with_classes

    graph, _ = with_classes("resnet50", 20)
    freeze(graph, until="layer3")
    return graph


def test_memory_json_contract(run):
    data = json.loads(run("memory", "resnet50", "--classes", "20", "--freeze-until", "layer3", "--batch", "8",
                          "--budget", "16G", "--format", "json").output)
    e = estimate_memory(_transfer_graph(), batch=8)
    assert data["schema"] == "archcalc.memory/1"
    assert data["bytes"] == {**{k: e.part(k) for k in e.parts}, "total": e.total(), "peak": e.peak()}
    assert data["params"]["trainable"] == 15_005_716 and data["params"]["frozen"] == 8_543_296
    assert data["head"]["layers"][0] == {"name": "fc", "kind": "linear", "params": 40_980,
                                         "previous_params": 2_049_000, "output_shape": [20], "frozen": False}
    assert data["freeze"]["node"] == "layer3.5.relu3"
    assert data["budget"]["max_batch"] == e.max_batch(16 * 2**30)[0]
    assert data["budget"]["peak_at_max_batch"] <= 16 * 2**30
    for part, size in data["sizes"].items():
        assert size["fixed"] + 8 * size["per_sample"] == data["bytes"][part]
    saved = sum(layer["saved_bytes"] for layer in data["layers"])
    assert saved == data["bytes"]["activations"]


def test_memory_layers_and_errors(run):
    out = run("memory", "mobilenet-v2", "--layers", "--batch", "2").output
    assert "Keeps" in out and "input copy 32×112×112" in out  # relu6 in place (hardtanh_) copies its input
    assert "indices" not in out
    result = run("memory", "bottleneck", "--classes", "10")
    assert result.exit_code == 1 and "num_classes" in result.output
    result = run("memory", "resnet18", "--freeze-until", "layr3")
    assert result.exit_code == 1 and "did you mean 'layer3'" in result.output
    result = run("memory", "resnet18", "--freeze-until", "layer3", "--train-last", "2")
    assert result.exit_code == 2
    result = run("memory", "resnet18", "--budget", "lots")
    assert result.exit_code == 2
    result = run("memory", "resnet18", "--classes", "10", "--set", "num_classes=5")
    assert result.exit_code == 2
    result = run("memory", "vgg16", "--budget", "500MiB")
    assert "does not fit even at batch 1" in result.output
