"""conv_transpose, upsample, pixel_shuffle and pixel_unshuffle beyond their examples: torch's size
rules over a grid of cases, their errors, the names that lead to them, and fractional receptive
fields in the reports."""

import json
from fractions import Fraction

import pytest

import archcalc
from archcalc.errors import SpecError


def _one(layer: str, input_shape="[4, 6, 5]"):
    return archcalc.load_text(f"input: {input_shape}\nlayers:\n  - {layer}\n", "kind.yaml")


def _message(layer: str, input_shape="[4, 6, 5]") -> str:
    with pytest.raises(SpecError) as err:
        _one(layer, input_shape)
    return str(err.value)


@pytest.mark.parametrize("kind", ["conv_transpose", "deconv", "convtranspose2d", "conv_transpose2d", "upconv"])
def test_transposed_convolution_names(kind):
    assert _one(f"{kind}: {{out: 2, kernel: 2, stride: 2}}").nodes[-1].kind == "conv_transpose"


@pytest.mark.parametrize("kind", ["upsample", "interpolate", "resize"])
def test_upsampling_names(kind):
    assert list(_one(f"{kind}: 2").outputs[0].shape) == [4, 12, 10]


def test_near_names_point_at_the_new_kinds_not_at_subsample_or_conv():
    assert "did you mean 'upsample'?" in _message("upsampling: 2")
    assert "did you mean 'deconv'?" in _message("deconvolution: {out: 2, kernel: 2}")
    assert "subsample" not in _message("upsampling: 2")


def test_errors_name_the_argument():
    assert "give either `scale` or `size`" in _message("upsample: {scale: 2, size: 8}")
    assert "give either `scale` or `size`" in _message("upsample: {mode: bilinear}")
    assert "bilinear and bicubic only" in _message("upsample: {scale: 2, align_corners: true}")
    assert "output_padding 2 must be smaller" in _message("conv_transpose: {out: 2, kernel: 3, stride: 2, output_padding: 2}")
    assert "not divisible by groups=3" in _message("conv_transpose: {out: 3, kernel: 3, groups: 3}")
    assert "output height would be" in _message("conv_transpose: {out: 2, kernel: 1, padding: 3}")
    assert "not divisible by factor² = 4" in _message("pixel_shuffle: 2", "[6, 2, 2]")
    assert "not divisible by factor 2" in _message("pixel_unshuffle: 2", "[1, 5, 4]")


torch = pytest.importorskip("torch")
F = torch.nn.functional


@pytest.mark.parametrize("stride,padding,output_padding,dilation", [
    (1, 0, 0, 1), (2, 1, 1, 1), (3, 2, 2, 1), (2, 0, 1, 2), (3, 1, 0, 2),
])
@pytest.mark.parametrize("size", [1, 4, 7])
def test_transposed_output_size_is_torchs(size, stride, padding, output_padding, dilation):
    layer = (f"conv_transpose: {{out: 2, kernel: 3, stride: {stride}, padding: {padding}, "
             f"output_padding: {output_padding}, dilation: {dilation}}}")
    out = F.conv_transpose2d(torch.zeros(1, 4, size, size), torch.zeros(4, 2, 3, 3), None, stride, padding,
                             output_padding, 1, dilation)
    assert tuple(_one(layer, f"[4, {size}, {size}]").outputs[0].shape) == tuple(out.shape[1:])


@pytest.mark.parametrize("scale", [0.5, 1.5, 2, 2.7, 3])
@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_upsample_output_size_is_torchs(scale, mode):
    out = F.interpolate(torch.zeros(1, 4, 7, 5), scale_factor=scale, mode=mode)
    assert tuple(_one(f"upsample: {{scale: {scale}, mode: {mode}}}", "[4, 7, 5]").outputs[0].shape) == tuple(out.shape[1:])


def test_fractional_receptive_fields_are_exact_in_the_table_and_strings_in_json():
    graph = archcalc.load("dcgan-generator")
    analysis = archcalc.analyze(graph)
    last = analysis.layer("conv_transpose1")
    # 4 after the 4x4 layer, then + 3 * jump (1/2, 1/4, 1/8, 1/16) at each stride-2 layer.
    assert last.receptive_field == [Fraction(109, 16)] * 2 and last.jump == [Fraction(1, 16)] * 2
    data = json.loads(json.dumps(analysis.to_dict()))
    row = next(r for r in data["layers"] if r["name"] == "conv_transpose1")
    assert row["receptive_field"] == ["109/16", "109/16"] and row["jump"] == ["1/16", "1/16"]
    assert data["totals"]["receptive_field"] == ["109/16", "109/16"]
    assert data["layers"][1]["receptive_field"] == [4, 4]

