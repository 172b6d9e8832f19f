"""A model source (``torchvision:NAME``, ``path/file.py:NAME``) works wherever a SPEC does.

Each command imports the model in memory and reports what it reports for a spec file;
the figures are those of the model itself (330 parameters for the file's Net below,
ResNet-18's published 11,689,512 for torchvision's).
"""

import json

import pytest

pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

NET = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.relu(self.bn(self.conv(x)))), 1))
'''
NET_PARAMS = 3 * 8 * 9 + 8 + 2 * 8 + 8 * 10 + 10  # conv, batch norm, linear: 330


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.py"
    path.write_text(NET)
    return f"{path}:Net"


def test_compare_takes_a_model_file_beside_a_builtin(run, net):
    result = run("compare", net, "resnet18", "--format", "json")
    assert result.exit_code == 0, result.output
    first, second = json.loads(result.output)["specs"]
    assert first["totals"]["params"] == NET_PARAMS
    assert first["totals"]["macs"] == 224 * 224 * 8 * 27 + 80  # traced at the default 3x224x224
    assert second["totals"]["params"] == 11_689_512


def test_compare_builtin_resnet18_with_torchvision_resnet18_finds_them_equal(run):
    result = run("compare", "resnet18", "torchvision:resnet18", "--format", "json")
    assert result.exit_code == 0, result.output
    builtin, imported = json.loads(result.output)["specs"]
    assert imported["totals"]["params"] == 11_689_512
    for figure in ("params", "buffers", "macs", "activations", "peak_activation_bytes"):
        assert imported["totals"][figure] == builtin["totals"][figure], figure
    assert imported["output_shape"] == [1000]


def test_memory_takes_a_model_file(run, net):
    result = run("memory", net, "--batch", "4", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["params"]["total"] == NET_PARAMS and report["batch"] == 4


def test_profile_takes_a_model_file(run, net):
    result = run("profile", net, "--input", "3x16x16", "--min-time", "0.01", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["params"]["matches"]
    assert report["params"]["analytic"]["params"] == report["params"]["module"]["params"] == NET_PARAMS


@pytest.mark.parametrize("command, output", [
    (("diagram",), "net.svg"),
    (("export",), "net_module.py"),
    (("plot", "layers"), "net.png"),
])
def test_file_writing_commands_take_a_model_file(run, net, tmp_path, command, output):
    if command[0] == "plot":
        pytest.importorskip("matplotlib")
    target = tmp_path / output
    result = run(*command, net, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0


@pytest.mark.parametrize("command", [("roofline",), ("sweep", "--batch", "1,2")])
def test_table_commands_take_a_model_file(run, net, command):
    result = run(command[0], net, *command[1:], "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)


def test_a_model_file_that_does_not_exist_is_a_clear_error(run, tmp_path):
    result = run("summary", f"{tmp_path / 'missing.py'}:Net")
    assert result.exit_code != 0
    assert "missing.py" in result.output and "Traceback" not in result.output


def test_a_builder_whose_initialisation_reads_values_is_built_for_real(run):
    """torchvision's RegNet initialises its weights from values, which the meta device (used to skip
    initialisation) cannot give: the import builds it as written instead of failing."""
    result = run("summary", "torchvision:regnet_y_400mf", "--input", "3x64x64", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["params"] == 4_344_144  # torchvision's published count
