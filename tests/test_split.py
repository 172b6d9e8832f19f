"""Channel splits (`split:`, `chunk:`, `slice`) and the ShuffleNetV2 built on them.

The `slice` kind alone is held to torch by tests/test_kinds.py; here: how a split item
names its parts, its errors, that its parts are views of its input (memory, in-place
activations after them), that the built module computes torch.split / torch.chunk, and
shufflenet-v2-x1-0 against torchvision's shufflenet_v2_x1_0.
"""

import pytest

import archcalc
from archcalc.errors import SpecError
from archcalc.spec.splits import chunk_sizes

CSP = """
name: csp
input: [8, 6, 6]
layers:
  - conv: {out: 8, kernel: 1, name: stem}
  - split: [3, 5]
    name: parts
  - conv: {out: 5, kernel: 3, padding: 1, name: work}
  - concat: {from: [parts.0, work]}
"""


def test_split_parts_are_named_slices(spec_text):
    graph = spec_text(CSP)
    parts = [n for n in graph.nodes if n.kind == "slice"]
    assert [(n.name, n.args["start"], n.args["end"], n.shape) for n in parts] == [
        ("parts.0", 0, 3, (3, 6, 6)), ("parts.1", 3, 8, (5, 6, 6))]
    # the item's output, read by the next layer, is its last part
    assert graph.nodes[-2].inputs[0].name == "parts.1"
    assert graph.nodes[-1].shape == (8, 6, 6)


def test_split_parts_are_views(spec_text):
    result = archcalc.analyze(spec_text(CSP))
    rows = {r.name: r for r in result.layers}
    assert rows["parts.0"].activations == rows["parts.1"].activations == 0
    assert rows["parts.1"].macs == rows["parts.1"].other_ops == 0
    # stem's 8x6x6 output stays alive under the views until the concat has read parts.0
    assert result.totals["peak_activation_bytes"] == 4 * (8 * 36 + 5 * 36 + 8 * 36)


def test_an_activation_after_a_part_does_not_run_in_place(spec_text):
    """relu in place on a part would overwrite the input that the other part still views."""
    graph = spec_text("""
        input: [4, 3, 3]
        layers:
          - conv: {out: 4, kernel: 1}
          - chunk: 2
          - relu
          - concat: {from: [chunk1.0, relu1]}
        """)
    relu = next(n for n in graph.nodes if n.kind == "relu")
    assert not relu.op.aliases_input(relu)


@pytest.mark.parametrize("channels, chunks, sizes", [(116, 2, [58, 58]), (5, 2, [3, 2]), (7, 3, [3, 3, 1]),
                                                     (6, 4, [2, 2, 2])])
def test_chunk_sizes_follow_torch(channels, chunks, sizes):
    torch = pytest.importorskip("torch")
    assert chunk_sizes(channels, chunks) == sizes
    assert [t.shape[0] for t in torch.zeros(channels).chunk(chunks)] == sizes


def test_sizes_may_be_expressions_and_list_vars(spec_text):
    graph = spec_text("""
        input: [12, 2, 2]
        vars: {parts: [2, 4, 6]}
        layers:
          - {split: ["$in // 2", "$in // 2"], name: a, from: input}
          - {split: parts, name: b, from: input}
          - {chunk: "len(parts)", name: c, from: input}
        """)
    shapes = {n.name: n.shape[0] for n in graph.nodes if n.kind == "slice"}
    assert shapes == {"a.0": 6, "a.1": 6, "b.0": 2, "b.1": 4, "b.2": 6, "c.0": 4, "c.1": 4, "c.2": 4}


@pytest.mark.parametrize("layer, message", [
    ("split: [3, 4]", "split 'split1': sizes [3, 4] add up to 7, but the input [8, 2, 2] from 'input' has 8 channels"),
    ("chunk: 3", "chunk 'chunk1': torch.chunk parts 8 channels from 'input' into 3 parts (3, 3, 2), not 3"),
    ("chunk: 6", "chunk 'chunk1': torch.chunk parts 8 channels from 'input' into 4 parts (2, 2, 2, 2), not 6"),
    ("chunk: 0", "chunk 'chunk1': the number of chunks expected a positive integer, got 0"),
    ("split: 4", "split 'split1': sizes expected a list of channel counts such as [58, 58], got 4"),
    ("split: [8, 0]", "split 'split1': sizes: part 1 expected a positive integer, got 0"),
    ("split: [1, 1, 1, 1, 1, 1, 1, 1, 1]", "split 'split1': sizes: 9 parts of 8 channels from 'input' leave some"),
])
def test_split_errors(spec_text, layer, message):
    if "(3, 3, 2)" in message:  # torch.chunk(8, 3) does give 3 parts: 3, 3, 2
        graph = spec_text(f"input: [8, 2, 2]\nlayers:\n  - {layer}\n")
        assert [n.shape[0] for n in graph.nodes[1:]] == [3, 3, 2]
        return
    with pytest.raises(SpecError) as info:
        spec_text(f"input: [8, 2, 2]\nlayers:\n  - {layer}\n")
    assert message in info.value.message
    assert info.value.location.line == 3


def test_naming_the_split_itself_says_which_parts_there_are(spec_text):
    with pytest.raises(SpecError) as info:
        spec_text("""
            input: [8, 2, 2]
            layers:
              - {split: [4, 4], name: s}
              - concat: {from: [s, s.1]}
            """)
    assert info.value.message == "concat 'concat1': `from` names 's', a split into 2 parts; name one part"
    assert info.value.hint == "its parts are s.0 to s.1"
    assert (info.value.location.line, info.value.location.column) == (5, 21)


def test_the_module_computes_torch_split(spec_text):
    torch = pytest.importorskip("torch")
    from archcalc.torch.build import build_module

    graph = spec_text("""
        input: [7, 3, 3]
        layers:
          - {split: [2, 5], name: s}
          - {chunk: 2, name: c, from: s.1}
          - concat: {from: [c.1, s.0, c.0]}
        """)
    module = build_module(graph, dtype="float64")
    x = torch.rand(2, 7, 3, 3, dtype=torch.float64)
    s0, s1 = torch.split(x, [2, 5], dim=1)
    c0, c1 = s1.chunk(2, dim=1)
    assert torch.equal(module(x), torch.cat([c1, s0, c0], dim=1))


@pytest.fixture(scope="module")
def shufflenet():
    return archcalc.load("shufflenet-v2-x1-0")


def test_shufflenet_against_torchvision(shufflenet):
    """params, buffers, output shape and conv+linear MACs of torchvision's model (weights=None)."""
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    from archcalc.torch.flops import flop_counter_counts

    assert "torchvision shufflenet_v2_x1_0" in shufflenet.source
    reference = torchvision.models.shufflenet_v2_x1_0(weights=None).eval()
    totals = archcalc.analyze(shufflenet).totals
    assert totals["params"] == sum(p.numel() for p in reference.parameters()) == 2_278_604
    assert totals["buffers"] == sum(b.numel() for b in reference.buffers()) == 16_236
    x = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        assert tuple(reference(x).shape[1:]) == tuple(shufflenet.outputs[0].shape) == (1000,)
    # FlopCounterMode counts convolutions and matrix products only, 2 FLOPs per MAC
    assert totals["macs"] == flop_counter_counts(reference, (x,))[""] // 2 == 144_907_992
    assert shufflenet.reference["top1"] == 69.362


def test_shufflenet_module_matches_its_analysis(shufflenet):
    torch = pytest.importorskip("torch")
    from archcalc.torch.build import build_module, parameter_check
    from archcalc.torch.flops import flop_counter_counts

    module = build_module(shufflenet, init=False)
    assert parameter_check(shufflenet, module)["matches"]
    x = torch.zeros(1, 3, 224, 224)
    assert flop_counter_counts(module, (x,))[""] // 2 == archcalc.analyze(shufflenet).totals["macs"]


def test_an_add_onto_a_part_leaves_the_other_parts_alone(spec_text):
    """An add in place onto a part would change what the other part views of the same input."""
    torch = pytest.importorskip("torch")
    from archcalc.torch.build import build_module

    graph = spec_text("""
        input: [4, 2, 2]
        layers:
          - conv: {out: 4, kernel: 1, name: c}
          - {chunk: 2, name: h}
          - conv: {out: 2, kernel: 1, name: d}
          - add: {from: [h.0, d]}
          - concat: {from: [add1, h.0, h.1]}
        """)
    add = next(n for n in graph.nodes if n.kind == "add")
    assert not add.op.aliases_input(add)
    module = build_module(graph, dtype="float64")
    x = torch.rand(1, 4, 2, 2, dtype=torch.float64)
    c = module.c(x)
    h0, h1 = c.chunk(2, dim=1)
    assert torch.equal(module(x), torch.cat([h0 + module.d(h1), h0, h1], dim=1))
