"""archcalc import over torchvision's families: each imports exactly, or stops with the listing."""

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import archcalc  # noqa: E402
from archcalc.torch.build import build_module  # noqa: E402
from archcalc.torch.importer import ImportFailure, trace  # noqa: E402
from archcalc.torch.roundtrip import round_trip  # noqa: E402
from archcalc.torch.sources import model_from_source  # noqa: E402
from archcalc.torch.spec_writer import readable_text  # noqa: E402

# One model per family, small inputs; the parameter counts are torchvision's published ones.
FAMILIES = [
    ("efficientnet_b0", (3, 64, 64), 5_288_548),  # SiLU, StochasticDepth, squeeze and excitation
    ("shufflenet_v2_x0_5", (3, 64, 64), 1_366_792),  # channel_shuffle, x.chunk(2, dim=1), x.mean([2, 3])
    ("mnasnet0_5", (3, 64, 64), 2_218_512),
    ("regnet_y_400mf", (3, 64, 64), 4_344_144),  # module names with a dash (block1-0)
    ("squeezenet1_1", (3, 64, 64), 1_235_496),
    ("densenet121", (3, 32, 32), 7_978_856),
    ("googlenet", (3, 64, 64), 6_624_904),  # plus its two auxiliary heads, training-only
    ("lraspp_mobilenet_v3_large", (3, 64, 64), 3_221_538),  # hardswish, F.interpolate, a dict output
]


@pytest.mark.parametrize(("name", "shape", "params"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_a_family_imports_exactly(name, shape, params):
    model, _ = model_from_source(f"torchvision:{name}")
    result = round_trip(model, shape, name)
    assert result.matches, result
    graph = archcalc.load_model(model, shape, name=name)
    assert archcalc.analyze(graph).totals["params"] == params


def test_googlenets_auxiliary_heads_are_training_only_outputs():
    graph = archcalc.load_model(model_from_source("torchvision:googlenet")[0], (3, 64, 64), name="googlenet")
    totals = archcalc.analyze(graph).totals
    assert (totals["params"], totals["training_only_params"]) == (6_624_904, 13_004_888 - 6_624_904)
    assert [o.name for o in graph.outputs] == ["fc", "aux2.fc2", "aux1.fc2"]


class Parts(nn.Module):
    """Calls mapped from their arguments: chunk and split into uneven parts, functional pools and
    interpolation, and a spatial mean."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 7, 3, padding=1)
        self.head = nn.Linear(7, 4)

    def forward(self, x):
        x = self.conv(x)
        a, b, c = x.chunk(3, dim=1)  # 3, 3 and 1 channels
        d, e = torch.split(x, [5, 2], dim=1)
        x = torch.cat([c, a, b], 1) + torch.cat([e, d], 1)
        x = F.interpolate(F.max_pool2d(x, 2), scale_factor=2, mode="nearest")
        x = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
        return self.head(x.mean([2, 3]))


def test_parts_of_a_chunk_and_functional_calls_import_exactly():
    imported = trace(Parts(), (3, 8, 8), "parts")
    slices = [(layer.args.get("start", 0), layer.args["end"]) for layer in imported.layers if layer.kind == "slice"]
    assert slices == [(0, 3), (3, 6), (6, 7), (0, 5), (5, 7)]
    kinds = [layer.kind for layer in imported.layers]
    assert {"maxpool", "upsample", "avgpool", "global_avgpool"} <= set(kinds)
    assert round_trip(Parts(), (3, 8, 8), "parts").matches


@pytest.mark.parametrize(("name", "listed"), [
    ("swin_t", ["ShiftedWindowAttention (holds its own relative_position_bias_table, relative_position_index) ×12",
                "function _patch_merging_pad ×3"]),
    ("vit_b_16", ["Encoder (holds its own pos_embedding) ×1 at encoder",
                  "a parameter or buffer read outside a module (get_attr) ×1 at class_token"]),
    ("convnext_tiny", ["CNBlock (holds its own layer_scale) ×18"]),
])
def test_a_model_archcalc_has_no_kinds_for_stops_with_the_listing(name, listed):
    with torch.device("meta"):
        model, _ = model_from_source(f"torchvision:{name}")
    with pytest.raises(ImportFailure) as caught:
        trace(model, (3, 224, 224), name)
    for text in listed:
        assert text in str(caught.value)


class Block(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)) + x)


def test_a_run_of_identical_blocks_is_written_as_a_repeat(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 8, 1), nn.Sequential(*(Block(8) for _ in range(4))), nn.Flatten(),
                          nn.Linear(8 * 6 * 6, 5))
    text = readable_text(trace(model, (3, 6, 6), "stack"), "the test's stack")
    assert "- repeat: 4" in text and "blocks:" in text
    path = tmp_path / "stack.yaml"
    path.write_text(text)
    graph = archcalc.load(path)
    assert archcalc.analyze(graph).totals["params"] == sum(p.numel() for p in model.parameters())
    built = build_module(graph, init=False)
    assert set(built.state_dict()) == set(model.state_dict())
    built.load_state_dict(model.state_dict(), strict=True)


def test_the_zoo_script_checks_each_model_in_its_own_process(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "import_zoo.py"
    table = tmp_path / "zoo.md"
    done = subprocess.run([sys.executable, str(script), "--only", "squeezenet1_1", "--input", "3x64x64",
                           "--table", str(table)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    text = table.read_text()
    assert "Checked 1: 1 import, 0 differs, 0 stops." in text
    assert "| squeezenet1_1 | classification | 3x64x64 | imports | params 1,235,496;" in text
