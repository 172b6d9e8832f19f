"""Built-in specs with irregular topologies: Inception branches, auxiliary heads, dense
connectivity, fractal joins and NASNet's two-input cells; and the `pad` / `crop` kinds."""

import pytest

import archcalc
from archcalc.errors import SpecError


@pytest.fixture(scope="module")
def googlenet():
    return archcalc.analyze("googlenet")


@pytest.fixture(scope="module")
def inception_v3():
    return archcalc.analyze("inception-v3")


@pytest.fixture(scope="module")
def densenet():
    return archcalc.analyze("densenet121")


@pytest.fixture(scope="module")
def fractalnet():
    return archcalc.analyze("fractalnet")


@pytest.fixture(scope="module")
def nasnet():
    return archcalc.analyze("nasnet-a-mobile")


def rows_under(analysis, prefix):
    return [r for r in analysis.layers if r.name.startswith(prefix + ".")]


# --- GoogLeNet: auxiliary classifiers are training-only ---------------------------------


def test_googlenet_outputs_main_first(googlenet):
    outs = [n.name for n in googlenet.graph.outputs]
    assert outs == ["fc", "aux1.fc2", "aux2.fc2"]
    assert all(list(n.shape) == [1000] for n in googlenet.graph.outputs)


def test_googlenet_aux_heads_are_training_only(googlenet):
    aux = rows_under(googlenet, "aux1") + rows_under(googlenet, "aux2")
    assert aux and all(r.training_only for r in aux)
    assert not any(r.training_only for r in googlenet.layers if not r.name.startswith("aux"))
    # Their parameters are reported apart, not in the totals.
    assert googlenet.totals["training_only_params"] == sum(r.params for r in aux)
    assert googlenet.totals["params"] == sum(r.params for r in googlenet.layers if not r.training_only)
    # torchvision: 6,624,904 without the heads, 13,004,888 with them.
    assert googlenet.totals["params"] + googlenet.totals["training_only_params"] == 13_004_888


def test_googlenet_aux_head_shapes(googlenet):
    # InceptionAux: adaptive pool to 4x4 on 512 (4a) and 528 (4d) channels, 1x1 conv to 128, fc 2048 -> 1024.
    assert googlenet.layer("aux1.adaptive_avgpool1").output_shape == [512, 4, 4]
    assert googlenet.layer("aux2.adaptive_avgpool1").output_shape == [528, 4, 4]
    assert googlenet.layer("aux1.flatten1").output_shape == [2048]
    assert googlenet.layer("aux1.fc1").params == 2048 * 1024 + 1024
    assert googlenet.layer("aux1.adaptive_avgpool1").inputs == ["inception4a.concat1"]
    assert googlenet.layer("aux2.adaptive_avgpool1").inputs == ["inception4d.concat1"]


def test_googlenet_branch3_is_torchvision_3x3(googlenet):
    # torchvision's branch3 uses a 3x3 conv where the paper has 5x5.
    conv = googlenet.layer("inception3a.branch3.basic2.conv")
    assert conv.weights == 32 * 16 * 3 * 3
    assert conv.output_shape == [32, 28, 28]


@pytest.mark.parametrize(
    "module, channels, size",
    [("3a", 256, 28), ("3b", 480, 28), ("4a", 512, 14), ("4b", 512, 14), ("4c", 512, 14),
     ("4d", 528, 14), ("4e", 832, 14), ("5a", 832, 7), ("5b", 1024, 7)],
)
def test_googlenet_inception_outputs(googlenet, module, channels, size):
    # Szegedy et al. 2015, Table 1.
    assert googlenet.layer(f"inception{module}.concat1").output_shape == [channels, size, size]


def test_googlenet_ceil_mode_pools(googlenet):
    assert googlenet.layer("maxpool1").output_shape == [64, 56, 56]  # 112 -> 56 with ceil mode
    assert googlenet.layer("maxpool4").output_shape == [832, 7, 7]


# --- Inception-v3 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module, shape",
    [("Mixed_5b", [256, 35, 35]), ("Mixed_5c", [288, 35, 35]), ("Mixed_5d", [288, 35, 35]),
     ("Mixed_6a", [768, 17, 17]), ("Mixed_6b", [768, 17, 17]), ("Mixed_6e", [768, 17, 17]),
     ("Mixed_7a", [1280, 8, 8]), ("Mixed_7b", [2048, 8, 8]), ("Mixed_7c", [2048, 8, 8])],
)
def test_inception_v3_module_outputs(inception_v3, module, shape):
    assert inception_v3.layer(f"{module}.concat1").output_shape == shape


def test_inception_v3_asymmetric_kernels(inception_v3):
    one_by_seven = inception_v3.layer("Mixed_6b.branch2.branch7x7_2.conv")
    assert one_by_seven.weights == 128 * 128 * 1 * 7
    assert one_by_seven.output_shape == [128, 17, 17]
    seven_by_one = inception_v3.layer("Mixed_6b.branch2.branch7x7_3.conv")
    assert seven_by_one.weights == 192 * 128 * 7 * 1
    # The expanded 8x8 modules concatenate a 1x3 and a 3x1 conv inside a branch.
    assert inception_v3.layer("Mixed_7b.branch2.concat1").output_shape == [768, 8, 8]


def test_inception_v3_aux_is_training_only(inception_v3):
    aux = rows_under(inception_v3, "AuxLogits")
    assert all(r.training_only for r in aux)
    assert inception_v3.totals["params"] + inception_v3.totals["training_only_params"] == 27_161_264
    assert inception_v3.layer("AuxLogits.conv1.conv").output_shape == [768, 1, 1]


def test_inception_v4_module_outputs():
    a = archcalc.analyze("inception-v4")
    for name, shape in [("mixed_3a", [160, 73, 73]), ("mixed_4a", [192, 71, 71]), ("mixed_5a", [384, 35, 35])]:
        assert a.layer(f"{name}.concat1").output_shape == shape
    for i in range(4):
        assert a.layer(f"inception_a.{i}.concat1").output_shape == [384, 35, 35]
    for i in range(7):
        assert a.layer(f"inception_b.{i}.concat1").output_shape == [1024, 17, 17]
    for i in range(3):
        assert a.layer(f"inception_c.{i}.concat1").output_shape == [1536, 8, 8]


# --- DenseNet-121 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "block, layers, channels_in, size",
    [(1, 6, 64, 56), (2, 12, 128, 28), (3, 24, 256, 14), (4, 16, 512, 7)],
)
def test_densenet_block_shapes(densenet, block, layers, channels_in, size):
    growth = 32
    out = densenet.layer(f"denseblock{block}.concat1")
    assert out.output_shape == [channels_in + layers * growth, size, size]
    # The last layer sees the block input and every earlier layer's output.
    last = densenet.layer(f"denseblock{block}.{layers - 1}.concat1")
    assert len(last.inputs) == layers
    assert last.output_shape == [channels_in + (layers - 1) * growth, size, size]
    # Each dense layer: bottleneck 1x1 to 4k = 128, then 3x3 to k = 32.
    assert densenet.layer(f"denseblock{block}.0.conv1").output_shape == [128, size, size]
    assert densenet.layer(f"denseblock{block}.0.conv2").output_shape == [growth, size, size]


def test_densenet_transitions_halve(densenet):
    assert densenet.layer("transition1.conv").output_shape == [128, 56, 56]
    assert densenet.layer("transition1.pool").output_shape == [128, 28, 28]
    assert densenet.layer("transition3.pool").output_shape == [512, 7, 7]


def test_densenet_growth_is_a_variable():
    a = archcalc.analyze("densenet121", overrides={"growth": 12})
    assert a.layer("denseblock1.concat1").output_shape == [64 + 6 * 12, 56, 56]


# --- FractalNet ---------------------------------------------------------------------------


def longest_conv_path(analysis):
    """Most convolutions on any input-to-output path."""
    depth = {}
    for row in analysis.layers:
        here = 1 if row.kind == "conv" else 0
        depth[row.name] = here + max((depth[i] for i in row.inputs), default=0)
    return depth[analysis.graph.outputs[0].name]


def test_fractalnet_depth_and_width(fractalnet):
    # B = 5 blocks of C = 3 columns: 2^C - 1 = 7 convs per block, deepest path B * 2^(C-1) = 20.
    for b in range(1, 6):
        assert sum(r.kind == "conv" for r in rows_under(fractalnet, f"block{b}")) == 7
    assert longest_conv_path(fractalnet) == 20


def test_fractalnet_joins_are_means(fractalnet):
    joins = [r for r in fractalnet.layers if r.kind == "mean"]
    # Per block: one 2-way join inside the first f_2 and the final 3-way join.
    assert sorted(len(r.inputs) for r in joins) == [2] * 5 + [3] * 5
    assert fractalnet.layer("block1.fractal.mean1").output_shape == [64, 32, 32]
    assert fractalnet.layer("block5.pool").output_shape == [512, 1, 1]


@pytest.mark.parametrize("columns, per_block, depth", [(1, 1, 5), (2, 3, 10), (4, 15, 40)])
def test_fractalnet_columns(columns, per_block, depth):
    a = archcalc.analyze("fractalnet", overrides={"columns": columns})
    assert sum(r.kind == "conv" for r in rows_under(a, "block1")) == per_block
    assert longest_conv_path(a) == depth
    if columns == 4:
        joins = sorted(len(r.inputs) for r in rows_under(a, "block1") if r.kind == "mean")
        assert joins == [2, 2, 3, 4]  # f_4 of Fig. 1: joins of 2, 3, 2 and 4 columns


# --- NASNet-A Mobile ----------------------------------------------------------------------

NASNET_CELLS = [
    ("stem_1", "stem_bn1", [44, 56, 56]),
    ("stem_2", "stem_bn1", [88, 28, 28]),
    ("cell_0", "stem_1.cell.out", [264, 28, 28]),
    ("cell_1", "stem_2.cell.out", [264, 28, 28]),
    ("cell_3", "cell_1.cell.out", [264, 28, 28]),
    ("reduce_4", "cell_2.cell.out", [352, 14, 14]),
    ("cell_5", "cell_3.cell.out", [528, 14, 14]),
    ("reduce_8", "cell_7.cell.out", [704, 7, 7]),
    ("cell_9", "cell_8.cell.out", [1056, 7, 7]),
    ("cell_12", "cell_10.cell.out", [1056, 7, 7]),
]


@pytest.mark.parametrize("cell, prev, shape", NASNET_CELLS)
def test_nasnet_cells(nasnet, cell, prev, shape):
    assert nasnet.layer(f"{cell}.cell.out").output_shape == shape
    # Every cell's second input is the output of the cell before the previous one.
    assert nasnet.layer(f"{cell}.prev").inputs == [prev]


def test_nasnet_factorized_reduction(nasnet):
    # After a reduction, p (111x111x32) is brought to ip's 56x56 by two stride-2 1x1 paths,
    # the second shifted by one pixel (pad bottom/right, crop top/left).
    p = "stem_2.cell.inputs.p"
    assert nasnet.layer(f"{p}.branch2.pad1").output_shape == [32, 112, 112]
    assert nasnet.layer(f"{p}.branch2.crop1").output_shape == [32, 111, 111]
    assert nasnet.layer(f"{p}.branch2.avgpool1").output_shape == [32, 56, 56]
    assert nasnet.layer(f"{p}.concat1").output_shape == [22, 56, 56]
    assert nasnet.layer(f"{p}.bn").output_shape == [22, 56, 56]
    # Otherwise a 1x1 projection when the channels differ.
    assert nasnet.layer("cell_1.cell.inputs.p.projection.conv").weights == 88 * 44


def test_nasnet_reduction_pools_pad_like_keras(nasnet):
    # correct_pad: an odd grid is padded on both sides, an even one only at the end.
    assert nasnet.layer("stem_1.cell.h3").output_shape == [11, 113, 113]
    assert nasnet.layer("stem_2.cell.h3").output_shape == [22, 57, 57]
    assert nasnet.layer("stem_2.cell.x2.branch1.maxpool1").output_shape == [22, 28, 28]


def test_nasnet_separable_conv(nasnet):
    # relu -> depthwise 5x5 -> pointwise 1x1 -> bn, twice; no biases.
    sep = "cell_0.cell.x1.branch1"
    assert nasnet.layer(f"{sep}.dw1").weights == 44 * 5 * 5
    assert nasnet.layer(f"{sep}.pw1").weights == 44 * 44
    assert nasnet.layer(f"{sep}.dw2").weights == 44 * 5 * 5
    assert nasnet.layer(f"{sep}.dw1").biases == 0


def test_nasnet_buffers_match_keras(nasnet):
    # Keras: 36,738 non-trainable (moving mean and variance); torch adds one counter per batchnorm.
    norms = sum(r.kind == "batchnorm" for r in nasnet.layers)
    assert nasnet.totals["buffers"] - norms == 36_738


# --- pad and crop -------------------------------------------------------------------------


def test_pad_and_crop_shapes(spec_text):
    graph = spec_text(
        """
        input: [8, 10, 12]
        layers:
          - pad: {top: 1, bottom: 2, left: 3, right: 4, name: p}
          - crop: {top: 2, bottom: 1, left: 4, right: 3, name: c}
        """
    )
    a = archcalc.analyze(graph)
    assert a.layer("p").output_shape == [8, 13, 19]
    assert a.layer("c").output_shape == [8, 10, 12]
    assert a.layer("p").params == a.layer("p").macs == a.layer("c").other_ops == 0


def test_crop_too_much_is_an_error(spec_text):
    with pytest.raises(SpecError, match="crop 'c'.*leaves nothing"):
        spec_text(
            """
            input: [8, 4, 4]
            layers:
              - crop: {top: 2, bottom: 2, name: c}
            """
        )


def test_pad_rejects_negative(spec_text):
    with pytest.raises(SpecError, match="top"):
        spec_text(
            """
            input: [8, 4, 4]
            layers:
              - pad: {top: -1}
            """
        )


# --- torch as the oracle ------------------------------------------------------------------


def run_torch(graph):
    """Run every node's own torch module in graph order; return per-node output shapes and params."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # hundreds of tiny convolutions: thread start-up would dominate
    values, shapes, params = {}, {}, 0
    aux = graph.training_only()
    try:
        with torch.no_grad():
            for node in graph.nodes:
                if node.op.kind == "input":
                    values[node.name] = torch.randn(1, *node.shape)
                else:
                    module = node.op.torch_module(node).eval()
                    if node.index not in aux:
                        params += sum(p.numel() for p in module.parameters())
                    values[node.name] = module(*[values[i.name] for i in node.inputs])
                shapes[node.name] = list(values[node.name].shape[1:])
    finally:
        torch.set_num_threads(threads)
    return shapes, params


def test_pad_crop_torch_modules_shift(spec_text):
    torch = pytest.importorskip("torch")
    graph = spec_text(
        """
        input: [1, 3, 3]
        layers:
          - pad: {bottom: 1, right: 1}
          - crop: {top: 1, left: 1}
        """
    )
    x = torch.arange(9.0).reshape(1, 1, 3, 3)
    pad, crop = graph.nodes[1], graph.nodes[2]
    y = crop.op.torch_module(crop)(pad.op.torch_module(pad)(x))
    # Keras' factorized-reduction shift: drop the first row and column, zero-fill the last.
    assert y[0, 0].tolist() == [[4.0, 5.0, 0.0], [7.0, 8.0, 0.0], [0.0, 0.0, 0.0]]


@pytest.mark.parametrize("name", ["nasnet-a-mobile", "googlenet", "inception-v3", "inception-v4", "densenet121", "fractalnet"])
def test_torch_modules_agree(name):
    graph = archcalc.load(name)
    analysis = archcalc.analyze(graph)
    shapes, params = run_torch(graph)
    for row in analysis.layers:
        assert shapes[row.name] == row.output_shape, row.name
    assert params == analysis.totals["params"]
