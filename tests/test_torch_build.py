"""Graph -> torch module: names, every layer kind, parameters of every built-in spec, export, guard rails."""

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

import archcalc  # noqa: E402
from archcalc.library import builtin_paths  # noqa: E402
from archcalc.torch import require_torch  # noqa: E402
from archcalc.torch.build import (  # noqa: E402
    build_module,
    class_name,
    export_torch_source,
    inference_module,
    input_tensor,
    parameter_check,
    torch_names,
    torch_paths,
)

SPECS = sorted(builtin_paths())

def test_names_are_sanitised_unique_and_used_by_fx(kinds):
    names = torch_names(kinds)
    paths = torch_paths(kinds)
    assert names[kinds.input.index] == "input_"  # `input` is a builtin
    by_spec = {node.name: names[node.index] for node in kinds.nodes}
    assert by_spec["eval"] == "eval_"
    assert by_spec["lambda"] == "lambda_"
    assert by_spec["stem.out-x"] == "stem_out_x"
    assert by_spec["side.linear1"] == "side_linear1"
    assert len(set(names.values())) == len(names)
    module = build_module(kinds)
    fx_names = [n.name for n in module.graph.nodes if n.op in ("placeholder", "call_module")]
    assert fx_names == [names[node.index] for node in kinds.nodes]
    paths = torch_paths(kinds)
    assert {name for name, _ in module.named_modules()} >= set(paths.values())
    assert paths[next(n for n in kinds.nodes if n.name == "side.linear1").index] == "side.linear1"
    assert paths[next(n for n in kinds.nodes if n.name == "stem.out-x").index] == "stem.out-x"  # a submodule name torch takes
    assert callable(module.eval) and not module.training


def test_clashing_names_get_suffixes(spec_text):
    graph = spec_text(
        """
        name: clash
        title: t
        source: s
        input: [3, 8, 8]
        layers:
          - {name: a, layers: [{conv: {out: 4, kernel: 1}, name: b}]}
          - {conv: {out: 4, kernel: 1}, name: a_b}
          - {relu: {}, name: forward}
        """
    )
    names = [torch_names(graph)[n.index] for n in graph.nodes]
    assert names == ["input_", "a_b", "a_b_2", "forward_"]
    assert build_module(graph)(torch.randn(1, 3, 8, 8)).shape == (1, 4, 8, 8)


def test_every_kind_builds_runs_and_matches_the_analysis(kinds):
    module = build_module(kinds)
    assert parameter_check(kinds, module)["matches"]
    x = input_tensor(kinds, 2, "cpu", "float32")
    with torch.inference_mode():
        main, side, side2 = module(x)
    assert main.shape == (2, 5) and side.shape == (2, 3) and side2.shape == (2, 3)
    paths = torch_paths(kinds)
    # Every node's output shape is the analytic one (batch first).
    shapes = {}
    for node in kinds.nodes:
        if node.inputs:
            mod = module.get_submodule(paths[node.index])
            mod.register_forward_hook(lambda m, i, o, name=node.name: shapes.__setitem__(name, tuple(o.shape[1:])))
    with torch.inference_mode():
        module(x)
    assert shapes == {n.name: tuple(n.shape) for n in kinds.nodes if n.inputs}


def test_inplace_activation_never_clobbers_a_shared_tensor(kinds):
    module = build_module(kinds)
    x = input_tensor(kinds, 2, "cpu", "float32")
    with torch.inference_mode():
        ref = [t.clone() for t in module(x)]
    paths = torch_paths(kinds)
    relu = next(n for n in kinds.nodes if n.kind == "relu")
    # Its input is a view of a tensor others still read: neither the analysis nor torch runs it in place.
    assert not relu.inplace_allowed
    assert module.get_submodule(paths[relu.index]).inplace is False
    assert module.get_submodule("leaky_relu1").inplace is True
    for sub in module.modules():
        if hasattr(sub, "inplace"):
            sub.inplace = False
    with torch.inference_mode():
        out = module(x)
    assert all(torch.equal(a, b) for a, b in zip(ref, out))


def test_frozen_and_fixed_parameters_do_not_require_grad(kinds):
    module = build_module(kinds)
    frozen = {name for name, p in module.named_parameters() if not p.requires_grad}
    assert frozen == {"lambda_.weight", "side.linear1.weight", "side.linear1.bias"}


def test_table_conv_has_exactly_the_table_parameters(kinds):
    tab = build_module(kinds).get_submodule("tab")
    assert isinstance(tab, torch.nn.Sequential) and isinstance(tab[0], torch.nn.ZeroPad2d)
    assert sum(p.numel() for p in tab.parameters()) == (2 + 3 + 1 + 3) * 2 * 2 + 4


def test_table_conv_equals_a_masked_dense_convolution():
    from archcalc.ops.conv import TableConv2d

    table = [[2, 0], [1], [0, 1, 2], [2, 1]]
    conv = TableConv2d(table, 3, bias=True)
    dense = torch.zeros(4, 3, 3, 3)
    for rows, sources, weight in zip(conv.rows, conv.sources, conv.weights):
        for k, row in enumerate(rows):
            fan_in = len(table[row])
            for j, c in enumerate(sources[k * fan_in : (k + 1) * fan_in]):
                dense[row, c] = weight[k, j]
    x = torch.randn(2, 3, 7, 7)
    with torch.no_grad():
        expected = torch.nn.functional.conv2d(x, dense, conv.bias)
        assert torch.allclose(conv(x), expected, atol=1e-6)


def test_subsample_and_rbf_follow_lenet():
    from archcalc.ops.linear import RBF
    from archcalc.ops.pool import Subsample

    sub = Subsample(3, 2)
    x = torch.randn(1, 3, 4, 4)
    with torch.no_grad():
        window_sums = x.unfold(2, 2, 2).unfold(3, 2, 2).sum((-1, -2))
        assert torch.allclose(sub(x), window_sums * sub.weight.view(1, -1, 1, 1) + sub.bias.view(1, -1, 1, 1), atol=1e-6)
    rbf = RBF(6, 4)
    assert [p.requires_grad for p in rbf.parameters()] == [False]
    assert sum(p.numel() for p in rbf.parameters()) == 24
    v = torch.randn(2, 6)
    assert torch.allclose(rbf(v), ((v[:, None, :] - rbf.weight) ** 2).sum(-1), atol=1e-4)


@pytest.mark.parametrize("name", SPECS)
def test_module_parameters_equal_the_analysis(name):
    """Every built-in spec, on the meta device (shapes without storage, so VGG costs nothing)."""
    graph = archcalc.load(name)
    module = build_module(graph, device="meta")
    check = parameter_check(graph, module)
    assert check["matches"], check
    totals = archcalc.analyze(graph).totals
    assert check["module"]["params"] == totals["params"] + totals["training_only_params"]


@pytest.mark.parametrize("name", SPECS)
def test_exported_source_has_the_same_structure(name):
    graph = archcalc.load(name)
    namespace: dict = {}
    exec(compile(export_torch_source(graph), f"{name}.py", "exec"), namespace)
    with torch.device("meta"):
        exported = namespace[class_name(graph)]()
        built = build_module(graph, device="meta")
    shapes = {k: tuple(v.shape) for k, v in exported.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in built.state_dict().items()}
    assert namespace["INPUT_SHAPE"] == tuple(graph.input.shape)


def test_exported_source_computes_the_same_outputs(kinds, tmp_path):
    module = build_module(kinds)
    source = export_torch_source(kinds)
    path = tmp_path / "kinds_model.py"
    path.write_text(source)
    namespace: dict = {}
    exec(compile(source, str(path), "exec"), namespace)
    exported = namespace["Kinds"]().eval()
    exported.load_state_dict(module.state_dict())
    assert sum(p.numel() for p in exported.parameters()) == sum(p.numel() for p in module.parameters())
    assert "import archcalc" not in source and "from archcalc" not in source
    x = input_tensor(kinds, 3, "cpu", "float32")
    with torch.inference_mode():
        ours, theirs = module(x), exported(x)
    assert len(ours) == len(theirs) == 3
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))


def test_inference_module_drops_auxiliary_heads_and_shares_weights(kinds):
    module = build_module(kinds)
    main = inference_module(module, kinds)
    x = input_tensor(kinds, 1, "cpu", "float32")
    with torch.inference_mode():
        assert torch.equal(main(x), module(x)[0])
    assert "side.linear1" in dict(module.named_modules()) and "side.linear1" not in dict(main.named_modules())
    assert main.get_submodule("fc").weight is module.get_submodule("fc").weight


def test_dtype_and_init(kinds):
    module = build_module(kinds, dtype="float64")
    assert {p.dtype for p in module.parameters()} == {torch.float64}
    assert torch.get_default_dtype() == torch.float32, "the default dtype is restored"
    zeros = build_module(kinds, init=False)
    assert all(not p.any() for p in zeros.parameters())
    assert parameter_check(kinds, zeros)["matches"]


def test_huge_channel_counts_are_refused_before_allocation(spec_text):
    graph = spec_text(
        """
        name: huge
        title: t
        source: s
        input: [3, 32, 32]
        layers:
          - conv: {out: 1000000000000, kernel: 3}
        """
    )
    with pytest.raises(archcalc.SpecError) as err:
        build_module(graph)
    # 28 x 10^12 params x 4 bytes = 101.9 TiB; 10^12 x 30 x 30 outputs x 4 bytes = 3.2 PiB
    assert "needs about 3.3 PiB (parameters 101.9 TiB, peak activations 3.2 PiB)" in err.value.message and "free" in err.value.message
    assert err.value.node == "conv1" and err.value.line == 7
    assert "allow_large" in err.value.hint
    # On the meta device nothing is allocated, so even this counts.
    assert sum(p.numel() for p in build_module(graph, device="meta").parameters()) == 28 * 10**12


def test_bad_devices_and_dtypes_are_spec_errors(kinds):
    with pytest.raises(archcalc.SpecError, match="unknown device"):
        build_module(kinds, device="gpu0")
    with pytest.raises(archcalc.SpecError, match="int8"):
        build_module(kinds, dtype="int8")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without CUDA")
def test_cuda_without_cuda_is_a_clear_error(kinds):
    with pytest.raises(archcalc.SpecError, match="CUDA is not available"):
        build_module(kinds, device="cuda")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_builds_on_cuda(kinds):
    module = build_module(kinds, device="cuda")
    assert {p.device.type for p in module.parameters()} == {"cuda"}
    with torch.inference_mode():
        assert module(input_tensor(kinds, 2, "cuda", "float32"))[0].shape == (2, 5)


def test_missing_torch_or_fvcore_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(archcalc.SpecError, match=r"pip install 'archcalc\[torch\]'") as err:
        require_torch()
    assert "\n" not in str(err.value)
    monkeypatch.undo()
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "fvcore" else real(name, *a))
    with pytest.raises(archcalc.SpecError, match=r"fvcore.*pip install 'archcalc\[torch\]'"):
        require_torch(fvcore=True)


def test_analytic_path_and_lazy_modules_do_not_import_torch():
    code = (
        "import sys, archcalc, archcalc.torch, archcalc.profile; "
        "archcalc.analyze('googlenet'); "
        "assert 'torch' not in sys.modules and 'fvcore' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_exported_class_name_never_shadows_a_copied_class(spec_text):
    graph = spec_text(
        """
        name: add
        title: t
        source: s
        input: [2, 4, 4]
        layers:
          - add: [[], [conv: {out: 2, kernel: 1}]]
        """
    )
    assert class_name(graph) == "AddNet"
    namespace: dict = {}
    exec(compile(export_torch_source(graph), "add.py", "exec"), namespace)
    assert namespace["AddNet"]()(torch.randn(1, 2, 4, 4)).shape == (1, 2, 4, 4)


RESIDUALS = """
input: [4, 6, 6]
layers:
  - conv: {out: 4, kernel: 3, padding: 1, name: stem}
  - add: [[conv: {out: 4, kernel: 3, padding: 1}, batchnorm], []]
    name: onto_bn
  - add: [[conv: {out: 4, kernel: 3, padding: 1}, relu], []]
    name: after_relu
"""


def test_a_residual_add_runs_in_place_where_nothing_reads_or_keeps_its_first_input():
    graph = archcalc.load_text(RESIDUALS, "residuals.yaml")
    rows = {r.name: r for r in archcalc.analyze(graph).layers}
    # After batch norm (which keeps its input, not its output) the sum goes onto the main path,
    # as torchvision's `out += identity`; after a relu (which keeps its output) it cannot.
    assert rows["onto_bn.add1"].activations == 0 and rows["after_relu.add1"].activations == 4 * 6 * 6
    module = build_module(graph).train()
    paths = torch_paths(graph)
    by_name = {n.name: module.get_submodule(paths[n.index]) for n in graph.nodes if n.inputs}
    onto_bn, after_relu = by_name["onto_bn.add1"], by_name["after_relu.add1"]
    assert (onto_bn.inplace, after_relu.inplace) == (True, False)
    seen = {}
    onto_bn.register_forward_hook(lambda m, args, out: seen.update(same=out.data_ptr() == args[0].data_ptr()))
    x = torch.randn(2, 4, 6, 6)
    module(x).sum().backward()  # autograd accepts the in-place sum in a training step
    assert seen["same"]
    with torch.no_grad():
        module.eval()
        onto_bn.inplace = False
        reference = module(x)
        onto_bn.inplace = True
        assert torch.equal(module(x), reference)
