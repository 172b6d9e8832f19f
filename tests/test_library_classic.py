"""Published facts about the classic built-in specs that `expect:` entries cannot state.

Each test takes its figure from the source named beside it; the specs themselves carry
their totals in `expect:` (checked by test_builtin_specs.py).
"""

from fractions import Fraction

import pytest

import archcalc

WEIGHTED = {"conv", "dwconv", "linear"}


def weight_layers(analysis):
    """Layers with weights, as papers count depth (BatchNorm and the RBF output excluded)."""
    return [r for r in analysis.layers if r.kind in WEIGHTED]


# --- The MobileNet argument: depthwise separable vs standard convolution ---------------


@pytest.mark.parametrize(
    "input_shape, c_out",
    [
        (None, 5),  # deeplearning.ai: 6x6x3, 5 filters: 672 / 2160
        ((32, 112, 112), 64),  # MobileNet Table 1: conv dw 3x3x32 + conv 1x1x32x64 at 112x112
        ((512, 14, 14), 512),  # MobileNet Table 1: the 5x repeated 512-channel layer
        ((16, 9, 7), 3),  # any size: the ratio does not depend on input size or width
    ],
)
def test_separable_to_standard_mac_ratio(input_shape, c_out):
    """Howard et al. eq. (6), Ng's lecture: cost ratio = 1/C_out + 1/f^2 with f = 3."""
    over = {"out_channels": c_out}
    standard = archcalc.analyze("standard-conv", overrides=over, input_shape=input_shape)
    separable = archcalc.analyze("separable-conv", overrides=over, input_shape=input_shape)
    assert standard.layers[-1].output_shape == separable.layers[-1].output_shape
    ratio = Fraction(separable.totals["macs"], standard.totals["macs"])
    assert ratio == Fraction(1, c_out) + Fraction(1, 9)


def test_lecture_example_is_about_a_third():
    """deeplearning.ai: 672 / 2160 = 0.31 ("about 10 times cheaper" only for wide layers)."""
    standard = archcalc.analyze("standard-conv").totals["macs"]
    separable = archcalc.analyze("separable-conv").totals["macs"]
    assert round(separable / standard, 2) == 0.31


def test_separable_is_8_to_9_times_cheaper_on_wide_layers():
    """Howard et al. Sec. 3.1: 3x3 depthwise separable convolutions use between 8 and 9 times
    less computation than standard convolutions (here the 14x14x512 -> 512 layer of Table 1)."""
    over = {"out_channels": 512}
    shape = (512, 14, 14)
    standard = archcalc.analyze("standard-conv", overrides=over, input_shape=shape).totals["macs"]
    separable = archcalc.analyze("separable-conv", overrides=over, input_shape=shape).totals["macs"]
    assert 8 < standard / separable < 9


# --- LeNet-5 (LeCun et al. 1998, Sec. II-B) ----------------------------------------------


@pytest.fixture(scope="module")
def lenet5():
    return archcalc.analyze("lenet5")


@pytest.mark.parametrize(
    "name, connections",
    [("C1", 122_304), ("C3", 151_600), ("C5", 48_120), ("F6", 10_164)],
)
def test_lenet5_connections(lenet5, name, connections):
    """The paper's "connections" are multiply-accumulates plus one bias add per output value."""
    row = lenet5.layer(name)
    outputs = 1
    for d in row.output_shape:
        outputs *= d
    assert row.macs + outputs == connections


def test_lenet5_c3_table_connects_60_input_maps(lenet5):
    """Table I: 6x3 + 6x4 + 3x4 + 1x6 = 60 input maps feed C3's 16 maps (25 weights each)."""
    assert lenet5.layer("C3").weights == 60 * 25


def test_lenet5_rbf_is_frozen(lenet5):
    """Sec. II-B: the output RBF parameter vectors were chosen by hand and kept fixed."""
    row = lenet5.layer("output")
    assert not row.trainable
    assert row.params == 84 * 10


# --- Depth as the papers count it ----------------------------------------------------------


@pytest.mark.parametrize(
    "name, depth",
    [("vgg11", 11), ("vgg11-lrn", 11), ("vgg13", 13), ("vgg16-c", 16), ("vgg16-bn", 16), ("vgg19", 19)],
)
def test_vgg_weight_layers(name, depth):
    """Simonyan & Zisserman Table 1: configurations A, A-LRN (11), B (13), C, D (16), E (19)."""
    assert len(weight_layers(archcalc.analyze(name))) == depth


def test_vgg16_c_differs_from_d_only_by_three_1x1_convolutions():
    """Table 1: C has conv1-256, conv1-512, conv1-512 where D has 3x3 convolutions."""
    c = {r.name: r for r in weight_layers(archcalc.analyze("vgg16-c"))}
    d = {r.name: r for r in weight_layers(archcalc.analyze("vgg16"))}
    assert c.keys() == d.keys()
    changed = sorted(n for n in c if c[n].weights != d[n].weights)
    assert changed == ["block3.conv3", "block4.conv3", "block5.conv3"]
    for n in changed:
        assert c[n].weights * 9 == d[n].weights


@pytest.mark.parametrize("name, n", [("resnet20", 3), ("resnet56", 9), ("resnet110", 18), ("resnet1202", 200)])
def test_cifar_resnet_depth_is_6n_plus_2(name, n):
    """He et al. Sec. 4.2: 6n + 2 stacked weighted layers; option A shortcuts add none."""
    analysis = archcalc.analyze(name)
    assert len(weight_layers(analysis)) == 6 * n + 2
    assert analysis.layer("layer3.0.add1").output_shape == [64, 8, 8]


def test_cifar_resnet_option_a_shortcut_has_no_parameters():
    """He et al. Sec. 4.2: option A (zero-padding identity) is parameter-free."""
    analysis = archcalc.analyze("resnet20")
    shortcut = [r for r in analysis.layers if ".shortcut" in r.name]
    assert shortcut and all(r.params == 0 and r.macs == 0 for r in shortcut)


def test_plain34_and_resnet34():
    """He et al. Fig. 3: 34 weighted layers each; the residual net adds three 1x1 projections
    (option B) and nothing else."""
    plain = archcalc.analyze("plain34")
    residual = archcalc.analyze("resnet34")
    assert len(weight_layers(plain)) == 34
    projections = [r for r in weight_layers(residual) if ".shortcut" in r.name]
    assert len(weight_layers(residual)) == 34 + len(projections) == 37
    shortcut_params = sum(r.params for r in residual.layers if ".shortcut" in r.name)
    assert residual.totals["params"] - plain.totals["params"] == shortcut_params


def test_mobilenet_v1_has_28_layers():
    """Howard et al. Sec. 3.2: counting depthwise and pointwise convolutions as separate
    layers, MobileNet has 28 layers."""
    assert len(weight_layers(archcalc.analyze("mobilenet-v1"))) == 28


# --- MobileNet v1 Table 2: where the computation and the parameters are ------------------


def test_mobilenet_v1_resource_shares():
    """Howard et al. Table 2 (weights only, as the paper counts them): 1x1 conv 94.86% of
    mult-adds and 74.59% of parameters, depthwise 3.06% / 1.06%, fully connected 0.18% / 24.33%.
    The table prints 1.19% for the first 3x3 convolution's mult-adds, but its four rows then
    sum to 99.29%; the figure that makes them sum to 100% is 1.91%."""
    layers = weight_layers(archcalc.analyze("mobilenet-v1"))
    macs = sum(r.macs for r in layers)
    weights = sum(r.weights for r in layers)

    def share(pick):
        rows = [r for r in layers if pick(r)]
        return (
            round(100 * sum(r.macs for r in rows) / macs, 2),
            round(100 * sum(r.weights for r in rows) / weights, 2),
        )

    assert share(lambda r: r.kind == "conv" and r.name != "conv1") == (94.86, 74.59)
    assert share(lambda r: r.kind == "dwconv") == (3.06, 1.06)
    assert share(lambda r: r.kind == "linear") == (0.18, 24.33)
    assert share(lambda r: r.name == "conv1") == (1.91, 0.02)


def test_mobilenet_v1_resolution_does_not_change_parameters():
    """Howard et al. Table 7: 4.2M parameters at every resolution."""
    counts = {archcalc.analyze("mobilenet-v1", overrides={"resolution": r}).totals["params"] for r in (224, 192, 160, 128)}
    assert len(counts) == 1


# --- ResNet variants ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["resnet50", "resnet101", "resnet152", "se-resnet50"])
def test_stride_position_changes_macs_not_parameters(name):
    """DESIGN.md / torchvision: ResNet v1.5 strides the 3x3 (more MACs), v1 the first 1x1."""
    v15 = archcalc.analyze(name).totals
    v1 = archcalc.analyze(name, overrides={"stride_on_1x1": True}).totals
    assert v15["params"] == v1["params"]
    assert v15["macs"] > v1["macs"]


def test_se_adds_about_2_5_million_parameters():
    """Hu et al. Sec. 4 (model complexity): SE-ResNet-50 needs ~2.5 million parameters more
    than ResNet-50's ~25 million, about a 10% increase."""
    extra = archcalc.analyze("se-resnet50").totals["params"] - archcalc.analyze("resnet50").totals["params"]
    assert round(extra / 1e6, 1) == 2.5
    assert round(extra / archcalc.analyze("resnet50").totals["params"], 1) == 0.1
