"""The command line, through click's CliRunner: every command and format."""

import csv
import io
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from archcalc.cli import cli


def test_version_and_help(run):
    import archcalc

    assert run("--version").output.strip() == f"archcalc, version {archcalc.__version__}"
    result = run("--help")
    assert result.exit_code == 0
    assert "multiply-accumulates" in result.output
    for command in ("summary", "compare", "check", "list", "kinds"):
        assert command in result.output
        assert "Examples:" in run(command, "--help").output


def test_summary_table_shows_rows_and_totals(run):
    result = run("summary", "vgg16")
    assert result.exit_code == 0
    out = result.output
    assert "VGG-16 (configuration D)" in out
    assert "138,357,544 (138.4M) = 138,344,128 weights + 13,416 biases" in out
    assert "15.47G (15,470,264,320)" in out
    assert "FLOPs (2 × MACs) 30.94G" in out
    assert "15,237,608 values = 58.1 MiB" in out
    assert "\x1b[" not in out, "plain text when not a terminal"
    conv1 = next(line for line in out.splitlines() if line.strip().startswith("conv1 "))
    assert conv1.split() == ["conv1", "conv", "64×224×224", "3.2M", "12.2", "MiB", "1,792", "86.7M", "3"]


def test_summary_json_is_the_api_contract(run):
    import archcalc

    data = json.loads(run("summary", "vgg16", "--format", "json").output)
    assert data == json.loads(json.dumps(archcalc.analyze("vgg16").to_dict()))
    assert data["schema"] == "archcalc.summary/1"
    t = data["totals"]
    assert (t["params"], t["weights"], t["biases"]) == (138_357_544, 138_344_128, 13_416)
    assert (t["macs"], t["flops"], t["activations"]) == (15_470_264_320, 30_940_528_640, 15_237_608)
    assert t["receptive_field"] == [212, 212]
    layer = next(row for row in data["layers"] if row["name"] == "block1.conv1")
    assert layer["output_shape"] == [64, 224, 224]
    assert layer["weights"] == 1_728
    assert layer["block"] == "block1"
    for key in ("name", "kind", "block", "inputs", "output_shape", "params", "weights", "biases", "macs",
                "activations", "receptive_field", "jump"):
        assert key in layer


def test_summary_options_batch_dtype_input_set(run, tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text(textwrap.dedent("""
        input: [3, 32, 32]
        vars: {width: 16}
        layers:
          - conv: {out: width, kernel: 3, padding: 1}
    """))
    data = json.loads(run("summary", str(spec), "--format", "json", "--batch", "4", "--dtype", "float16",
                          "--input", "3x64x64", "--set", "width=8").output)
    assert data["input"] == [3, 64, 64]
    assert data["batch"] == 4 and data["dtype"] == "float16"
    assert data["layers"][1]["output_shape"] == [8, 64, 64]
    assert data["totals"]["activation_bytes"] == 4 * 2 * (3 + 8) * 64 * 64
    assert data["totals"]["macs"] == 4 * 64 * 64 * 8 * 27


def test_summary_csv_has_exact_integers(run):
    rows = list(csv.DictReader(io.StringIO(run("summary", "alexnet", "--format", "csv").output)))
    conv1 = next(r for r in rows if r["name"] == "conv1")
    assert conv1 == {"name": "conv1", "kind": "conv", "shape": "96x55x55", "activations": "290400",
                     "memory_bytes": "1161600", "params": "34944", "macs": "105415200", "rf": "11"}
    assert sum(int(r["params"]) for r in rows) == 60_965_224


def test_summary_columns_and_markdown(run):
    out = run("summary", "alexnet", "--format", "markdown", "--columns", "name,shape,params").output
    lines = out.splitlines()
    assert lines[0] == "| Layer | Output | Params |"
    assert "| conv1 | 96x55x55 | 34,944 |" in lines
    bad = CliRunner().invoke(cli, ["summary", "alexnet", "--columns", "name,bogus"])
    assert bad.exit_code == 2 and "unknown column 'bogus'" in bad.output


def test_summary_depth_collapses_blocks(run):
    out = run("summary", "resnet18", "--depth", "1", "--format", "csv", "--columns", "name,kind,params,macs").output
    rows = list(csv.DictReader(io.StringIO(out)))
    names = [r["name"] for r in rows]
    assert names == ["input", "conv1", "bn1", "relu1", "maxpool1", "layer1", "layer2", "layer3", "layer4",
                     "global_avgpool1", "flatten1", "fc"]
    assert sum(int(r["params"]) for r in rows) == 11_689_512
    assert next(r for r in rows if r["name"] == "layer1")["kind"] == "block"


def test_summary_output_file_is_written_atomically_and_not_clobbered(run, tmp_path):
    target = tmp_path / "vgg.json"
    result = run("summary", "vgg16", "--format", "json", "-o", str(target))
    assert result.exit_code == 0
    assert json.loads(target.read_text())["totals"]["params"] == 138_357_544
    target.write_text("mine")
    refused = CliRunner().invoke(cli, ["summary", "vgg16", "--format", "json", "-o", str(target)])
    assert refused.exit_code == 2 and "--force" in refused.output
    assert target.read_text() == "mine"
    assert run("summary", "vgg16", "-o", str(target), "--force").exit_code == 0
    assert "138,357,544" in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["vgg.json"], "no temporary files left behind"


def test_builtin_names_are_case_and_punctuation_insensitive(run):
    a = json.loads(run("summary", "VGG-16", "--format", "json").output)
    assert a["name"] == "vgg16"


def test_bad_spec_is_a_located_message_not_a_traceback(run, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("input: [3, 32, 32]\nlayers:\n  - flatten\n  - conv: {out: 8, kernel: 3, name: c1}\n")
    result = CliRunner().invoke(cli, ["summary", str(spec)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{spec}:4:5: error: conv 'c1' expects a 3-D input (C, H, W), got [3072] from 'flatten1'" in result.output
    assert "    4 |   - conv: {out: 8, kernel: 3, name: c1}" in result.output


def test_unknown_spec_name_suggests(run):
    result = CliRunner().invoke(cli, ["summary", "vgg61"])
    assert result.exit_code == 1
    assert "'vgg61' is neither a built-in spec nor a file; did you mean" in result.output


def test_compare_inception_modules(run):
    out = run("compare", "naive-inception", "bottleneck").output
    macs = next(line for line in out.splitlines() if line.strip().startswith("MACs"))
    assert "854.2M" in macs and "271.4M (3.15× less)" in macs and "✓" in macs
    shape = next(line for line in out.splitlines() if "Output shape" in line)
    assert "672×28×28" in shape and "480×28×28 (same H×W)" in shape
    diff = next(line for line in out.splitlines() if "Param difference" in line)
    assert diff.split()[-1] == "-743,232"


def test_compare_json_and_blocks(run):
    data = json.loads(run("compare", "vgg16", "resnet18", "--format", "json", "--by-block").output)
    assert data["schema"] == "archcalc.compare/1"
    assert [s["name"] for s in data["specs"]] == ["vgg16", "resnet18"]
    assert data["specs"][1]["totals"]["params"] == 11_689_512
    assert data["best"]["macs"] == 1
    assert data["ratios"][1]["macs"] == pytest.approx(1_814_073_344 / 15_470_264_320)
    assert data["blocks"][1]["layer1"]["params"] == 147_968
    md = run("compare", "vgg16", "resnet18", "--format", "markdown").output
    assert md.splitlines()[0] == "|  | vgg16 | resnet18 |"


def test_compare_needs_two(run):
    result = CliRunner().invoke(cli, ["compare", "vgg16"])
    assert result.exit_code == 2


def test_list_computes_figures(run):
    data = json.loads(run("list", "--format", "json").output)
    by_name = {s["name"]: s for s in data["specs"]}
    assert by_name["vgg16"]["params"] == 138_357_544
    assert by_name["alexnet"]["macs"] == 724_406_816
    assert by_name["alexnet"]["input"] == [3, 227, 227]
    filtered = json.loads(run("list", "incep", "--format", "json").output)["specs"]
    assert {"naive-inception"} <= {s["name"] for s in filtered}
    assert all("incep" in (s["name"] + s["title"]).lower() for s in filtered)
    assert "vgg16" in run("list").output


def test_kinds(run):
    assert "conv" in run("kinds").output
    out = run("kinds", "conv").output
    assert "groups" in out and "required" in out
    assert CliRunner().invoke(cli, ["kinds", "cnov"]).exit_code == 1


GOOD = """\
name: good
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3}
expect:
  - {params: 112, source: "3*3*3*4 + 4"}
"""
WRONG = """\
name: wrong
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3}
expect:
  - {params: 100, source: "a typo"}
"""


@pytest.fixture
def spec_dir(tmp_path):
    (tmp_path / "nested").mkdir()
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "nested" / "wrong.yml").write_text(WRONG)
    (tmp_path / "nested" / "broken.yaml").write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 0, kernel: 3}\n")
    return tmp_path


def test_check_exit_codes(run, spec_dir):
    ok = CliRunner().invoke(cli, ["check", str(spec_dir / "good.yaml")])
    assert ok.exit_code == 0, ok.output
    assert "1 ok, 0 failing" in ok.output
    bad = CliRunner().invoke(cli, ["check", str(spec_dir)])
    assert bad.exit_code == 1
    assert "1 ok, 2 failing" in bad.output
    assert "params: expected 100, got 112 (+12.00%) [a typo]" in bad.output
    assert CliRunner().invoke(cli, ["check", str(spec_dir / "missing.yaml")]).exit_code == 2
    assert CliRunner().invoke(cli, ["check", "--max-params", "ten", str(spec_dir)]).exit_code == 2


def test_check_budgets(run, spec_dir):
    good = str(spec_dir / "good.yaml")
    assert CliRunner().invoke(cli, ["check", good, "--max-params", "112"]).exit_code == 0
    over = CliRunner().invoke(cli, ["check", good, "--max-params", "0.1K", "--max-macs", "1G"])
    assert over.exit_code == 1
    assert "parameters 112 exceeds the budget of 100" in over.output
    memory = CliRunner().invoke(cli, ["check", good, "--max-activation-memory", "1KiB"])
    assert memory.exit_code == 1 and "exceeds the budget of 1.0 KiB" in memory.output


def test_check_github_annotations(run, spec_dir):
    result = CliRunner().invoke(cli, ["check", str(spec_dir), "--format", "github"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    broken = str(spec_dir / "nested" / "broken.yaml").replace(":", "%3A").replace(",", "%2C")
    wrong = str(spec_dir / "nested" / "wrong.yml").replace(":", "%3A").replace(",", "%2C")
    assert lines[0].startswith(f"::error file={broken},line=3,col=17::")
    assert "'conv1'" in lines[0] and "expected a positive integer, got 0" in lines[0]
    assert lines[1] == f"::error file={wrong},line=6,col=5::params: expected 100, got 112 (+12.00%25) [a typo]"
    assert lines[-1] == "archcalc check: 3 spec(s), 1 ok, 2 failing"
    assert len(lines) == 3


def test_check_json(run, spec_dir):
    result = CliRunner().invoke(cli, ["check", str(spec_dir), "--format", "json"])
    data = json.loads(result.output)
    assert data["passed"] is False
    by_name = {f["path"].rsplit("/", 1)[-1]: f for f in data["files"]}
    assert by_name["good.yaml"]["passed"] is True
    assert by_name["wrong.yml"]["checks"][0] == {
        "metric": "params", "passed": False, "expected": 100, "actual": 112,
        "message": "params: expected 100, got 112 (+12.00%) [a typo]", "source": "a typo", "line": 6, "column": 5,
    }
    assert by_name["broken.yaml"]["error"]["line"] == 3


def test_check_builtin_library_passes(run):
    from pathlib import Path

    specs = Path(__file__).parent.parent / "specs"
    result = CliRunner().invoke(cli, ["check", str(specs)])
    assert result.exit_code == 0, result.output


def test_every_command_module_is_listed_and_loads():
    import importlib
    import pkgutil

    import click

    import archcalc.cli as package
    from archcalc.cli import COMMANDS

    modules = {info.name for info in pkgutil.iter_modules(package.__path__)
               if isinstance(getattr(importlib.import_module(f"archcalc.cli.{info.name}"), "command", None),
                              click.Command)}
    assert set(COMMANDS.values()) == modules
    for name in COMMANDS:
        assert cli.get_command(None, name).name == name
    assert cli.get_command(None, "nonsense") is None


@pytest.fixture
def restored_limits():
    from archcalc.limits import LIMITS

    saved = LIMITS.as_dict()
    yield LIMITS
    for name, value in saved.items():
        setattr(LIMITS, name, value)


def test_limit_option_raises_a_limit(run, tmp_path, restored_limits):
    spec = tmp_path / "padded.yaml"
    padded = "8" + " " * 1200 + "+ 8"  # 1,204 characters, past the 1,000 of max_expression_chars
    spec.write_text(f'input: [3, 8, 8]\nlayers:\n  - conv: {{out: "{padded}", kernel: 3}}\n')
    refused = CliRunner().invoke(cli, ["summary", str(spec)])
    assert refused.exit_code == 1
    assert "expression is 1,204 characters long; the limit is 1,000" in refused.stderr
    allowed = CliRunner().invoke(cli, ["--limit", "max_expression_chars=2_000", "summary", str(spec), "--format", "json"])
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["layers"][1]["output_shape"] == [16, 6, 6]
    assert restored_limits.max_expression_chars == 2_000


def test_limit_from_the_environment_and_bad_limits(restored_limits):
    result = CliRunner().invoke(cli, ["summary", "vgg16"], env={"ARCHCALC_LIMIT": "max_nodes=10 max_edges=100"})
    assert result.exit_code == 1 and "more than 10 nodes" in result.stderr
    assert (restored_limits.max_nodes, restored_limits.max_edges) == (10, 100)
    for bad, message in [("max_node=3", "unknown limit 'max_node'; the limits are max_file_bytes"),
                         ("max_nodes=0", "limit max_nodes expected a positive integer, got 0"),
                         ("max_nodes", "expected NAME=N")]:
        result = CliRunner().invoke(cli, ["--limit", bad, "list"])
        assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_an_output_that_cannot_be_written_is_one_line(tmp_path):
    target = tmp_path / "no-such-folder" / "vgg16.json"
    result = CliRunner().invoke(cli, ["summary", "vgg16", "--format", "json", "-o", str(target)])
    assert result.exit_code == 1
    assert result.stderr == f"error: cannot write {target}: No such file or directory\n"
    assert not target.parent.exists()


def test_a_spec_argument_that_is_no_file(tmp_path):
    folder = CliRunner().invoke(cli, ["summary", str(tmp_path)])
    assert folder.exit_code == 1
    assert folder.stderr == f"error: {tmp_path} is a folder, not a spec file\nhint: `archcalc check` takes folders\n"
    missing = CliRunner().invoke(cli, ["summary", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1 and missing.stderr == f"error: no such spec file: {tmp_path / 'nope.yaml'}\n"


def test_list_csv_and_markdown(run):
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(run("list", "--format", "csv").output))}
    assert rows["vgg16"]["params"] == "138357544" and rows["alexnet"]["input"] == "3x227x227"
    assert rows["alexnet"]["macs"] == "724406816" and "Krizhevsky" in rows["alexnet"]["source"]
    md = run("list", "vgg", "--format", "markdown").output.splitlines()
    assert md[0] == "| Name | Title | Input | Params | MACs | Source |"
    assert any(line.startswith("| vgg16 | ") and "| 138.4M | 15.47G |" in line for line in md)


def test_compare_csv_has_exact_totals_and_ratios(run):
    rows = list(csv.DictReader(io.StringIO(run("compare", "naive-inception", "bottleneck", "--format", "csv").output)))
    assert [r["spec"] for r in rows] == ["naive-inception", "bottleneck"]
    assert rows[0]["macs"] == "854196224" and rows[1]["macs"] == "271351808"
    assert rows[1]["output_shape"] == "480x28x28" and rows[0]["macs_ratio"] == "1"
    assert float(rows[1]["macs_ratio"]) == pytest.approx(271_351_808 / 854_196_224, rel=1e-5)
    assert "activation_bytes" in rows[0] and "param_bytes" in rows[0]
    blocks = list(csv.DictReader(io.StringIO(
        run("compare", "resnet18", "resnet34", "--by-block", "--format", "csv").output)))
    layer1 = [r for r in blocks if r["block"] == "layer1"]
    assert [(r["spec"], r["params"]) for r in layer1] == [("resnet18", "147968"), ("resnet34", "221952")]


def test_check_csv_and_markdown(run, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 32, 32]\nlayers:\n  - conv: {out: 0, kernel: 3}\n")
    result = run("check", str(bad), "specs/alexnet.yaml", "--max-params", "100M", "--format", "csv")
    assert result.exit_code == 1
    rows = {Path(r["file"]).name: r for r in csv.DictReader(io.StringIO(result.output))}
    assert rows["alexnet.yaml"]["status"] == "ok" and rows["alexnet.yaml"]["failing"] == "0"
    assert rows["bad.yaml"]["status"] == "error"
    assert "bad.yaml:3:17: error: conv 'conv1': argument 'out' expected a positive integer, got 0" in rows["bad.yaml"]["problems"]
    md = run("check", "specs/alexnet.yaml", "--max-params", "1M", "--format", "markdown").output.splitlines()
    assert md[0] == "| File | Status | Checks | Failing | Problems |"
    assert md[2].startswith("| specs/alexnet.yaml | fail |") and "exceeds the budget of 1.0M" in md[2]
    assert md[-1] == "archcalc check: 1 spec(s), 0 ok, 1 failing"


def test_summary_markdown_totals_and_trainable(run):
    md = run("summary", "resnet18", "--freeze-until", "layer3", "--depth", "1", "--format", "markdown",
             "--columns", "name,memory,params,trainable,rf").output.splitlines()
    assert md[0] == "| Layer | Memory (bytes) | Params | Trainable | RF |"
    # layer3: 10 stored outputs of 256x14x14 (ReLUs and both residual adds in place) x 4 bytes;
    # frozen up to and with it.
    assert "| layer3 | 2,007,040 | 2,099,712 | false | 211 |" in md
    assert "| layer4 | 1,003,520 | 8,393,728 | true | 435 |" in md
    assert "| **Total** | 21,280,672 | 11,689,512 |  | 435x435 |" in md
    assert "- **Params** 11,689,512 = 11,683,712 weights + 5,800 biases (trainable 8,906,728, frozen 2,782,784, " \
           "buffers 9,620)" in md
    assert "- **MACs** 1,814,073,344; FLOPs (2 × MACs) 3,628,146,688" in md
    rows = list(csv.DictReader(io.StringIO(run("summary", "inception-v3", "--format", "csv",
                                               "--columns", "name,rf,jump,trainable").output)))
    assert any("x" in r["rf"] for r in rows) and not any("×" in r["rf"] + r["jump"] for r in rows)
