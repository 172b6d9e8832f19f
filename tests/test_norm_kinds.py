"""Layer, group and instance norm, layer scale and stochastic depth where they meet: ConvNeXt-Tiny
against torchvision's convnext_tiny (built with weights=None: never downloaded), its training
memory against autograd, and the errors and aliases a user meets first. Each kind alone is held
to torch by tests/test_kinds.py."""

import pytest

import archcalc
from archcalc.errors import SpecError
from archcalc.memory import estimate_memory

SMALL = (3, 64, 64)
BATCH = 2


def load(text: str):
    return archcalc.load_text(text, "norm.yaml")


def test_convnext_tiny_is_torchvisions():
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    from torch.utils.flop_counter import FlopCounterMode

    model = torchvision.models.convnext_tiny(weights=None).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.rand(1, 3, 224, 224))
    result = archcalc.analyze(archcalc.load("convnext-tiny"))
    assert result.totals["params"] == sum(p.numel() for p in model.parameters()) == 28_589_128
    assert result.totals["buffers"] == sum(b.numel() for b in model.buffers()) == 0
    assert list(result.layers[-1].output_shape) == list(out.shape[1:]) == [1000]
    # FlopCounterMode counts convolutions and matrix products (the channels-last nn.Linear) only.
    assert result.totals["macs"] == counter.get_total_flops() // 2 == 4_455_531_264


def test_convnext_tiny_training_memory_matches_autograd():
    """Layer norm's statistics per position, the layer scale's input, and one stochastic-depth
    mask value per sample in every block but the first (whose rate is 0)."""
    pytest.importorskip("torch")
    from oracles import measure_saved

    graph = archcalc.load("convnext-tiny", input_shape=SMALL)
    measured = measure_saved(graph, batch=BATCH)
    estimate = estimate_memory(graph, batch=BATCH, device="cpu")
    estimated = {row.name: row.new_saved.at(BATCH) for row in estimate.layers if row.new_saved.at(BATCH)}
    assert measured == estimated
    masks = {name: size for name, size in estimated.items() if name.endswith("stochastic_depth")}
    assert len(masks) == 17 and set(masks.values()) == {BATCH * 4}
    assert "stage1.0.stochastic_depth" not in masks


def test_drop_path_is_free_at_inference_and_keeps_a_mask_in_training():
    graph = load("input: [8, 6, 6]\nlayers:\n  - conv: {out: 8, kernel: 3, padding: 1}\n"
                 "  - drop_path: 0.2\n  - drop_path: {p: 0.2, mode: batch}\n")
    rows = archcalc.analyze(graph, batch=4).layers
    assert [(r.other_ops, r.activation_bytes) for r in rows[2:]] == [(0, 0), (0, 0)]
    saved = {row.name: row.saved for row in estimate_memory(graph, batch=4, device="cuda").layers}
    row_mask, batch_mask = saved["drop_path1"][0], saved["drop_path2"][0]
    assert (row_mask["what"], row_mask["shape"], row_mask["size"].at(4)) == ("mask", [1, 1, 1], 4 * 4)
    assert batch_mask["size"].at(4) == batch_mask["size"].at(1) == 4


def test_norm_aliases_name_the_norms():
    for alias, kind in [("ln", "layernorm"), ("layer_norm", "layernorm"), ("gn", "groupnorm"),
                        ("group_norm", "groupnorm"), ("instance_norm", "instancenorm")]:
        shape = "[6]" if kind == "layernorm" else "[6, 4, 4]"
        value = "{groups: 3}" if kind == "groupnorm" else "{}"
        graph = load(f"input: {shape}\nlayers:\n  - {alias}: {value}\n")
        assert graph.nodes[1].kind == kind, alias


def test_layernorm_of_an_image_points_at_layernorm2d():
    with pytest.raises(SpecError) as error:
        load("input: [4, 8, 8]\nlayers:\n  - conv: {out: 6, kernel: 3}\n  - ln: {eps: 1e-6}\n")
    message = str(error.value)
    assert message.startswith("norm.yaml:4:5: error: layernorm 'layernorm1'")
    assert "got [6, 6, 6] from 'conv1'" in message and "use layernorm2d" in message


@pytest.mark.parametrize("layer,expected", [
    ("groupnorm: 4", "norm.yaml:3:16: error: groupnorm 'groupnorm1': channels 6 are not divisible by groups=4"),
    ("hardtanh: {min_val: 1.0, max_val: 1.0}", "norm.yaml:3:39: error: hardtanh 'hardtanh1': min_val 1.0 must be below"),
    ("drop_path: 1.5", "norm.yaml:3:16: error: drop_path 'drop_path1': argument 'p' expected a number <= 1, got 1.5"),
    ("layernorm2d", "expects a 3-D input (C, H, W), got [6] from 'input'"),
])
def test_bad_arguments_are_located(layer, expected):
    shape = "[6]" if layer == "layernorm2d" else "[6, 4, 4]"
    with pytest.raises(SpecError) as error:
        load(f"input: {shape}\nlayers:\n  - {layer}\n")
    assert expected in str(error.value)


def test_parameters_follow_torch():
    graph = load(
        "input: [8, 4, 4]\nlayers:\n"
        "  - groupnorm: {groups: 2}\n  - instancenorm\n  - instancenorm: {affine: true, track_running_stats: true}\n"
        "  - layernorm2d\n  - scale: {init: 1e-6}\n  - scale: {bias: true, frozen: true}\n  - prelu\n"
        "  - prelu: {shared: true}\n  - flatten\n  - layernorm: {bias: false}\n  - layernorm: {affine: false}\n"
    )
    rows = {r.name: r for r in archcalc.analyze(graph).layers}
    figures = {name: (r.weights, r.biases, r.buffers) for name, r in rows.items() if name != "input"}
    assert figures == {
        "groupnorm1": (8, 8, 0), "instancenorm1": (0, 0, 0), "instancenorm2": (8, 8, 17),
        "layernorm2d1": (8, 8, 0), "scale1": (8, 0, 0), "scale2": (8, 8, 0), "prelu1": (8, 0, 0),
        "prelu2": (1, 0, 0), "flatten1": (0, 0, 0), "layernorm1": (128, 0, 0), "layernorm2": (0, 0, 0),
    }
    assert rows["scale2"].trainable is False and rows["scale1"].trainable is True


def test_statistics_over_positions_are_context_not_window():
    """A group norm's statistics read every position: its row says so (global context), and the
    receptive field of the convolution after it is 5x5, as without the norm."""
    graph = load("input: [4, 16, 16]\nlayers:\n  - conv: {out: 4, kernel: 3, padding: 1}\n  - groupnorm: 2\n"
                 "  - conv: {out: 4, kernel: 3, padding: 1}\n  - instancenorm: {track_running_stats: true}\n"
                 "  - layernorm2d\n")
    rows = {r.name: r for r in archcalc.analyze(graph).layers}
    assert rows["conv2"].receptive_field == [5, 5]
    assert [rows[n].global_context for n in ("conv1", "groupnorm1", "conv2")] == [False, True, True]
    # running statistics at inference: no context from the instance norm itself
    assert archcalc.analyze(load("input: [4, 8, 8]\nlayers:\n  - instancenorm: {track_running_stats: true}\n"
                                 "  - instancenorm\n")).layers[1].global_context is False
