"""The token layout of vision transformers: (N, D) tensors, N tokens of D features.

`tokens` turns a (C, H, W) feature map (a strided conv's patches) into its H·W tokens;
`class_token` prepends a learnt token, `position_embedding` adds a learnt (N, D) tensor,
`select_token` and `token_pool` end the sequence in one (D,) vector. `linear` and
`layernorm` work per token, `attention` mixes them (archcalc/ops/attention.py).

Receptive field: a token keeps the place of its patch, so the receptive field of a token
tensor is measured in the grid the tokens came from (token ``prefix + r·W + c`` is
position (r, c)); :func:`token_grid` says where that grid is.
"""

from __future__ import annotations

from archcalc.ops.base import (
    Example,
    Field,
    Op,
    OpError,
    ReceptiveStep,
    describe,
    expect_image,
    keeps_nothing,
    no_params,
    none,
    numel,
    pointwise,
    register,
    torch_class,
)


class TokenGrid:
    """Where the tokens of a token tensor lie: ``prefix`` learnt tokens (class tokens) first,
    then the ``height`` x ``width`` grid of patches, row by row. A plain class rather than a
    dataclass, which compiles its methods at import, or a NamedTuple, whose ``index`` is tuple's."""

    __slots__ = ("prefix", "height", "width")

    def __init__(self, prefix: int, height: int, width: int) -> None:
        self.prefix, self.height, self.width = prefix, height, width

    def index(self, position: tuple[int, int]) -> int:
        """The token at a grid position."""
        return self.prefix + position[0] * self.width + position[1]


def token_grid(node) -> TokenGrid | None:
    """The grid of a token tensor, found back along first inputs to its `tokens` node;
    None for a node that is not a token tensor."""
    prefix = 0
    while len(node.shape) == 2:
        if node.kind == "tokens":
            _, h, w = node.inputs[0].shape
            return TokenGrid(prefix, h, w)
        if node.kind == "class_token":
            prefix += 1
        if not node.inputs:
            return None
        node = node.inputs[0]
    return None


def expect_tokens(node) -> tuple[int, int]:
    """The (N, D) input of a token kind, or a located explanation why not."""
    src = node.inputs[0]
    if len(src.shape) != 2:
        raise OpError(
            f"{node.op.kind} '{node.name}' expects tokens (N, D), got {describe(src.shape)} from '{src.name}': "
            "turn a (C, H, W) feature map into tokens with `tokens`"
        )
    return src.shape  # type: ignore[return-value]


def whole_grid(op, node) -> ReceptiveStep:
    """One output that reads every token of the grid (a pooled or class token)."""
    grid = token_grid(node.inputs[0])
    return ReceptiveStep((grid.height, grid.width), (grid.height, grid.width))


_AFTER_PATCHES = ({"conv": {"out": 4, "kernel": 2, "stride": 2}}, "tokens")


class _TokenOp(Op):
    family = "tokens"
    buffers = none
    macs = none


@register
class Tokens(_TokenOp):
    kind = "tokens"
    doc = "A (C, H, W) feature map as its H·W tokens of C features, row by row (a ViT's patches after its strided conv)."
    rules = "(C, H, W) → (H·W, C), a view; a token keeps its patch's receptive field"
    is_view = True
    examples = (Example((3, 4, 6), before=({"conv": {"out": 5, "kernel": 2, "stride": 2}},)),)

    def output_shape(self, node):
        c, h, w = expect_image(node)
        return (h * w, c)

    params = no_params
    other_ops = none
    receptive_step = pointwise
    saved_for_backward = keeps_nothing

    def torch_module(self, node):
        return TokenSequence()


@torch_class
def TokenSequence(torch, nn, F, math):
    class TokenSequence(nn.Module):
        """(B, C, H, W) -> (B, H*W, C), as torchvision's VisionTransformer._process_input."""

        def forward(self, x):
            return x.flatten(2).transpose(1, 2)

    return TokenSequence


@register
class ClassToken(_TokenOp):
    kind = "class_token"
    doc = "Prepends a learnt (1, D) token (ViT's class token) to the sequence."
    rules = "(N, D) → (N+1, D); D params"
    examples = (Example((3, 4, 4), before=_AFTER_PATCHES),)

    def output_shape(self, node):
        n, d = expect_tokens(node)
        return (n + 1, d)

    def params(self, node):
        return node.shape[1], 0

    other_ops = none
    receptive_step = pointwise
    saved_for_backward = keeps_nothing

    def input_gradients(self, node):
        """The concatenation's backward hands on a slice of the output's gradient."""
        return "passed"

    def torch_module(self, node):
        return ClassTokenPrepend(node.shape[1])


@torch_class
def ClassTokenPrepend(torch, nn, F, math):
    class ClassTokenPrepend(nn.Module):
        """Prepends one learnt token, as torchvision's VisionTransformer (its `class_token`)."""

        def __init__(self, dim):
            super().__init__()
            self.dim = dim
            self.class_token = nn.Parameter(torch.zeros(1, 1, dim))

        def forward(self, x):
            return torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)

    return ClassTokenPrepend


@register
class PositionEmbedding(_TokenOp):
    kind = "position_embedding"
    aliases = ("pos_embedding",)
    doc = "Adds a learnt (N, D) tensor to the tokens (ViT's position embedding)."
    rules = "(N, D) → (N, D); N·D params; other ops one add per element"
    examples = (Example((3, 4, 4), before=(*_AFTER_PATCHES, "class_token")),)

    def output_shape(self, node):
        expect_tokens(node)
        return node.inputs[0].shape

    def params(self, node):
        return numel(node.shape), 0

    def other_ops(self, node):
        return numel(node.shape)

    receptive_step = pointwise
    saved_for_backward = keeps_nothing

    def torch_module(self, node):
        return AddPositionEmbedding(*node.shape)


@torch_class
def AddPositionEmbedding(torch, nn, F, math):
    class AddPositionEmbedding(nn.Module):
        """Adds a learnt tensor per token and feature, as torchvision's Encoder (its `pos_embedding`)."""

        def __init__(self, tokens, dim):
            super().__init__()
            self.tokens, self.dim = tokens, dim
            self.pos_embedding = nn.Parameter(torch.empty(1, tokens, dim).normal_(std=0.02))

        def forward(self, x):
            return x + self.pos_embedding

    return AddPositionEmbedding


@register
class SelectToken(_TokenOp):
    kind = "select_token"
    doc = "One token of the sequence as a flat (D,) vector (ViT's class token, index 0, before its head)."
    rules = (
        "(N, D) → (D,), a view; a patch token reads its patch's field, a class token the whole grid "
        "(what it holds after an attention)"
    )
    fields = (Field("index", "int", 0, "the token to keep (0: the class token)", minimum=0),)
    positional = ("index",)
    is_view = True
    examples = (
        Example((3, 4, 4), before=(*_AFTER_PATCHES, "class_token", {"attention": {"heads": 2}})),
        Example((3, 4, 6), [4], before=_AFTER_PATCHES),
    )

    def output_shape(self, node):
        n, d = expect_tokens(node)
        if node.args["index"] >= n:
            raise OpError(f"select_token '{node.name}': token {node.args['index']} of {n}", "index")
        return (d,)

    params = no_params
    other_ops = none

    def receptive_step(self, node):
        grid = token_grid(node.inputs[0])
        patch = node.args["index"] - grid.prefix
        if patch < 0:
            return whole_grid(self, node)
        row, col = divmod(patch, grid.width)
        return ReceptiveStep(padding=(-row, -col))

    saved_for_backward = keeps_nothing

    def torch_module(self, node):
        return TokenAt(node.args["index"])


@torch_class
def TokenAt(torch, nn, F, math):
    class TokenAt(nn.Module):
        """(B, N, D) -> (B, D): one token, as torchvision's ``x[:, 0]`` before the head."""

        def __init__(self, index):
            super().__init__()
            self.index = index

        def forward(self, x):
            return x[:, self.index]

        def extra_repr(self) -> str:
            return f"index={self.index}"

    return TokenAt


@register
class TokenPool(_TokenOp):
    kind = "token_pool"
    aliases = ("token_mean",)
    doc = "The mean over all tokens: (N, D) -> (D,) (DeiT-style and global-pool ViT heads)."
    rules = "(N, D) → (D,); other ops one per input element; reads the whole grid"
    examples = (Example((3, 4, 4), before=_AFTER_PATCHES),)

    def output_shape(self, node):
        _, d = expect_tokens(node)
        return (d,)

    params = no_params

    def other_ops(self, node):
        return numel(node.inputs[0].shape)

    receptive_step = whole_grid
    saved_for_backward = keeps_nothing

    def torch_module(self, node):
        return TokenMean()


@torch_class
def TokenMean(torch, nn, F, math):
    class TokenMean(nn.Module):
        """(B, N, D) -> (B, D): the mean over tokens."""

        def forward(self, x):
            return x.mean(1)

    return TokenMean
