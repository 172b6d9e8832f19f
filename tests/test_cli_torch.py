"""`archcalc profile` and `archcalc export` through the CLI (CPU; CUDA cases skip without a GPU)."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from archcalc.cli import cli

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("spec", ["vgg16", "resnet50", "mobilenet-v2", "googlenet"])
def test_profile_agrees_with_the_analysis(spec):
    result = invoke("profile", spec, "--input", "3x64x64", "--batch", "1,2", "--warmup", "1", "--repeat", "3",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["schema"] == "archcalc.profile/1"
    assert data["params"]["matches"] and data["params"]["module"] == data["params"]["analytic"]
    flops = data["flops"]
    assert flops["matches"] and flops["mismatches"] == []
    assert flops["fvcore_conv_linear"] == flops["analytic_conv_linear_macs"] > 0
    assert [b["batch"] for b in data["batches"]] == [1, 2]
    for entry in data["batches"]:
        lat = entry["latency"]
        assert 0 < lat["p10_s"] <= lat["median_s"] <= lat["p90_s"]
        assert lat["images_per_s"] > 0 and lat["macs_per_s"] > 0
        assert entry["memory"]["peak_bytes"] > 0
    assert data["device"]["type"] == "cpu" and data["torch_version"] == torch.__version__


def test_profile_table():
    result = invoke("profile", "resnet18", "--input", "3x64x64", "--warmup", "0", "--repeat", "2")
    assert result.exit_code == 0
    out = result.output
    assert "module = analysis exactly: 11,689,512 params, 9,620 buffers" in out
    assert "all 21 conv/linear nodes agree with fvcore exactly" in out
    assert "only conv/linear are compared like with like" in out
    assert "aten::max_pool2d" in out
    assert "Median" in out and "ms" in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without a GPU")
def test_cuda_without_a_gpu_is_a_usage_error():
    result = CliRunner().invoke(cli, ["profile", "resnet18", "--device", "cuda"])
    assert result.exit_code == 2
    assert "CUDA is not available" in result.output


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_profile_on_cuda_half_precision():
    result = invoke("profile", "resnet50", "--device", "cuda", "--batch", "1,32", "--dtype", "float16",
                    "--format", "json")
    data = json.loads(result.output)
    assert data["device"]["type"] == "cuda"
    assert data["params"]["matches"] and data["flops"]["matches"]
    for entry in data["batches"]:
        lat = entry["latency"]
        assert 0 < lat["p10_s"] <= lat["median_s"] <= lat["p90_s"]
        assert entry["memory"]["peak_bytes"] > 0


def test_missing_torch_names_the_extra():
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['fvcore'] = None\n"
        "from archcalc.cli import cli\n"
        "cli(['profile', 'resnet18'])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert "pip install 'archcalc[torch]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_writes_runnable_source(tmp_path):
    import archcalc

    target = tmp_path / "net.py"
    assert invoke("export", "resnet18", "--format", "torch", "-o", str(target)).exit_code == 0
    namespace: dict = {}
    exec(compile(target.read_text(), str(target), "exec"), namespace)
    module = namespace["Resnet18"]().eval()
    assert sum(p.numel() for p in module.parameters()) == archcalc.analyze("resnet18").totals["params"]
    with torch.inference_mode():
        assert tuple(module(torch.zeros(1, *namespace["INPUT_SHAPE"])).shape) == (1, 1000)
    assert CliRunner().invoke(cli, ["export", "resnet18", "-o", str(target)]).exit_code == 2, "no clobbering"
