"""archcalc import: a torch model becomes a spec that is held to the model."""

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from torch import nn  # noqa: E402

import archcalc  # noqa: E402
from archcalc.errors import SpecError  # noqa: E402
from archcalc.torch.build import build_module, export_torch_source  # noqa: E402
from archcalc.torch.importer import ImportFailure, trace  # noqa: E402
from archcalc.torch.roundtrip import round_trip  # noqa: E402
from archcalc.torch.spec_writer import flat_text  # noqa: E402

MODEL_FILE = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, classes)

    def forward(self, x):
        x = self.features(x)
        return self.fc(torch.flatten(self.pool(x), 1))
'''


class Odd(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.norm = nn.LayerNorm(8)
        self.blocks = nn.Sequential(nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 1, padding_mode="reflect"))

    def forward(self, x):
        return torch.sin(self.blocks(torch.sin(self.norm(self.conv(x)))))


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Gate()

    def forward(self, x):
        return self.inner(x)


class Gate(nn.Module):
    def forward(self, x):
        return x if x.sum() > 0 else -x


def test_resnet18_round_trip_equal_params_buffers_shape_macs_and_outputs():
    """torchvision's ResNet-18: 11,689,512 parameters; the spec's module loads its state_dict strictly."""
    result = round_trip(torchvision.models.resnet18(), (3, 64, 64), "resnet18")
    assert result.params == (11_689_512, 11_689_512)
    assert result.buffers[0] == result.buffers[1] == 9620  # 20 batch norms: 2C + 1 each
    assert result.output_shape == ((1000,), (1000,))
    assert result.macs[0] == result.macs[1]
    assert result.max_abs_difference < 1e-5


def test_node_names_are_the_modules_qualified_names():
    graph = archcalc.load_model(torchvision.models.resnet18(), (3, 32, 32))
    names = {n.name for n in graph.nodes}
    assert {"conv1", "layer1.0.conv1", "layer2.0.downsample.0", "layer2.0.downsample.1", "fc"} <= names
    assert {"layer1.0.relu", "layer1.0.relu_2", "layer1.0.add"} <= names  # the shared relu, twice
    module = build_module(graph, init=False)
    assert set(module.state_dict()) == set(torchvision.models.resnet18().state_dict())


def test_exported_source_loads_the_original_state_dict(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
    graph = archcalc.load_model(model, (3, 8, 8), name="seq")
    namespace = {}
    exec(compile(export_torch_source(graph), "seq.py", "exec"), namespace)
    exported = namespace["Seq"]().eval()
    exported.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(exported(x), model.eval()(x))


def test_the_flat_spec_reloads_as_a_file(tmp_path):
    model = torchvision.models.resnet18()
    text = flat_text(trace(model, (3, 32, 32), "resnet18"), "torchvision:resnet18")
    path = tmp_path / "r18.yaml"
    path.write_text(text)
    graph = archcalc.load(path)
    assert archcalc.analyze(graph).totals["params"] == 11_689_512
    assert "name: '0'" in text and "from: [bn2, downsample.1]" in text


def test_resnet50_reads_as_blocks_under_100_lines_and_keeps_the_state_dict(run, tmp_path):
    out, flat = tmp_path / "r50.yaml", tmp_path / "r50-flat.yaml"
    assert run("import", "torchvision:resnet50", "-o", str(out)).exit_code == 0
    assert run("import", "torchvision:resnet50", "--flat", "-o", str(flat)).exit_code == 0
    text = out.read_text()
    assert len(text.splitlines()) < 100 < 200 < len(flat.read_text().splitlines())
    assert "blocks:" in text and "from: [bn3, $block_in]" in text and "blocks:" not in flat.read_text()
    original = torchvision.models.resnet50()
    for path in (out, flat):
        graph = archcalc.load(path)
        assert archcalc.analyze(graph).totals["params"] == 25_557_032
        build_module(graph, init=False).load_state_dict(original.state_dict(), strict=True)


def test_block_in_names_the_block_input_in_from(spec_text):
    graph = spec_text(
        """
        input: [8, 8, 8]
        blocks:
          res:
            layers:
              - conv: {out: 8, kernel: 3, padding: 1, name: c}
              - add: {from: [c, $block_in], name: add}
        layers:
          - res: {name: a}
          - res: {name: b}
        """
    )
    inputs = {n.name: [i.name for i in n.inputs] for n in graph.nodes}
    assert inputs["a.add"] == ["a.c", "input"] and inputs["b.add"] == ["b.c", "a.add"]


def test_every_unsupported_operation_is_listed_with_its_count_and_paths():
    with pytest.raises(ImportFailure) as caught:
        trace(Odd(), (3, 8, 8), "odd")
    message = str(caught.value)
    assert "3 operation(s) have no archcalc layer kind" in message
    assert "function sin ×2 at (top level)" in message
    assert "torch.nn.modules.normalization.LayerNorm ×1 at norm" in message
    assert "torch.nn.modules.conv.Conv2d ×1 at blocks.1" in message  # padding_mode reflect
    assert "blocks.0" not in message  # after the first sin: not a second report


def test_untraceable_control_flow_names_the_module():
    with pytest.raises(ImportFailure) as caught:
        trace(Branchy(), (3, 4, 4), "branchy")
    assert "in module 'inner'" in str(caught.value)
    assert "--input" in caught.value.hint


def test_api_analyses_a_module_with_an_input_shape():
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    analysis = archcalc.analyze(model, input_shape=(3, 32, 32))
    assert analysis.totals["params"] == 3 * 16 * 9 + 2 * 16 + 16 * 10 + 10
    assert analysis.totals["macs"] == 32 * 32 * 16 * 27 + 160


def test_cli_import_writes_a_spec_and_refuses_to_overwrite(run, tmp_path):
    source = tmp_path / "model.py"
    source.write_text(MODEL_FILE)
    out = tmp_path / "net.yaml"
    result = run("import", f"{source}:Net", "--arg", "classes=7", "--input", "3x16x16", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert archcalc.analyze(out).totals["params"] == 3 * 8 * 9 + 8 + 2 * 8 + 8 * 7 + 7  # 303
    again = run("import", f"{source}:Net", "-o", str(out))
    assert again.exit_code != 0 and "--force" in again.output
    summary = run("summary", f"{source}:Net", "--input", "3x16x16")
    assert summary.exit_code == 0 and "global_avgpool" in summary.output and "330 (330)" in summary.output


def test_cli_import_of_an_unknown_torchvision_model_is_a_clear_error(run):
    result = run("import", "torchvision:resnet17")
    assert result.exit_code != 0 and "torchvision has no model builder 'resnet17'" in result.output


def test_a_node_may_be_named_by_a_number(spec_text):
    graph = spec_text(
        """
        input: [3, 8, 8]
        layers:
          - name: features
            layers:
              - conv: {out: 4, kernel: 1, name: "0"}
              - relu: {name: "1"}
        """
    )
    assert [n.name for n in graph.nodes] == ["input", "features.0", "features.1"]
    with pytest.raises(SpecError, match="must not start with a digit unless it is all digits"):
        spec_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 1, name: 0a}\n")
