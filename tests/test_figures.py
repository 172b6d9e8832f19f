"""The exact figures of the lecture material and DESIGN.md's table."""

import pytest

import archcalc

# CS231n's VGG16 table: (row label, output shape (C, H, W), values, weights).
VGG16_ROWS = [
    ("block1.conv1", [64, 224, 224], 3_211_264, 1_728),
    ("block1.conv2", [64, 224, 224], 3_211_264, 36_864),
    ("block1.maxpool1", [64, 112, 112], 802_816, 0),
    ("block2.conv1", [128, 112, 112], 1_605_632, 73_728),
    ("block2.conv2", [128, 112, 112], 1_605_632, 147_456),
    ("block2.maxpool1", [128, 56, 56], 401_408, 0),
    ("block3.conv1", [256, 56, 56], 802_816, 294_912),
    ("block3.conv2", [256, 56, 56], 802_816, 589_824),
    ("block3.conv3", [256, 56, 56], 802_816, 589_824),
    ("block3.maxpool1", [256, 28, 28], 200_704, 0),
    ("block4.conv1", [512, 28, 28], 401_408, 1_179_648),
    ("block4.conv2", [512, 28, 28], 401_408, 2_359_296),
    ("block4.conv3", [512, 28, 28], 401_408, 2_359_296),
    ("block4.maxpool1", [512, 14, 14], 100_352, 0),
    ("block5.conv1", [512, 14, 14], 100_352, 2_359_296),
    ("block5.conv2", [512, 14, 14], 100_352, 2_359_296),
    ("block5.conv3", [512, 14, 14], 100_352, 2_359_296),
    ("block5.maxpool1", [512, 7, 7], 25_088, 0),
    ("fc6", [4096], 4_096, 102_760_448),
    ("fc7", [4096], 4_096, 16_777_216),
    ("fc8", [1000], 1_000, 4_096_000),
]


@pytest.fixture(scope="module")
def vgg16():
    return archcalc.analyze("vgg16")


@pytest.mark.parametrize("name, shape, values, weights", VGG16_ROWS)
def test_vgg16_slide_rows(vgg16, name, shape, values, weights):
    row = vgg16.layer(name)
    assert row.output_shape == shape
    assert row.activations == values
    assert row.weights == weights


def test_vgg16_totals(vgg16):
    t = vgg16.totals
    assert t["weights"] == 138_344_128
    assert t["biases"] == 13_416
    assert t["params"] == 138_357_544
    assert t["macs"] == 15_470_264_320
    assert t["flops"] == 2 * 15_470_264_320
    assert t["activations"] == 15_237_608
    assert t["activation_bytes"] == 15_237_608 * 4
    assert round(t["activation_bytes"] / 2**20, 1) == 58.1


def test_vgg16_slide_total_is_a_slip(vgg16):
    # The slide says "24M x 4 bytes ~= 96MB"; its own rows sum to 15.2M values.
    assert round(vgg16.totals["activations"] / 1e6, 1) == 15.2


def test_vgg16_receptive_fields(vgg16):
    assert vgg16.layer("block5.conv3").receptive_field == [196, 196]
    assert vgg16.layer("block5.maxpool1").receptive_field == [212, 212]
    assert vgg16.totals["receptive_field"] == [212, 212]


def test_vgg16_batch_and_dtype_scale_memory_not_params():
    a = archcalc.analyze("vgg16", batch=8, dtype="float16")
    assert a.totals["activations"] == 8 * 15_237_608
    assert a.totals["activation_bytes"] == 8 * 15_237_608 * 2
    assert a.totals["params"] == 138_357_544
    assert a.totals["param_bytes"] == 138_357_544 * 2
    assert a.totals["macs"] == 8 * 15_470_264_320


def test_alexnet_original():
    a = archcalc.analyze("alexnet")
    assert a.totals["params"] == 60_965_224
    assert a.totals["macs"] == 724_406_816
    conv1 = a.layer("conv1")
    assert conv1.output_shape == [96, 55, 55]
    assert conv1.weights == 34_848
    assert conv1.params == 34_944
    pool1 = a.layer("pool1")
    assert pool1.output_shape == [96, 27, 27]
    assert pool1.params == 0


def test_naive_inception():
    a = archcalc.analyze("naive-inception")
    assert a.totals["macs"] == 854_196_224
    assert list(a.graph.outputs[0].shape) == [672, 28, 28]


def test_bottleneck_inception_terms():
    a = archcalc.analyze("bottleneck")
    assert a.totals["macs"] == 271_351_808
    terms = [r.macs for r in a.layers if r.kind == "conv"]
    assert sorted(terms) == sorted([12_845_056, 12_845_056, 25_690_112, 86_704_128, 120_422_400, 12_845_056])
    assert [round(m / 1e6, 1) for m in terms] == [25.7, 12.8, 86.7, 12.8, 120.4, 12.8]
    assert list(a.graph.outputs[0].shape) == [480, 28, 28]
    # The slide's "358M ops" counts the 3x3 term twice.
    assert round((a.totals["macs"] + 86_704_128) / 1e6) == 358


def test_one_by_one_bottleneck_example(spec_text):
    direct = spec_text("""
        input: [192, 28, 28]
        layers:
          - conv: {out: 32, kernel: 5, padding: same}
    """)
    reduced = spec_text("""
        input: [192, 28, 28]
        layers:
          - conv: {out: 16, kernel: 1}
          - conv: {out: 32, kernel: 5, padding: same}
    """)
    assert archcalc.analyze(direct).totals["macs"] == 120_422_400
    assert archcalc.analyze(reduced).totals["macs"] == 12_443_648


@pytest.mark.parametrize("c_in, c_out, size", [(32, 64, 56), (64, 128, 28), (512, 512, 14)])
def test_depthwise_separable_cost_ratio(spec_text, c_in, c_out, size):
    normal = spec_text(f"""
        input: [{c_in}, {size}, {size}]
        layers: [conv: {{out: {c_out}, kernel: 3, padding: 1, bias: false}}]
    """)
    separable = spec_text(f"""
        input: [{c_in}, {size}, {size}]
        layers:
          - dwconv: {{kernel: 3, padding: 1, bias: false}}
          - conv: {{out: {c_out}, kernel: 1, bias: false}}
    """)
    ratio = archcalc.analyze(separable).totals["macs"] / archcalc.analyze(normal).totals["macs"]
    assert ratio == pytest.approx(1 / c_out + 1 / 9, rel=1e-12)


def test_three_stacked_3x3_see_7x7_with_fewer_weights(spec_text):
    c = 64
    stacked = archcalc.analyze(spec_text(f"""
        input: [{c}, 32, 32]
        layers:
          - repeat: 3
            layers: [conv: {{out: {c}, kernel: 3, padding: 1, bias: false}}]
    """))
    single = archcalc.analyze(spec_text(f"""
        input: [{c}, 32, 32]
        layers: [conv: {{out: {c}, kernel: 7, padding: 3, bias: false}}]
    """))
    assert stacked.totals["receptive_field"] == [7, 7]
    assert single.totals["receptive_field"] == [7, 7]
    assert stacked.totals["weights"] == 27 * c * c
    assert single.totals["weights"] == 49 * c * c


def test_resnet18_receptive_field_is_longest_path():
    a = archcalc.analyze("resnet18")
    last_conv = [r for r in a.layers if r.kind == "conv"][-1]
    assert last_conv.name == "layer4.1.conv2"
    assert last_conv.receptive_field == [435, 435]
    assert a.totals["params"] == 11_689_512
    assert round(a.totals["macs"] / 1e9, 2) == 1.81


def test_analytic_path_does_not_import_torch():
    import subprocess
    import sys

    code = "import archcalc, sys; archcalc.analyze('vgg16'); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
