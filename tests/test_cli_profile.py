"""`archcalc profile` and `archcalc export` end to end through click (CPU; CUDA cases skip without a GPU).

Kept small: the built-in networks run at 3x64x64 with one or two timed runs, so
the whole file takes some seconds on two CPU cores.
"""

import copy
import functools
import json
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

import archcalc
from archcalc.cli import cli

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from archcalc.report.profile import renderable  # noqa: E402

FAST = ("--input", "3x64x64", "--warmup", "1", "--repeat", "2", "--min-time", "0", "--max-time", "0.3")

TINY = """\
name: tiny
title: Tiny test network
source: test
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - batchnorm
  - relu
  - maxpool: [2, 2]
  - global_avgpool
  - flatten
  - linear: 10
"""


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@functools.cache
def profile_json(spec: str, *extra: str) -> dict:
    result = invoke("profile", spec, *FAST, *extra, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def render(data: dict) -> str:
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=200, no_color=True)
    console.print(renderable(data))
    return console.file.getvalue()


def _check_latency(data, batches):
    assert [b["batch"] for b in data["batches"]] == batches
    for entry in data["batches"]:
        lat = entry["latency"]
        assert 0 < lat["p10_s"] <= lat["median_s"] <= lat["p90_s"]
        assert lat["images_per_s"] > 0 and lat["macs_per_s"] > 0
        assert entry["memory"]["peak_bytes"] > 0 and entry["memory"]["analytic_peak_activation_bytes"] > 0


@pytest.mark.parametrize("spec", ["vgg16", "resnet50", "mobilenet-v2", "googlenet"])
def test_profile_json_agrees_with_the_analysis(spec):
    data = profile_json(spec)
    assert data["schema"] == "archcalc.profile/2" and data["name"] == spec
    assert data["input_shape"] == [3, 64, 64]
    assert data["device"]["type"] == "cpu" and data["torch_version"] == torch.__version__ and data["threads"][0] >= 1

    totals = archcalc.analyze(spec, input_shape=(3, 64, 64)).totals
    params = data["params"]
    assert params["matches"] and params["module"] == params["analytic"]
    assert params["module"]["params"] == totals["params"] + totals["training_only_params"]
    assert params["training_only_params"] == totals["training_only_params"]

    flops = data["flops"]
    compared = [n for n in flops["nodes"] if n["compared"]]
    assert compared and len(compared) == flops["compared_nodes"]
    assert {n["kind"] for n in compared} <= {"conv", "dwconv", "linear"}
    assert [n["name"] for n in compared if n["fvcore"] != n["analytic_macs"]] == []
    assert flops["matches"] and flops["fvcore_conv_linear"] == flops["analytic_conv_linear_macs"] > 0
    _check_latency(data, [1])
    assert data["batches"][0]["latency"]["macs"] == totals["macs"]


def test_profile_table(tiny):
    result = invoke("profile", "mobilenet-v2", *FAST, "--batch", "1,2", "--width", "200")
    assert result.exit_code == 0, result.output
    out = result.output
    head = out.splitlines()[:2]
    assert "MobileNet" in head[0] and "input 3×64×64" in head[0] and "float32" in head[0]
    assert head[1].startswith("Device   cpu (") and f"torch {torch.__version__}" in head[1] and "thread" in head[1]
    totals = archcalc.analyze("mobilenet-v2", input_shape=(3, 64, 64)).totals
    assert f"module = analysis exactly: {totals['params']:,} params" in out
    assert "conv/linear nodes agree with fvcore exactly" in out
    assert "also counts normalisation and pooling, so only conv/linear are compared like with like" in out
    assert "operators fvcore skipped (counted 0): aten::" in out
    for header in ("Median", "p10", "p90", "Spread", "Verdict", "Images/s", "GMAC/s", "Peak memory", "Analytic peak"):
        assert header in out
    assert out.count("batch 1: ") == 1 and out.count("batch 2: ") == 1, "one verdict line per batch"
    assert "CPU      " in out and " cores" in out and "Time     set-up " in out
    rows = [line.split() for line in out.splitlines() if line.strip().split(" ")[0] in ("1", "2")]
    assert [r[0] for r in rows] == ["1", "2"] and all(r[3] == "ms" for r in rows)
    assert "batch=" not in out, "no progress bar when not on a terminal"


def test_profile_options_reach_the_report(tiny):
    data = json.loads(invoke("profile", tiny, "--batch", "1,3", "--threads", "1", "--channels-last", "--no-flops",
                             "--warmup", "0", "--repeat", "3", "--max-time", "0.2", "--dtype", "bfloat16",
                             "--format", "json").output)
    assert data["threads"] == [1] and data["options"]["channels_last"] and data["dtype"] == "bfloat16"
    assert data["flops"] is None and data["fvcore_version"] is None and data["options"]["max_time"] == 0.2
    assert all(b["latency"]["runs"] >= 3 and b["stability"]["verdict"] in ("stable", "unstable")
               for b in data["batches"])
    _check_latency(data, [1, 3])
    table = invoke("profile", tiny, "--no-flops", "--repeat", "1", "--warmup", "0", "--max-time", "0.2")
    assert table.exit_code == 0 and "FLOPs" not in table.output and "Median" in table.output


def test_profile_set_and_input_change_the_module():
    data = profile_json("mobilenet-v2", "--set", "alpha=0.5", "--no-flops")
    totals = archcalc.analyze("mobilenet-v2", overrides={"alpha": 0.5}, input_shape=(3, 64, 64)).totals
    assert data["params"]["matches"] and data["params"]["module"]["params"] == totals["params"]


def test_table_shows_differences():
    data = copy.deepcopy(profile_json("googlenet"))
    node = next(n for n in data["flops"]["nodes"] if n["compared"])
    node["fvcore"] += 5
    node["difference"] = 5
    data["flops"]["matches"] = False
    data["params"]["module"]["params"] += 7
    data["params"]["matches"] = False
    out = render(data)
    assert f"1 of {data['flops']['compared_nodes']} conv/linear nodes differ from fvcore" in out
    assert node["name"] in out and "+5" in out
    assert "MISMATCH" in out and "module +7" in out and "buffers" in out and "exact" in out


def test_table_of_a_network_with_training_only_heads():
    assert "in training-only heads" in render(profile_json("googlenet"))


def test_profile_output_file_and_force(tiny, tmp_path):
    target = tmp_path / "profile.json"
    args = ("profile", tiny, "--repeat", "1", "--warmup", "0", "--max-time", "0.1", "--no-flops", "--format", "json",
            "-o", target)
    first = invoke(*args)
    assert first.exit_code == 0 and json.loads(target.read_text())["name"] == "tiny"
    again = CliRunner().invoke(cli, [str(a) for a in args])
    assert again.exit_code == 2 and "--force" in again.output
    assert invoke(*args, "--force").exit_code == 0


@pytest.mark.parametrize("args, message", [
    (("--batch", "1,x"), "batch sizes"),
    (("--batch", "0"), "positive batch sizes"),
    (("--device", "tpu"), "unknown device"),
    (("--repeat", "0"), "--repeat"),
    (("--threads", "1,x"), "thread counts"),
    (("--threads", "0"), "positive thread counts"),
    (("--min-time", "2", "--max-time", "1"), "--max-time"),
    (("--dtype", "int8"), "--dtype"),
])
def test_bad_options_are_usage_errors(tiny, args, message):
    result = CliRunner().invoke(cli, ["profile", str(tiny), *args])
    assert result.exit_code == 2 and message in result.output


def test_a_bad_spec_is_reported_not_raised(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.replace("kernel: 3", "kernel: 0"))
    result = CliRunner().invoke(cli, ["profile", str(bad)])
    assert result.exit_code == 1 and "bad.yaml:" in result.output and "Traceback" not in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without a GPU")
def test_cuda_without_a_gpu_is_a_usage_error(tiny):
    result = CliRunner().invoke(cli, ["profile", str(tiny), "--device", "cuda"])
    assert result.exit_code == 2
    assert "CUDA is not available" in result.output and "--device cpu" in result.output
    auto = invoke("profile", tiny, "--device", "auto", "--repeat", "1", "--max-time", "0.1", "--no-flops",
                  "--format", "json")
    assert json.loads(auto.output)["device"]["type"] == "cpu"


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_profile_on_cuda(dtype):
    result = invoke("profile", "resnet50", "--device", "auto", "--batch", "1,8", "--dtype", dtype,
                    "--warmup", "2", "--repeat", "5", "--max-time", "2", "--format", "json")
    data = json.loads(result.output)
    assert data["device"]["type"] == "cuda" and data["dtype"] == dtype
    assert data["params"]["matches"] and data["flops"]["matches"]
    _check_latency(data, [1, 8])
    assert data["batches"][0]["memory"]["method"] == "cuda.max_memory_allocated"


def _without_torch(*cli_args):
    code = textwrap.dedent(f"""
        import sys
        sys.modules['torch'] = None
        sys.modules['fvcore'] = None
        from archcalc.cli import cli
        cli({list(cli_args)!r}, prog_name='archcalc')
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [["profile", "resnet18"], ["export", "resnet18"]])
def test_missing_torch_is_one_line_naming_the_extra(command):
    result = _without_torch(*command)
    assert result.returncode == 1, result.stderr
    assert "pip install 'archcalc[torch]' (from a checkout: pip install '.[torch]')" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_importing_the_cli_does_not_import_torch():
    code = "import sys, archcalc.cli; assert 'torch' not in sys.modules, 'torch imported'"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def _exec_module(path):
    namespace: dict = {"__name__": "exported"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace


def test_export_writes_runnable_source(tmp_path):
    from archcalc.torch.build import build_module

    target = tmp_path / "googlenet.py"
    result = invoke("export", "googlenet", "--format", "torch", "--input", "3x64x64", "-o", target)
    assert result.exit_code == 0 and target.exists()
    namespace = _exec_module(target)
    assert namespace["INPUT_SHAPE"] == (3, 64, 64)
    module = namespace["Googlenet"]().eval()
    totals = archcalc.analyze("googlenet", input_shape=(3, 64, 64)).totals
    assert totals["training_only_params"] > 0
    assert sum(p.numel() for p in module.parameters()) == totals["params"] + totals["training_only_params"]
    built = build_module(archcalc.load("googlenet", input_shape=(3, 64, 64)), init=False)
    module.load_state_dict(built.state_dict())  # same attribute names and shapes
    with torch.inference_mode():
        main = module(torch.zeros(2, *namespace["INPUT_SHAPE"]))[0]
    assert tuple(main.shape) == (2, 1000)

    clobber = CliRunner().invoke(cli, ["export", "googlenet", "-o", str(target)])
    assert clobber.exit_code == 2 and "--force" in clobber.output
    assert invoke("export", "googlenet", "-o", target, "--force").exit_code == 0


def test_export_to_stdout_with_overrides(tmp_path):
    result = invoke("export", "mobilenet-v1", "--set", "alpha=0.5")
    assert result.exit_code == 0 and result.output.startswith("#")
    target = tmp_path / "m.py"
    target.write_text(result.output)
    namespace = _exec_module(target)
    module = namespace["MobilenetV1"]()
    totals = archcalc.analyze("mobilenet-v1", overrides={"alpha": 0.5}).totals
    assert sum(p.numel() for p in module.parameters()) == totals["params"]


def test_a_network_too_large_for_memory_is_refused_before_torch_is_needed(tmp_path):
    spec = tmp_path / "tera.yaml"
    spec.write_text("name: tera\ninput: [3, 32, 32]\nlayers:\n  - conv: {out: 1000, kernel: 3}\n"
                    "  - conv: {out: 1000000000000, kernel: 3, padding: 1}\n")
    result = _without_torch("profile", str(spec))
    assert result.returncode == 1, result.stderr
    first, line, caret, hint = result.stderr.strip().splitlines()
    # conv2: 9,000,000,000,001,000 params in float32 = 32.0 PiB, output 10^12 x 30 x 30 = 3.2 PiB
    assert first.startswith(f"{spec}:5:5: error: 'tera' at batch 1 in float32 needs about 35.2 PiB "
                            "(parameters 32.0 PiB, peak activations 3.2 PiB) but only ")
    assert first.endswith("is free on cpu; 'conv2' alone needs 35.2 PiB")
    assert line.strip() == "5 |   - conv: {out: 1000000000000, kernel: 3, padding: 1}"
    assert "--allow-large" in hint
