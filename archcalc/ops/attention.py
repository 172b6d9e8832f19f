"""Multi-head self-attention over tokens, counted with its matrix products.

The module archcalc builds computes attention the way torch's math path does
(``nn.MultiheadAttention`` with ``need_weights=True``, or scaled_dot_product_attention's
math backend): the heads x N x N score matrix is made, soft-maxed and kept for the
backward pass. Fused kernels (flash, memory-efficient) do the same arithmetic without
keeping that matrix; the counts here are those of the math path.
"""

from __future__ import annotations

from archcalc.ops.base import Example, Field, MacTerm, Op, OpError, ReceptiveStep, Saved, none, register, torch_class
from archcalc.ops.tokens import expect_tokens, token_grid

# The heads x N x N tensors its backward keeps (the softmax output; with dropout its mask and result).
ATTENTION_MATRICES = ("attention weights", "dropout mask", "dropped weights")
_PATCHES = ({"conv": {"out": 4, "kernel": 2, "stride": 2}}, "tokens")


@register
class Attention(Op):
    kind = "attention"
    aliases = ("self_attention", "mhsa")
    family = "attention"
    doc = (
        "Multi-head self-attention over tokens (N, D), torchvision's layout (nn.MultiheadAttention's "
        "in_proj and out_proj). Every output token reads every input token."
    )
    rules = (
        "(N, D) → (N, D); params 4D² + 4D (3D fewer without `qkv_bias`); MACs N·D·3D (qkv) + N²·D (scores) "
        "+ N²·D (weighted sum) + N·D² (projection); keeps the heads·N² attention matrix; "
        "after it every token's receptive field is the whole input"
    )
    fields = (
        Field("heads", "int", doc="attention heads (D must divide by it)", minimum=1),
        Field("qkv_bias", "bool", True, "learn biases for q, k and v (the output projection always has one)"),
        Field("dropout", "float", 0.0, "dropout on the attention weights", minimum=0, maximum=1),
    )
    positional = ("heads",)
    # both count the explicit matrix products of the module archcalc builds (torch.matmul, linear)
    mac_counters = ("flop_counter", "fvcore")
    examples = (
        Example((3, 4, 4), [2], before=_PATCHES),
        Example((3, 4, 6), {"heads": 1, "qkv_bias": False}, before=(*_PATCHES, "class_token")),
        Example((3, 4, 4), {"heads": 4, "dropout": 0.25}, before=_PATCHES),
    )

    def output_shape(self, node):
        _, d = expect_tokens(node)
        if d % node.args["heads"]:
            raise OpError(f"attention '{node.name}': {d} features do not split into {node.args['heads']} heads",
                          "heads")
        return node.inputs[0].shape

    def params(self, node):
        d = node.shape[1]
        return 4 * d * d, (3 * d if node.args["qkv_bias"] else 0) + d

    buffers = none

    def mac_terms(self, node):
        n, d = node.shape
        return (
            MacTerm("qkv", n * d * 3 * d),
            MacTerm("scores", n * n * d, between_activations=True),
            MacTerm("weighted sum", n * n * d, between_activations=True),
            MacTerm("projection", n * d * d),
        )

    def macs(self, node):
        return sum(term.macs for term in self.mac_terms(node))

    def backward_macs(self, node, needs_input_grad, trainable):
        """Backward through the four products: the weights' gradients of the two projections, and
        the gradient that flows through the node (needed for the input and for the in-projection's
        weights alike): the output projection's input, both operands of the scores and of the
        weighted sum (two activations each, 2 x N²·D twice), and the in-projection's input."""
        if not (any(needs_input_grad) or trainable):
            return 0, 0
        qkv, scores, weighted, projection = (term.macs for term in self.mac_terms(node))
        through = projection + 2 * scores + 2 * weighted + (qkv if any(needs_input_grad) else 0)
        return through, (qkv + projection if trainable else 0)

    def other_ops(self, node):
        """The biases of q, k, v and the output, scaling q, and the softmax (one per score)."""
        n, d = node.shape
        return (3 * n * d if node.args["qkv_bias"] else 0) + n * d + n * d + node.args["heads"] * n * n

    def receptive_step(self, node):
        """Every token reads every token: each output position's window is the whole grid, the same
        window for all of them (a jump of 0), so the field stops growing at the whole input."""
        grid = token_grid(node.inputs[0])
        return ReceptiveStep((grid.height, grid.width), (0, 0))

    def matmul_channels(self, node):
        d = node.shape[1]
        return (("features", d), ("features per head", d // node.args["heads"]))

    def working_elements(self, node):
        """The module below at its high-water mark, as the weighted sum is written: qkv (3·N·D),
        the scores and their softmax (heads·N² each; ``scores`` stays named while the softmax
        is made), the contiguous v and the product (N·D each). Of those 5·N·D + 2·heads·N², one
        N·D stands for the output, which is made later, once v is freed."""
        n, d = node.shape
        return 4 * n * d + 2 * node.args["heads"] * n * n

    def saved_for_backward(self, node, needs_input_grad, trainable):
        """The math path's: the input (for the projection's weights), q·scale, the
        contiguous k and v the batched products read, the softmax output (heads·N²), the
        dropout mask and dropped weights, and the heads joined again (the output projection's input)."""
        if not (any(needs_input_grad) or trainable):
            return []
        n, d = node.shape
        heads = node.args["heads"]
        saved = [] if not trainable else [Saved("input", (n, d), source=0)]
        saved += [
            Saved("q scaled", (heads, n, d // heads)),
            Saved("k", (heads, d // heads, n)),
            Saved(ATTENTION_MATRICES[0], (heads, n, n)),
            Saved("v", (heads, n, d // heads)),
        ]
        if node.args["dropout"]:
            saved += [Saved(ATTENTION_MATRICES[1], (heads, n, n), "mask"), Saved(ATTENTION_MATRICES[2], (heads, n, n))]
        return saved + [Saved("heads joined", (n, d))]

    def torch_module(self, node):
        a = node.args
        return SelfAttention(node.shape[1], a["heads"], a["qkv_bias"], a["dropout"])


@torch_class
def SelfAttention(torch, nn, F, math):
    class SelfAttention(nn.Module):
        """Multi-head self-attention with nn.MultiheadAttention's parameters (its in_proj_weight
        and in_proj_bias are ``in_proj`` here, out_proj the same), computed with explicit matrix
        products: the math path, which every counter sees."""

        def __init__(self, dim, heads, qkv_bias, dropout):
            super().__init__()
            self.dim, self.heads, self.qkv_bias, self.dropout = dim, heads, qkv_bias, dropout
            self.in_proj = nn.Linear(dim, 3 * dim, qkv_bias)
            self.out_proj = nn.Linear(dim, dim)
            self.attention_dropout = nn.Dropout(dropout)

        def forward(self, x):
            b, n, d = x.shape
            qkv = self.in_proj(x)
            q, k, v = qkv.view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
            # k and v made contiguous: the batched products then read them as they are, for any batch
            scores = torch.matmul(q * (d // self.heads) ** -0.5, k.contiguous().transpose(-2, -1))
            weights = self.attention_dropout(scores.softmax(-1))
            return self.out_proj(torch.matmul(weights, v.contiguous()).transpose(1, 2).reshape(b, n, d))

    return SelfAttention
