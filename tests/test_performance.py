"""Training MACs and memory traffic (analytic), the roofline, sweeps, calibration and per-layer timing."""

import json
import subprocess
import sys
import textwrap

import pytest

import archcalc
from archcalc.devices import TABLE, get_device
from archcalc.errors import SpecError
from archcalc.memory import estimate_memory
from archcalc.roofline import node_costs, predict_seconds, roofline
from archcalc.sweep import run_sweep
from archcalc.training import freeze


@pytest.fixture(scope="module")
def resnet18():
    return archcalc.load("resnet18")


def test_training_step_ratios_the_2x_rule_misses(resnet18):
    """Backward = 2 x forward is wrong at the first layer: ResNet-18 trains at 2.93x its forward MACs,
    the naive Inception block (every conv reads the input, which needs no gradient) at exactly 2x."""
    t = archcalc.analyze(resnet18).totals
    assert t["training_macs"] == 5_324_206_080
    assert round(t["training_macs"] / t["macs"], 2) == 2.93
    naive = archcalc.analyze(archcalc.load("naive-inception")).totals
    assert naive["macs"] == 854_196_224
    assert naive["backward_input_macs"] == 0
    assert naive["training_macs"] == 2 * 854_196_224


def test_frozen_layers_skip_their_weight_gradient_and_a_frozen_prefix_its_input_gradient():
    graph = archcalc.load("resnet18")
    freeze(graph, until="layer3")
    a = archcalc.analyze(graph)
    assert a.layer("layer3.1.conv2").backward_weight_macs == 0
    assert a.layer("layer3.1.conv2").backward_input_macs == 0
    first = a.layer("layer4.0.conv1")  # the first trainable conv: its input needs no gradient
    assert first.backward_input_macs == 0 and first.backward_weight_macs == first.macs == 7 * 7 * 512 * 256 * 9
    assert a.layer("layer4.0.conv2").backward_input_macs == a.layer("layer4.0.conv2").macs
    freeze(graph, train_last=0)
    t = archcalc.analyze(graph).totals
    assert t["training_macs"] == t["macs"]


def test_lenet_rbf_is_never_trained_but_passes_gradients_back():
    a = archcalc.analyze(archcalc.load("lenet5"))
    rbf = next(r for r in a.layers if r.kind == "rbf")
    assert rbf.macs == 84 * 10 and rbf.backward_input_macs == 840 and rbf.backward_weight_macs == 0


def test_memory_traffic_of_a_layer_by_hand():
    """VGG-16's first conv at batch 2, float16: input 2x3x224x224, weights 1,792, output 2x64x224x224, 2 bytes each."""
    a = archcalc.analyze(archcalc.load("vgg16"), batch=2, dtype="float16")
    conv = a.layer("block1.conv1")
    assert (conv.input_bytes, conv.weight_bytes, conv.output_bytes) == (2 * 3 * 224 * 224 * 2, 1792 * 2,
                                                                         2 * 64 * 224 * 224 * 2)
    assert conv.macs_per_byte == pytest.approx(2 * 86_704_128 / (602_112 + 3_584 + 12_845_056))
    flatten = next(r for r in a.layers if r.kind == "flatten")
    assert flatten.bytes_moved == 0  # a view reads and writes nothing
    t = a.totals
    assert t["bytes_moved"] == sum(r.bytes_moved for r in a.layers)
    assert t["weight_bytes"] == 138_357_544 * 2


def test_an_add_reads_both_inputs(resnet18):
    a = archcalc.analyze(resnet18)
    add = next(r for r in a.layers if r.kind == "add")
    assert add.input_bytes == 2 * add.output_bytes and add.weight_bytes == 0


def test_roofline_bounds_and_time(resnet18):
    a100 = TABLE["a100"]
    result = roofline(archcalc.analyze(resnet18, batch=32), a100)
    by_name = {n.name: n for n in result.nodes}
    conv = by_name["layer1.0.conv1"]
    assert conv.flops == 2 * 32 * 115_605_504 + 0  # no bias: other ops 0
    assert conv.bound == "compute" and conv.seconds == conv.flops / 19.5e12
    relu = by_name["relu1"]
    assert relu.bound == "memory" and relu.seconds == relu.bytes / 2039e9
    assert result.seconds == pytest.approx(sum(n.seconds for n in result.nodes))
    assert by_name["flatten1"].seconds == 0 and by_name["flatten1"].bound == "-"
    assert 0 < result.share("memory") < result.share("compute")


def test_device_errors():
    with pytest.raises(SpecError, match="did you mean 'a100'"):
        get_device("a10")
    with pytest.raises(SpecError, match="no bfloat16 figure"):
        TABLE["t4"].peak("bfloat16")


def test_sweep_reuses_one_analysis_and_equals_fresh_ones():
    device = TABLE["l4"]
    result = run_sweep("mobilenet-v1", batches=[1, 3, 8], inputs=[(3, 128, 128), (3, 160, 160)],
                       dtypes=["float32", "float16"], sets={"alpha": [0.5, 1.0]}, device=device)
    assert len(result.points) == 3 * 2 * 2 * 2
    for point in result.points[::5]:
        graph = archcalc.load("mobilenet-v1", overrides=point.variables, input_shape=point.input)
        a = archcalc.analyze(graph, batch=point.batch, dtype=point.dtype)
        assert (point.params, point.macs, point.training_macs, point.activation_peak_bytes) == (
            a.totals["params"], a.totals["macs"], a.totals["training_macs"], a.totals["peak_activation_bytes"])
        step = estimate_memory(graph, batch=point.batch, dtype=point.dtype)
        assert point.training_peak_bytes == step.peak()
        assert point.latency_s == pytest.approx(roofline(a, device).seconds)
    # MobileNet at alpha 0.5, 160x160: the paper's table 7 row, 1.32M params and 76M mult-adds (truncated).
    half = next(p for p in result.points if p.variables["alpha"] == 0.5 and p.input == (3, 160, 160))
    assert round(half.params / 1e6, 1) == 1.3 and half.macs // 10**6 == 76


def test_prediction_is_per_sample_plus_fixed(resnet18):
    costs = node_costs(archcalc.analyze(resnet18, batch=4))
    assert costs == node_costs(archcalc.analyze(resnet18, batch=1))
    h100 = TABLE["h100-sxm"]
    assert predict_seconds(costs, h100, "float32", 16) == pytest.approx(
        roofline(archcalc.analyze(resnet18, batch=16), h100).seconds)


def test_sweep_command_formats(run):
    args = ["sweep", "resnet18", "--batch", "1,8", "--input", "160,3x224x224", "--dtype", "float32,float16"]
    table = run(*args)
    assert table.exit_code == 0, table.output
    assert "8 points" in table.output and "3×160×160" in table.output and "ms" in table.output
    rows = run(*args, "--format", "csv").output.splitlines()
    assert rows[0] == ("batch,input,dtype,params,macs,training_macs,activation_peak_bytes,training_peak_bytes,"
                       "latency_ms")
    assert rows[1].startswith("1,3x160x160,float32,11689512,")
    data = json.loads(run(*args, "--format", "json").output)
    assert data["schema"] == "archcalc.sweep/1" and len(data["points"]) == 8
    # Inputs vary slowest, then dtypes, batches fastest.
    assert data["points"][4]["macs"] == 1_814_073_344 and data["points"][4]["input"] == [3, 224, 224]
    assert [p["batch"] for p in data["points"][:4]] == [1, 8, 1, 8]
    markdown = run("sweep", "mobilenet-v1", "--set", "alpha=0.5,1.0", "--format", "markdown").output
    assert markdown.startswith("| Batch | Input | Dtype | alpha |") and markdown.count("\n") == 4


@pytest.mark.parametrize("args,message", [
    (["--dtype", "int8"], "unknown dtype 'int8'"),
    (["--batch", "0"], "batch sizes must be positive"),
    (["--input", "big"], "expected a side such as 224"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--device", "t4", "--dtype", "bfloat16"], "no bfloat16 figure"),
    (["--set", "alpha"], "expected name=v1,v2"),
])
def test_sweep_errors(run, args, message):
    result = run("sweep", "mobilenet-v1", *args)
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output


def test_roofline_command(run, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHCALC_CONFIG", str(tmp_path / "none.json"))
    out = run("roofline", "resnet18", "--device", "a100", "--batch", "32")
    assert out.exit_code == 0, out.output
    assert "compute" in out.output and "memory" in out.output and "Predicted" in out.output
    data = json.loads(run("roofline", "resnet18", "--batch", "32", "--format", "json").output)
    assert data["schema"] == "archcalc.roofline/1"
    assert data["seconds"] == pytest.approx(sum(n["seconds"] for n in data["layers"]))
    listing = run("roofline", "--list").output
    assert all(name in listing for name in TABLE) and "archcalc calibrate" in listing
    missing = run("roofline", "resnet18", "--device", "cpu")
    assert missing.exit_code == 1 and "run `archcalc calibrate` first" in missing.output


def test_new_analytic_commands_do_not_import_torch():
    code = textwrap.dedent(
        """
        import sys
        from click.testing import CliRunner
        from archcalc.cli import cli
        for args in (["sweep", "resnet18", "--batch", "1,8"], ["roofline", "resnet18", "--device", "t4"],
                     ["summary", "resnet18", "--training", "--traffic"]):
            r = CliRunner().invoke(cli, args)
            assert r.exit_code == 0, r.output
        assert "torch" not in sys.modules, "torch imported"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_summary_training_and_traffic_columns(run):
    out = run("summary", "resnet18", "--training", "--freeze-until", "layer2", "--depth", "1").output
    assert "Bwd input" in out and "Bwd weights" in out and "Train MACs" in out
    assert "Training step 3.40G MACs = forward 1.81G" in out
    csv = run("summary", "vgg16", "--traffic", "--format", "csv").output.splitlines()
    assert csv[0] == "name,kind,shape,macs,input_bytes,weight_bytes,output_bytes,macs_per_byte"
    assert csv[2].startswith("block1.conv1,conv,64x224x224,86704128,602112,7168,12845056,")
    layer = json.loads(run("summary", "resnet18", "--format", "json").output)["layers"][1]
    assert layer["training_macs"] == layer["macs"] + layer["backward_weight_macs"] == 2 * 118_013_952
    memory = json.loads(run("memory", "resnet18", "--format", "json").output)
    assert memory["macs"]["training_macs"] == 5_324_206_080


def test_calibrate_and_per_layer_profile(run, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    config = tmp_path / "calibration.json"
    monkeypatch.setenv("ARCHCALC_CONFIG", str(config))
    first = run("calibrate", "--size", "128", "--copy-mib", "4", "--repeats", "1")
    assert first.exit_code == 0, first.output
    stored = json.loads(config.read_text())
    assert stored["peak_flops"]["float32"] > 0 and stored["bandwidth"] > 0
    again = run("calibrate", "--size", "128", "--copy-mib", "4", "--repeats", "1")
    assert again.exit_code == 1 and "--force" in again.output and json.loads(config.read_text()) == stored
    assert run("roofline", "lenet5", "--device", "cpu").exit_code == 0
    out = run("profile", "lenet5", "--per-layer", "--batch", "2", "--repeat", "2", "--format", "json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    timed = data["layers"]
    assert [t["name"] for t in timed] == [n.name for n in archcalc.load("lenet5").nodes[1:]]
    assert all(t["measured_s"] > 0 for t in timed)
    assert data["calibration_factor"] == pytest.approx(data["measured_s"] / data["predicted_s"])


def test_plot_roofline_and_sweep(run, tmp_path):
    pytest.importorskip("matplotlib")
    from archcalc.plot.roofline import draw_roofline
    from archcalc.plot.sweep import draw_sweep

    result = roofline(archcalc.analyze(archcalc.load("resnet18"), batch=8), TABLE["a100"])
    fig = draw_roofline(result)
    drawn = sum(len(c.get_offsets()) for c in fig.axes[0].collections)
    assert drawn == sum(1 for n in result.nodes if n.flops and n.bytes)
    sweep = run_sweep("mobilenet-v1", batches=[1, 8], sets={"alpha": [0.5, 1.0]}, device=TABLE["t4"])
    lines = draw_sweep(sweep).axes[0].get_lines()
    assert [list(line.get_xdata()) for line in lines] == [[1, 8], [1, 8]]  # one line per alpha, against batch
    out = tmp_path / "roof.png"
    assert run("plot", "roofline", "resnet18", "--batch", "8", "-o", str(out)).exit_code == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    bad = run("plot", "sweep", "resnet18", "--batch", "1,2", "--x", "alpha", "-o", str(tmp_path / "s.png"))
    assert bad.exit_code == 2 and "'alpha' is not swept" in bad.output
