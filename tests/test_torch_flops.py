"""fvcore and torch's flop counter against the analytic MACs, node by node."""

import re
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

import archcalc  # noqa: E402
from archcalc.library import builtin_paths  # noqa: E402
from archcalc.torch.build import build_module, input_tensor  # noqa: E402
from archcalc.torch.flops import compare_flops, flop_counter_counts, fvcore_counts  # noqa: E402


SPECS = sorted(builtin_paths())


@pytest.mark.parametrize("name", SPECS)
def test_conv_and_linear_macs_equal_fvcore(name):
    """Every conv and linear node of every built-in spec, CPU, batch 1.

    Weights and input are zeros (``init=False``): fvcore's counts depend on shapes
    only, and a memset builds VGG-16 in a fraction of the time of torch's init.
    """
    graph = archcalc.load(name)
    module = build_module(graph, init=False)
    result = compare_flops(graph, module, torch.zeros(1, *graph.input.shape), flop_counter=False)
    assert result.compared, "every spec has conv or linear nodes"
    wrong = [(n.name, n.analytic_macs, n.fvcore) for n in result.mismatches]
    assert not wrong, f"analytic vs fvcore MACs differ: {wrong}"


def test_every_kind_per_node_with_both_oracles(kinds):
    module = build_module(kinds)
    x = input_tensor(kinds, 2, "cpu", "float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the adapter must not leak TorchScript or fvcore warnings
        result = compare_flops(kinds, module, x)
    assert result.batch == 2
    rows = {n.name: n for n in result.nodes}
    assert set(rows) == {n.name for n in kinds.nodes if n.inputs}
    for row in result.compared:
        assert row.difference == 0, row
        assert row.flop_counter_macs == row.analytic_macs, row
    assert {"eval", "tab", "fc", "lambda", "side.linear1", "branch2.dwconv1"} <= {r.name for r in result.compared}
    # The table conv counts only its connections: (2+3+1+3) * 2*2 taps * 5*5 positions * batch 2.
    assert rows["tab"].fvcore == 9 * 4 * 25 * 2
    # Operators fvcore skipped are collected by name, per node and in total.
    assert "aten::max_pool2d" in result.unsupported_ops
    assert "aten::max_pool2d" in rows["branch3.maxpool1"].unsupported
    # fvcore's total counts batch norm too, so it exceeds the conv + linear MACs.
    summary = result.to_dict()
    assert summary["matches"] and summary["mismatches"] == []
    assert summary["fvcore_total"] > summary["fvcore_conv_linear"] == summary["analytic_conv_linear_macs"]
    assert summary["fvcore_by_operator"]["batch_norm"] > 0


def test_oracles_directly():
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.Linear(8 * 6 * 6, 10))
    x = torch.randn(2, 3, 8, 8)
    conv, linear = 2 * 6 * 6 * 8 * 3 * 3 * 3, 2 * 288 * 10
    fv = fvcore_counts(module, (x,))
    assert fv.total == conv + linear
    assert fv.by_module["0"] == conv and fv.by_module["2"] == linear
    counts = flop_counter_counts(module, (x,))
    assert counts[""] == 2 * (conv + linear) and counts["0"] == 2 * conv


def test_only_the_adapter_imports_fvcore():
    package = Path(archcalc.__file__).parent
    importers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(r"^\s*(import fvcore|from fvcore)", path.read_text(), re.M)
    )
    assert importers == ["torch/flops.py"]
