"""Vision transformers: the token kinds and attention against torch, and ViT-B/16 against torchvision.

Attention is where the peers go wrong (torch's fused path is not counted at all, fvcore and
FlopCounterMode without it count only the linear layers), so its multiply-accumulates are held
to an explicit reference written with torch.matmul, and the module archcalc builds to
torch.nn.MultiheadAttention's outputs.
"""

import pytest

import archcalc
from archcalc.memory import estimate_memory

torch = pytest.importorskip("torch")

import oracles  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from archcalc.torch.build import build_module, torch_names  # noqa: E402

TINY_VIT = """
name: tiny-vit
input: [3, 12, 8]
layers:
  - conv: {out: 8, kernel: 4, stride: 4, name: patches}
  - tokens
  - class_token
  - position_embedding
  - linear: {out: 8, name: before}
  - residual:
      - layernorm
      - attention: {heads: 2, name: attn}
    shortcut: identity
  - residual:
      - layernorm
      - linear: {out: 16}
      - gelu
      - linear: {out: 8}
    shortcut: identity
  - layernorm: {name: ln}
  - select_token: {index: 0, name: cls}
  - linear: {out: 5, name: head}
"""


def tiny_vit():
    return archcalc.load_text(TINY_VIT, "tiny-vit.yaml")


def reference_attention(x, in_weight, in_bias, out_weight, out_bias, heads):
    """Self-attention written out: q·kᵀ, softmax, ·v with torch.matmul, as the papers define it."""
    b, n, d = x.shape
    q, k, v = (torch.matmul(x, w.t()) + bias for w, bias in zip(in_weight.chunk(3), in_bias.chunk(3)))
    q, k, v = (t.view(b, n, heads, d // heads).transpose(1, 2) for t in (q, k, v))
    weights = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) / (d // heads) ** 0.5, dim=-1)
    out = torch.matmul(weights, v).transpose(1, 2).reshape(b, n, d)
    return torch.matmul(out, out_weight.t()) + out_bias


@pytest.mark.parametrize("tokens,dim,heads", [(5, 8, 2), (197, 48, 3)])
def test_attention_macs_are_the_explicit_reference_under_flop_counter(tokens, dim, heads):
    graph = archcalc.load_text(
        f"input: [{dim}, 1, {tokens}]\nlayers:\n  - tokens\n  - attention: {{heads: {heads}}}\n", "a.yaml")
    node = graph.nodes[-1]
    x = torch.rand(1, tokens, dim, dtype=torch.float64)
    w_in, b_in = torch.rand(3 * dim, dim, dtype=torch.float64), torch.rand(3 * dim, dtype=torch.float64)
    w_out, b_out = torch.rand(dim, dim, dtype=torch.float64), torch.rand(dim, dtype=torch.float64)
    with FlopCounterMode(display=False) as counter:
        reference_attention(x, w_in, b_in, w_out, b_out, heads)
    assert counter.get_total_flops() == 2 * node.op.macs(node)
    terms = {t.what: t.macs for t in node.op.mac_terms(node)}
    assert terms == {"qkv": tokens * dim * 3 * dim, "scores": tokens * tokens * dim,
                     "weighted sum": tokens * tokens * dim, "projection": tokens * dim * dim}


@pytest.mark.parametrize("qkv_bias", [True, False])
def test_the_built_attention_computes_what_multihead_attention_does(qkv_bias):
    graph = archcalc.load_text(
        f"input: [12, 2, 3]\nlayers:\n  - tokens\n  - attention: {{heads: 3, qkv_bias: {str(qkv_bias).lower()}}}\n",
        "a.yaml")
    module = build_module(graph, dtype="float64").eval()
    ours = module.get_submodule(torch_names(graph)[graph.nodes[-1].index])
    mha = torch.nn.MultiheadAttention(12, 3, batch_first=True, dtype=torch.float64).eval()
    with torch.no_grad():
        mha.in_proj_weight.copy_(ours.in_proj.weight)
        mha.in_proj_bias.copy_(ours.in_proj.bias if qkv_bias else torch.zeros(36))
        mha.out_proj.load_state_dict(ours.out_proj.state_dict())
        x = torch.rand(2, 6, 12, dtype=torch.float64)
        expected, _ = mha(x, x, x, need_weights=False)
        assert torch.allclose(ours(x), expected, atol=1e-5, rtol=0)
    weights, biases = graph.nodes[-1].op.params(graph.nodes[-1])
    assert (weights, biases) == (4 * 144, 4 * 12 if qkv_bias else 12)


def test_after_the_first_attention_every_token_reads_the_whole_image():
    graph = tiny_vit()
    layers = {r.name: r for r in archcalc.analyze(graph).layers}
    assert layers["before"].receptive_field == [4, 4]  # a token is its patch
    assert layers["attn"].receptive_field == [12, 8] and layers["attn"].jump == [0, 0]
    assert layers["add1"].receptive_field == [12, 8]  # the residual's patch lies inside it
    assert layers["cls"].receptive_field == [12, 8]
    assert archcalc.analyze(graph).totals["receptive_field"] == [12, 8]
    for context in (False, True):
        probes = oracles.probe_receptive_fields(graph, context=context)
        assert probes and all(p.agrees for p in probes), [p for p in probes if not p.agrees]
    patch = [p for p in oracles.probe_receptive_fields(graph) if p.node == "before" and p.position == (1, 1)]
    assert patch[0].measured == ((4, 7), (4, 7))


def test_a_tiny_vit_saves_what_autograd_saves():
    graph = tiny_vit()
    measured = oracles.measure_saved(graph)
    estimate = estimate_memory(graph, batch=2, device="cpu")
    assert {r.name: r.new_saved.at(2) for r in estimate.layers if r.new_saved.at(2)} == measured
    heads, n = 2, 7  # 3x2 patches and the class token
    matrices = [s for s in estimate.saved if s.what == "attention weights"]
    assert [s.size.at(2) for s in matrices] == [2 * heads * n * n * 4]


@pytest.mark.parametrize("side, dim, heads, batch", [(14, 64, 4, 1), (7, 32, 1, 3), (8, 96, 3, 2)])
def test_the_inference_peak_holds_attentions_working_tensors_as_torch_allocates_them(side, dim, heads, batch):
    from archcalc.torch.timing import measure_peak_memory

    graph = archcalc.load_text(f"input: [{dim}, {side}, {side}]\nlayers:\n  - tokens\n  - attention: {heads}\n")
    module = build_module(graph).eval()
    measured = measure_peak_memory(module, torch.randn(batch, dim, side, side))
    n = side * side
    assert archcalc.analyze(graph, batch=batch).totals["peak_activation_bytes"] == measured.peak_bytes + measured.input_bytes
    assert measured.peak_bytes == batch * 4 * (5 * n * dim + 2 * heads * n * n)  # qkv, scores, softmax, v, product


def test_vit_b_16_is_torchvisions_vit_b_16():
    torchvision = pytest.importorskip("torchvision")
    analysis = archcalc.analyze("vit-b-16")
    with torch.device("meta"):
        model = torchvision.models.vit_b_16(weights=None).eval()
    with FlopCounterMode(display=False) as counter:
        out = model(torch.empty(1, 3, 224, 224, device="meta"))
    by_op = {str(op): flops // 2 for op, flops in counter.get_flop_counts()["Global"].items()}
    rows = analysis.layers
    assert sum(p.numel() for p in model.parameters()) == analysis.totals["params"] == 86_567_656
    assert tuple(out.shape[1:]) == tuple(analysis.graph.outputs[0].shape) == (1000,)
    # On the meta device torchvision's attention runs its math path, whose batched products are counted.
    weight_macs = sum(r.macs for r in rows if r.kind in ("conv", "linear")) + sum(
        r.mac_terms["qkv"] + r.mac_terms["projection"] for r in rows if r.kind == "attention")
    assert by_op["aten.convolution"] + by_op["aten.addmm"] == weight_macs == 16_848_500_736
    assert by_op["aten.bmm"] == analysis.totals["attention_macs"] == 12 * 2 * 197 * 197 * 768 == 715_327_488
    assert analysis.totals["macs"] == 17_563_828_224


def test_deit_small_follows_its_paper():
    analysis = archcalc.analyze("deit-small")
    t = analysis.totals
    assert t["params"] == 22_050_664  # DeiT-S, "22M" in Touvron et al.'s Table 1
    assert round(t["macs"] / 1e9, 1) == 4.6  # Swin's Table 1 lists DeiT-S at "4.6G FLOPs": multiply-accumulates
    assert t["attention_macs"] == 12 * 2 * 197 * 197 * 384


def test_compare_shows_the_attention_share(run):
    result = run("compare", "resnet50", "vit-b-16")
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if "of which attention" in line)
    assert line.split()[-2:] == ["715.3M", "(4.1%)"]
