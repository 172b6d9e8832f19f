"""Every built-in spec that follows a torchvision model, against that model, automatically.

A spec follows torchvision when its `source:` (or its `reference:`'s `source`) says
`torchvision <function_name>` (docs/spec-format.md, "Top level"). The model is built with
`weights=None` on the meta device — nothing is downloaded, nothing is computed — and compared on
parameters, buffers, the main output's shape and the multiply-accumulates of its convolutions and
fully connected layers (FlopCounterMode, which counts matrix products only, halved).
"""

from __future__ import annotations

import re

import pytest
import yaml

import archcalc
from archcalc.library import builtin_paths

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision", reason="torchvision comes with the [test] extra")

from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

# The operators FlopCounterMode counts in these networks: convolutions and fully connected layers,
# and attention's batched matrix products (ViT: on the meta device torchvision's attention takes the
# math path, whose products are counted, as archcalc counts them).
CONV_AND_LINEAR = {"aten.convolution", "aten.addmm", "aten.mm", "aten.bmm"}
BUILDER = re.compile(r"\btorchvision\s+([a-z][a-z0-9_]*)\b")

# Where a spec deliberately differs from torchvision's defaults, the builder's arguments that make
# the two the same network; each such spec says so in its `source:`. GoogLeNet's and Inception-v3's
# auxiliary classifiers are training-only outputs of the specs, reported as training_only_params
# (compared with torchvision's heads below), not part of the inference network; init_weights=False
# only skips an initialisation that is meaningless on the meta device (and its FutureWarning).
DEVIATIONS = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False},
}
# torchvision's segmentation models: the auxiliary FCN head is a training loss, and the backbone is
# built without its own pretrained weights.
SEGMENTATION = {"aux_loss": False, "weights_backbone": None}


def cited_texts(path) -> list[str]:
    """The spec's top-level `source:` and its reference's `source`: where a spec names what it follows."""
    spec = yaml.safe_load(path.read_text())
    reference = spec.get("reference") or {}
    return [str(spec.get("source", "")), str(reference.get("source", ""))]


def builders_named(texts: list[str]) -> list[str]:
    """The torchvision function names in `torchvision <function_name>` phrases, in order, once each."""
    names = [match for text in texts for match in BUILDER.findall(text)]
    return list(dict.fromkeys(names))


CITED = {name: cited_texts(path) for name, path in sorted(builtin_paths().items())}
CITING = {name: builders_named(texts) for name, texts in CITED.items() if "torchvision" in " ".join(texts).lower()}
PAIRS = [(spec, builder) for spec, builders in CITING.items() for builder in builders]


def test_the_convention_is_parsed():
    assert builders_named(["He et al., CVPR 2016, Table 1; torchvision resnet50"]) == ["resnet50"]
    assert builders_named(["torchvision vgg16_bn (VGG16_BN_Weights); Simonyan & Zisserman"]) == ["vgg16_bn"]
    assert builders_named(["torchvision's port", "torchvision VGG16_Weights.IMAGENET1K_V1 weights"]) == []
    assert builders_named(["torchvision fcn_resnet50.", "see torchvision fcn_resnet50"]) == ["fcn_resnet50"]


def test_the_torchvision_followers_are_found():
    found = dict(PAIRS)
    assert {
        "alexnet-torchvision": "alexnet", "densenet121": "densenet121", "googlenet": "googlenet",
        "inception-v3": "inception_v3", "mobilenet-v2": "mobilenet_v2", "resnet18": "resnet18",
        "resnet50": "resnet50", "resnet152": "resnet152", "resnext50-32x4d": "resnext50_32x4d",
        "squeezenet1-0": "squeezenet1_0", "vgg16": "vgg16", "vgg16-bn": "vgg16_bn",
        "wide-resnet50-2": "wide_resnet50_2", "efficientnet-b0": "efficientnet_b0",
        "mobilenet-v3-large": "mobilenet_v3_large",
    }.items() <= found.items()
    assert len(found) >= 20


@pytest.mark.parametrize("spec", sorted(CITING))
def test_a_spec_citing_torchvision_names_a_model_builder(spec):
    builders = CITING[spec]
    assert builders, f"{spec} cites torchvision but names no model as `torchvision <function_name>`"
    unknown = [b for b in builders if b not in torchvision.models.list_models()]
    assert not unknown, f"{spec}: torchvision.models has no builder {unknown}"


def torchvision_model(builder: str, **overrides):
    """torchvision's model without weights, on the meta device, in eval mode."""
    kwargs = {"weights": None, **DEVIATIONS.get(builder, {}), **overrides}
    if builder in torchvision.models.list_models(module=torchvision.models.segmentation):
        kwargs.update(SEGMENTATION)
    with torch.device("meta"):
        return torchvision.models.get_model_builder(builder)(**kwargs).eval()


def counts(model) -> tuple[int, int]:
    return sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers())


def main_output(result):
    """The main output of a classification model (a tensor) or a segmentation model (`out`)."""
    return result["out"] if isinstance(result, dict) else result


@pytest.mark.parametrize(("spec", "builder"), PAIRS, ids=[f"{s}-{b}" for s, b in PAIRS])
def test_spec_equals_its_torchvision_model(spec, builder):
    analysis = archcalc.analyze(spec)
    model = torchvision_model(builder)
    with FlopCounterMode(display=False) as flops:
        out = main_output(model(torch.empty(1, *analysis.graph.input.shape, device="meta")))
    assert counts(model) == (analysis.totals["params"], analysis.totals["buffers"])
    assert tuple(out.shape[1:]) == tuple(analysis.graph.outputs[0].shape)
    assert {str(op) for op in flops.get_flop_counts()["Global"]} <= CONV_AND_LINEAR
    assert flops.get_total_flops() == 2 * analysis.totals["macs"]


@pytest.mark.parametrize("builder", sorted(DEVIATIONS))
def test_the_heads_a_spec_leaves_out_are_its_training_only_params(builder):
    specs = [spec for spec, b in PAIRS if b == builder]
    assert specs, f"no built-in spec follows torchvision {builder}"
    with_heads, _ = counts(torchvision_model(builder, aux_logits=True))
    without, _ = counts(torchvision_model(builder))
    for spec in specs:
        assert archcalc.analyze(spec).totals["training_only_params"] == with_heads - without > 0
